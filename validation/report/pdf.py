"""Render a :class:`~validation.report.Report` to a paginated A4 PDF with reportlab.

Layout: a title page (title, subtitle, metadata, code version), a table of contents with links
and page numbers, then the numbered sections. Tables repeat their header row on every page
they span and, when too wide for the page, first shrink their type, then wrap text columns,
then continue in column groups (index columns repeated). Figures are embedded as PNG at the
block's dpi; equations as 300 dpi PNG with an invisible text layer holding the LaTeX source
(so it can be searched and copied). Every page but the title page has a footer with the report
title, the code version and "Page i of n". The PDF outline (bookmarks) mirrors the sections.

Type is DejaVu Sans, shipped with matplotlib, embedded as a subset: unlike the PDF base-14
fonts it has Greek letters and maths symbols (θ, σ, ≤), common in model documentation.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    HRFlowable,
    Image,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RLTable
from reportlab.platypus.tableofcontents import TableOfContents

from validation.report import blocks
from validation.report.sections import NOT_COMPLETED, Node, Placed, ReportLike, outline

__all__ = ["write_pdf", "render_pdf"]

INK = colors.HexColor("#1c1f24")
MUTED = colors.HexColor("#5b6270")
ACCENT = colors.HexColor("#1f3a5f")
RULE = colors.HexColor("#c9ced6")
ZEBRA = colors.HexColor("#f4f6f8")
CALLOUT = {
    "info": ("#1f5f9e", "#eef4fb"),
    "warning": ("#8a5a00", "#fff7e3"),
    "pass": ("#1e6b37", "#ecf6ef"),
    "fail": ("#b3261e", "#fcefee"),
}

PAGE_W, PAGE_H = A4
MARGIN_LR, MARGIN_TOP, MARGIN_BOTTOM = 20 * mm, 20 * mm, 22 * mm
FRAME_W = PAGE_W - 2 * MARGIN_LR
FRAME_H = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM

SANS, SANS_B, SANS_I, SANS_BI = "HRSans", "HRSans-Bold", "HRSans-Oblique", "HRSans-BoldOblique"
MONO, MONO_B = "HRMono", "HRMono-Bold"
_FONTS_READY = False


def _register_fonts() -> None:
    """Register DejaVu (from matplotlib's data) once; fall back to Helvetica/Courier."""
    global _FONTS_READY, SANS, SANS_B, SANS_I, SANS_BI, MONO, MONO_B
    if _FONTS_READY:
        return
    from matplotlib import get_data_path

    d = Path(get_data_path()) / "fonts" / "ttf"
    files = {
        SANS: "DejaVuSans.ttf", SANS_B: "DejaVuSans-Bold.ttf", SANS_I: "DejaVuSans-Oblique.ttf",
        SANS_BI: "DejaVuSans-BoldOblique.ttf", MONO: "DejaVuSansMono.ttf",
        MONO_B: "DejaVuSansMono-Bold.ttf",
    }
    try:
        for name, file in files.items():
            pdfmetrics.registerFont(TTFont(name, str(d / file)))
    except Exception:  # noqa: BLE001 - any font problem: the base-14 fonts still give a PDF
        SANS, SANS_B, SANS_I, SANS_BI = (
            "Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique"
        )
        MONO, MONO_B = "Courier", "Courier-Bold"
    else:
        registerFontFamily(SANS, normal=SANS, bold=SANS_B, italic=SANS_I, boldItalic=SANS_BI)
        registerFontFamily(MONO, normal=MONO, bold=MONO_B, italic=MONO, boldItalic=MONO_B)
    _FONTS_READY = True


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=SANS, fontSize=9.5, leading=13.6, textColor=INK,
                          spaceAfter=5)
    s: dict[str, ParagraphStyle] = {"body": base}

    def add(name: str, parent: str = "body", **kw: Any) -> None:
        s[name] = ParagraphStyle(name, parent=s[parent], **kw)

    add("title", fontName=SANS_B, fontSize=24, leading=29, textColor=ACCENT, spaceAfter=8)
    add("subtitle", fontSize=13, leading=17, textColor=MUTED, spaceAfter=4)
    add("h1", fontName=SANS_B, fontSize=14.5, leading=18, textColor=ACCENT, spaceBefore=16,
        spaceAfter=6)
    add("h2", "h1", fontSize=12, leading=15, spaceBefore=12, spaceAfter=4)
    add("h3", "h1", fontSize=10.5, leading=13.5, spaceBefore=10, spaceAfter=3)
    add("lead", fontName=SANS_I, fontSize=9, leading=12.5, textColor=MUTED)
    add("bullet", leftIndent=14, bulletIndent=3, spaceAfter=2)
    add("caption", fontSize=8.3, leading=11, textColor=MUTED, spaceBefore=3, spaceAfter=8)
    add("tcaption", "caption", spaceBefore=6, spaceAfter=3)
    add("note", fontSize=7.6, leading=10, textColor=MUTED, spaceAfter=2)
    add("cell", fontSize=8, leading=9.6, spaceAfter=0)
    add("kvkey", fontName=SANS_B, fontSize=8, leading=10, spaceAfter=0)
    add("kvval", fontName=MONO, fontSize=7.6, leading=10, spaceAfter=0)
    add("kvcap", fontName=SANS_B, fontSize=9, leading=12, spaceBefore=6, spaceAfter=3)
    add("callout", fontSize=9.2, leading=12.6, spaceAfter=2)
    add("meta_key", fontName=SANS_B, fontSize=9.5, leading=13, textColor=MUTED, spaceAfter=0)
    add("meta_val", fontSize=9.5, leading=13, spaceAfter=0)
    for lvl, (fs, indent, font) in enumerate(((10, 0, SANS_B), (9.3, 16, SANS), (8.8, 34, SANS))):
        add(f"toc{lvl}", fontName=font, fontSize=fs, leading=fs * 1.55, leftIndent=indent,
            firstLineIndent=0, spaceAfter=0, spaceBefore=4 if lvl == 0 else 0)
    return s


def _markup(runs: list[blocks.Run]) -> str:
    mono = (f'<font face="{MONO}">', "</font>")  # MONO is set when the fonts are registered
    return blocks.markup_runs(runs, escape, {"code": mono, "i": ("<i>", "</i>"),
                                             "b": ("<b>", "</b>")})


def _text(parsed: list, style: ParagraphStyle, bullet: ParagraphStyle) -> list[Flowable]:
    out: list[Flowable] = []
    for kind, content in parsed:
        if kind == "p":
            out.append(Paragraph(_markup(content), style))
        else:
            for k, item in enumerate(content, start=1):
                mark = "•" if kind == "ul" else f"{k}."
                out.append(Paragraph(_markup(item), bullet, bulletText=mark))
    return out


class _Heading(Paragraph):
    """A paragraph that registers itself in the TOC and the PDF outline once drawn."""

    def __init__(self, text: str, style: ParagraphStyle, outline_entry: tuple) -> None:
        super().__init__(text, style)
        self.outline_entry = outline_entry  # (level, plain text, key, in_toc)


class _Equation(Flowable):
    """A rendered equation, centred, numbered at the right margin, with invisible LaTeX text."""

    def __init__(self, png: bytes, dpi: int, latex: str, number: int | None) -> None:
        super().__init__()
        w_px, h_px = blocks.png_size(png)
        self.png, self.latex, self.number = png, latex, number
        self.w0, self.h0 = w_px * 72 / dpi, h_px * 72 / dpi
        self.iw, self.ih = self.w0, self.h0
        self.pad = 5.0

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        scale = min(1.0, 0.86 * aw / self.w0)  # from the original size: wrap runs many times
        self.iw, self.ih = self.w0 * scale, self.h0 * scale
        self.width = aw
        return aw, self.ih + 2 * self.pad

    def draw(self) -> None:
        c = self.canv
        x = (self.width - self.iw) / 2
        y = self.pad
        c.drawImage(ImageReader(io.BytesIO(self.png)), x, y, self.iw, self.ih, mask="auto")
        if self.number is not None:
            c.setFont(SANS, 9.5)
            c.setFillColor(MUTED)
            c.drawRightString(self.width, y + self.ih / 2 - 3.5, f"({self.number})")
        # Invisible text (render mode 3): the LaTeX source becomes searchable and copyable.
        t = c.beginText(x, y + self.ih / 2 - 3)
        t.setTextRenderMode(3)
        t.setFont(MONO, 7)
        width = stringWidth(self.latex, MONO, 7) or 1.0
        t.setHorizScale(max(1.0, min(100.0, 100 * self.iw / width)))
        t.textOut(self.latex)
        c.drawText(t)


def _share(room: float, want: dict[int, float], floor: dict[int, float]) -> dict[int, float]:
    """Widths for the wrapping columns: the widest shrink first, none below its floor.

    Finds the level L with ``sum(min(want, max(L, floor))) == room`` by bisection.
    """
    lo, hi = 0.0, max(want.values())
    for _ in range(60):
        mid = (lo + hi) / 2
        if sum(min(want[j], max(mid, floor[j])) for j in want) > room:
            hi = mid
        else:
            lo = mid
    return {j: min(want[j], max(lo, floor[j])) for j in want}


def _fit_widths(
    cells: blocks.TableCells, fs: float, avail: float
) -> tuple[list[float], list[bool]]:
    """Column widths for font size ``fs`` and which columns wrap their text.

    In order: every cell on one line; headers wrapped at spaces; text columns wrapped at
    spaces, sharing the room the other columns leave (the widest give way first, none below
    its longest word), so a table with text columns is not split into column groups when
    wrapping its text makes it fit. Only when even that does not fit are text columns capped
    and the table left to :func:`_column_groups`.
    """
    pad = 8.5
    n = len(cells.header)
    body = [0.0] * n
    word = [0.0] * n
    for row, sty in zip(cells.rows, cells.styles, strict=True):
        for j, (v, st) in enumerate(zip(row, sty, strict=True)):
            font = SANS_B if st.bold else SANS
            body[j] = max(body[j], stringWidth(v, font, fs))
            if not cells.numeric[j]:
                word[j] = max([word[j], *(stringWidth(w, font, fs) for w in v.split())])
    head_full = [stringWidth(h, SANS_B, fs) for h in cells.header]
    head_word = [max((stringWidth(w, SANS_B, fs) for w in h.split()), default=0.0)
                 for h in cells.header]
    no_wrap = [False] * n
    widths = [max(body[j], head_full[j]) + pad for j in range(n)]
    if sum(widths) <= avail:
        return widths, no_wrap
    snug = [max(body[j], head_word[j]) + pad for j in range(n)]  # headers wrap
    if sum(snug) <= avail:
        return snug, no_wrap
    text = [j for j in range(n) if not cells.numeric[j]]
    floor = {j: max(word[j], head_word[j]) + pad for j in text}
    room = avail - sum(snug[j] for j in range(n) if j not in floor)
    if text and room >= sum(floor.values()):
        shared = _share(room, {j: snug[j] for j in text}, floor)
        widths = [shared.get(j, snug[j]) for j in range(n)]
        return widths, [j in shared and shared[j] < snug[j] - 1e-6 for j in range(n)]
    cap = 0.42 * avail
    wrap = [not cells.numeric[j] and body[j] + pad > cap for j in range(n)]
    return [cap if wrap[j] else snug[j] for j in range(n)], wrap


def _column_groups(widths: list[float], n_index: int, avail: float) -> list[list[int]]:
    """Split data columns into groups that fit, each group preceded by the index columns."""
    idx = list(range(n_index))
    base = sum(widths[:n_index])
    groups: list[list[int]] = []
    cur: list[int] = []
    used = base
    for j in range(n_index, len(widths)):
        if cur and used + widths[j] > avail:
            groups.append(idx + cur)
            cur, used = [], base
        cur.append(j)
        used += widths[j]
    if cur or not groups:
        groups.append(idx + cur)
    return groups


def _cell_markup(v: str, bold: bool, color: str | None) -> str:
    t = escape(v)
    if bold:
        t = f"<b>{t}</b>"
    if color:
        t = f'<font color="{color}">{t}</font>'
    return t


class _DataTable(RLTable):
    """A table that closes each page's part with a light rule where it breaks.

    reportlab's ``"splitlast"`` style only reaches the first break of a long table.
    """

    def split(self, availWidth: float, availHeight: float) -> list[RLTable]:  # noqa: N803
        parts = super().split(availWidth, availHeight)
        if len(parts) > 1:
            parts[0].setStyle(TableStyle([("LINEBELOW", (0, -1), (-1, -1), 0.5, MUTED)]))
        return parts


def _rl_table(
    cells: blocks.TableCells, cols: list[int], widths: list[float], wrap: list[bool], fs: float,
    st: dict[str, ParagraphStyle],
) -> RLTable:
    lead = fs * 1.22
    head_l = ParagraphStyle("th", parent=st["cell"], fontName=SANS_B, fontSize=fs, leading=lead)
    head_r = ParagraphStyle("thr", parent=head_l, alignment=TA_RIGHT)
    cell = ParagraphStyle("td", parent=st["cell"], fontSize=fs, leading=lead)
    header = [
        Paragraph(escape(cells.header[j]), head_r if cells.numeric[j] else head_l) for j in cols
    ]
    data: list[list[Any]] = [header]
    cmds: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), SANS, fs, lead),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
        ("VALIGN", (0, 1), (-1, -1), "TOP"),
        ("LINEABOVE", (0, 0), (-1, 0), 0.9, INK),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.9, INK),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.0),
    ]
    for k, j in enumerate(cols):
        if cells.numeric[j]:
            cmds.append(("ALIGN", (k, 1), (k, -1), "RIGHT"))
    for i, (row, sty) in enumerate(zip(cells.rows, cells.styles, strict=True), start=1):
        out_row: list[Any] = []
        for k, j in enumerate(cols):
            s = sty[j]
            if wrap[j]:
                out_row.append(Paragraph(_cell_markup(row[j], s.bold, s.color), cell))
                continue
            out_row.append(row[j])
            if s.bold:
                cmds.append(("FONT", (k, i), (k, i), SANS_B, fs, lead))
            if s.color:
                cmds.append(("TEXTCOLOR", (k, i), (k, i), colors.HexColor(s.color)))
        data.append(out_row)
    t = _DataTable(data, colWidths=[widths[j] for j in cols], repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle(cmds))
    return t


def _table(p: Placed, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    t: blocks.Table = p.block  # type: ignore[assignment]
    cells = t.cells()
    cap_text = f"<b>Table {p.number}.</b> {escape(t.caption or '')}"
    # Room for the caption, the header and a few rows, else the table starts on the next page.
    out: list[Flowable] = [CondPageBreak(72), Paragraph(cap_text, st["tcaption"])]
    if not cells.header:
        out.append(Paragraph("(empty table)", st["note"]))
        return out
    for fs in (8.0, 7.2, 6.4):
        widths, wrap = _fit_widths(cells, fs, FRAME_W)
        if sum(widths) <= FRAME_W:
            break
    groups = _column_groups(widths, cells.n_index, FRAME_W)
    for g, cols in enumerate(groups):
        if g:
            data_cols = [cells.header[j] for j in cols[cells.n_index:]]
            label = f"columns {data_cols[0]} to {data_cols[-1]}" if data_cols else "continued"
            out.append(Paragraph(f"<b>Table {p.number}</b> (continued: {escape(label)})",
                                 st["tcaption"]))
        out.append(_rl_table(cells, cols, widths, wrap, fs, st))
    if not cells.rows:
        out.append(Paragraph("(no rows)", st["note"]))
    if t.note:
        out.append(Spacer(1, 2))
        out.extend(_text(blocks.parse_text(t.note), st["note"], st["note"]))
    out.append(Spacer(1, 6))
    return out


def _figure(p: Placed, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    f: blocks.Figure = p.block  # type: ignore[assignment]
    png = f.png()
    w_px, h_px = blocks.png_size(png)
    w = f.width * FRAME_W
    h = w * h_px / w_px
    max_h = 0.72 * FRAME_H
    if h > max_h:
        w, h = w * max_h / h, max_h
    img = Image(io.BytesIO(png), width=w, height=h)
    img.hAlign = "CENTER"
    cap = f"<b>Figure {p.number}.</b> {escape(f.caption or '')}"
    return [KeepTogether([Spacer(1, 4), img, Paragraph(cap, st["caption"])])]


def _equation(p: Placed, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    e: blocks.Equation = p.block  # type: ignore[assignment]
    dpi = 300
    items: list[Flowable] = [_Equation(e.render("png", dpi), dpi, e.latex.strip(), p.number)]
    if e.caption:
        cap = ParagraphStyle("eqcap", parent=st["caption"], alignment=TA_CENTER, spaceBefore=0)
        items.append(Paragraph(escape(e.caption), cap))
    return [KeepTogether(items)]


def _keyvalue(p: Placed, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    b: blocks.KeyValue = p.block  # type: ignore[assignment]
    pairs = b.pairs()
    out: list[Flowable] = []
    if b.caption:
        out.append(Paragraph(escape(b.caption), st["kvcap"]))
    if not pairs:
        return out
    key_w = max(stringWidth(k, SANS_B, 8) for k, _ in pairs) + 10
    key_w = min(max(key_w, 0.18 * FRAME_W), 0.4 * FRAME_W)
    data = [[Paragraph(escape(k), st["kvkey"]), Paragraph(escape(v), st["kvval"])]
            for k, v in pairs]
    t = RLTable(data, colWidths=[key_w, FRAME_W - key_w], hAlign="LEFT", repeatRows=0)
    t.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
        ("LINEABOVE", (0, 0), (-1, 0), 0.3, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]))
    out += [t, Spacer(1, 6)]
    return out


def _callout(p: Placed, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    b: blocks.Callout = p.block  # type: ignore[assignment]
    fg, bg = CALLOUT[b.level]
    label = f'<font color="{fg}"><b>{escape(b.label)}</b></font>&nbsp;&nbsp;&nbsp;'
    parsed = b.parsed()
    bullet = ParagraphStyle("cb", parent=st["callout"], leftIndent=14, bulletIndent=3)
    if parsed and parsed[0][0] == "p":
        inner = [Paragraph(label + _markup(parsed[0][1]), st["callout"])]
        inner += _text(parsed[1:], st["callout"], bullet)
    else:
        inner = [Paragraph(label, st["callout"]), *_text(parsed, st["callout"], bullet)]
    t = RLTable([[inner]], colWidths=[FRAME_W], hAlign="LEFT")
    t.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(bg)),
        ("LINEBEFORE", (0, 0), (0, -1), 3, colors.HexColor(fg)),
        ("LEFTPADDING", (0, 0), (-1, -1), 9),
        ("RIGHTPADDING", (0, 0), (-1, -1), 8),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return [Spacer(1, 3), t, Spacer(1, 7)]


def _text_block(p: Placed, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    t: blocks.Text = p.block  # type: ignore[assignment]
    return _text(t.parsed(), st["body"], st["bullet"])


#: Flowables of each kind of block.
_RENDER: dict[str, Callable[[Placed, dict[str, ParagraphStyle]], list[Flowable]]] = {
    "text": _text_block, "table": _table, "figure": _figure, "equation": _equation,
    "keyvalue": _keyvalue, "callout": _callout,
}


def _block(p: Placed, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    return blocks.renderer_for(_RENDER, p.block, "PDF")(p, st)


def _height(flowables: list[Flowable]) -> float:
    """Height of flowables stacked in a fresh frame (spaces included)."""
    canv = Canvas(io.BytesIO())  # a scratch canvas: some flowables measure text on one
    h = 0.0
    for f in flowables:
        h += f.wrapOn(canv, FRAME_W, FRAME_H)[1] + f.getSpaceBefore() + f.getSpaceAfter()
    return h


def _node(node: Node, st: dict[str, ParagraphStyle]) -> tuple[list[Flowable], float]:
    """Flowables of a section, and the height that must be free on the page to start it.

    A heading must not be stranded at a page foot: reportlab's keepWithNext would glue it to
    a whole long table and push both to a new page, so instead each heading is preceded by a
    conditional page break sized to the heading plus the start of its first block (all of a
    figure or equation, the first lines of a table or text).
    """
    style = st[f"h{min(node.level, 3)}"]
    title = node.section.title
    text = f'<a name="{node.anchor}"/>{node.label}&nbsp;&nbsp;&nbsp;{escape(title)}'
    head: list[Flowable] = [
        _Heading(text, style, (node.level - 1, f"{node.label}  {title}", node.anchor, True))
    ]
    if node.section.lead:
        head.append(Paragraph(escape(node.section.lead), st["lead"]))
    body: list[Flowable] = []
    first_need = 0.0
    if not node.children:
        body += _callout(Placed(NOT_COMPLETED), st)
        first_need = _height(body)
    for k, child in enumerate(node.children):
        if isinstance(child, Node):
            flow, need = _node(child, st)
            if k == 0:
                first_need = need
                flow = flow[1:]  # this section's own break already reserves the room
        else:
            flow = _block(child, st)
            if k == 0:
                h = _height(flow)
                whole = child.block.kind in ("figure", "equation", "callout")
                first_need = h if whole else min(h, 90.0)
        body += flow
    need = min(_height(head) + first_need + 4, FRAME_H - 20)
    return [CondPageBreak(need), *head, *body], need


class _NumberedCanvas(Canvas):
    """Canvas that holds pages back until the end, to print "Page i of n" in the footer."""

    def __init__(self, *args: Any, footer: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for state in self._held:
            self.__dict__.update(state)
            if self._pageNumber > 1:  # no footer on the title page
                self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        y = MARGIN_BOTTOM - 11 * mm
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(MARGIN_LR, y + 10, PAGE_W - MARGIN_LR, y + 10)
        self.setFont(SANS, 7.5)
        self.setFillColor(MUTED)
        right = f"Page {self._pageNumber} of {total}"
        self.drawRightString(PAGE_W - MARGIN_LR, y, right)
        room = FRAME_W - stringWidth(right, SANS, 7.5) - 20
        left = self._footer
        while left and stringWidth(left, SANS, 7.5) > room:
            left = left[:-2]
            if stringWidth(left + "…", SANS, 7.5) <= room:
                left += "…"
                break
        self.drawString(MARGIN_LR, y, left)
        self.restoreState()


class _Doc(BaseDocTemplate):
    def __init__(self, filename: str, **kw: Any) -> None:
        super().__init__(
            filename, pagesize=A4, leftMargin=MARGIN_LR, rightMargin=MARGIN_LR,
            topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, **kw,
        )
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="page", frames=[frame])])

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 - reportlab's name
        entry = getattr(flowable, "outline_entry", None)
        if entry is None:
            return
        level, text, key, in_toc = entry
        self.canv.addOutlineEntry(text, key, level=level, closed=level > 0)
        if in_toc:
            self.notify("TOCEntry", (level, escape(text), self.page, key))  # TOC takes markup


def _story(report: ReportLike, st: dict[str, ParagraphStyle], generated: str) -> list[Flowable]:
    story: list[Flowable] = [Spacer(1, 42 * mm)]
    story.append(_Heading(f'<a name="title"/>{escape(report.title)}', st["title"],
                          (0, report.title, "title", False)))
    if report.subtitle:
        story.append(Paragraph(escape(report.subtitle), st["subtitle"]))
    story.append(HRFlowable(width="100%", thickness=1.4, color=ACCENT, spaceBefore=10,
                            spaceAfter=14))
    rows = [(str(k), "" if v is None else str(v)) for k, v in report.meta.items()]
    rows += [("Code version", report.code_version), ("Generated", generated)]
    key_w = max(stringWidth(k, SANS_B, 9.5) for k, _ in rows) + 16
    meta = RLTable(
        [[Paragraph(escape(k), st["meta_key"]), Paragraph(escape(v), st["meta_val"])]
         for k, v in rows],
        colWidths=[key_w, FRAME_W - key_w], hAlign="LEFT",
    )
    meta.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    story += [meta, PageBreak()]
    story.append(_Heading('<a name="contents"/>Contents', st["h1"],
                          (0, "Contents", "contents", False)))
    toc = TableOfContents(dotsMinLevel=0)
    toc.levelStyles = [st["toc0"], st["toc1"], st["toc2"]]
    story += [toc, PageBreak()]
    for node in outline(report):
        story += _node(node, st)[0]
    return story


def render_pdf(report: ReportLike) -> bytes:
    """The report as PDF bytes (see :func:`write_pdf`)."""
    _register_fonts()
    st = _styles()
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    buf = io.BytesIO()
    author = next(
        (str(report.meta[k]) for k in ("Author", "author", "Validator", "validator")
         if k in report.meta),
        "",
    )
    doc = _Doc(
        buf, title=report.title, author=author, subject=report.subtitle or "",
        creator="hybridrisk validation.report", keywords=report.code_version,
    )
    footer = f"{report.title} · {report.code_version}"

    def canvasmaker(*args: Any, **kwargs: Any) -> _NumberedCanvas:
        return _NumberedCanvas(*args, footer=footer, **kwargs)

    # Binary image streams: the pure-Python ASCII85 encoder would dominate the run time.
    old_a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        # Two or three passes: the TOC needs the page numbers found by the previous pass.
        doc.multiBuild(_story(report, st, generated), canvasmaker=canvasmaker)
    finally:
        rl_config.useA85 = old_a85
    return buf.getvalue()


def write_pdf(report: ReportLike, path: str | os.PathLike) -> Path:
    """Write the report as an A4 PDF.

    Parameters
    ----------
    report : Report
        Or anything else with the attributes of :class:`~validation.report.sections.ReportLike`.
    path : path
        Output file (parent directories are created).

    Returns
    -------
    pathlib.Path
        ``path``, the PDF file written.
    """
    data = render_pdf(report)  # rendered first: a failure leaves no empty folder behind
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path

