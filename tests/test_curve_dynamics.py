"""Diebold-Li and random-walk baselines on the GSW curves, against statsmodels and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baselines.dns import DIEBOLD_LI_TAU, diebold_li_factors, fit_diebold_li, ns_loadings
from baselines.random_walk import random_walk_forecast
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError

COLS = ["SVENY01", "SVENY02", "SVENY03", "SVENY05", "SVENY07", "SVENY10", "SVENY20", "SVENY30"]


@pytest.fixture(scope="module")
def gsw():
    return datasets.gsw_zero_yields()


@pytest.fixture(scope="module")
def panel(gsw):
    return gsw.loc["2005":"2019", COLS]


def test_diebold_li_decay_and_loadings():
    # the curvature loading (1-e^-x)/x - e^-x peaks at x* = 1.79328 (root of its derivative);
    # Diebold-Li's lambda = 0.0609/month puts it at 29.4 months ("30 months" in the paper)
    m = np.linspace(0.5, 5.0, 45001)
    peak = m[np.argmax(ns_loadings(m)[:, 2])]
    assert peak == pytest.approx(1.79328 / (12 * 0.0609), abs=1e-4)
    assert DIEBOLD_LI_TAU == pytest.approx(1 / 0.7308)
    np.testing.assert_allclose(ns_loadings([1e-12])[0], [1, 1, 0], atol=1e-9)


def test_factors_are_daily_least_squares(gsw):
    y = gsw.loc["1975-03-03":"1975-03-10"]  # only 1..15y published then: missing tenors
    factors, resid = diebold_li_factors(y.dropna(how="all"))
    day = y.dropna(how="all").iloc[2]
    ok = day.notna().to_numpy()
    m = np.arange(1, 31, dtype=float)[ok]
    x = np.column_stack([
        np.ones_like(m),
        (1 - np.exp(-m / DIEBOLD_LI_TAU)) / (m / DIEBOLD_LI_TAU),
        (1 - np.exp(-m / DIEBOLD_LI_TAU)) / (m / DIEBOLD_LI_TAU) - np.exp(-m / DIEBOLD_LI_TAU),
    ])
    beta = np.linalg.solve(x.T @ x, x.T @ day.to_numpy()[ok])
    np.testing.assert_allclose(factors.iloc[2].to_numpy(), beta, rtol=1e-10)
    assert resid.iloc[2].isna().sum() == (~ok).sum() > 0  # unpublished tenors stay NaN


def test_ar_forecasts_match_closed_form(panel):
    res = fit_diebold_li(panel, dynamics="ar")
    fc = res.forecast({"h1": 1, "h21": 21, "h63": 63})
    load = ns_loadings(res.maturities)
    x = res.factors.iloc[-1].to_numpy()
    c, phi, s2 = res.intercept, np.diag(res.transition), np.diag(res.innovation_cov)
    for label, h in {"h1": 1, "h21": 21, "h63": 63}.items():
        mu = c / (1 - phi)
        mean = mu + phi**h * (x - mu)
        var = s2 * (1 - phi ** (2 * h)) / (1 - phi**2)
        np.testing.assert_allclose(fc.mean.loc[label].to_numpy(), load @ mean, rtol=1e-10)
        cov = load @ np.diag(var) @ load.T + res.measurement_var * np.eye(len(load))
        np.testing.assert_allclose(fc.cov[label], cov, rtol=1e-10)
    # statsmodels' AutoReg reproduces each factor's h-step forecast
    for i, model in enumerate(res.models):
        sm = model.predict(start=len(res.factors), end=len(res.factors) + 20)
        ours = c[i] / (1 - phi[i]) + phi[i] ** 21 * (x[i] - c[i] / (1 - phi[i]))
        assert sm[-1] == pytest.approx(ours, rel=1e-10)


def test_var_forecasts_match_statsmodels(panel):
    res = fit_diebold_li(panel, dynamics="var")
    fc = res.forecast({"1d": 1, "1m": 21})
    f = res.factors.to_numpy()
    sm_mean = res.models.forecast(f[-1:], steps=21)
    sm_cov = res.models.forecast_cov(21, method="mse")  # no parameter uncertainty
    load = ns_loadings(res.maturities)
    np.testing.assert_allclose(fc.mean.loc["1m"].to_numpy(), load @ sm_mean[-1], rtol=1e-10)
    np.testing.assert_allclose(fc.mean.loc["1d"].to_numpy(), load @ sm_mean[0], rtol=1e-10)
    # statsmodels scales sigma_u by T/(T-k) in forecast_cov; ours uses the MLE sigma_u
    scale = (len(f) - 1 - 4) / (len(f) - 1)
    np.testing.assert_allclose(
        fc.cov["1m"] - res.measurement_var * np.eye(len(load)),
        load @ (sm_cov[-1] * scale) @ load.T,
        rtol=1e-8,
    )
    assert set(res.params.index) >= {"const.level", "L1.curvature.slope"}
    text = str(res.summary())
    assert "VAR(1)" in text and "L1.curvature.slope" in text
    se = res.std_errors  # statsmodels' own standard errors, mapped to our names
    assert se["L1.curvature.slope"] == res.models.stderr[3, 1]
    assert se["const.level"] == res.models.stderr[0, 0]


def test_random_walk_is_last_curve(panel):
    fc = random_walk_forecast(panel)
    np.testing.assert_array_equal(fc.maturities, [1, 2, 3, 5, 7, 10, 20, 30])
    assert list(fc.mean.columns) == COLS and list(fc.mean.index) == list(fc.horizons)
    published = panel.dropna(how="all")
    last = published.iloc[-1].to_numpy()
    for h in fc.mean.index:
        np.testing.assert_array_equal(fc.mean.loc[h].to_numpy(), last)
    d = published.diff().cov().to_numpy()  # changes from one published day to the next
    np.testing.assert_allclose(fc.cov["1m"], 21 * d)


def test_one_forecast_vocabulary(panel):
    """Random walk and Diebold-Li hand back the same CurveForecast: labels, maturities, columns."""
    from hybridrisk.forecasts import CurveForecast

    hz = {"1d": 1, "1m": 21}
    rw = random_walk_forecast(panel, hz)
    dl = fit_diebold_li(panel).forecast(hz)
    for fc in (rw, dl):
        assert isinstance(fc, CurveForecast)
        assert fc.horizons == {"1d": 1.0, "1m": 21.0} and list(fc.cov) == ["1d", "1m"]
        assert list(fc.mean.index) == ["1d", "1m"] and list(fc.mean.columns) == COLS
        assert list(fc.std().columns) == COLS
    np.testing.assert_array_equal(rw.maturities, dl.maturities)
    assert rw.origin == dl.origin == panel.dropna(how="all").index[-1]
    assert list(dl.factors.columns) == ["level", "slope", "curvature"]
    par = datasets.ust_par_yields().loc["2019", ["3 Mo", "1 Yr", "10 Yr"]]
    np.testing.assert_array_equal(random_walk_forecast(par).maturities, [0.25, 1.0, 10.0])
    with pytest.raises(ConfigError):
        fit_diebold_li(panel).forecast({"half": 1.5})  # Diebold-Li steps whole days


def test_holidays_dropped_not_filled(gsw):
    y = gsw.loc["2019", COLS]
    res = fit_diebold_li(y)
    assert res.dropped_days == int(y.isna().all(axis=1).sum()) > 0
    assert len(res.factors) == len(y) - res.dropped_days


def test_bad_inputs(panel):
    with pytest.raises(ConfigError, match="dynamics"):
        fit_diebold_li(panel, dynamics="garch")
    bad = panel.copy()
    bad.iloc[5, 2:] = np.nan
    with pytest.raises(DataValidationError, match="tenors published") as exc:
        diebold_li_factors(bad)
    assert exc.value.row == bad.index[5].isoformat()
    with pytest.raises(ConfigError, match="maturities"):
        diebold_li_factors(panel.rename(columns=lambda c: c.lower().replace("sveny", "m")))
    with pytest.raises(DataValidationError, match="positive"):
        diebold_li_factors(panel, maturities=[-1, 2, 3, 5, 7, 10, 20, 30])
    with pytest.raises(DataValidationError):
        fit_diebold_li(panel.iloc[:10])
    assert isinstance(panel.index, pd.DatetimeIndex)


def test_par_curve_maturities_inferred_from_treasury_tenors():
    par = datasets.ust_par_yields().loc["2010":"2012", ["1 Yr", "2 Yr", "5 Yr", "10 Yr", "30 Yr"]]
    res = fit_diebold_li(par)
    np.testing.assert_array_equal(res.maturities, [1.0, 2.0, 5.0, 10.0, 30.0])
