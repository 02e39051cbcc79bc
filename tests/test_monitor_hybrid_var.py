"""The hybrid VaR method ``lnn-garch``: the LNN-GARCH nests its GJR-t champion, its one-step
forecast is read exactly, and the VaR is the filtered historical simulation recomputed here
on the QuantLib book; it is kept and shown next to the other methods."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from hybridrisk.errors import ConfigError
from monitor.book import read_monitor_book
from monitor.engine import EngineConfig, RiskEngine
from monitor.feed import ReplayFeed, bundled_history
from monitor.market import MarketTracker

BASE = pd.Timestamp("2008-08-29")
NOW = pd.Timestamp("2008-10-10")
WINDOW = 250


@pytest.fixture(scope="module")
def setup():
    h = bundled_history()
    book = read_monitor_book()
    config = EngineConfig(methods=("historical", "normal", "lnn-garch"),
                          hybrid_days=1000, hybrid_train={"epochs": 3})
    engine = RiskEngine(book, h, BASE, config)
    tr = MarketTracker(h.levels.loc[:BASE], h.volumes.loc[:BASE], window=WINDOW)
    for day in h.levels.loc[BASE + pd.Timedelta(days=1):NOW].index:
        tr.apply(day, ReplayFeed(day, day, speed=0).batch(day).ticks)
    market = tr.view()
    return engine, book, market, asyncio.run(engine.assess(book, market))


def test_each_equity_factor_has_an_lnn_garch_nesting_its_gjr_t_champion(setup):
    engine, *_ = setup
    assert set(engine.hybrid.results) == {"equity:SP500", "equity:NASDAQ"}
    for f, res in engine.hybrid.results.items():
        champion = engine.hybrid.champions[f]
        assert res.nested_loglik() == pytest.approx(champion.loglik, rel=1e-8)
        assert res.returns.index[-1] == BASE and len(res.returns) == 1000


def test_the_next_day_volatility_is_the_models_own_forecast(setup):
    engine, _, market, _ = setup
    res = engine.hybrid.results["equity:SP500"]
    empty = pd.Series([], dtype=float, index=pd.DatetimeIndex([]))
    _, _, sigma = engine.hybrid.standardised("equity:SP500", empty)
    assert sigma ** 2 == pytest.approx(float(res.forecast(1).variance.iloc[0]), rel=1e-12)
    new = 100 * market.scenarios["equity:SP500"].loc[BASE + pd.Timedelta(days=1):]
    _, _, at_now = engine.hybrid.standardised("equity:SP500", new)
    # the placeholder's value never enters the forecast
    other = res.filter(pd.concat([new, pd.Series([7.5], index=[NOW + pd.offsets.BDay(1)])]))
    assert at_now == pytest.approx(float(other["volatility"].iloc[-1]), rel=1e-14)
    assert at_now != pytest.approx(sigma, rel=1e-3)  # October 2008 moved it


def test_the_lnn_garch_var_is_fhs_on_the_quantlib_book(setup):
    engine, book, market, m = setup
    sc = market.scenarios[engine.factors].copy()
    for f, res in engine.hybrid.results.items():
        new = 100 * sc[f].loc[sc.index > BASE]
        out = res.filter(pd.concat([new, pd.Series([0.0], index=[NOW + pd.offsets.BDay(1)])]))
        vol = pd.concat([res.conditional_volatility, out["volatility"].iloc[:-1]])
        r = 100 * sc[f]
        z = (r - res.mu) / vol.loc[sc.index]
        sc[f] = (res.mu + out["volatility"].iloc[-1] * z) / 100
    x0 = engine.x(market)
    v = engine.reference.values(np.vstack([x0, x0 + sc.to_numpy()]))
    pnl = (v[1:] - v[0]).sum(axis=1)
    got = m.var_methods["lnn-garch"]
    assert got["var_99"] == pytest.approx(-np.quantile(pnl, 0.01, method="inverted_cdf"),
                                          rel=1e-6)
    tail = np.sort(pnl)[:int(np.ceil(0.05 * len(pnl)))]
    assert got["es_95"] == pytest.approx(-tail.mean(), rel=1e-6)


def test_it_is_kept_and_shown_next_to_the_other_methods(setup):
    _, _, _, m = setup
    shown = m.to_dict()["var_methods"]
    assert set(shown) == {"historical", "normal", "lnn-garch"}
    assert m.var_99 == max(v["var_99"] for v in shown.values())
    assert shown["lnn-garch"]["var_99"] != shown["historical"]["var_99"]


def test_the_method_is_checked_and_fitted_only_when_asked():
    with pytest.raises(ConfigError, match="unknown VaR method"):
        EngineConfig(methods=("lnn-lstm",))
    engine = RiskEngine(read_monitor_book(), bundled_history(), BASE,
                        EngineConfig(methods=("historical",)))
    assert engine.hybrid is None


def test_the_command_line_adds_the_method_on_request(monkeypatch):
    from click.testing import CliRunner

    import monitor.runner
    from validation.cli import main

    seen = {}

    def capture(**options):
        seen.update(options)
        raise KeyboardInterrupt  # stop before building anything

    monkeypatch.setattr(monitor.runner, "run_monitor", capture)
    res = CliRunner().invoke(main, ["monitor", "--hybrid-var", "--speed", "0"])
    assert res.exit_code == 0, res.output
    assert seen["config"].methods == EngineConfig().methods + ("lnn-garch",)
    seen.clear()
    CliRunner().invoke(main, ["monitor", "--speed", "0"])
    assert "config" not in seen
