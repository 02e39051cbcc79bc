"""Render a :class:`~validation.report.Report` to one self-contained HTML file.

Everything is inline: CSS in a ``<style>`` element, figures and equations as ``data:`` URIs
(PNG or SVG). There is no script, web font or external URL, so the file can be archived with the
validation evidence and opened offline years later. The only links are to the report's own
section anchors and, with ``link_tables=True``, relative links to the CSV/Parquet copies of the
tables.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import os
from collections.abc import Callable
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from validation.report import blocks
from validation.report.sections import NOT_COMPLETED, Node, Placed, ReportLike, TableFile, outline

__all__ = ["render_html", "write_html"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"


_TAGS = {"code": ("<code>", "</code>"), "i": ("<em>", "</em>"), "b": ("<strong>", "</strong>")}


def _runs(runs: list[blocks.Run]) -> str:
    return blocks.markup_runs(runs, lambda text: str(escape(text)), _TAGS)


def _paragraphs(parsed: list) -> str:
    out = []
    for kind, content in parsed:
        if kind == "p":
            out.append(f"<p>{_runs(content)}</p>")
        else:
            items = "".join(f"<li>{_runs(item)}</li>" for item in content)
            out.append(f"<{kind}>{items}</{kind}>")
    return "\n".join(out)


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _table(
    p: Placed, links: dict[str, TableFile] | None = None, html_dir: Path | None = None
) -> str:
    t: blocks.Table = p.block  # type: ignore[assignment]
    cells = t.cells()
    num = ' class="num"'
    head = "".join(
        f"<th scope=\"col\"{num if cells.numeric[j] else ''}>{escape(h)}</th>"
        for j, h in enumerate(cells.header)
    )
    body = []
    for row, styles in zip(cells.rows, cells.styles, strict=True):
        tds = []
        for j, (v, st) in enumerate(zip(row, styles, strict=True)):
            cls = ["num"] if cells.numeric[j] else []
            if st.bold:
                cls.append("best")
            attrs = f' class="{" ".join(cls)}"' if cls else ""
            if st.color:
                attrs += f' style="color:{escape(st.color)}"'
            tag = "th scope=\"row\"" if j < cells.n_index else "td"
            tds.append(f"<{tag}{attrs}>{escape(v)}</{tag.split()[0]}>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    caption = f"<span class=\"label\">Table {p.number}.</span> {escape(t.caption or '')}"
    parts = [
        f'<figure class="table" id="tbl-{p.number}">',
        f"<figcaption>{caption}</figcaption>",
        '<div class="table-wrap"><table class="data">',
        f"<thead><tr>{head}</tr></thead>",
        "<tbody>" + "\n".join(body) + "</tbody></table></div>",
    ]
    if not cells.rows:
        parts.append('<div class="table-note"><p>(no rows)</p></div>')
    if t.note:
        parts.append(f'<div class="table-note">{_paragraphs(blocks.parse_text(t.note))}</div>')
    if links is not None and html_dir is not None and p.stem in links:
        f = links[p.stem]
        rel_csv = Path(os.path.relpath(f.csv, html_dir)).as_posix()
        rel_pq = Path(os.path.relpath(f.parquet, html_dir)).as_posix()
        parts.append(
            f'<p class="table-data">Data: <a href="{escape(rel_csv)}">CSV</a> · '
            f'<a href="{escape(rel_pq)}">Parquet</a> '
            f'<span class="hash">sha256 {f.csv_sha256[:16]}…</span></p>'
        )
    parts.append("</figure>")
    return "\n".join(parts)


def _figure(p: Placed) -> str:
    f: blocks.Figure = p.block  # type: ignore[assignment]
    if f.fmt == "svg":
        src = _data_uri("image/svg+xml", f.svg())
    else:
        src = _data_uri("image/png", f.png())
    alt = escape(f.caption or f"Figure {p.number}")
    cap = (
        f'<figcaption><span class="label">Figure {p.number}.</span> {escape(f.caption)}'
        "</figcaption>"
        if f.caption
        else f'<figcaption><span class="label">Figure {p.number}.</span></figcaption>'
    )
    return (
        f'<figure class="figure" id="fig-{p.number}">'
        f'<img src="{src}" alt="{alt}" style="width:{f.width * 100:.0f}%">{cap}</figure>'
    )


def _equation(p: Placed) -> str:
    e: blocks.Equation = p.block  # type: ignore[assignment]
    src = _data_uri("image/svg+xml", e.render("svg"))
    latex = escape(e.latex.strip())
    num = f'<span class="eqno">({p.number})</span>' if p.number is not None else ""
    ident = f' id="eq-{p.number}"' if p.number is not None else ""
    cap = f'<div class="eq-caption">{escape(e.caption)}</div>' if e.caption else ""
    return (
        f'<div class="equation"{ident}><div class="eq-row">'
        f'<img src="{src}" alt="{latex}" title="{latex}">{num}</div>{cap}</div>'
    )


def _keyvalue(p: Placed) -> str:
    b: blocks.KeyValue = p.block  # type: ignore[assignment]
    rows = "".join(
        f"<tr><th scope=\"row\">{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in b.pairs()
    )
    cap = f"<caption>{escape(b.caption)}</caption>" if b.caption else ""
    return f'<table class="kv">{cap}<tbody>{rows}</tbody></table>'


def _callout(p: Placed) -> str:
    b: blocks.Callout = p.block  # type: ignore[assignment]
    return (
        f'<div class="callout {b.level}" role="note"><span class="callout-label">'
        f"{escape(b.label)}</span>{_paragraphs(b.parsed())}</div>"
    )


def _text(p: Placed) -> str:
    t: blocks.Text = p.block  # type: ignore[assignment]
    return _paragraphs(t.parsed())


def render_html(
    report: ReportLike,
    *,
    table_files: list[TableFile] | None = None,
    html_dir: str | os.PathLike | None = None,
) -> str:
    """The report as an HTML string.

    Parameters
    ----------
    report : Report
        Or anything else with the attributes of :class:`~validation.report.sections.ReportLike`.
    table_files : list of TableFile, optional
        Output of :meth:`~validation.report.Report.write_tables`; when given with ``html_dir``,
        each table links to its CSV and Parquet files by relative path.
    html_dir : path, optional
        Directory the HTML will be saved in (to compute the relative links).
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    links = {f.stem: f for f in table_files} if table_files is not None else None
    hdir = Path(html_dir).resolve() if html_dir is not None else None

    handlers: dict[str, Callable[[Placed], str]] = {
        "text": _text, "table": functools.partial(_table, links=links, html_dir=hdir),
        "figure": _figure, "equation": _equation, "keyvalue": _keyvalue, "callout": _callout,
    }

    def render_block(p: Placed) -> Markup:
        return Markup(blocks.renderer_for(handlers, p.block, "HTML")(p))

    tree = outline(report)
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template("report.html.j2").render(
        report=report,
        meta=[(str(k), "" if v is None else str(v)) for k, v in report.meta.items()],
        tree=tree,
        render_block=render_block,
        is_node=lambda c: isinstance(c, Node),
        subnodes=lambda n: [c for c in n.children if isinstance(c, Node)],
        empty_notice=Markup(_callout(Placed(NOT_COMPLETED))),
        generated=generated,
        code_version=report.code_version,
    )


def write_html(
    report: ReportLike,
    path: str | os.PathLike,
    *,
    link_tables: bool = False,
    tables_dir: str | os.PathLike | None = None,
) -> Path:
    """Write the report as one self-contained HTML file.

    Parameters
    ----------
    report : Report
        Or anything else with the attributes of :class:`~validation.report.sections.ReportLike`.
    path : path
        Output file.
    link_tables : bool
        Also write the tables (:meth:`~validation.report.Report.write_tables`) and link each
        one to its CSV and Parquet file by relative path.
    tables_dir : path, optional
        Where the tables go when ``link_tables``; default ``<stem>_tables`` next to ``path``.

    Returns
    -------
    pathlib.Path
        ``path``, the HTML file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    files = None
    if link_tables:
        tdir = Path(tables_dir) if tables_dir is not None else path.with_name(f"{path.stem}_tables")
        files = report.write_tables(tdir)
    text = render_html(report, table_files=files, html_dir=path.parent)
    path.write_text(text, encoding="utf-8")
    return path
