"""HAR on the range (against statsmodels OLS) and Realized GARCH (loop and simulation checks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baselines.har import MONTH, fit_har, har_design, parkinson_variance
from baselines.realized_garch import (
    PARAMS,
    fit_realized_garch,
    realized_garch_loglik,
    realized_garch_loglik_loop,
    simulate_realized_garch,
)
from hybridrisk import datasets
from hybridrisk.errors import DataValidationError

#: Truth of the simulation: log-linear Realized GARCH parameters of a plausible size for an
#: equity index (persistence beta + phi gamma = 0.9764, leverage tau1 < 0).
TRUTH = pd.Series({"mu": 0.03, "omega": 0.06, "beta": 0.55, "gamma": 0.41, "xi": -0.18,
                   "phi": 1.04, "tau1": -0.07, "tau2": 0.07, "sigma_u": 0.38})


@pytest.fixture(scope="module")
def spx():
    px = datasets.sp500_ohlc()
    rv = parkinson_variance(px["High"], px["Low"]).iloc[1:]
    return datasets.sp500_returns(), rv


def test_parkinson_variance_is_the_bundled_range_squared(spx):
    _, rv = spx
    np.testing.assert_allclose(rv.to_numpy(), datasets.sp500_range().to_numpy() ** 2,
                               rtol=1e-13)
    px = datasets.sp500_ohlc().iloc[:5]
    with pytest.raises(DataValidationError, match="low is above the high"):
        parkinson_variance(px["Low"], px["High"])


@pytest.mark.parametrize("log", [False, True])
def test_har_equals_statsmodels_ols_with_hac(spx, log):
    import statsmodels.api as sm

    r, rv = spx
    res = fit_har(rv, log=log, returns=r)
    y_all = np.log(rv.to_numpy()) if log else rv.to_numpy()
    x = har_design(y_all)[:-1]
    ref = sm.OLS(y_all[MONTH:], x).fit(cov_type="HAC",
                                       cov_kwds={"maxlags": 22, "use_correction": False})
    np.testing.assert_allclose(res.params.to_numpy(), ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref.bse, rtol=1e-8)
    assert res.rsquared == pytest.approx(ref.rsquared, rel=1e-10)
    assert res.loglik == pytest.approx(ref.llf, rel=1e-10)
    assert res.nobs == int(ref.nobs) == len(rv) - MONTH
    assert res.scale == pytest.approx(float((r**2).mean() / rv.mean()), rel=1e-12)
    assert list(res.params.index) == ["const", "rv_d", "rv_w", "rv_m"]
    assert "HAR Model Results" in str(res.summary()) and "Newey-West" in str(res.summary())


def test_har_forecast_is_the_filter_one_day_later(spx):
    _, rv = spx
    res = fit_har(rv.iloc[:3000])
    f = res.filter(rv.iloc[:3001])
    assert f.index[0] == rv.index[MONTH] and f.index[-1] == rv.index[3000]
    assert f.iloc[-1] == pytest.approx(res.forecast(), rel=1e-13)
    p = res.params
    w, m = rv.iloc[2995:3000].mean(), rv.iloc[2978:3000].mean()
    hand = p["const"] + p["rv_d"] * rv.iloc[2999] + p["rv_w"] * w + p["rv_m"] * m
    assert res.forecast() == pytest.approx(hand, rel=1e-12)


def test_realized_garch_vectorised_equals_loop(spx):
    r, rv = spx
    rng = np.random.default_rng(0)
    for _ in range(3):
        theta = TRUTH.to_numpy() * rng.uniform(0.8, 1.2, len(TRUTH))
        a = realized_garch_loglik(theta, r.to_numpy(), rv.to_numpy(), 0.3)
        b = realized_garch_loglik_loop(theta, r.to_numpy(), rv.to_numpy(), 0.3)
        assert a == pytest.approx(b, rel=1e-11)


def test_realized_garch_recovers_simulated_parameters():
    sim = simulate_realized_garch(TRUTH, 6000, seed=11)
    res = fit_realized_garch(sim["returns"], sim["rv"])
    assert res.converged and list(res.params.index) == list(PARAMS)
    z = (res.params - TRUTH) / res.std_errors
    assert (z.abs() < 4.0).all(), z
    np.testing.assert_allclose(res.params.to_numpy(), TRUTH.to_numpy(), atol=0.08)
    # the optimum: the loop implementation agrees, and every one-parameter move lowers it
    theta = res.params.to_numpy()
    loop = realized_garch_loglik_loop(theta, sim["returns"].to_numpy(), sim["rv"].to_numpy(),
                                      res.logh0)
    assert loop == pytest.approx(res.loglik, rel=1e-11)
    for j in range(len(theta)):
        for step in (-1e-3, 1e-3):
            t2 = theta.copy()
            t2[j] += step
            assert realized_garch_loglik(t2, sim["returns"], sim["rv"], res.logh0) < res.loglik


def test_realized_garch_on_the_sp500_range(spx):
    r, rv = spx
    res = fit_realized_garch(r.iloc[:3000], rv.iloc[:3000])
    assert 0.8 < res.persistence < 1.0 and 0.5 < res.params["phi"] < 1.5
    h = res.filter(r.iloc[:3001], rv.iloc[:3001])
    assert h.iloc[:3000].to_numpy() == pytest.approx(res.conditional_variance.to_numpy(),
                                                     rel=1e-12)
    assert h.iloc[-1] == pytest.approx(res.forecast(), rel=1e-12)
    text = str(res.summary())
    assert "Measurement Equation" in text and "sigma_u" in text
    with pytest.raises(DataValidationError):
        fit_realized_garch(r.iloc[:300], rv.iloc[1:301])


def test_range_champions_in_the_walk_forward():
    from validation.families.volatility import VolatilityFamily
    from validation.families.volatility_range import HARTask, RealizedGARCHTask
    from validation.walkforward import WalkForward

    fam = VolatilityFamily()
    data = fam.load("sp500").iloc[:2000]
    assert {"HAR-range", "RealGARCH-range"} <= set(fam.default_models(quick=True))
    fam.load("dem_gbp")
    assert "HAR-range" not in fam.default_models(quick=True)
    w = WalkForward(refit=20, oos=40).plan(data.index)[0]
    part = data.iloc[: w.block_end + 1]
    har = HARTask()(part, w, 0)
    train = part.iloc[: w.block_start]
    res = fit_har(train["range"] ** 2, returns=train["returns"])
    first = res.scale * res.forecast()  # from data up to the day before the block
    assert har["variance"].iloc[0] == pytest.approx(first, rel=1e-12)
    rg = RealizedGARCHTask()(part, w, 0)
    fit = fit_realized_garch(train["returns"], train["range"] ** 2)
    assert rg["variance"].iloc[0] == pytest.approx(fit.forecast(), rel=1e-10)
    # no look-ahead: changing the block's last day changes no forecast
    moved = part.copy()
    moved.iloc[-1] = [25.0, 9.0]
    for task, out in ((HARTask(), har), (RealizedGARCHTask(), rg)):
        pd.testing.assert_frame_equal(task(moved, w, 0), out)
        assert (out["VaR_0.99"] > out["VaR_0.95"]).all() and (out["nu"] > 2).all()
