"""RiskEngine: its numbers equal the batch portfolio engine's for the same state, the
time-series VaR methods equal baselines', closed forms and statsmodels check the rest; failing
components are alerted and shown stale."""

from __future__ import annotations

import asyncio
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from baselines.var import var_es
from hybridrisk import datasets
from hybridrisk.portfolio import (
    HistoricalSimulation,
    QuantLibBook,
    TorchBook,
    apply_shocks,
    euler_contributions,
    hypothetical_shocks,
    market_state,
    replay,
)
from hybridrisk.portfolio import var_es as portfolio_var_es
from monitor.book import read_monitor_book
from monitor.engine import EngineConfig, RiskEngine
from monitor.feed import bundled_history
from monitor.market import MarketTracker
from monitor.regime import MarkovRegime

BASE = pd.Timestamp("2008-08-29")
NOW = pd.Timestamp("2008-09-19")
WINDOW = 250


@pytest.fixture(scope="module")
def setup():
    h = bundled_history()
    book = read_monitor_book()
    engine = RiskEngine(book, h, BASE, EngineConfig(methods=("historical", "normal", "ewma",
                                                             "filtered-historical")))
    tr = MarketTracker(h.levels.loc[:BASE], h.volumes.loc[:BASE], window=WINDOW)
    for day in h.levels.loc[BASE + pd.Timedelta(days=1):NOW].index:
        from monitor.feed import ReplayFeed

        tr.apply(day, ReplayFeed(day, day, speed=0).batch(day).ticks)
    market = tr.view()
    metrics = asyncio.run(engine.assess(book, market))
    return h, book, engine, market, metrics


def _ql_pnl(engine, market, rows):
    x0 = engine.x(market)
    v = engine.reference.values(np.vstack([x0, x0 + rows]))
    return v[0], v[1:] - v[0]


def test_values_and_scenario_pnl_equal_the_portfolio_engines_quantlib_book(setup):
    _, book, engine, market, m = setup
    sc = market.scenarios.to_numpy()
    v0, pnl = _ql_pnl(engine, market, sc)
    assert m.value == pytest.approx(v0.sum(), rel=1e-9)
    assert m.gross == pytest.approx(np.abs(v0).sum(), rel=1e-9)
    q = book.quantities
    u = engine.unit_values(np.vstack([engine.x(market), engine.x(market) + sc]))
    np.testing.assert_allclose(q * (u[1:] - u[0]), pnl, rtol=0, atol=1e-6 * np.abs(v0).sum())


def test_every_var_method_equals_baselines_on_the_quantlib_pnl(setup):
    _, _, engine, market, m = setup
    _, pnl = _ql_pnl(engine, market, market.scenarios.to_numpy())
    series = pd.Series(pnl.sum(axis=1), index=market.scenarios.index)
    unit = series.std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method, got in m.var_methods.items():
            if method == "historical":
                continue
            ref = var_es(series / unit, method=method, levels=(0.95, 0.99)) * unit
            assert got["var_99"] == pytest.approx(ref.loc[0.99, "VaR"], rel=1e-6), method
            assert got["es_95"] == pytest.approx(ref.loc[0.95, "ES"], rel=1e-6), method
    # closed forms: the empirical quantile (numpy's inverted CDF, the ceil(n p)-th smallest
    # P&L) with the mean beyond it, and the normal's sigma z - mu
    hs = -np.quantile(series, 0.01, method="inverted_cdf")
    assert m.var_methods["historical"]["var_99"] == pytest.approx(hs, rel=1e-6)
    tail = np.sort(series.to_numpy())[:int(np.ceil(0.05 * len(series)))]
    assert m.var_methods["historical"]["es_95"] == pytest.approx(-tail.mean(), rel=1e-6)
    normal = series.std(ddof=1) * stats.norm.ppf(0.99) - series.mean()
    assert m.var_methods["normal"]["var_99"] == pytest.approx(normal, rel=1e-6)
    assert m.var_99 == max(v["var_99"] for v in m.var_methods.values())
    assert m.headline == "max"


def test_euler_contributions_sum_exactly_and_are_the_marginal_risks(setup):
    _, book, engine, market, m = setup
    c = np.array([m.contributions[i] for i in book.ids])
    assert c.sum() == pytest.approx(m.volatility, rel=1e-12)
    assert sum(m.sector_contributions.values()) == pytest.approx(m.volatility, rel=1e-12)
    _, pnl = _ql_pnl(engine, market, market.scenarios.to_numpy())
    cov = np.cov(pnl, rowvar=False)
    sigma = np.sqrt(cov.sum())
    assert m.volatility == pytest.approx(sigma, rel=1e-6)
    w, h = np.ones(len(c)), 1e-6
    for i in range(len(c)):  # c_i = w_i d sigma / d w_i by central differences
        up, dn = w.copy(), w.copy()
        up[i] += h
        dn[i] -= h
        grad = (np.sqrt(up @ cov @ up) - np.sqrt(dn @ cov @ dn)) / (2 * h)
        assert c[i] == pytest.approx(grad, rel=1e-5, abs=1e-6 * sigma)


def test_concentration_and_liquidity_by_hand(setup):
    h, book, engine, market, m = setup
    v0, _ = _ql_pnl(engine, market, market.scenarios.to_numpy()[:1])
    s = np.abs(v0) / np.abs(v0).sum()
    assert m.herfindahl == pytest.approx(np.sum(s ** 2), rel=1e-9)
    assert m.largest_position_share == pytest.approx(s.max(), rel=1e-9)
    assert m.largest_position == book.ids[int(np.argmax(s))]
    eq = sum(si for si, p in zip(s, book.book, strict=True) if p.sector == "equity")
    assert m.sector_shares["equity"] == pytest.approx(eq, rel=1e-9)
    adv = datasets.sp500_ohlc().loc[:NOW, "Volume"].iloc[-20:].mean()
    assert m.days_to_liquidate["SPX-1"] == pytest.approx(20000 / (0.1 * adv), rel=1e-12)
    assert m.days_to_liquidate["IRS-10P"] == 3.0 and m.max_days_to_liquidate == 3.0
    cost = 0.5 * np.sum(np.abs(v0) * (book.spread + 3.0 * book.spread_vol))
    assert m.liquidity_cost == pytest.approx(cost, rel=1e-9)
    assert m.lvar_99 == pytest.approx(m.var_99 + cost, rel=1e-12)
    ok = np.array([m.days_to_liquidate[i] <= 1 for i in book.ids])
    assert m.liquidity_score == pytest.approx(np.abs(v0)[ok].sum() / np.abs(v0).sum())


def test_stress_pnl_is_a_full_quantlib_revaluation_and_never_looks_ahead(setup):
    _, book, engine, market, m = setup
    assert "2008-09/10" not in m.stress and "2002-07 (WorldCom)" in m.stress
    shock = hypothetical_shocks(engine.factors).loc["equity crash"].to_numpy()
    _, pnl = _ql_pnl(engine, market, shock[None, :])
    assert m.stress["equity crash"] == pytest.approx(pnl.sum(), rel=1e-7)


def test_the_assessment_equals_the_batch_portfolio_engine_for_the_same_state(setup):
    """Same book, base date, market state and historical scenarios: the batch engine's VaR,
    ES, Euler contributions and stress P&L, built here from its public API alone."""
    h, book, _, _, m = setup
    hist = h.factors
    names = hist.names
    tb = TorchBook(QuantLibBook(book.book, market_state(hist, BASE), names))
    lv = hist.levels
    x0 = np.array([lv.loc[NOW, f] - lv.loc[BASE, f] if f.startswith("rate:")
                   else np.log(lv.loc[NOW, f]) - np.log(lv.loc[BASE, f]) for f in names])
    sc = HistoricalSimulation(hist.changes.loc[:NOW], window=WINDOW).all_blocks(1)[:, 0, :]
    v = tb.values(np.vstack([x0, x0 + sc])).numpy()
    positions = v[1:] - v[0]
    pnl = positions.sum(axis=1)
    got = m.var_methods["historical"]
    for level, tag in ((0.95, "95"), (0.99, "99")):
        var, es = portfolio_var_es(pnl, level)
        assert got[f"var_{tag}"] == pytest.approx(var, rel=1e-12, abs=0)
        assert got[f"es_{tag}"] == pytest.approx(es, rel=1e-12, abs=0)
    euler = euler_contributions(positions, 0.99)["vol"]
    assert m.volatility == pytest.approx(euler["total"], rel=1e-12, abs=0)
    c = np.array([m.contributions[i] for i in book.ids])
    np.testing.assert_allclose(c, euler.iloc[:-1].to_numpy(), rtol=1e-12,
                               atol=1e-12 * euler["total"])

    def book_pnl(x):
        return (tb.values(x0 + np.atleast_2d(x)).numpy() - v[0]).sum(axis=1)

    k = len(names)
    early = {"2001-09 (9/11)": ("2001-09-10", "2001-09-21"),
             "2002-07 (WorldCom)": ("2002-07-01", "2002-07-23")}
    windows = replay(book_pnl, np.zeros((1, k)), np.zeros((1, k, k)), hist.changes,
                     early)["full"]
    shocks = apply_shocks(book_pnl, hypothetical_shocks(names))
    want = {**windows.to_dict(), **shocks.to_dict()}
    assert set(m.stress) == set(want)  # the portfolio engine's later windows lie ahead
    for name, value in want.items():
        assert m.stress[name] == pytest.approx(value, rel=1e-12, abs=1e-9), name


def test_regime_filter_equals_statsmodels_in_and_out_of_sample():
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    r = 100 * bundled_history().factors.changes["equity:SP500"]
    fit_on, later = r.loc["2004-01-01":"2008-08-29"], r.loc["2008-09-01":"2008-12-31"]
    model = MarkovRegime.fit(fit_on)
    both = pd.concat([fit_on, later])
    sm = MarkovRegression(both.to_numpy(), k_regimes=2, trend="c", switching_variance=True)
    p = {"p[0->0]": 0, "p[1->0]": 0, "const[0]": 0, "const[1]": 0, "sigma2[0]": 0,
         "sigma2[1]": 0}
    p.update({"p[0->0]": model.transition[0, 0], "p[1->0]": model.transition[1, 0],
              "const[0]": model.mean[0], "const[1]": model.mean[1],
              "sigma2[0]": model.variance[0], "sigma2[1]": model.variance[1]})
    res = sm.filter(np.array([p[n] for n in sm.param_names]))
    ours = model.filter(both)
    np.testing.assert_allclose(ours.to_numpy(), res.filtered_marginal_probabilities,
                               rtol=0, atol=1e-10)
    assert model.variance[1] > model.variance[0]
    assert ours.loc["2008-10-15", "turbulent"] > 0.99


def test_components_run_off_the_event_loop(setup):
    _, book, engine, market, _ = setup
    seen = []
    real = engine._volatility

    def spy(rv):
        seen.append(threading.get_ident())
        return real(rv)

    engine._volatility = spy
    try:
        async def go():
            loop_thread = threading.get_ident()
            await engine.assess(book, market)
            return loop_thread

        loop_thread = asyncio.run(go())
    finally:
        del engine._volatility
    assert seen and seen[0] != loop_thread


def test_a_failing_component_is_alerted_once_and_shown_stale_then_recovers(setup):
    _, book, engine, market, good = setup
    engine.drain_alerts()

    def boom():
        raise RuntimeError("injected")

    engine.faults["var:normal"] = boom
    engine.faults["regime"] = boom
    try:
        first = asyncio.run(engine.assess(book, market))
        second = asyncio.run(engine.assess(book, market))
    finally:
        engine.faults.clear()
    alerts = engine.drain_alerts()
    assert sorted((a.source, a.severity) for a in alerts) == [("regime", "critical"),
                                                              ("var:normal", "critical")]
    assert "injected" in alerts[0].message
    for m in (first, second):
        assert set(m.stale) == {"var:normal", "regime"}
        assert m.var_methods["normal"] == good.var_methods["normal"]
        assert m.regime_probabilities == good.regime_probabilities
    back = asyncio.run(engine.assess(book, market))
    assert back.stale == ()
    assert {(a.source, a.state) for a in engine.drain_alerts()} == {("var:normal", "cleared"),
                                                                   ("regime", "cleared")}


def test_a_failed_revaluation_keeps_last_values_stale_and_never_invents_new_ones(setup):
    _, book, engine, market, good = setup

    def boom():
        raise RuntimeError("pricer down")

    engine.faults["revaluation"] = boom
    try:
        m = asyncio.run(engine.assess(book, market))
    finally:
        engine.faults.clear()
        engine.drain_alerts()
    assert {"revaluation", "volatility", "var:historical"} <= set(m.stale)
    assert m.value is None and m.pnl is None
    assert m.volatility == good.volatility
    assert m.var_methods["historical"] == good.var_methods["historical"]
