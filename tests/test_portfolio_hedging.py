"""The hedge-effectiveness backtest: Black-Scholes against QuantLib, hedging on simulated paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql

from hybridrisk.errors import DataValidationError
from validation.families.portfolio_hedging import bs_call, hedge_backtest


@pytest.mark.parametrize(("s", "k", "days", "vol"), [(100.0, 100.0, 30, 0.2),
                                                     (2500.0, 2300.0, 7, 0.35),
                                                     (50.0, 60.0, 365, 0.1)])
def test_black_scholes_call_and_greeks_match_quantlib(s, k, days, vol):
    today = ql.Date(3, 1, 2018)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    flat = lambda r: ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc))  # noqa: E731
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(s)), flat(0.0), flat(0.0),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)))
    opt = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, k),
                           ql.EuropeanExercise(today + days))
    opt.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    ours = bs_call(s, k, days / 365.0, vol)
    assert float(ours["price"]) == pytest.approx(opt.NPV(), rel=1e-12)
    assert float(ours["delta"]) == pytest.approx(opt.delta(), rel=1e-12)
    assert float(ours["gamma"]) == pytest.approx(opt.gamma(), rel=1e-10)
    assert float(ours["vega"]) == pytest.approx(opt.vega(), rel=1e-10)
    assert float(ours["theta"]) == pytest.approx(opt.theta(), rel=1e-10)


def _gbm(n: int, vol: float, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    r = vol / np.sqrt(252) * rng.standard_normal(n) - 0.5 * vol**2 / 252
    return pd.Series(2000 * np.exp(np.cumsum(r)), index=pd.bdate_range("2015-01-02", periods=n))


def test_hedging_at_the_true_vol_removes_most_of_the_risk():
    spot = _gbm(756, 0.2, seed=1)
    iv = pd.Series(0.2, index=spot.index)
    summary, daily = hedge_backtest(spot, iv, {"true": iv, "too low": iv * 0.5}, cost=0.0)
    assert summary.loc["true", "sd"] < 0.3 * summary.loc["unhedged", "sd"]
    assert summary.loc["true", "sd"] < summary.loc["too low", "sd"]
    assert summary.loc["implied", "delta mismatch"] == 0.0
    assert summary.loc["true", "costs"] == 0.0 and daily.shape == (755, 4)


def test_a_later_price_changes_no_earlier_pnl_and_gaps_are_refused():
    spot = _gbm(100, 0.25, seed=2)
    iv = pd.Series(0.25, index=spot.index)
    _, a = hedge_backtest(spot, iv, {"m": iv})
    moved = spot.copy()
    moved.iloc[-1] *= 1.1
    _, b = hedge_backtest(moved, iv, {"m": iv})
    pd.testing.assert_frame_equal(a.iloc[:-1], b.iloc[:-1])
    with pytest.raises(DataValidationError, match="m"):
        hedge_backtest(spot, iv, {"m": iv.iloc[:-5]})
