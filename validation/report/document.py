"""The validation report: a :class:`Report` of numbered sections, and its standard skeleton.

The report holds :class:`~validation.report.sections.Section` objects filled with blocks
(:mod:`validation.report.blocks`), writes its tables as CSV and Parquet, and hands itself to a
renderer (:mod:`validation.report.html`, :mod:`validation.report.pdf`). The renderers never
import this module: they read a report through
:class:`~validation.report.sections.ReportLike` and walk the same
:func:`~validation.report.sections.outline`, so section numbers, anchors, table/figure/equation
numbers and the table file names agree between the outputs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hybridrisk.provenance import file_sha256
from validation.report.blocks import Block, KeyValue, Table, Text
from validation.report.manifest import code_version
from validation.report.sections import Node, Placed, Section, TableFile, outline

__all__ = ["Report", "validation_report_skeleton", "SKELETON_SECTIONS"]


class Report:
    """A validation report: title, metadata and numbered sections.

    Parameters
    ----------
    title : str
        Report title (also in the PDF footer).
    subtitle : str, optional
        E.g. the model name and version.
    meta : dict, optional
        Shown on the title page (model id, owner, validator, date, ...).
    sections : list of Section, optional
        Initial sections.
    code_version : str, optional
        Shown in the footer; default :func:`~validation.report.manifest.code_version` (git or
        package version).

    Examples
    --------
    >>> from validation.report import Callout, Report
    >>> rep = Report("GARCH-LNN validation", meta={"Model ID": "MR-042"})
    >>> sec = rep.section("Outcomes analysis")
    >>> _ = sec.add(Callout("pass", "Kupiec POF test not rejected at 5%."))
    >>> rep.to_html("report.html"); rep.to_pdf("report.pdf")  # doctest: +SKIP
    """

    def __init__(
        self,
        title: str,
        subtitle: str | None = None,
        meta: Mapping[str, Any] | None = None,
        *,
        sections: Sequence[Section] | None = None,
        code_version: str | None = None,
    ) -> None:
        self.title = title
        self.subtitle = subtitle
        self.meta: dict[str, Any] = dict(meta or {})
        self.sections: list[Section] = list(sections or [])
        self._code_version = code_version

    def __repr__(self) -> str:
        return f"Report({self.title!r}, sections={[s.title for s in self.sections]})"

    @property
    def code_version(self) -> str:
        """Code version printed in the footer (computed once)."""
        if self._code_version is None:
            self._code_version = code_version()
        return self._code_version

    @code_version.setter
    def code_version(self, value: str) -> None:
        self._code_version = value

    def section(
        self, title: str, *items: Block | Section | str, key: str | None = None,
        lead: str | None = None,
    ) -> Section:
        """Append a new top-level section and return it."""
        sec = Section(title, list(items), key=key, lead=lead)
        self.sections.append(sec)
        return sec

    def add(self, *sections: Section) -> Report:
        """Append existing sections; returns ``self``."""
        for s in sections:
            if not isinstance(s, Section):
                raise TypeError(f"Report.add takes Sections, got {type(s).__name__}")
            self.sections.append(s)
        return self

    def __getitem__(self, key: str) -> Section:
        """The first section (at any depth) whose key, title or number equals ``key``."""
        for node in (n for top in outline(self) for n in top.walk()):
            s = node.section
            if key in (s.key, node.label) or s.title.lower() == str(key).lower():
                return s
        raise KeyError(key)

    def tables(self) -> list[Placed]:
        """Every table with its number and file stem, in document order."""

        def collect(nodes: list[Placed | Node]) -> Iterator[Placed]:
            for c in nodes:
                if isinstance(c, Node):
                    yield from collect(c.children)
                elif isinstance(c.block, Table):
                    yield c

        return list(collect(outline(self)))  # type: ignore[arg-type]

    def write_tables(self, directory: str | os.PathLike) -> list[TableFile]:
        """Write every :class:`Table` as ``<stem>.csv`` and ``<stem>.parquet``.

        The full-precision numbers are written (display formats do not apply), with the index
        when the table shows it. A ``tables.json`` index lists stems, captions and the CSV
        SHA-256, so a validator can check the files they re-computed from are the published ones.

        Returns
        -------
        list of TableFile
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        section_of: dict[int, str] = {}
        for top in outline(self):
            for node in top.walk():
                for c in node.children:
                    if isinstance(c, Placed):
                        section_of[id(c.block)] = node.label
        written: list[TableFile] = []
        for placed in self.tables():
            t: Table = placed.block  # type: ignore[assignment]
            df = t.export_frame()
            csv = d / f"{placed.stem}.csv"
            pq = d / f"{placed.stem}.parquet"
            df.to_csv(csv, index=t.show_index)
            try:
                df.to_parquet(pq, index=t.show_index)
            except (TypeError, ValueError, ImportError) as exc:
                if isinstance(exc, ImportError):
                    raise
                # Mixed-type object columns cannot go to Arrow as they are: store them as text.
                obj = df.select_dtypes(include="object").columns
                df2 = df.astype({c: "string" for c in obj})
                df2.to_parquet(pq, index=t.show_index)
            written.append(
                TableFile(
                    placed.stem or "", section_of[id(t)], t.caption, csv, pq,
                    file_sha256(csv),
                )
            )
        index = [
            {"stem": w.stem, "section": w.section, "caption": w.caption, "csv": w.csv.name,
             "parquet": w.parquet.name, "csv_sha256": w.csv_sha256}
            for w in written
        ]
        (d / "tables.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
        return written

    def to_html(
        self, path: str | os.PathLike, *, link_tables: bool = False,
        tables_dir: str | os.PathLike | None = None,
    ) -> Path:
        """Write one self-contained HTML file; see :func:`validation.report.html.write_html`."""
        from validation.report.html import write_html

        return write_html(self, path, link_tables=link_tables, tables_dir=tables_dir)

    def to_pdf(self, path: str | os.PathLike) -> Path:
        """Write a paginated A4 PDF; see :func:`validation.report.pdf.write_pdf`."""
        from validation.report.pdf import write_pdf

        return write_pdf(self, path)


#: ``(key, title, purpose)`` of the standard sections, in the order validators expect them
#: (SR 11-7 / PRA SS1/23: conceptual soundness, ongoing monitoring, outcomes analysis).
SKELETON_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("scope", "Scope and intended use",
     "Model purpose, intended use and users, and the boundaries of this validation."),
    ("data", "Data lineage",
     "Data sources, file hashes, transformations and the estimation/validation/test splits."),
    ("conceptual", "Conceptual soundness",
     "Model equations, parameter constraints and the theory and assumptions behind them."),
    ("process", "Process verification",
     "Reference tests of the implementation against known results, and their outcomes."),
    ("outcomes", "Outcomes analysis",
     "Backtests of the model's forecasts against realised outcomes."),
    ("benchmarking", "Benchmarking",
     "Champion versus challenger comparisons, with formal test statistics."),
    ("sensitivity", "Sensitivity and stability",
     "Stability of results across seeds, estimation windows and crisis sub-periods."),
    ("limitations", "Limitations",
     "Known weaknesses, conditions of use and compensating controls."),
    ("reproducibility", "Reproducibility manifest",
     "Code version, package versions, seeds and data hashes that reproduce every number."),
)


def validation_report_skeleton(
    title: str,
    subtitle: str | None = None,
    *,
    meta: Mapping[str, Any] | None = None,
    scope: str | None = None,
    limitations: str | Sequence[str] | None = None,
    manifest: Mapping[str, Any] | None = None,
    guidance: bool = True,
) -> Report:
    """A report with the nine standard validation sections, in order.

    The sections are, with their keys: 1 Scope and intended use (``scope``); 2 Data lineage
    (``data``); 3 Conceptual soundness (``conceptual``); 4 Process verification (``process``);
    5 Outcomes analysis (``outcomes``); 6 Benchmarking (``benchmarking``); 7 Sensitivity and
    stability (``sensitivity``); 8 Limitations (``limitations``); 9 Reproducibility manifest
    (``reproducibility``). Fill them with ``report["outcomes"].add(...)``. A section left empty
    is flagged in the output as not completed.

    Parameters
    ----------
    title, subtitle : str
        As for :class:`Report`.
    meta : mapping, optional
        Title-page metadata (model id, owner, validator, ...).
    scope : str, optional
        Markdown-ish statement of scope and intended use (section 1).
    limitations : str or sequence of str, optional
        Limitations (section 8); a sequence becomes a bullet list.
    manifest : mapping, optional
        Output of :func:`~validation.report.manifest.reproducibility_manifest` (section 9);
        its ``code_version`` is also used in the footer, so footer and manifest agree.
    guidance : bool
        Print each section's purpose in muted type under its heading.

    Returns
    -------
    Report
    """
    rep = Report(
        title, subtitle, meta,
        code_version=str(manifest["code_version"]) if manifest and "code_version" in manifest
        else None,
    )
    for key, sec_title, purpose in SKELETON_SECTIONS:
        rep.section(sec_title, key=key, lead=purpose if guidance else None)
    if scope:
        rep["scope"].add(Text(scope))
    if limitations:
        text = limitations if isinstance(limitations, str) else "\n".join(
            f"- {item}" for item in limitations
        )
        rep["limitations"].add(Text(text))
    if manifest is not None:
        rep["reproducibility"].add(KeyValue(manifest, caption="Reproducibility manifest"))
    return rep
