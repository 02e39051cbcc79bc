"""VaR/ES definitions, Euler contributions (exact sums, finite differences) and the risk table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from hybridrisk.errors import DataValidationError
from hybridrisk.portfolio import (
    delta_normal_contributions,
    euler_contributions,
    factor_pnl,
    risk_table,
    var_es,
)


def test_var_es_are_the_order_statistics():
    pnl = -np.arange(1.0, 101.0)  # losses 1..100
    assert var_es(pnl, 0.95) == (96.0, 98.0)  # the 5 largest losses: 100..96
    assert var_es(pnl, 0.99) == (100.0, 100.0)
    assert var_es(pnl, 0.975) == (98.0, 99.0)
    with pytest.raises(DataValidationError) as err:
        var_es(np.array([1.0, np.nan, 2.0]), 0.95)
    assert err.value.row == 1


def _components(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.standard_t(5, size=(n, 4)) @ np.array([[1, .3, 0, 0], [0, 1, .5, 0],
                                                    [0, 0, 1, -.4], [0, 0, 0, 1.]])
    return pd.DataFrame(z * [1.0, 2.0, 0.5, 1.5], columns=list("abcd"))


@pytest.mark.parametrize("level", [0.95, 0.975, 0.99])
def test_euler_contributions_sum_to_the_totals(level):
    comp = _components()
    out = euler_contributions(comp, level, quantities=[1, 2, 3, 4])
    total = comp.sum(axis=1).to_numpy()
    var, es = var_es(total, level)
    np.testing.assert_allclose(out.loc["total", ["VaR", "ES"]], [var, es], rtol=1e-14)
    assert out.loc["total", "vol"] == pytest.approx(total.std(ddof=1), rel=1e-14)
    parts = out.drop("total")[["vol", "VaR", "ES"]].sum()
    np.testing.assert_allclose(parts, out.loc["total", ["vol", "VaR", "ES"]], rtol=1e-12)
    np.testing.assert_allclose(out.drop("total")["marginal_VaR"] * [1, 2, 3, 4],
                               out.drop("total")["VaR"], rtol=1e-14)


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_euler_volatility_equals_the_centred_covariance_form_and_leaves_its_input(offset):
    comp = _components(3) + offset * np.array([1.0, -2.0, 0.5, 3.0])
    x = comp.to_numpy().copy()
    out = euler_contributions(x, 0.99)
    total = x.sum(axis=1)
    cov = np.cov(x, total, rowvar=False)[:-1, -1]  # cov(x_i, total), centred by numpy
    np.testing.assert_allclose(out["vol"].iloc[:-1], cov / total.std(ddof=1), rtol=1e-9)
    np.testing.assert_array_equal(x, comp.to_numpy())  # read in place, not written
    assert list(euler_contributions(comp, 0.99).index[:-1]) == list("abcd")


def test_euler_contributions_are_derivatives_by_finite_differences():
    comp = _components(1).to_numpy()
    out = euler_contributions(comp, 0.975).drop("total")
    h = 1e-7

    def measures(w: np.ndarray) -> np.ndarray:
        total = comp @ w
        return np.array([total.std(ddof=1), *var_es(total, 0.975)])

    for i in range(comp.shape[1]):
        e = np.zeros(comp.shape[1])
        e[i] = h
        fd = (measures(np.ones(4) + e) - measures(np.ones(4) - e)) / (2 * h)
        np.testing.assert_allclose(fd, out.iloc[i][["vol", "VaR", "ES"]], rtol=1e-6)


def test_delta_normal_closed_form_and_its_finite_differences():
    cov = np.array([[4.0, 1.0, 0.2], [1.0, 2.0, -0.3], [0.2, -0.3, 1.0]])
    e = np.array([1.0, -2.0, 3.0])
    var, contrib = delta_normal_contributions(e, cov, 0.99)
    assert var == pytest.approx(norm.ppf(0.99) * np.sqrt(e @ cov @ e), rel=1e-15)
    assert contrib.sum() == pytest.approx(var, rel=1e-14)
    for i in range(3):
        d = np.zeros(3)
        d[i] = 1e-6
        fd = (delta_normal_contributions(e + d, cov, 0.99)[0]
              - delta_normal_contributions(e - d, cov, 0.99)[0]) / 2e-6
        assert e[i] * fd == pytest.approx(contrib[i], rel=1e-7)
    # simulated: a large normal sample's VaR contributions approach the closed form
    rng = np.random.default_rng(2)
    x = rng.multivariate_normal(np.zeros(3), cov, size=400_000)
    out = euler_contributions(x * e, 0.99)
    assert out.loc["total", "VaR"] == pytest.approx(var, rel=0.02)


def test_factor_split_sums_to_the_full_pnl():
    rng = np.random.default_rng(4)
    g, h = rng.normal(size=(3, 4)), rng.normal(size=(3, 4, 4))
    h = h + h.transpose(0, 2, 1)
    x = rng.normal(size=(50, 4))
    full = rng.normal(size=50)
    split = factor_pnl(g, h, x, full, list("wxyz"))
    np.testing.assert_allclose(split.sum(axis=1), full, rtol=1e-12)
    dg = x @ g.sum(0) + 0.5 * np.einsum("nk,kl,nl->n", x, h.sum(0), x)
    np.testing.assert_allclose(split.drop(columns="residual").sum(axis=1), dg, rtol=1e-12)


def test_risk_table_columns_and_sqrt_time():
    rng = np.random.default_rng(6)
    one, ten = rng.normal(size=5000), rng.normal(scale=3.0, size=5000)
    tab = risk_table(one, ten)
    assert list(tab.index) == [0.95, 0.975, 0.99]
    np.testing.assert_allclose(tab["VaR_10d_sqrt"], tab["VaR_1d"] * np.sqrt(10), rtol=1e-15)
    assert (tab["ES_1d"] >= tab["VaR_1d"]).all() and (tab["ES_10d"] >= tab["VaR_10d"]).all()
