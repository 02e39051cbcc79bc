"""DCC-GARCH(1,1): an independent loop implementation, recovery of a known truth, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from scipy import optimize
from scipy.special import gammaln

from baselines.dcc import AB_MAX, dcc_correlations, dcc_loglik, fit_dcc, simulate_dcc
from hybridrisk import datasets
from hybridrisk.errors import DataValidationError, ParameterDomainError


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    return pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1)


@pytest.fixture(scope="module")
def fit_normal(returns):
    return fit_dcc(returns)


@pytest.fixture(scope="module")
def fit_t(returns):
    return fit_dcc(returns, dist="t")


# ------------------------------------------------------------------------------------------
# A second implementation, written separately: stage 1 straight from arch, stage 2 as plain
# loops over time with explicit 2x2 / NxN algebra. Nothing is imported from baselines.
# ------------------------------------------------------------------------------------------
def ref_stage1(x: pd.DataFrame):
    out = []
    for c in x.columns:
        r = arch_model(x[c], mean="Constant", vol="GARCH", p=1, q=1).fit(disp="off")
        out.append(r)
    z = np.column_stack([r.std_resid.to_numpy() for r in out])
    return out, z


def ref_correlation_loglik(a, b, z, dist="normal", nu=None):
    """Return (Engle's correlation component, sum of ln g(z_t; R_t)) by loops."""
    T, n = z.shape
    qbar = np.zeros((n, n))
    for t in range(T):
        qbar += np.outer(z[t], z[t])
    qbar /= T
    q = qbar.copy()
    lc = 0.0
    lg = 0.0
    for t in range(T):
        if t > 0:
            q = (1 - a - b) * qbar + a * np.outer(z[t - 1], z[t - 1]) + b * q
        d = np.diag(1.0 / np.sqrt(np.diag(q)))
        r = d @ q @ d
        sign, logdet = np.linalg.slogdet(r)
        quad = float(z[t] @ np.linalg.inv(r) @ z[t])
        lc += -0.5 * (logdet + quad - float(z[t] @ z[t]))
        if dist == "normal":
            lg += -0.5 * (n * np.log(2 * np.pi) + logdet + quad)
        else:
            lg += (gammaln((nu + n) / 2) - gammaln(nu / 2) - n / 2 * np.log(np.pi * (nu - 2))
                   - 0.5 * logdet - (nu + n) / 2 * np.log(1 + quad / (nu - 2)))
    return lc, lg


def test_against_independent_implementation(returns, fit_normal):
    res = fit_normal
    uni, z = ref_stage1(returns)
    np.testing.assert_allclose(res.std_resid.to_numpy(), z, rtol=1e-12)
    a, b = res.params["a"], res.params["b"]
    lc, lg = ref_correlation_loglik(a, b, z)
    total = sum(r.loglikelihood for r in uni) + lc
    assert res.loglik_correlation == pytest.approx(lc, rel=1e-10)
    assert res.loglik == pytest.approx(total, rel=1e-10)
    assert dcc_loglik(a, b, z) == pytest.approx(lg, rel=1e-10)
    # and away from the estimates
    for a_, b_ in ((0.01, 0.5), (0.2, 0.79), (0.0, 0.0)):
        assert dcc_loglik(a_, b_, z) == pytest.approx(ref_correlation_loglik(a_, b_, z)[1],
                                                      rel=1e-10)
    # correlation path
    r_loop = np.empty(len(z))
    qbar = z.T @ z / len(z)
    q = qbar.copy()
    for t in range(len(z)):
        if t:
            q = (1 - a - b) * qbar + a * np.outer(z[t - 1], z[t - 1]) + b * q
        r_loop[t] = q[0, 1] / np.sqrt(q[0, 0] * q[1, 1])
    np.testing.assert_allclose(res.correlation("sp500", "nasdaq"), r_loop, rtol=1e-12)
    np.testing.assert_allclose(res.correlations[:, 1, 0], r_loop, rtol=1e-12)


def test_t_against_independent_implementation(fit_t):
    res = fit_t
    z = res.std_resid.to_numpy()
    a, b, nu = res.params
    _, lg = ref_correlation_loglik(a, b, z, "t", nu)
    assert dcc_loglik(a, b, z, dist="t", nu=nu) == pytest.approx(lg, rel=1e-10)
    # joint density of the returns = ln g(z) - sum ln sigma
    log_sigma = sum(np.log(u.conditional_volatility).sum() for u in res.univariate.values())
    assert res.loglik == pytest.approx(lg - log_sigma, rel=1e-10)
    assert res.loglik == pytest.approx(
        sum(u.loglik for u in res.univariate.values()) + res.loglik_correlation, rel=1e-12)
    assert 4 < nu < 20


def test_same_estimates_as_independent_optimiser(returns):
    sub = returns.iloc[-700:]
    res = fit_dcc(sub)
    _, z = ref_stage1(sub)

    def nll(x):
        a, b = x
        if a < 0 or b < 0 or a + b >= 1:
            return 1e10
        return -ref_correlation_loglik(a, b, z)[0]

    ref = optimize.minimize(nll, [0.05, 0.9], method="Nelder-Mead",
                            options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 400})
    np.testing.assert_allclose(res.params.to_numpy(), ref.x, atol=2e-4)
    assert -ref.fun == pytest.approx(res.loglik_correlation, abs=1e-6)


def test_three_series_general_path():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((300, 3)) @ np.linalg.cholesky(
        np.array([[1, 0.3, 0.2], [0.3, 1, -0.1], [0.2, -0.1, 1]])).T
    for a, b in ((0.05, 0.9), (0.1, 0.6)):
        assert dcc_loglik(a, b, z) == pytest.approx(ref_correlation_loglik(a, b, z)[1],
                                                    rel=1e-10)
        assert dcc_loglik(a, b, z, dist="t", nu=6.0) == pytest.approx(
            ref_correlation_loglik(a, b, z, "t", 6.0)[1], rel=1e-10)
    x, _ = simulate_dcc(600, a=0.05, b=0.9, correlation=np.eye(3) * 0.6 + 0.4,
                        garch=[(0.05, 0.1, 0.85)] * 3, seed=2)
    res = fit_dcc(x)
    assert res.correlations.shape == (600, 3, 3)
    np.testing.assert_allclose(res.correlations[:, [0, 1, 2], [0, 1, 2]], 1.0)


# ------------------------------------------------------------------------------------------
# Known truth
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dist,nu,seed", [("normal", None, 11), ("t", 7.0, 12)])
def test_recovers_simulated_parameters(dist, nu, seed):
    corr = np.array([[1.0, 0.5], [0.5, 1.0]])
    x, true_r = simulate_dcc(3000, a=0.05, b=0.90, correlation=corr,
                             garch=[(0.02, 0.08, 0.9), (0.05, 0.1, 0.85)], mu=[0.05, 0.02],
                             dist=dist, nu=nu, seed=seed)
    res = fit_dcc(x, dist=dist)
    truth = {"a": 0.05, "b": 0.90, "nu": nu}
    for name in res.params.index:
        assert abs(res.params[name] - truth[name]) < 3 * res.std_errors[name], name
    assert np.corrcoef(res.correlations[:, 0, 1], true_r[:, 0, 1])[0, 1] > 0.9
    # stage-1 block of the two-step covariance is each margin's own QML sandwich
    u = res.univariate["s0"]
    block = res.two_step_cov.loc[[f"s0:{p}" for p in u.params.index],
                                 [f"s0:{p}" for p in u.params.index]]
    np.testing.assert_allclose(block.to_numpy(), u.covariance("robust").to_numpy(), rtol=1e-8)
    eig = np.linalg.eigvalsh(res.two_step_cov.to_numpy())
    assert eig.min() > 0


def test_a_plus_b_below_one():
    x, _ = simulate_dcc(1500, a=0.03, b=0.969, correlation=[[1, 0.7], [0.7, 1]],
                        garch=[(0.02, 0.05, 0.93), (0.02, 0.05, 0.93)], seed=4)
    res = fit_dcc(x)
    assert res.params["a"] + res.params["b"] <= AB_MAX < 1
    z = res.std_resid
    for a, b in ((0.5, 0.5), (0.3, 0.75), (-0.01, 0.5), (0.1, -0.1), (np.nan, 0.5)):
        with pytest.raises(ParameterDomainError):
            dcc_loglik(a, b, z)
    with pytest.raises(ParameterDomainError):
        dcc_correlations(0.6, 0.4, z)
    with pytest.raises(ParameterDomainError):
        simulate_dcc(100, a=0.5, b=0.5, correlation=np.eye(2), garch=[(0.1, 0.1, 0.8)] * 2)
    with pytest.raises(ParameterDomainError):
        dcc_loglik(0.05, 0.9, z, dist="t", nu=2.0)


# ------------------------------------------------------------------------------------------
# Results API
# ------------------------------------------------------------------------------------------
def test_forecast_and_simulate(fit_normal):
    res = fit_normal
    a, b = res.params
    z = res.std_resid.to_numpy()
    qbar = z.T @ z / len(z)
    q = qbar.copy()
    for t in range(1, len(z) + 1):  # Q_{T+1} by a loop
        q = (1 - a - b) * qbar + a * np.outer(z[t - 1], z[t - 1]) + b * q
    f = res.forecast(250)
    assert f.correlations.shape == (250, 2, 2) and f.covariances.shape == (250, 2, 2)
    assert f.correlations[0, 0, 1] == pytest.approx(q[0, 1] / np.sqrt(q[0, 0] * q[1, 1]),
                                                    rel=1e-10)
    eq = qbar + (a + b) ** 9 * (q - qbar)
    assert f.correlation("sp500", "nasdaq").loc[10] == pytest.approx(
        eq[0, 1] / np.sqrt(eq[0, 0] * eq[1, 1]), rel=1e-12)
    long = qbar[0, 1] / np.sqrt(qbar[0, 0] * qbar[1, 1])
    assert abs(f.correlations[-1, 0, 1] - long) < abs(f.correlations[0, 0, 1] - long)
    np.testing.assert_allclose(f.variances["sp500"],
                               res.univariate["sp500"].forecast(250).variance)
    np.testing.assert_allclose(f.covariances[:, 0, 1], f.correlations[:, 0, 1]
                               * np.sqrt(f.variances["sp500"] * f.variances["nasdaq"]))
    s1, s2 = res.simulate(200, 5, seed=3), res.simulate(200, 5, seed=3)
    assert s1.returns.shape == (200, 5, 2) and s1.correlations.shape == (200, 5, 2, 2)
    np.testing.assert_array_equal(s1.returns, s2.returns)
    np.testing.assert_allclose(s1.correlations[:, 0],
                               np.broadcast_to(f.correlations[0], (200, 2, 2)), rtol=1e-12)
    np.testing.assert_allclose(s1.variance[:, 0],
                               np.broadcast_to(f.variances.iloc[0].to_numpy(), (200, 2)),
                               rtol=1e-10)


def test_summary_and_options(returns, fit_normal):
    text = str(fit_normal.summary())
    for token in ("DCC-GARCH Model Results", "sp500: GARCH(1,0,1)-normal", "DCC(1,1) correlation",
                  "two-step"):
        assert token in text
    assert fit_normal.std_errors.index.tolist() == ["a", "b"]
    assert (fit_normal.std_errors > 0).all()
    assert "DCCResult" in repr(fit_normal)
    sub = returns.iloc[-800:]
    res = fit_dcc(sub, univariate={"dist": "t", "o": 1})
    assert all(u.spec.dist == "t" and u.spec.o == 1 for u in res.univariate.values())
    res = fit_dcc(sub, univariate={"nasdaq": {"vol": "egarch"}})
    assert res.univariate["nasdaq"].spec.vol == "egarch"
    assert res.univariate["sp500"].spec.vol == "garch"
    assert res.loglik == pytest.approx(
        sum(u.loglik for u in res.univariate.values()) + res.loglik_correlation, rel=1e-12)


@pytest.mark.parametrize("dist,k", [
    # per series mu, omega, alpha, beta (4 x 2), the targeted correlation of Qbar (1), a, b
    ("normal", 11),
    ("t", 12),  # and the degrees of freedom nu
])
def test_information_criteria_textbook(returns, fit_normal, fit_t, dist, k):
    fit = {"normal": fit_normal, "t": fit_t}[dist]
    t_obs = 5030  # S&P 500 and NASDAQ daily returns, 1999-01-05 .. 2018-12-31
    assert len(returns) == t_obs
    assert fit.aic == pytest.approx(-2 * fit.loglik + 2 * k, rel=1e-12)
    assert fit.bic == pytest.approx(-2 * fit.loglik + k * np.log(t_obs), rel=1e-12)


def test_bad_input(returns):
    bad = returns.copy()
    bad.iloc[7, 1] = np.nan
    with pytest.raises(DataValidationError, match="finite"):
        fit_dcc(bad)
    with pytest.raises(DataValidationError, match="at least 2 columns"):
        fit_dcc(returns[["sp500"]])
    with pytest.raises(DataValidationError, match="DataFrame"):
        fit_dcc(returns["sp500"])
    shifted = pd.concat([returns["sp500"].iloc[:-5], returns["nasdaq"].iloc[5:]], axis=1)
    with pytest.raises(DataValidationError):  # mismatched dates leave gaps
        fit_dcc(shifted)
    dup = pd.concat([returns.iloc[:300], returns.iloc[299:600]])
    with pytest.raises(DataValidationError, match="unique-index"):
        fit_dcc(dup)
    with pytest.raises(DataValidationError):
        dcc_loglik(0.05, 0.9, np.ones((10, 1)))
    with pytest.raises(DataValidationError):
        dcc_loglik(0.05, 0.9, np.full((10, 2), np.nan))
