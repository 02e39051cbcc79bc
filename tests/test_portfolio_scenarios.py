"""Scenario generators: shapes, seeds, historical blocks, and the GARCH filter against arch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import baselines
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.portfolio import (
    FilteredHistorical,
    HistoricalSimulation,
    ParametricNormal,
    ParametricStudentT,
    factor_history,
    horizon_change,
)


@pytest.fixture(scope="module")
def changes():
    return factor_history().changes


def test_every_generator_has_the_same_interface_and_a_seed(changes):
    garch = pd.DataFrame({"mu": 0.0, "omega": 0.02, "alpha": 0.05, "gamma": 0.05,
                          "beta": 0.9}, index=changes.columns)
    gens = [HistoricalSimulation(changes), FilteredHistorical(changes, garch),
            ParametricNormal(changes), ParametricStudentT(changes)]
    for g in gens:
        a = g.generate(50, 10, seed=3)
        assert a.shape == (50, 10, changes.shape[1])
        np.testing.assert_array_equal(a, g.generate(50, 10, seed=3))
        assert not np.array_equal(a, g.generate(50, 10, seed=4))
        assert np.isfinite(a).all()
    assert horizon_change(a).shape == (50, changes.shape[1])


def test_historical_blocks_are_consecutive_days_of_history(changes):
    hs = HistoricalSimulation(changes, window=500)
    paths = hs.generate(20, 5, seed=1)
    x = changes.to_numpy()[-500:]
    for p in paths:
        start = np.flatnonzero((x == p[0]).all(axis=1))[0]
        np.testing.assert_array_equal(x[start:start + 5], p)
    assert hs.all_blocks(5).shape == (496, 5, changes.shape[1])
    with pytest.raises(ConfigError):
        hs.generate(1, 501, seed=0)


def test_garch_filter_reproduces_arch_conditional_variances(changes):
    col = "equity:SP500"
    fit = baselines.fit_garch(changes[col] * 100.0, o=1)
    p = fit.params
    garch = pd.DataFrame({"mu": p["mu"], "omega": p["omega"], "alpha": p["alpha[1]"],
                          "gamma": p["gamma[1]"], "beta": p["beta[1]"]}, index=[col])
    fhs = FilteredHistorical(changes[[col]], garch)
    np.testing.assert_allclose(fhs.sigma2[col], fit.arch_result.conditional_volatility ** 2,
                               rtol=1e-10)
    np.testing.assert_allclose(fhs.std_resid[col], fit.arch_result.std_resid, rtol=1e-8)
    # the first simulated day has the one-step forecast's variance
    want = fit.arch_result.forecast(horizon=1, reindex=False).variance.iloc[-1, 0]
    assert fhs.sigma2_next[0] == pytest.approx(want, rel=1e-10)


def test_filtered_historical_rejects_bad_parameters(changes):
    garch = pd.DataFrame({"mu": 0.0, "omega": 0.02, "alpha": 0.1, "gamma": 0.0,
                          "beta": 0.95}, index=changes.columns)
    with pytest.raises(Exception, match="alpha\\+gamma/2\\+beta <= 1"):
        FilteredHistorical(changes, garch)
    with pytest.raises(DataValidationError) as err:
        FilteredHistorical(changes, garch.drop(columns="beta"))
    assert err.value.column == "beta"


def test_parametric_moments(changes):
    n = ParametricNormal(changes)
    x = n.generate(100_000, 1, seed=0)[:, 0]
    np.testing.assert_allclose(np.cov(x, rowvar=False).diagonal(), n.cov.diagonal(), rtol=0.02)
    t = ParametricStudentT(changes)
    assert t.dof > 4
    y = t.generate(200_000, 1, seed=0)[:, 0]
    np.testing.assert_allclose(np.cov(y, rowvar=False).diagonal(), t.cov.diagonal(), rtol=0.05)


def test_fhs_fitted_with_the_baselines(changes):
    from validation.families.portfolio_scenarios import fit_filtered_historical

    fhs = fit_filtered_historical(changes[["equity:SP500", "rate:10Y"]], window=1000)
    np.testing.assert_array_equal(fhs.scale, [100.0, 1e4])
    direct = baselines.fit_garch(changes["rate:10Y"].iloc[-1000:] * 1e4, o=1)
    np.testing.assert_allclose(fhs.sigma2["rate:10Y"],
                               direct.arch_result.conditional_volatility ** 2, rtol=1e-10)
    paths = fhs.generate(200, 10, seed=0)
    assert paths.shape == (200, 10, 2) and np.isfinite(paths).all()
