"""The layering: validation -> monitor -> baselines -> hybridrisk core <- hybridrisk.hybrids,
no circles.

The model math (kernels), the result vocabulary (``hybridrisk.results``), the cells and the
checks form the core below both the classical baselines and the hybrids; the hybrids never
import the baselines (a benchmark reaches a hybrid as a plain argument), and nothing in the
core imports the hybrids. The real-time monitor (``monitor``) sits above the baselines (it
runs their VaR methods) and below the validation suite (whose command line starts it).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"hybridrisk": {"baselines", "validation", "monitor"},
             "baselines": {"validation", "monitor"},
             "monitor": {"validation"}}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a file imports (``from a.b import c`` gives ``a.b``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def imported_top_levels(path: Path) -> set[str]:
    return {m.split(".")[0] for m in imported_modules(path)}


def _unit(path: Path) -> str:
    """The layer a file of hybridrisk belongs to: its subpackage, or its module."""
    rel = path.relative_to(ROOT / "hybridrisk").with_suffix("")
    return rel.parts[0]


def test_no_upward_imports():
    bad = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            hits = imported_top_levels(path) & forbidden
            if hits:
                bad.append(f"{path.relative_to(ROOT)} imports {sorted(hits)}")
    assert not bad, "\n".join(bad)


def test_the_core_never_imports_the_hybrids():
    bad = []
    for path in sorted((ROOT / "hybridrisk").rglob("*.py")):
        if _unit(path) in ("hybrids", "__init__"):
            continue
        hits = {m for m in imported_modules(path) if m.startswith("hybridrisk.hybrids")}
        if hits:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(hits)}")
    assert not bad, "\n".join(bad)


def test_no_import_circle_between_the_parts_of_hybridrisk():
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "hybridrisk").rglob("*.py")):
        src = _unit(path)
        if src == "__init__":
            continue
        for m in imported_modules(path):
            parts = m.split(".")
            if parts[0] == "hybridrisk" and len(parts) > 1 and parts[1] != src:
                graph.setdefault(src, set()).add(parts[1])
    _assert_acyclic(graph)


def test_no_import_circle_between_the_modules_of_the_monitor():
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        src = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        graph[src] = {m for m in imported_modules(path)
                      if m.startswith("monitor.") and m != src}
    assert len(graph) > 5
    _assert_acyclic(graph)


def _assert_acyclic(graph: dict[str, set[str]]) -> None:
    # depth-first search for a back edge
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, f"import circle: {' -> '.join(trail + [node, nxt])}"
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_checks_see_imports():
    assert "hybridrisk" in imported_top_levels(ROOT / "baselines" / "garch.py")
    assert "hybridrisk.kernels.garch" in imported_modules(ROOT / "hybridrisk" / "hybrids"
                                                          / "garch.py")
    assert "baselines" in imported_top_levels(ROOT / "monitor" / "measures.py")
    assert "monitor" in imported_top_levels(ROOT / "validation" / "cli.py")
    assert "monitor.engine" in imported_modules(ROOT / "monitor" / "loop.py")
    # the portfolio layer is core: it sees the pricers, and the checks above cover it
    portfolio = ROOT / "hybridrisk" / "portfolio"
    assert "hybridrisk.pricing" in imported_modules(portfolio / "revaluation.py")
    assert _unit(portfolio / "scenarios.py") == "portfolio"


def test_the_portfolio_layer_takes_fitted_baselines_as_arguments():
    """FHS needs GARCH fits: the fitting lives in validation, the generator in the core."""
    for path in sorted((ROOT / "hybridrisk" / "portfolio").rglob("*.py")):
        hits = imported_top_levels(path) & {"baselines", "validation"}
        hits |= {m for m in imported_modules(path) if m.startswith("hybridrisk.hybrids")}
        assert not hits, f"{path.relative_to(ROOT)} imports {sorted(hits)}"
    assert "baselines" in imported_top_levels(ROOT / "validation" / "families"
                                              / "portfolio_scenarios.py")
