"""Content blocks of a validation report: what a :class:`~validation.report.Section` holds.

Every block is renderer-agnostic: it knows its content and how to lay it out as strings or
images (:meth:`Table.cells`, :meth:`Figure.png`, :meth:`Equation.render`, ...), while
:mod:`validation.report.html` and :mod:`validation.report.pdf` decide how it looks. A renderer
finds its function for a block by the block's :attr:`Block.kind` (:func:`renderer_for`).

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
import io
import math
import numbers
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

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
    "CellStyle",
    "TableCells",
    "Run",
    "parse_inline",
    "markup_runs",
    "parse_text",
    "png_size",
    "renderer_for",
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


def markup_runs(
    runs: Sequence[Run], escape: Callable[[str], str], tags: Mapping[str, tuple[str, str]]
) -> str:
    """Runs as a renderer's markup.

    Each run's text is escaped, then wrapped in the ``(open, close)`` tags of its styles, in
    the order ``code``, ``i``, ``b`` (code innermost).
    """
    out = []
    for r in runs:
        s = escape(r.text)
        for style in ("code", "i", "b"):
            if style in r.styles:
                s = f"{tags[style][0]}{s}{tags[style][1]}"
        out.append(s)
    return "".join(out)


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
            ref = np.nanmin(np.where(np.isnan(score), np.inf, score), axis=self.axis,
                            keepdims=True)
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
    """A DataFrame shown as a table, and written as CSV and Parquet by ``Report.write_tables``.

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
        Stable file stem for ``Report.write_tables``; default: section number and a slug of
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


H = TypeVar("H")


def renderer_for(handlers: Mapping[str, H], block: Block, output: str) -> H:
    """The handler a renderer registered for ``block.kind``.

    Raises
    ------
    TypeError
        If the renderer named ``output`` has no handler for this kind of block.
    """
    try:
        return handlers[block.kind]
    except KeyError:
        raise TypeError(f"no {output} renderer for block {type(block).__name__}") from None
