"""Classical VaR/ES baselines against closed forms, hand computations and direct recursions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from baselines.garch import fit_garch
from baselines.var import (
    LEVELS,
    ewma_var_es,
    filtered_historical_var_es,
    fit_student_t,
    historical_var_es,
    normal_var_es,
    parametric_var_es,
    student_t_var_es,
    var_es,
)
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.results import es_column, var_column

# the columns of a rolling frame, one per level: the library's VaR_<level> / ES_<level>
VAR = [var_column(p) for p in LEVELS]
ES = [es_column(p) for p in LEVELS]


@pytest.fixture(scope="module")
def spx() -> pd.Series:
    return datasets.sp500_returns()


def _series(values) -> pd.Series:
    return pd.Series(values, index=pd.bdate_range("2020-01-01", periods=len(values)))


# ------------------------------------------------------------------------------------------
# Closed forms against quadrature
# ------------------------------------------------------------------------------------------
def test_normal_closed_form():
    mu, sigma = 0.05, 1.3
    out = normal_var_es(mu, sigma)
    for p in LEVELS:
        q = stats.norm.ppf(1 - p, mu, sigma)
        assert out.loc[p, "VaR"] == pytest.approx(-q, rel=1e-12)
        tail = integrate.quad(lambda x: x * stats.norm.pdf(x, mu, sigma), -np.inf, q)[0]
        assert out.loc[p, "ES"] == pytest.approx(-tail / (1 - p), rel=1e-8)


def test_student_t_closed_form():
    loc, scale, nu = -0.02, 0.8, 4.5
    out = student_t_var_es(loc, scale, nu)
    dist = stats.t(nu, loc, scale)
    for p in LEVELS:
        q = dist.ppf(1 - p)
        assert out.loc[p, "VaR"] == pytest.approx(-q, rel=1e-12)
        tail = integrate.quad(lambda x: x * dist.pdf(x), -np.inf, q)[0]
        assert out.loc[p, "ES"] == pytest.approx(-tail / (1 - p), rel=1e-8)
    with pytest.raises(ConfigError):
        student_t_var_es(0.0, 1.0, 1.0)


# ------------------------------------------------------------------------------------------
# Historical simulation by hand
# ------------------------------------------------------------------------------------------
def test_historical_by_hand():
    rng = np.random.default_rng(3)
    x = np.round(rng.standard_t(4, 250), 4)
    out = historical_var_es(_series(x))
    xs = np.sort(x)
    n = len(x)
    for p in LEVELS:
        # Hazen / MATLAB quantile: x_(i) sits at (i - 0.5)/n; interpolate linearly
        pos = n * (1 - p) + 0.5  # 1-based fractional rank
        lo = int(np.floor(pos))
        q = xs[lo - 1] + (pos - lo) * (xs[lo] - xs[lo - 1])
        assert out.loc[p, "VaR"] == pytest.approx(-q, rel=1e-12)
        assert out.loc[p, "ES"] == pytest.approx(-xs[xs <= q].mean(), rel=1e-12)
    # the plain empirical quantile: the ceil(n(1-p))-th smallest return
    plain = historical_var_es(_series(x), quantile_method="inverted_cdf")
    for p in LEVELS:
        k = int(np.ceil(n * (1 - p)))
        assert plain.loc[p, "VaR"] == pytest.approx(-xs[k - 1])
        assert plain.loc[p, "ES"] == pytest.approx(-xs[:k].mean())


def test_historical_rolling_rows_equal_one_shot(spx):
    roll = historical_var_es(spx.iloc[:700], window=500, rolling=True)
    assert roll.shape == (200, 6)
    assert roll.index[0] == spx.index[500]
    for k in (0, 77, 199):
        one = historical_var_es(spx.iloc[k:k + 500])
        np.testing.assert_allclose(roll.iloc[k][VAR], one["VaR"], rtol=1e-12)
        np.testing.assert_allclose(roll.iloc[k][ES], one["ES"], rtol=1e-12)


# ------------------------------------------------------------------------------------------
# Parametric
# ------------------------------------------------------------------------------------------
def test_parametric_normal(spx):
    x = spx.iloc[-1000:]
    out = parametric_var_es(spx, window=1000)
    pd.testing.assert_frame_equal(out, normal_var_es(x.mean(), x.std(ddof=1)))
    roll = parametric_var_es(spx.iloc[:400], window=250, rolling=True)
    one = parametric_var_es(spx.iloc[100:350])
    np.testing.assert_allclose(roll.iloc[100].to_numpy(),
                               np.r_[one["VaR"].to_numpy(), one["ES"].to_numpy()], rtol=1e-10)


def test_parametric_t(spx):
    x = spx.iloc[-1000:].to_numpy()
    loc, scale, nu = fit_student_t(x)
    ref = stats.t.fit(x)
    ll = stats.t.logpdf(x, nu, loc, scale).sum()
    assert ll >= stats.t.logpdf(x, *ref).sum() - 1e-6  # at least as good as scipy's MLE
    np.testing.assert_allclose([nu, loc, scale], ref, rtol=1e-3)
    out = parametric_var_es(spx, dist="t", window=1000)
    pd.testing.assert_frame_equal(out, student_t_var_es(loc, scale, nu))
    roll = parametric_var_es(spx.iloc[:330], dist="t", window=300, rolling=True)
    one = parametric_var_es(spx.iloc[29:329], dist="t")
    np.testing.assert_allclose(roll.iloc[-1][VAR], one["VaR"], rtol=1e-5)
    assert var_es(spx, "t", window=1000).equals(out)


# ------------------------------------------------------------------------------------------
# EWMA against the direct recursion
# ------------------------------------------------------------------------------------------
def _ewma_loop(r: np.ndarray, lam: float = 0.94) -> float:
    s2 = float(np.mean(r**2))
    for x in r:
        s2 = lam * s2 + (1 - lam) * x * x
    return s2


def test_ewma_against_recursion(spx):
    out = ewma_var_es(spx, window=250)
    s2 = _ewma_loop(spx.to_numpy()[-250:])
    pd.testing.assert_frame_equal(out, normal_var_es(0.0, np.sqrt(s2)))
    roll = ewma_var_es(spx.iloc[:600], window=250, rolling=True, lam=0.97)
    for k in (0, 123, 349):
        s2 = _ewma_loop(spx.to_numpy()[k:k + 250], 0.97)
        assert roll.iloc[k]["VaR_0.99"] == pytest.approx(stats.norm.ppf(0.99) * np.sqrt(s2),
                                                            rel=1e-12)
    assert roll.index[-1] == spx.index[599]


# ------------------------------------------------------------------------------------------
# Filtered historical simulation
# ------------------------------------------------------------------------------------------
def test_filtered_historical_by_hand(spx):
    window = spx.iloc[-1500:]
    out = filtered_historical_var_es(spx, window=1500)
    res = fit_garch(window)
    sigma = np.sqrt(res.arch_result.forecast(horizon=1, reindex=False).variance.iloc[-1, 0])
    z = np.sort(res.std_resid.to_numpy())
    mu = res.params["mu"]
    for p in LEVELS:
        q = np.quantile(z, 1 - p, method="hazen")
        assert out.loc[p, "VaR"] == pytest.approx(-(mu + sigma * q), rel=1e-10)
        assert out.loc[p, "ES"] == pytest.approx(-(mu + sigma * z[z <= q].mean()), rel=1e-10)


def test_filtered_historical_rolling(spx):
    span = spx.iloc[:503]
    roll = filtered_historical_var_es(span, window=500, rolling=True)
    assert roll.shape == (3, 6)
    last = filtered_historical_var_es(span.iloc[2:502], window=500)
    np.testing.assert_allclose(roll.iloc[-1][VAR], last["VaR"], rtol=1e-10)
    sparse = filtered_historical_var_es(span, window=500, rolling=True, refit_every=10,
                                        garch={"dist": "t"})
    assert np.isfinite(sparse.to_numpy()).all()


# ------------------------------------------------------------------------------------------
# Conventions and validation
# ------------------------------------------------------------------------------------------
def test_sign_and_ordering(spx):
    for method in ("historical", "filtered-historical", "normal", "t", "ewma"):
        out = var_es(spx, method, window=1000)
        assert list(out.columns) == ["VaR", "ES"]
        assert (out["VaR"] > 0).all() and (out["ES"] >= out["VaR"]).all()
        assert out["VaR"].is_monotonic_increasing


def test_bad_input(spx):
    bad = spx.copy()
    bad.iloc[3] = np.nan
    with pytest.raises(DataValidationError):
        historical_var_es(bad)
    with pytest.raises(ConfigError):
        historical_var_es(spx, rolling=True)
    with pytest.raises(DataValidationError):
        historical_var_es(spx.iloc[:100], window=100, rolling=True)
    with pytest.raises(ConfigError):
        historical_var_es(spx, window=5)
    with pytest.raises(ConfigError):
        normal_var_es(0.0, 1.0, levels=[0.99, 1.0])
    with pytest.raises(ConfigError):
        var_es(spx, "montecarlo")
    with pytest.raises(ConfigError):
        ewma_var_es(spx, lam=1.0)
