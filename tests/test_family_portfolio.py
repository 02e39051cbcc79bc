"""The portfolio family: the book's P&L, look-ahead-free VaR/ES tasks, scoring, a quick campaign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from hybridrisk.errors import ConfigError
from hybridrisk.portfolio import QuantLibBook, factor_history, market_state, read_book
from hybridrisk.portfolio import sample_book_path as sample
from hybridrisk.results import LEVELS, es_column, var_column
from validation.config import CampaignConfig, SensitivityConfig
from validation.families import FAMILIES
from validation.families.portfolio import PortfolioFamily
from validation.families.portfolio_tasks import (
    DeltaNormalTask,
    FHSTask,
    HSTask,
    HybridMCTask,
    ParametricTask,
    book_pnl,
    normal_scores_correlation,
)
from validation.walkforward import WalkForward

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def fam() -> PortfolioFamily:
    return PortfolioFamily()


@pytest.fixture(scope="module")
def data(fam) -> pd.DataFrame:
    return fam.load("sample_book")


@pytest.fixture(scope="module")
def window(data):
    return WalkForward(refit=21, oos=21, min_train=500).plan(data.index)[0]


def test_pnl_is_the_quantlib_revaluation_of_each_days_factor_changes(fam, data):
    hist = factor_history()
    ql = QuantLibBook(read_book(sample()), market_state(hist), hist.names)
    days = data.index[[0, 2400, -1]]
    x = data.loc[days].drop(columns="pnl").to_numpy()
    ref = ql.values(x).sum(axis=1) - ql.values(np.zeros((1, x.shape[1]))).sum()
    np.testing.assert_allclose(data.loc[days, "pnl"].to_numpy(), ref, rtol=1e-10, atol=1e-4)
    assert list(data.columns) == ["pnl", *hist.names]


def test_datasets_book_files_and_errors(fam, data, tmp_path):  # data: fam loaded
    assert FAMILIES["portfolio"].name == "portfolio"
    assert CampaignConfig(family="portfolio").dataset == "sample_book"
    path = tmp_path / "one.yaml"
    path.write_text("positions:\n  - {id: A, instrument: equity_index, underlying: SP500, "
                    "quantity: 2, currency: USD}\n")
    one = PortfolioFamily().load(f"book:{path}")
    spx = one.pop("pnl")
    base = market_state(factor_history()).equities["SP500"]
    np.testing.assert_allclose(spx, 2 * base * np.expm1(one["equity:SP500"]), rtol=1e-12,
                               atol=1e-9)
    with pytest.raises(ConfigError, match="does not exist"):
        PortfolioFamily().load(f"book:{tmp_path / 'none.yaml'}")
    with pytest.raises(ConfigError, match="kind"):
        fam.tasks({"X": {"kind": "garch"}}, quick=True)
    with pytest.raises(ConfigError, match="dist"):
        fam.tasks({"X": {"kind": "parametric", "dist": "skewt"}}, quick=True)
    with pytest.raises(ConfigError, match="innovations"):
        fam.tasks({"X": {"kind": "hybrid-mc", "innovations": "normal"}}, quick=True)
    with pytest.raises(ConfigError, match="portfolio"):
        fam.from_user_data(one)


def test_historical_simulation_uses_only_the_days_before(data, window):
    out = HSTask(window=250)(data.iloc[:window.block_end + 1], window, 0)
    pnl = data["pnl"].to_numpy()
    for i in (0, 7, 20):
        t = window.block_start + i
        hist = np.sort(pnl[t - 250:t])  # most negative first
        assert out[var_column(0.99)].iloc[i] == pytest.approx(-hist[2])  # ceil(2.5) = 3rd
        assert out[es_column(0.99)].iloc[i] == pytest.approx(-hist[:3].mean())
    # a change in the block's last day changes no forecast (no look-ahead)
    moved = data.copy()
    moved.iloc[window.block_end, 0] = -1e12
    np.testing.assert_array_equal(HSTask(window=250)(moved, window, 0).to_numpy(), out.to_numpy())


def test_delta_normal_is_the_closed_form_of_the_linear_book(fam, data, window):
    spec = fam.spec
    task = DeltaNormalTask(book=spec, window=300)
    out = task(data, window, 0)
    x = data.drop(columns="pnl").to_numpy()[window.block_start - 300:window.block_start]
    eps = 1e-6 * np.eye(x.shape[1])
    g = (book_pnl(spec, eps) - book_pnl(spec, -eps)) / 2e-6  # numerical delta of the book
    sd = np.sqrt(g @ np.cov(x, rowvar=False) @ g)
    z = stats.norm.ppf(0.99)
    assert out[var_column(0.99)].iloc[0] == pytest.approx(-g @ x.mean(0) + z * sd, rel=1e-6)
    assert out["sd"].iloc[0] == pytest.approx(sd, rel=1e-6)


def test_monte_carlo_tasks_are_seeded_and_ordered(fam, data, window):
    for task in (ParametricTask(book=fam.spec, dist="t", n_sims=500),
                 FHSTask(book=fam.spec, window=600)):
        a = task(data, window, 3)
        np.testing.assert_array_equal(a.to_numpy(), task(data, window, 3).to_numpy())
        for lev in LEVELS:
            assert (a[es_column(lev)] >= a[var_column(lev)]).all()
        assert (a[var_column(0.99)] >= a[var_column(0.95)]).all()


@pytest.mark.parametrize("innovations", ["t-copula", "bootstrap"])
def test_hybrid_monte_carlo_runs_and_is_reproducible(fam, data, window, innovations):
    task = HybridMCTask(book=fam.spec, window=400, hidden_size=4, epochs=1, n_sims=400,
                        innovations=innovations)
    a = task(data, window, 5)
    np.testing.assert_array_equal(a.to_numpy(), task(data, window, 5).to_numpy())
    assert np.isfinite(a.to_numpy()).all() and (a["sd"] > 0).all()
    assert (a[es_column(0.975)] > a[var_column(0.975)]).all()
    assert 0 <= a["moved_benchmarks"].iloc[0] <= data.shape[1] - 1


def test_normal_scores_correlation_recovers_a_gaussian_dependence():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    z = rng.multivariate_normal([0, 0], cov, size=20000)
    np.testing.assert_allclose(normal_scores_correlation(np.exp(z))[0, 1], 0.6, atol=0.02)


def test_quick_campaign_end_to_end(tmp_path):
    from validation.harness import run_campaign

    cfg = CampaignConfig(family="portfolio", out=str(tmp_path / "camp"), oos=63, refit=63,
                         executor="serial", quick=True,
                         sensitivity=SensitivityConfig(seeds=(), window_size=None,
                                                       crisis=False))
    res = run_campaign(cfg, progress=False)
    assert res.report_html.is_file() and res.report_pdf.is_file()
    head = res.headline
    assert list(head.index) == list(PortfolioFamily().default_models(quick=True))
    assert head.loc["Hybrid MC", "role"] == "challenger"
    assert res.checks["passed"].all(), res.checks.loc[~res.checks["passed"], "check"].tolist()
    bt = res.scores.tables["var_backtests"]
    n_models = len(PortfolioFamily().default_models(quick=True))
    assert n_models == 9 and {"Hybrid DCC MC", "Neural SDE MC"} <= set(head.index)
    assert len(bt) == n_models * len(LEVELS)
    assert bt["Basel zone"].isin(["green", "yellow", "red"]).all()
    assert (head.loc[["Hybrid FHS", "Hybrid DCC MC", "Neural SDE MC"], "role"]
            == "challenger").all()
    assert len(res.scores.tables["diebold_mariano"]) == 4 * 5  # four challengers, five champions
    pos = res.scores.tables["euler_positions"]
    for col in ("vol", "VaR 99%", "ES 97.5%"):
        assert pos[col].drop("total").sum() == pytest.approx(pos.loc["total", col], rel=1e-9)
    fac = res.scores.tables["euler_factors"]
    assert fac.loc["total", "VaR 99%"] == pytest.approx(pos.loc["total", "VaR 99%"], rel=1e-9)
    stress = res.scores.tables["stress"]
    assert {"2008-09/10", "flight to quality"} <= set(stress.index)
    gens = res.scores.tables["generators"]
    assert list(gens.columns) == ["history", "FHS", "Neural SDE"]
    assert gens.loc["energy distance p-value", ["FHS", "Neural SDE"]].between(0, 1).all()
    hedge = res.scores.tables["hedging"]
    assert {"unhedged", "implied", "flat vol", "GJR-GARCH-t", "LNN-GARCH-t", "SABR (Hagan)",
            "SABR (Bartlett)", "GJR-GARCH-t MV", "LNN-GARCH-t MV"} == set(hedge.index)
    assert (hedge["sd"] > 0).all()
    tests = res.scores.tables["hedging_tests"]
    ratio = (hedge.loc["LNN-GARCH-t MV", "sd"] / hedge.loc[list(tests.index), "sd"]) ** 2
    np.testing.assert_allclose(tests["variance ratio"], ratio.to_numpy(), rtol=1e-12)
    assert tests["p-value"].between(0, 1).all()
    html = res.report_html.read_text()
    assert "energy distance" in html and "Hedge effectiveness" in html
    assert "Euler" in html and "McNeil-Frey" in html and "flight to quality" in html


def test_cli_portfolio_option_checks_its_arguments(tmp_path):
    from validation.cli import main

    run = CliRunner().invoke(main, ["validate", "--family", "volatility", "--portfolio",
                                    str(sample())])
    assert run.exit_code != 0 and "--family portfolio" in run.output
    run = CliRunner().invoke(main, ["validate", "--portfolio", str(tmp_path / "no.yaml")])
    assert run.exit_code != 0 and "does not exist" in run.output


def test_filtered_historical_accepts_the_stationarity_boundary_only(data):
    from hybridrisk.errors import ParameterDomainError
    from hybridrisk.portfolio import FilteredHistorical

    x = data[["equity:SP500"]].iloc[-600:]
    row = {"mu": 0.0, "omega": 0.02, "alpha": 0.1, "gamma": 0.1}
    on = pd.DataFrame({**row, "beta": 0.85}, index=x.columns)  # persistence exactly 1
    fhs = FilteredHistorical(x, on)
    assert np.isfinite(fhs.generate(100, 10, seed=0)).all()
    past = pd.DataFrame({**row, "beta": 0.86}, index=x.columns)
    with pytest.raises(ParameterDomainError, match="alpha"):
        FilteredHistorical(x, past)


def test_interior_benchmark_moves_only_boundary_estimates_and_says_so(data):
    import baselines
    from validation.families.portfolio_scenarios import factor_scale
    from validation.families.portfolio_tasks import BOUNDARY_MARGIN, InteriorBenchmark

    span = data.drop(columns="pnl").loc[:"2018-06-29"].iloc[-750:].iloc[:600]
    scale = factor_scale(list(span.columns))
    bench = InteriorBenchmark()
    for name in span.columns:
        y = span[name] * scale[name]
        ours, ref = bench(y), baselines.fit_garch(y, o=1, dist="t").params
        pers = ours["alpha[1]"] + ours["gamma[1]"] / 2 + ours["beta[1]"]
        for key in ("mu", "omega", "nu"):
            assert ours[key] == ref[key]
        if bench.moved[-1]:
            assert pers == pytest.approx(1.0 - BOUNDARY_MARGIN, abs=1e-12)
            keys = ["alpha[1]", "gamma[1]", "beta[1]"]
            ref_pers = ref["alpha[1]"] + ref["gamma[1]"] / 2 + ref["beta[1]"]
            np.testing.assert_allclose(ours[keys] * ref_pers / pers, ref[keys], rtol=1e-12,
                                       atol=1e-15)
        else:
            pd.testing.assert_series_equal(ours, ref)
            assert pers < 1.0 - BOUNDARY_MARGIN
    assert any(bench.moved)  # this span has boundary estimates (the reason for the class)
