"""The structure of a validation report: sections, and the outline that numbers them.

:func:`outline` walks a report's sections once and numbers everything: sections (``5.2``),
tables, figures and equations (consecutively through the report) and the file stems of the
tables. Both renderers and ``Report.write_tables`` walk this same outline, so numbers, anchors
and file names agree between the HTML, the PDF and the table files.

A renderer needs no more of a report than :class:`ReportLike` describes, so the renderers
depend on this module and :mod:`validation.report.blocks` only, never on the report class.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from validation.report.blocks import Block, Callout, Equation, Table, Text

__all__ = [
    "Section",
    "Placed",
    "Node",
    "TableFile",
    "ReportLike",
    "NOT_COMPLETED",
    "outline",
    "slugify",
]

#: Shown in a section that has no block and no subsection.
NOT_COMPLETED = Callout(
    "warning", "No evidence has been attached to this section.", title="NOT COMPLETED"
)


def _as_item(x: Any) -> Block | Section:
    if isinstance(x, Block | Section):
        return x
    if isinstance(x, str):
        return Text(x)
    if isinstance(x, pd.DataFrame):
        return Table(x)
    raise TypeError(f"cannot add {type(x).__name__} to a section (use a Block or a Section)")


@dataclass
class Section:
    """A numbered section: an ordered list of blocks and subsections.

    Parameters
    ----------
    title : str
        Heading (numbers are added when rendering).
    blocks : list
        Blocks and subsections, in display order. Plain strings become :class:`Text`,
        DataFrames become :class:`Table`.
    key : str, optional
        A short handle to find the section with ``report[key]``.
    lead : str, optional
        A one-line statement of the section's purpose, shown in muted type under the heading.
    """

    title: str
    blocks: list[Block | Section] = field(default_factory=list)
    key: str | None = None
    lead: str | None = None

    def __post_init__(self) -> None:
        self.blocks = [_as_item(b) for b in self.blocks]

    def add(self, *items: Block | Section | str | pd.DataFrame) -> Section:
        """Append blocks or subsections; returns ``self`` for chaining."""
        self.blocks.extend(_as_item(x) for x in items)
        return self

    def subsection(
        self, title: str, *items: Block | Section | str, key: str | None = None,
        lead: str | None = None,
    ) -> Section:
        """Append a new subsection and return it."""
        sub = Section(title, list(items), key=key, lead=lead)
        self.blocks.append(sub)
        return sub

    @property
    def subsections(self) -> list[Section]:
        """Direct subsections."""
        return [b for b in self.blocks if isinstance(b, Section)]

    @property
    def is_empty(self) -> bool:
        """No block and no subsection."""
        return not self.blocks

    def walk(self) -> Iterator[Section]:
        """This section and all its descendants, depth first."""
        yield self
        for s in self.subsections:
            yield from s.walk()


@dataclass
class Placed:
    """A block at its place in the outline, with its number and (tables) its file stem."""

    block: Block
    number: int | None = None
    stem: str | None = None


@dataclass
class Node:
    """A section at its place in the outline."""

    section: Section
    number: tuple[int, ...]
    children: list[Placed | Node]

    @property
    def label(self) -> str:
        """Dotted number, e.g. ``"5.2"``."""
        return ".".join(map(str, self.number))

    @property
    def anchor(self) -> str:
        """HTML id / PDF destination, e.g. ``"sec-5-2"``."""
        return "sec-" + "-".join(map(str, self.number))

    @property
    def level(self) -> int:
        """Depth, 1 for top-level sections."""
        return len(self.number)

    def walk(self) -> Iterator[Node]:
        """This node and all descendant nodes, depth first."""
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()


def slugify(text: str, maxlen: int = 48) -> str:
    """Lower-case ASCII slug: ``"Kupiec POF test (99%)"`` -> ``"kupiec-pof-test-99"``."""
    import unicodedata

    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")
    return s[:maxlen].rstrip("-") or "x"


def outline(report: ReportLike) -> list[Node]:
    """Number the report: sections, tables, figures, equations and table file stems.

    Tables, figures and equations are numbered consecutively through the whole report. A
    table's file stem is its section number (zero-padded), its rank in that section and a slug
    of its caption, e.g. ``05-01_t02_kupiec-pof-test``, unless :attr:`Table.name` is set.

    Raises
    ------
    ValueError
        If two tables would be written to the same file name.
    """
    counters = {"table": 0, "figure": 0, "equation": 0}
    stems: set[str] = set()

    def place(section: Section, number: tuple[int, ...]) -> Node:
        children: list[Placed | Node] = []
        sub = 0
        rank = 0
        for b in section.blocks:
            if isinstance(b, Section):
                sub += 1
                children.append(place(b, (*number, sub)))
                continue
            n = None
            stem = None
            if b.kind in counters and not (isinstance(b, Equation) and not b.numbered):
                counters[b.kind] += 1
                n = counters[b.kind]
            if isinstance(b, Table):
                rank += 1
                sec = "-".join(f"{k:02d}" for k in number)
                slug = slugify(b.name) if b.name else slugify(b.caption or "table")
                stem = slug if b.name else f"{sec}_t{rank:02d}_{slug}"
                if stem in stems:
                    raise ValueError(f"two tables share the file name {stem!r}; set Table.name")
                stems.add(stem)
            children.append(Placed(b, n, stem))
        return Node(section, number, children)

    return [place(s, (k,)) for k, s in enumerate(report.sections, start=1)]


@dataclass(frozen=True)
class TableFile:
    """Where ``Report.write_tables`` wrote one table (and the SHA-256 of its CSV)."""

    stem: str
    section: str
    caption: str | None
    csv: Path
    parquet: Path
    csv_sha256: str


class ReportLike(Protocol):
    """What a renderer reads from a report; :class:`validation.report.Report` provides it."""

    title: str
    subtitle: str | None
    meta: dict[str, Any]
    sections: list[Section]

    @property
    def code_version(self) -> str:
        """Code version printed on the title page and in the footer."""
        ...

    def write_tables(self, directory: str | os.PathLike) -> list[TableFile]:
        """Write every table as CSV and Parquet; return where each one went."""
        ...
