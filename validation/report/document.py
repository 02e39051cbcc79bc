"""Document model of a validation report: a :class:`Report` of nested :class:`Section` objects.

The model is renderer-agnostic: :mod:`validation.report.html` and :mod:`validation.report.pdf`
walk the same :func:`outline`, so section numbers, anchors, table/figure/equation numbers and
the table file names written by :meth:`Report.write_tables` agree between the two outputs.

Blocks
------
:class:`Text`       markdown-ish paragraphs (``**bold**``, ``*italic*``, ```code```, bullets).
:class:`Table`      a pandas DataFrame with number formats, highlight rules and a note.
:class:`Figure`     a matplotlib Figure (or a callable returning one).
:class:`Equation`   LaTeX rendered by matplotlib mathtext; the source is kept as alt text.
:class:`KeyValue`   key/value pairs (nested mappings are flattened), e.g. a manifest.
:class:`Callout`    a boxed verdict: ``info``, ``warning``, ``pass`` or ``fail``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import math
import numbers
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # matplotlib is imported lazily: building a Report should stay cheap
    from matplotlib.figure import Figure as MplFigure

__all__ = [
    "Block",
    "Text",
    "Table",
    "BestValue",
    "Threshold",
    "Figure",
    "Equation",
    "KeyValue",
    "Callout",
    "Section",
    "Report",
    "Node",
    "Placed",
    "TableFile",
    "outline",
    "slugify",
    "code_version",
    "reproducibility_manifest",
    "validation_report_skeleton",
    "SKELETON_SECTIONS",
    "KEY_PACKAGES",
]


# --------------------------------------------------------------------------- markdown-ish text


@dataclass(frozen=True)
class Run:
    """A piece of inline text with its styles (subset of ``{"b", "i", "code"}``)."""

    text: str
    styles: frozenset[str] = frozenset()


#: A parsed paragraph is ("p", [runs]); a list is ("ul" | "ol", [[runs], [runs], ...]).
Paragraph = tuple[str, list]

# Code spans first (their content is literal), then **bold**, then *italic* (not inside words,
# so "2*3*4" or "a * b" stay as typed).
_INLINE = re.compile(
    r"`([^`]+)`"
    r"|\*\*(?=\S)(.+?)(?<=\S)\*\*"
    r"|(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"
)
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_ORDERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")


def parse_inline(text: str, styles: frozenset[str] = frozenset()) -> list[Run]:
    """Split ``text`` into styled runs (``**bold**``, ``*italic*``, ```code```)."""
    runs: list[Run] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            runs.append(Run(text[pos : m.start()], styles))
        if m.group(1) is not None:
            runs.append(Run(m.group(1), styles | {"code"}))
        elif m.group(2) is not None:
            runs.extend(parse_inline(m.group(2), styles | {"b"}))
        else:
            runs.extend(parse_inline(m.group(3), styles | {"i"}))
        pos = m.end()
    if pos < len(text):
        runs.append(Run(text[pos:], styles))
    return runs


def parse_text(text: str) -> list[Paragraph]:
    """Parse markdown-ish text into paragraphs and lists.

    Blank lines separate paragraphs; lines starting with ``-``, ``*`` or ``•`` form a bullet
    list, lines starting with ``1.`` or ``1)`` a numbered list; an indented line continues the
    previous list item; other consecutive lines are joined into one paragraph.
    """
    out: list[Paragraph] = []
    para: list[str] = []
    items: list[str] = []
    kind = ""

    def flush() -> None:
        nonlocal para, items, kind
        if para:
            out.append(("p", parse_inline(" ".join(para))))
        if items:
            out.append((kind, [parse_inline(it) for it in items]))
        para, items, kind = [], [], ""

    for raw in str(text).strip("\n").splitlines():
        line = raw.rstrip()
        if not line.strip():
            flush()
            continue
        bullet, ordered = _BULLET.match(line), _ORDERED.match(line)
        if bullet or ordered:
            new_kind = "ul" if bullet else "ol"
            if para or (items and kind != new_kind):
                flush()
            kind = new_kind
            items.append((bullet or ordered).group(1).strip())  # type: ignore[union-attr]
        elif items and raw[:1].isspace():
            items[-1] += " " + line.strip()
        else:
            if items:
                flush()
            para.append(line.strip())
    flush()
    return out


# --------------------------------------------------------------------------- blocks


class Block:
    """Base class of every content block."""

    kind: str = "block"


@dataclass
class Text(Block):
    """Markdown-ish prose: paragraphs, ``**bold**``, ``*italic*``, ```code``` and bullet lists.

    Parameters
    ----------
    text : str
        The text. See :func:`parse_text` for the (small) syntax.
    """

    text: str
    kind = "text"

    def parsed(self) -> list[Paragraph]:
        """Paragraphs and lists of styled runs."""
        return parse_text(self.text)


Spec = str | Callable[[Any], str]


@dataclass
class BestValue:
    """Highlight the best value of each column (``axis=0``) or each row (``axis=1``).

    Parameters
    ----------
    columns : str or sequence of str, optional
        Columns considered; default every numeric column.
    best : {"min", "max", "absmin"} or float
        What "best" means; a float picks the value closest to that target (e.g. the nominal
        coverage 0.99). Ties are all highlighted.
    axis : {0, 1}
        0 compares down each column, 1 across each row (within ``columns``).
    bold : bool
        Set the best cell in bold.
    color : str, optional
        Hex colour for the best cell's text.
    """

    columns: str | Sequence[str] | None = None
    best: Literal["min", "max", "absmin"] | float = "min"
    axis: Literal[0, 1] = 0
    bold: bool = True
    color: str | None = None

    def mask(self, df: pd.DataFrame, cols: list) -> np.ndarray:
        """Boolean mask over ``df[cols]`` of the cells to highlight."""
        values = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        if isinstance(self.best, str):
            score = {"min": values, "max": -values, "absmin": np.abs(values)}[self.best]
        else:
            score = np.abs(values - float(self.best))
        with np.errstate(invalid="ignore"):
            if self.axis == 0:
                ref = np.nanmin(np.where(np.isnan(score), np.inf, score), axis=0, keepdims=True)
            else:
                ref = np.nanmin(np.where(np.isnan(score), np.inf, score), axis=1, keepdims=True)
            # Relative tolerance, so numbers equal up to float noise count as ties.
            return np.isfinite(score) & (score <= ref + 1e-12 * np.maximum(1.0, np.abs(ref)))


@dataclass
class Threshold:
    """Colour the cells below (or above) a threshold, e.g. p-values below 0.05.

    Parameters
    ----------
    columns : str or sequence of str, optional
        Columns considered; default every numeric column.
    below, above : float, optional
        Highlight cells ``< below`` and/or ``> above``.
    color : str
        Hex colour of the highlighted text.
    bold : bool
        Also set the highlighted cells in bold.
    """

    columns: str | Sequence[str] | None = None
    below: float | None = 0.05
    above: float | None = None
    color: str | None = "#b3261e"
    bold: bool = False

    def mask(self, df: pd.DataFrame, cols: list) -> np.ndarray:
        """Boolean mask over ``df[cols]`` of the cells to highlight."""
        values = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        hit = np.zeros(values.shape, bool)
        with np.errstate(invalid="ignore"):
            if self.below is not None:
                hit |= values < self.below
            if self.above is not None:
                hit |= values > self.above
        return hit


@dataclass(frozen=True)
class CellStyle:
    """Emphasis of one table cell."""

    bold: bool = False
    color: str | None = None


@dataclass
class TableCells:
    """A table laid out as strings, ready for any renderer.

    ``header`` holds one label per displayed column (index columns first); ``rows`` the
    formatted cells; ``styles`` their emphasis; ``numeric`` whether each column is numeric
    (right-aligned); the first ``n_index`` columns come from the DataFrame index.
    """

    header: list[str]
    rows: list[list[str]]
    styles: list[list[CellStyle]]
    numeric: list[bool]
    n_index: int


def _label(x: Any) -> str:
    if isinstance(x, tuple):
        return " / ".join(str(p) for p in x if str(p) != "")
    return "" if x is None else str(x)


def _apply_spec(spec: Spec, x: Any) -> str:
    if callable(spec):
        return str(spec(x))
    if "{" in spec:
        return spec.format(x)
    return format(x, spec)


def _auto_float(x: float) -> str:
    # Risk numbers span p-values (1e-8) to notionals (1e7): fixed 4 dp in the usual range,
    # scientific for tiny values, thousands separators for large ones.
    if x == 0:
        return "0"
    a = abs(x)
    if a < 1e-3:
        return f"{x:.3e}"
    if a >= 1e5:
        return f"{x:,.0f}"
    return f"{x:.4f}"


def _is_missing(x: Any) -> bool:
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):  # arrays, lists: not a scalar missing value
        return False


_NEG_ZERO = re.compile(r"^-(?=[0.,]*(?:$|[eE%]))")


def _format_value(x: Any, spec: Spec | None, na_rep: str) -> str:
    if _is_missing(x):
        return na_rep
    if spec is not None:
        try:
            out = _apply_spec(spec, x)
        except (ValueError, TypeError):  # e.g. a float spec on a text cell: show it as is
            return str(x)
        return _NEG_ZERO.sub("", out) if isinstance(x, numbers.Real) else out
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        return _NEG_ZERO.sub("", _auto_float(float(x)))  # "-0.0000" reads as a sign error
    if isinstance(x, pd.Timestamp | _dt.datetime):
        ts = pd.Timestamp(x)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat(sep=" ")
    return str(x)


@dataclass
class Table(Block):
    """A DataFrame shown as a table, and written as CSV/Parquet by :meth:`Report.write_tables`.

    Parameters
    ----------
    df : pandas.DataFrame
        The numbers. They are kept as they are; formats only affect display.
    caption : str, optional
        Caption, shown as "Table N. caption".
    float_format : str or callable, optional
        Format of float cells: a format spec (``".4f"``), a brace template (``"{:.2%}"``) or a
        callable. Default: 4 decimals, scientific below 1e-3, thousands separators above 1e5.
    formats : dict, optional
        Per-column formats (same forms as ``float_format``), overriding it.
    highlight : sequence of BestValue or Threshold, optional
        Emphasis rules, applied in order (later colours win).
    note : str, optional
        Markdown-ish note printed under the table.
    index : bool, optional
        Show the index; default: unless it is a plain ``RangeIndex``.
    name : str, optional
        Stable file stem for :meth:`Report.write_tables`; default: section number and a slug of
        the caption.
    na_rep : str
        Text for missing values.
    """

    df: pd.DataFrame
    caption: str | None = None
    float_format: Spec | None = None
    formats: Mapping[Any, Spec] = field(default_factory=dict)
    highlight: Sequence[BestValue | Threshold] = ()
    note: str | None = None
    index: bool | None = None
    name: str | None = None
    na_rep: str = "–"
    kind = "table"

    def __post_init__(self) -> None:
        if isinstance(self.df, pd.Series):
            self.df = self.df.to_frame()
        if not isinstance(self.df, pd.DataFrame):
            raise TypeError(f"Table needs a pandas DataFrame, got {type(self.df).__name__}")
        if isinstance(self.highlight, BestValue | Threshold):
            self.highlight = [self.highlight]
        unknown = set(self.formats) - set(self.df.columns)
        if unknown:
            raise KeyError(f"formats given for unknown columns: {sorted(map(str, unknown))}")

    @property
    def show_index(self) -> bool:
        """Whether the index is displayed (and written to CSV/Parquet)."""
        if self.index is not None:
            return self.index
        idx = self.df.index
        return not (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1)

    def _rule_columns(self, rule: BestValue | Threshold) -> list:
        if rule.columns is None:
            return [
                c
                for c in self.df.columns
                if pd.api.types.is_numeric_dtype(self.df[c])
                and not pd.api.types.is_bool_dtype(self.df[c])
            ]
        cols = [rule.columns] if isinstance(rule.columns, str | tuple) else list(rule.columns)
        missing = [c for c in cols if c not in self.df.columns]
        if missing:
            raise KeyError(f"highlight rule names unknown columns: {missing}")
        return cols

    def cells(self) -> TableCells:
        """Format the table for display (headers, strings, emphasis, alignment)."""
        df = self.df
        ncol = df.shape[1]
        styles = [[CellStyle() for _ in range(ncol)] for _ in range(len(df))]
        for rule in self.highlight:
            cols = self._rule_columns(rule)
            if not cols:
                continue
            hit = rule.mask(df, cols)
            for j, c in enumerate(cols):
                jj = df.columns.get_loc(c)
                for i in np.flatnonzero(hit[:, j]):
                    old = styles[i][jj]
                    styles[i][jj] = CellStyle(
                        bold=old.bold or rule.bold, color=rule.color or old.color
                    )
        body: list[list[str]] = []
        for j, c in enumerate(df.columns):
            spec = self.formats.get(c)
            col = df.iloc[:, j]
            if spec is None and pd.api.types.is_float_dtype(col):
                spec = self.float_format
            body.append([_format_value(x, spec, self.na_rep) for x in col.tolist()])
        rows = [list(r) for r in zip(*body, strict=True)] if body else [[] for _ in range(len(df))]
        header = [_label(c) for c in df.columns]
        numeric = [
            pd.api.types.is_numeric_dtype(df.iloc[:, j])
            and not pd.api.types.is_bool_dtype(df.iloc[:, j])
            for j in range(ncol)
        ]
        n_index = 0
        if self.show_index:
            idx = df.index
            levels = (
                [idx.get_level_values(k) for k in range(idx.nlevels)]
                if isinstance(idx, pd.MultiIndex)
                else [idx]
            )
            n_index = len(levels)
            names = [_label(n) for n in (idx.names or [None] * n_index)]
            cols_idx = [[_format_value(x, None, self.na_rep) for x in lev] for lev in levels]
            rows = [[c[i] for c in cols_idx] + r for i, r in enumerate(rows)]
            styles = [[CellStyle()] * n_index + s for s in styles]
            header = names + header
            numeric = [False] * n_index + numeric  # index values are labels: left-aligned
        return TableCells(header, rows, styles, numeric, n_index)

    def export_frame(self) -> pd.DataFrame:
        """The DataFrame as written to CSV/Parquet: flat, string column names."""
        out = self.df.copy()
        out.columns = [_label(c) for c in out.columns]
        return out


@dataclass
class Figure(Block):
    """A matplotlib figure, embedded as PNG (default) or SVG.

    Parameters
    ----------
    figure : matplotlib.figure.Figure or callable
        The figure, or a zero-argument callable producing it (called once, on first render).
        A figure produced by the callable is removed from pyplot's registry if it was there.
    caption : str, optional
        Caption, shown as "Figure N. caption".
    width : float
        Displayed width as a fraction of the text width (0, 1].
    dpi : int
        Resolution of the PNG rendering.
    fmt : {"png", "svg"}
        Image format in the HTML output (the PDF always embeds the PNG).
    """

    figure: MplFigure | Callable[[], MplFigure]
    caption: str | None = None
    width: float = 0.95
    dpi: int = 170
    fmt: Literal["png", "svg"] = "png"
    kind = "figure"

    def __post_init__(self) -> None:
        if not 0 < self.width <= 1:
            raise ValueError(f"width is a fraction of the text width in (0, 1], got {self.width}")
        if self.fmt not in ("png", "svg"):
            raise ValueError(f"fmt must be 'png' or 'svg', got {self.fmt!r}")
        self._cache: dict[str, bytes] = {}
        self._fig: MplFigure | None = None

    def _materialise(self) -> MplFigure:
        from matplotlib.figure import Figure as MplFigure

        if self._fig is None:
            fig = self.figure
            if not isinstance(fig, MplFigure):
                if not callable(fig):
                    raise TypeError("Figure needs a matplotlib Figure or a callable returning one")
                fig = fig()
                if not isinstance(fig, MplFigure):
                    raise TypeError(f"figure callable returned {type(fig).__name__}")
                # We own a figure we made: drop it from pyplot's registry so it cannot leak.
                plt = sys.modules.get("matplotlib.pyplot")
                if plt is not None and getattr(fig, "number", None) in plt.get_fignums():
                    plt.close(fig)
            self._fig = fig
        return self._fig

    def png(self) -> bytes:
        """PNG bytes at :attr:`dpi` (rendered once, then cached)."""
        if "png" not in self._cache:
            buf = io.BytesIO()
            self._materialise().savefig(
                buf, format="png", dpi=self.dpi, bbox_inches="tight", pad_inches=0.04,
                facecolor="white",
            )
            self._cache["png"] = buf.getvalue()
        return self._cache["png"]

    def svg(self) -> bytes:
        """SVG bytes (rendered once, then cached)."""
        if "svg" not in self._cache:
            buf = io.BytesIO()
            self._materialise().savefig(
                buf, format="svg", bbox_inches="tight", pad_inches=0.04, facecolor="white",
                metadata={"Date": None},
            )
            self._cache["svg"] = buf.getvalue()
        return self._cache["svg"]


def png_size(data: bytes) -> tuple[int, int]:
    """Pixel width and height of a PNG, read from its IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@dataclass
class Equation(Block):
    """A displayed equation, rendered by matplotlib mathtext (no LaTeX installation needed).

    Parameters
    ----------
    latex : str
        The LaTeX source, with or without surrounding ``$``. Several lines may be separated by
        ``\\\\``. Only mathtext's subset of LaTeX is supported (no environments); alignment
        markers ``&`` are ignored. The source is kept as alt text.
    caption : str, optional
        A short description printed under the equation.
    fontsize : float
        Size in points.
    numbered : bool
        Number the equation "(N)".
    """

    latex: str
    caption: str | None = None
    fontsize: float = 13.0
    numbered: bool = True
    kind = "equation"

    def __post_init__(self) -> None:
        from matplotlib.font_manager import FontProperties
        from matplotlib.mathtext import MathTextParser

        self._cache: dict[tuple[str, int], bytes] = {}
        parser = MathTextParser("path")
        prop = FontProperties(size=self.fontsize, math_fontfamily="cm")
        for line in self.lines:
            try:  # fail when the report is built, not halfway through rendering it
                parser.parse(f"${line}$", dpi=72, prop=prop)
            except ValueError as exc:
                raise ValueError(f"mathtext cannot render {line!r}: {exc}") from None

    @property
    def lines(self) -> list[str]:
        """The equation's lines, without ``$`` delimiters or ``&`` markers."""
        src = self.latex.strip().strip("$").strip()
        parts = [p.replace("&", " ").strip() for p in src.split(r"\\")]
        return [p for p in parts if p]

    def render(self, fmt: Literal["png", "svg"] = "png", dpi: int = 220) -> bytes:
        """The rendered equation (transparent background), cached per format and dpi."""
        key = (fmt, dpi)
        if key not in self._cache:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure as MplFigure

            lines = self.lines
            step = self.fontsize * 1.9 / 72  # inches between baselines
            fig = MplFigure(figsize=(7.0, step * len(lines) + 0.1))
            FigureCanvasAgg(fig)
            for k, line in enumerate(lines):
                fig.text(
                    0.5, 1 - (k + 0.75) / len(lines), f"${line}$", ha="center", va="baseline",
                    fontsize=self.fontsize, math_fontfamily="cm",
                )
            buf = io.BytesIO()
            kw: dict[str, Any] = {"metadata": {"Date": None}} if fmt == "svg" else {}
            fig.savefig(
                buf, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.03,
                transparent=True, **kw,
            )
            self._cache[key] = buf.getvalue()
        return self._cache[key]


def _kv_value(v: Any) -> str:
    if v is None or (isinstance(v, Mapping | list | tuple) and not v):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else format(v, ".6g")
    if isinstance(v, list | tuple | set | frozenset):
        return ", ".join(_kv_value(x) for x in v)
    return str(v)


@dataclass
class KeyValue(Block):
    """Key/value pairs (a manifest, model metadata), shown as a two-column list.

    Parameters
    ----------
    items : mapping or sequence of (key, value) pairs
        Nested mappings are flattened with dotted keys (``packages.numpy``).
    caption : str, optional
        Heading shown above the pairs.
    """

    items: Mapping[str, Any] | Sequence[tuple[str, Any]]
    caption: str | None = None
    kind = "keyvalue"

    def pairs(self) -> list[tuple[str, str]]:
        """Flattened ``(key, value)`` strings, in order."""
        out: list[tuple[str, str]] = []

        def walk(prefix: str, obj: Any) -> None:
            items = obj.items() if isinstance(obj, Mapping) else obj
            for k, v in items:
                key = f"{prefix}.{k}" if prefix else str(k)
                if isinstance(v, Mapping) and v:
                    walk(key, v)
                else:
                    out.append((key, _kv_value(v)))

        walk("", self.items)
        return out


CalloutLevel = Literal["info", "warning", "pass", "fail"]


@dataclass
class Callout(Block):
    """A boxed verdict or remark.

    Parameters
    ----------
    level : {"info", "warning", "pass", "fail"}
        Colour and label of the box.
    text : str
        Markdown-ish text.
    title : str, optional
        Label; default the upper-cased level (``PASS``).
    """

    level: CalloutLevel
    text: str
    title: str | None = None
    kind = "callout"

    def __post_init__(self) -> None:
        if self.level not in ("info", "warning", "pass", "fail"):
            raise ValueError(f"Callout level must be info/warning/pass/fail, got {self.level!r}")

    @property
    def label(self) -> str:
        """The label printed in the box."""
        return self.title if self.title is not None else self.level.upper()

    def parsed(self) -> list[Paragraph]:
        """Paragraphs and lists of styled runs."""
        return parse_text(self.text)


# --------------------------------------------------------------------------- sections, report


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


def outline(report: Report) -> list[Node]:
    """Number the report: sections, tables, figures, equations and table file stems.

    Tables, figures and equations are numbered consecutively through the whole report. A
    table's file stem is its section number (zero-padded), its rank in that section and a slug
    of its caption, e.g. ``05-01_t02_kupiec-pof-test``, unless :attr:`Table.name` is set.
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
    """Where :meth:`Report.write_tables` wrote one table."""

    stem: str
    section: str
    caption: str | None
    csv: Path
    parquet: Path
    csv_sha256: str


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
        Shown in the footer; default :func:`code_version` (git or package version).

    Examples
    --------
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
                    hashlib.sha256(csv.read_bytes()).hexdigest(),
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


# --------------------------------------------------------------------------- manifest

#: Distributions whose versions go into :func:`reproducibility_manifest`.
KEY_PACKAGES: tuple[str, ...] = (
    "hybridrisk", "torch", "numpy", "pandas", "scipy", "arch", "statsmodels", "QuantLib",
)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        res = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else None


def _package_dir() -> Path:
    spec = importlib.util.find_spec("hybridrisk")  # locate without importing (torch is slow)
    if spec is not None and spec.origin:
        return Path(spec.origin).resolve().parent
    return Path(__file__).resolve().parent


def _package_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        if dist == "hybridrisk":
            init = _package_dir() / "__init__.py"
            m = re.search(r'__version__\s*=\s*["\']([^"\']+)', init.read_text()) if init.exists() \
                else None
            return m.group(1) if m else None
        return None


def _git_info() -> dict[str, Any] | None:
    cwd = _package_dir()
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {
        "commit": commit,
        "describe": _git(["describe", "--tags", "--always", "--dirty"], cwd) or commit[:12],
        "dirty": bool(status),
    }


def code_version() -> str:
    """``git describe`` of the checkout holding hybridrisk, else ``hybridrisk <version>``."""
    git = _git_info()
    if git is not None:
        return f"git {git['describe']}"
    return f"hybridrisk {_package_version('hybridrisk') or 'unknown'}"


def reproducibility_manifest(
    seeds: Mapping[str, int] | Sequence[int] | int | None = None,
    data_hashes: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    packages: Sequence[str] = KEY_PACKAGES,
) -> dict[str, Any]:
    """Everything needed to reproduce the numbers of a report.

    Parameters
    ----------
    seeds : mapping, sequence or int, optional
        Random seeds used (e.g. ``{"training": 7, "bootstrap": 11}``).
    data_hashes : mapping, optional
        SHA-256 (or other digests) of the input data, e.g. from
        :func:`hybridrisk.datasets.file_sha256`.
    extra : mapping, optional
        Anything else (configuration, window lengths, hardware notes).
    packages : sequence of str
        Distributions whose versions are recorded (``None`` when not installed).

    Returns
    -------
    dict
        ``code_version``, ``git`` (commit, describe, dirty; only inside a git checkout),
        ``python``, ``packages``, ``platform``, ``timestamp_utc``, ``seeds``, ``data_hashes`` and
        ``extra``. Plain JSON types, so it can be dumped next to the report.
    """
    if isinstance(seeds, int):
        seeds_out: Any = [seeds]
    elif isinstance(seeds, Mapping):
        seeds_out = {str(k): int(v) for k, v in seeds.items()}
    else:
        seeds_out = [int(s) for s in (seeds or [])]
    out: dict[str, Any] = {"code_version": code_version()}
    git = _git_info()
    if git is not None:
        out["git"] = git
    out.update(
        {
            "python": f"{platform.python_version()} ({platform.python_implementation()})",
            "packages": {p: _package_version(p) for p in packages},
            "platform": platform.platform(),
            "machine": platform.machine(),
            "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seeds": seeds_out,
            "data_hashes": dict(data_hashes or {}),
            "extra": dict(extra or {}),
        }
    )
    return out


# --------------------------------------------------------------------------- skeleton

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
        Output of :func:`reproducibility_manifest` (section 9); its ``code_version`` is also
        used in the footer, so footer and manifest agree.
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
