"""Report pack: document model, self-contained HTML, paginated PDF, table files, figures."""

from __future__ import annotations

import ast
import base64
import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from validation.report import (
    SKELETON_SECTIONS,
    BestValue,
    Callout,
    Equation,
    Figure,
    KeyValue,
    Report,
    Table,
    Text,
    Threshold,
    reproducibility_manifest,
    validation_report_skeleton,
)
from validation.report import figures as F
from validation.report.blocks import parse_text

pdfium = pytest.importorskip("pypdfium2")
pytest.importorskip("reportlab")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def returns(sp500) -> pd.Series:
    return sp500.loc["2007":"2009"]


@pytest.fixture(scope="module")
def annual(sp500) -> pd.DataFrame:
    g = sp500.groupby(sp500.index.year)
    df = pd.DataFrame({"mean": g.mean(), "std": g.std(), "min": g.min(), "max": g.max()})
    df["p-value"] = np.linspace(0.001, 0.4, len(df))
    df.index.name = "year"
    return df


@pytest.fixture(scope="module")
def daily(returns) -> pd.DataFrame:
    """A long table (160 rows: spans pages) with a DatetimeIndex."""
    r = returns.iloc[:160]
    df = pd.DataFrame({"return": r, "abs return": r.abs(), "squared": r**2})
    df.index.name = "date"
    return df


@pytest.fixture(scope="module")
def manifest(sp500) -> dict:
    digest = __import__("hashlib").sha256(sp500.to_numpy().tobytes()).hexdigest()
    return reproducibility_manifest(
        seeds={"training": 7, "bootstrap": 11},
        data_hashes={"sp500 returns": digest},
        extra={"window": 250},
    )


@pytest.fixture(scope="module")
def report(returns, annual, daily, manifest) -> Report:
    ewma = np.sqrt((returns**2).ewm(alpha=0.06).mean()).shift(1)
    roll = returns.rolling(20).std().shift(1)
    rep = validation_report_skeleton(
        "EWMA volatility model validation",
        "Champion EWMA against a 20-day rolling window",
        meta={"Model ID": "MR-TEST-1", "Validator": "Model Risk"},
        scope="Forecasts **one-day** volatility for the `VaR` engine.\n\n- Users: market risk\n"
        "- Products: index futures",
        limitations=["One index only.", "Daily data."],
        manifest=manifest,
    )
    rep["data"].add(KeyValue({"source": "arch.data sp500", "sha256": "ab" * 32,
                              "splits": {"train": "1999-2006", "test": "2007-2009"}},
                             caption="Data source"))
    rep["conceptual"].add(
        Text("The variance follows an exponentially weighted recursion:"),
        Equation(r"\sigma_t^2 = \lambda\,\sigma_{t-1}^2 + (1-\lambda)\,r_{t-1}^2",
                 caption="EWMA recursion"),
    )
    rep["process"].add(Callout("pass", "All **12** reference checks passed."))
    bt = rep["outcomes"].subsection("VaR backtest", key="var")
    bt.add(
        Figure(F.exceptions_over_time(returns, {"EWMA": 2.326 * ewma, "Rolling": 2.326 * roll},
                                      0.99), caption="VaR 99% exceptions, θ(t) check"),
        Table(annual, caption="Annual statistics of S&P 500 log returns", float_format=".4f",
              highlight=[BestValue("std", "min"), Threshold("p-value", below=0.05)],
              note="Returns in **percent**."),
        Callout("fail", "Christoffersen independence rejected (p = 0.002)."),
    )
    rep["benchmarking"].add(
        Table(daily, caption="Daily returns, first 160 days", float_format=".5f"),
        Figure(lambda: F.forecast_vs_realised(returns.index, returns.abs(),
                                              {"EWMA": ewma, "Rolling": roll}),
               caption="Forecast against realised", fmt="svg", dpi=110),
    )
    # Left empty on purpose: "sensitivity" must be flagged as not completed.
    return rep


@pytest.fixture(scope="module")
def out(tmp_path_factory, report) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("report")
    return {
        "html": report.to_html(d / "report.html"),
        "linked": report.to_html(d / "linked" / "report.html", link_tables=True),
        "pdf": report.to_pdf(d / "report.pdf"),
        "tables": d / "tables",
        "files": report.write_tables(d / "tables"),
    }


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[tuple[str, dict]] = []
        self.tags: set[str] = set()
        self.attrs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.attrs += [v for v in a.values() if v]
        if "id" in a:
            self.ids.append(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if "src" in a:
            self.srcs.append((a["src"], a))

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> _Collector:
    c = _Collector()
    c.feed(path.read_text(encoding="utf-8"))
    return c


def _pdf_text(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]


# --------------------------------------------------------------------------- document model


def test_skeleton_sections_in_order(report):
    titles = [s.title for s in report.sections]
    assert titles == [t for _, t, _ in SKELETON_SECTIONS]
    assert titles[0] == "Scope and intended use" and titles[-1] == "Reproducibility manifest"
    assert report["outcomes"] is report.sections[4]
    assert report["5.1"].title == "VaR backtest" and report["var"] is report["5.1"]
    assert report["Limitations"].blocks and report["reproducibility"].blocks
    with pytest.raises(KeyError):
        report["no such section"]


def test_text_markup():
    parsed = parse_text(
        "Plain **bold** and `x*y` and *it*.\n\n- one\n- two **b**\n  continued\n\n1. a"
    )
    kinds = [k for k, _ in parsed]
    assert kinds == ["p", "ul", "ol"]
    runs = parsed[0][1]
    assert [(r.text, set(r.styles)) for r in runs if r.styles] == [
        ("bold", {"b"}), ("x*y", {"code"}), ("it", {"i"})
    ]
    assert len(parsed[1][1]) == 2 and parsed[1][1][1][-1].text == " continued"
    assert parse_text("2 * 3 * 4")[0][1][0].text == "2 * 3 * 4"  # no accidental italics


def test_highlight_rules():
    df = pd.DataFrame({"a": [3.0, 1.0, 2.0], "b": [0.01, 0.2, 0.04], "c": [0.97, 0.99, 1.0]})
    t = Table(df, highlight=[BestValue("a", "min"), BestValue("c", 0.99),
                             Threshold("b", below=0.05, color="#ff0000")])
    cells = t.cells()
    assert [row[0].bold for row in cells.styles] == [False, True, False]
    assert [row[2].bold for row in cells.styles] == [False, True, False]
    assert [row[1].color for row in cells.styles] == ["#ff0000", None, "#ff0000"]
    per_row = Table(df[["a", "c"]], highlight=[BestValue(best="max", axis=1)]).cells()
    assert [[s.bold for s in row] for row in per_row.styles] == [[True, False]] * 3
    with pytest.raises(KeyError):
        Table(df, highlight=[BestValue("zzz")]).cells()
    assert Table(pd.DataFrame({"x": [-1e-9]}), float_format=".3f").cells().rows == [["0.000"]]


def test_blocks_validate_their_input():
    with pytest.raises(ValueError, match="mathtext"):
        Equation(r"\frac{a}{")
    with pytest.raises(ValueError):
        Callout("maybe", "x")
    with pytest.raises(KeyError):
        Table(pd.DataFrame({"a": [1]}), formats={"b": ".2f"})
    rep = Report("t")
    rep.section("s").add(Table(pd.DataFrame({"a": [1]}), name="same"),
                         Table(pd.DataFrame({"a": [2]}), name="same"))
    with pytest.raises(ValueError, match="same"):
        rep.tables()


def test_manifest(manifest):
    import numpy
    import pandas

    pk = manifest["packages"]
    assert set(pk) >= {"torch", "numpy", "pandas", "scipy", "arch", "statsmodels", "QuantLib",
                       "hybridrisk"}
    assert pk["numpy"] == numpy.__version__ and pk["pandas"] == pandas.__version__
    assert pk["hybridrisk"]
    assert manifest["seeds"] == {"training": 7, "bootstrap": 11}
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["data_hashes"]["sp500 returns"])
    assert manifest["extra"] == {"window": 250}
    assert manifest["code_version"].startswith(("git ", "hybridrisk "))
    if "git" in manifest:
        assert re.fullmatch(r"[0-9a-f]{40}", manifest["git"]["commit"])
    ts = dt.datetime.strptime(manifest["timestamp_utc"], "%Y-%m-%dT%H:%M:%SZ")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs((now - ts).total_seconds()) < 3600
    assert manifest["python"].split()[0].count(".") == 2 and manifest["platform"]


def test_manifest_packages_come_from_the_provenance_recorder(manifest):
    from hybridrisk.provenance import package_versions
    from validation.report import KEY_PACKAGES

    assert manifest["packages"] == package_versions(*KEY_PACKAGES, core=(), python=False)
    assert list(manifest["packages"]) == list(KEY_PACKAGES)


# --------------------------------------------------------------------------- module layering

REPORT_DIR = Path(__file__).resolve().parents[1] / "validation" / "report"


def _report_imports(path: Path) -> set[str]:
    """The validation.report modules a file imports, anywhere in it (functions and
    ``if TYPE_CHECKING:`` blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # "from validation.report import blocks" imports the submodule blocks
            names = [f"{node.module}.{a.name}" if node.module == "validation.report"
                     and (REPORT_DIR / f"{a.name}.py").is_file() else node.module
                     for a in node.names]
        else:
            continue
        found |= {n.split(".")[2] if n.count(".") >= 2 else "__init__"
                  for n in names if n == "validation.report" or n.startswith("validation.report.")}
    return found - {path.stem}


def test_renderers_import_only_the_blocks_and_the_outline():
    graph = {f.stem: _report_imports(f) for f in REPORT_DIR.glob("*.py")}
    assert {"blocks", "sections", "html", "pdf", "manifest", "document"} <= set(graph)
    for renderer in ("html", "pdf"):
        assert graph[renderer] <= {"blocks", "sections"}, (renderer, graph[renderer])
    # no module below the package imports the document or the package itself
    for name, deps in graph.items():
        if name not in ("__init__", "document"):
            assert not deps & {"document", "__init__"}, (name, deps)
    # and the imports between the modules form no circle
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import circle: {' -> '.join((*path, name))}"
        if name not in done:
            for dep in graph.get(name, ()):
                visit(dep, (*path, name))
            done.add(name)

    for name in graph:
        visit(name, ())


def test_renderers_refuse_an_unknown_block(tmp_path):
    from validation.report import Block

    class Sketch(Block):
        kind = "sketch"

    rep = Report("t", code_version="test")
    rep.section("s").add(Sketch())
    with pytest.raises(TypeError, match="no HTML renderer for block Sketch"):
        rep.to_html(tmp_path / "r.html")
    with pytest.raises(TypeError, match="no PDF renderer for block Sketch"):
        rep.to_pdf(tmp_path / "r.pdf")


# --------------------------------------------------------------------------- HTML


def test_html_is_self_contained(out):
    html = out["html"].read_text(encoding="utf-8")
    c = _parse(out["html"])
    assert "script" not in c.tags and "link" not in c.tags and "iframe" not in c.tags
    assert not re.search(r"https?://", " ".join(c.hrefs + [s for s, _ in c.srcs]))
    assert "@import" not in html and "@font-face" not in html and "url(" not in html
    # Every internal link resolves, ids are unique, and there is no other kind of link.
    assert len(c.ids) == len(set(c.ids))
    internal = [h for h in c.hrefs if h.startswith("#")]
    assert internal and all(h[1:] in c.ids for h in internal)
    assert internal == c.hrefs
    for k in range(1, 10):
        assert f"#sec-{k}" in internal
    assert "#sec-5-1" in internal


def test_html_images_are_valid_data_uris(out):
    c = _parse(out["html"])
    kinds = []
    for src, attrs in c.srcs:
        m = re.fullmatch(r"data:(image/png|image/svg\+xml);base64,([A-Za-z0-9+/=]+)", src)
        assert m, src[:60]
        data = base64.b64decode(m.group(2), validate=True)
        if m.group(1) == "image/png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and data.rstrip().endswith(b"IEND\xaeB`\x82")
        else:
            assert ET.fromstring(data).tag.endswith("svg")
        assert attrs.get("alt")
        kinds.append(m.group(1))
    # Two figures (PNG, SVG) and one equation (SVG, with its LaTeX as alt text).
    assert sorted(kinds) == ["image/png", "image/svg+xml", "image/svg+xml"]
    assert any(a["alt"].startswith(r"\sigma_t^2") for _, a in c.srcs)


def test_html_shows_every_number(out, annual, daily):
    c = _parse(out["html"])
    cells = set(t.strip() for t in c.text)
    for v in annual.drop(columns="p-value").to_numpy().ravel():
        assert f"{v:.4f}".replace("-0.0000", "0.0000") in cells
    for v in daily.to_numpy().ravel():
        assert f"{v:.5f}".replace("-0.00000", "0.00000") in cells
    for d in daily.index:
        assert f"{d:%Y-%m-%d}" in cells
    for title in [t for _, t, _ in SKELETON_SECTIONS] + ["VaR backtest"]:
        assert title in cells
    html = out["html"].read_text(encoding="utf-8")
    best = f"{annual['std'].min():.4f}"
    assert f'class="num best">{best}<' in html
    n_sig = int((annual["p-value"] < 0.05).sum())
    assert n_sig and html.count('style="color:#b3261e"') == n_sig
    assert "NOT COMPLETED" in cells  # the empty sensitivity section is flagged
    assert "<strong>one-day</strong>" in html and "<code>VaR</code>" in html
    assert "<li>Users: market risk</li>" in html


def test_html_links_tables_by_relative_path(out):
    path = out["linked"]
    c = _parse(path)
    files = [h for h in c.hrefs if not h.startswith("#")]
    assert sorted(Path(f).suffix for f in files) == [".csv", ".csv", ".parquet", ".parquet"]
    for f in files:
        assert not Path(f).is_absolute() and ":" not in f
        assert (path.parent / f).is_file()
    assert not [h for h in _parse(out["html"]).hrefs if not h.startswith("#")]


# --------------------------------------------------------------------------- tables on disk


def test_tables_round_trip(out, annual, daily):
    files = {f.stem: f for f in out["files"]}
    assert list(files) == [
        "05-01_t01_annual-statistics-of-s-p-500-log-returns",
        "06_t01_daily-returns-first-160-days",
    ]
    a = files["05-01_t01_annual-statistics-of-s-p-500-log-returns"]
    assert a.section == "5.1"
    pd.testing.assert_frame_equal(pd.read_parquet(a.parquet), annual)
    # CSV keeps every digit (floats written with repr); only the int width of the index differs.
    pd.testing.assert_frame_equal(pd.read_csv(a.csv, index_col="year"), annual,
                                  check_exact=True, check_index_type=False)
    d = files["06_t01_daily-returns-first-160-days"]
    pd.testing.assert_frame_equal(pd.read_parquet(d.parquet), daily, check_freq=False)
    back = pd.read_csv(d.csv, index_col="date", parse_dates=["date"])
    pd.testing.assert_frame_equal(back, daily, check_exact=True, check_freq=False,
                                  check_index_type=False)
    assert (out["tables"] / "tables.json").is_file()


# --------------------------------------------------------------------------- PDF


def test_pdf_pages_render_and_text(out, report, annual):
    doc = pdfium.PdfDocument(str(out["pdf"]))
    n = len(doc)
    assert n >= 6
    texts = _pdf_text(out["pdf"])
    assert "EWMA volatility model validation" in texts[0]
    # TOC on page 2 lists every section title; each title also heads a body page.
    body = "\n".join(texts[2:])
    for _, title, _ in SKELETON_SECTIONS:
        assert title in texts[1] and title in body
    assert "5.1" in texts[1] and "VaR backtest" in texts[1]
    for i, t in enumerate(texts[1:], start=2):
        assert f"Page {i} of {n}" in t and report.code_version in t
    # A known number of the annual table, the θ of a caption, and the equation's LaTeX layer.
    assert f"{annual.loc[2008, 'min']:.4f}" in body
    assert "θ(t)" in body
    assert r"\sigma_t^2" in body
    table_page = next(i for i, t in enumerate(texts) if "Annual statistics" in t and "p-value" in t)
    for i in (0, table_page):
        img = np.asarray(doc[i].render(scale=0.6).to_pil().convert("L"), dtype=float)
        assert img.std() > 5 and (img < 128).mean() > 0.002  # not blank


def test_pdf_long_table_repeats_header(out, daily):
    texts = _pdf_text(out["pdf"])
    first, last = f"{daily.index[0]:%Y-%m-%d}", f"{daily.index[-1]:%Y-%m-%d}"
    start = next(i for i, t in enumerate(texts) if first in t)
    end = next(i for i, t in enumerate(texts) if last in t)
    assert end > start  # the 160-row table spans pages...
    for t in texts[start : end + 1]:
        assert "abs return" in t and "squared" in t  # ...with its header on each one


def test_pdf_wide_table_is_split_into_column_groups(tmp_path):
    wide = pd.DataFrame(np.arange(60.0).reshape(3, 20) / 7,
                        columns=[f"horizon {k} days" for k in range(20)])
    rep = Report("Wide", code_version="test")
    rep.section("Only").add(Table(wide, caption="Wide table", float_format=".3f"))
    texts = _pdf_text(rep.to_pdf(tmp_path / "wide.pdf"))
    body = "\n".join(texts[2:])
    assert "continued" in body
    for v in wide.to_numpy().ravel():
        assert f"{v:.3f}" in body


# --------------------------------------------------------------------------- figures


def test_figures_return_agg_figures_without_pyplot(returns):
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    before = plt.get_fignums()
    idx = returns.index[:300]
    r = returns.iloc[:300]
    vol = r.rolling(20).std()
    tv = pd.DataFrame({"omega": np.linspace(0.01, 0.03, 300), "alpha": 0.08}, index=idx)
    figs = [
        F.forecast_vs_realised(idx, r.abs(), {"roll": vol}),
        F.exceptions_over_time(r, {"roll": -2.33 * vol}, 0.01),
        F.rolling_loss_difference(r**2, (r**2).shift(1), 20, ("now", "lag")),
        F.parameter_paths(tv, {"omega": 0.02}),
        F.heatmap(pd.DataFrame([[0.1, -0.2], [0.3, 0.0]], index=[1, 2], columns=["1d", "5d"]),
                  "err", None),
        F.curve_plot([1, 2, 5], {"a": [1.0, 2.0, 3.0], "b": [1.5, 2.0, 2.5]}),
    ]
    for fig in figs:
        assert isinstance(fig, MplFigure) and isinstance(fig.canvas, FigureCanvasAgg)
    assert len(figs[3].axes) == 2  # one panel per parameter
    n_exc = int((r < -2.33 * vol).sum())  # VaR given as a return quantile (negative)
    label = figs[1].axes[0].get_legend().get_texts()[1].get_text()
    assert label.startswith(f"roll: {n_exc} exceptions (expected {0.01 * vol.notna().sum():.1f}")
    png = Figure(figs[4], dpi=60).png()
    assert png[:4] == b"\x89PNG"
    assert plt.get_fignums() == before

    def made_with_pyplot():
        fig = plt.figure()
        fig.add_subplot().plot([0, 1])
        return fig

    block = Figure(made_with_pyplot, dpi=50)
    assert block.png()[:4] == b"\x89PNG"
    assert plt.get_fignums() == before  # the block closed the pyplot figure it created
    with pytest.raises(ValueError):
        F.curve_plot([1, 2], {"bad": [1.0]})


def test_pdf_text_columns_wrap_instead_of_splitting(tmp_path):
    """A reference-check table (two long text columns) fits the page by wrapping its text."""
    from validation.report.pdf import FRAME_W, _fit_widths

    src = "TSP/FCP consensus (McCullough-Renfro benchmark)"
    rows = [
        {"check": "bundled data files unchanged", "reference": "SHA256SUMS", "value": 1.0,
         "reference value": 1.0, "tolerance": 0.0, "passed": True},
        *({"check": f"DEM/GBP GARCH(1,1) benchmark: {n}", "reference": src,
           "value": v * (1 + 1e-11), "reference value": v, "tolerance": 1e-8, "passed": True}
          for n, v in (("mu", -0.0061904083799), ("omega", 0.0107613978518),
                       ("alpha[1]", 0.15313406182), ("beta[1]", 0.80597367031))),
        {"check": "GJR-GARCH(1,1,1)-t log-likelihood at arch's estimates",
         "reference": "arch loglikelihood", "value": -7432.123456789, "reference value":
         -7432.123456789, "tolerance": 1e-10, "passed": True},
        {"check": "LNN-GARCH-t (GJR), network off: log-likelihood",
         "reference": "arch GJR-GARCH(1,1,1)-t loglikelihood", "value": -7432.123456789,
         "reference value": -7432.123456789, "tolerance": 1e-12, "passed": True},
    ]
    checks = pd.DataFrame(rows)
    table = Table(checks, caption="Reference checks", formats={
        "value": ".10g", "reference value": ".10g", "tolerance": ".1e"})
    widths, wrap = _fit_widths(table.cells(), 8.0, FRAME_W)
    assert sum(widths) <= FRAME_W + 1e-6 and wrap[0] and wrap[1]  # the text columns wrap
    rep = Report("Checks", code_version="test")
    rep.section("Process verification").add(table)
    texts = _pdf_text(rep.to_pdf(tmp_path / "checks.pdf"))
    body = "\n".join(texts[2:])
    assert "continued" not in body
    for v in checks["value"]:
        assert f"{v:.10g}" in body
    for word in ("McCullough-Renfro", "SHA256SUMS", "estimates", "network"):
        assert word in body
