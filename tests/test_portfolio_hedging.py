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


@pytest.fixture(scope="module")
def smile():
    from validation.families.portfolio_hedging import sabr_smile_parameters

    return sabr_smile_parameters(21 / 252)


def test_sabr_smile_is_the_andreasen_huge_one_month_fit(smile):
    assert smile["expiry"] == 0.101  # the bundled expiry nearest 21 trading days
    assert -1 < smile["rho"] < 0 < smile["nu"]  # the index skew: spot down, vol up
    assert smile["rmse_bp"] < 10


@pytest.mark.parametrize(("s", "k", "days", "atm"), [(2500.0, 2500.0, 21, 0.15),
                                                     (2500.0, 2400.0, 5, 0.30),
                                                     (2300.0, 2500.0, 13, 0.45),
                                                     (2650.0, 2500.0, 1, 0.12)])
def test_sabr_deltas_match_quantlib_finite_differences(smile, s, k, days, atm):
    """Hagan's delta (alpha fixed) and Bartlett's (alpha moved by rho nu / F per unit of F)
    against central differences of QuantLib's Black price at ``ql.sabrVolatility``
    (Richardson-extrapolated, step 1e-4 F): 1e-6 relative (the differences agree to ~1e-9)."""
    from validation.families.portfolio_hedging import sabr_deltas

    rho, nu, tau = smile["rho"], smile["nu"], days / 252
    d = {key: float(v) for key, v in sabr_deltas(s, k, tau, atm, rho, nu).items()}
    alpha = d["alpha"]
    # alpha recalibrated so that the at-the-money SABR vol is the day's implied vol
    assert ql.sabrVolatility(s, s, tau, alpha, 1.0, nu, rho) == pytest.approx(atm, rel=1e-12)
    assert ql.sabrVolatility(k, s, tau, alpha, 1.0, nu, rho) == pytest.approx(d["vol"],
                                                                              rel=1e-12)

    def price(f, a):
        vol = ql.sabrVolatility(k, f, tau, a, 1.0, nu, rho)
        return ql.blackFormula(ql.Option.Call, k, f, vol * np.sqrt(tau))

    def central(h, slope):
        return (price(s + h, alpha + slope * h) - price(s - h, alpha - slope * h)) / (2 * h)

    h = 1e-4 * s
    for key, slope in (("hagan", 0.0), ("bartlett", rho * nu / s)):
        fd = (4 * central(h / 2, slope) - central(h, slope)) / 3
        assert d[key] == pytest.approx(fd, rel=1e-6), key
    # rho < 0: alpha expected to fall as F rises, so Bartlett's delta is below Hagan's
    if days > 1:
        assert d["bartlett"] < d["hagan"]


def test_sabr_hedges_join_the_backtest(smile):
    spot = _gbm(300, 0.2, seed=3)
    iv = pd.Series(0.2, index=spot.index)
    summary, daily = hedge_backtest(spot, iv, {"true": iv}, sabr=smile)
    assert {"SABR (Hagan)", "SABR (Bartlett)"} <= set(summary.index)
    assert daily.shape == (299, 5) and np.isfinite(daily.to_numpy()).all()
    for name in ("SABR (Hagan)", "SABR (Bartlett)"):
        assert summary.loc[name, "sd"] < 0.5 * summary.loc["unhedged", "sd"]
    plain, _ = hedge_backtest(spot, iv, {"true": iv})
    pd.testing.assert_frame_equal(summary.loc[plain.index], plain)
