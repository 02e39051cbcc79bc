"""The Neural SDE generator and the statistics that set generators against the history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hybridrisk.errors import ConfigError
from hybridrisk.portfolio import NeuralSDEGenerator, factor_history
from validation.families.portfolio_generators import (
    energy_distance_test,
    generator_statistics,
    generator_table,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def days() -> pd.DataFrame:
    return factor_history().changes.iloc[-400:]


@pytest.fixture(scope="module")
def nsde(days) -> NeuralSDEGenerator:
    return NeuralSDEGenerator(days, hidden_size=8, steps=15, seed=3)


def test_untrained_neural_sde_is_the_iid_normal_generator(days, nsde):
    x = days.to_numpy()
    z = (x - x.mean(0)) / x.std(0, ddof=1)
    ref = -stats.multivariate_normal(np.zeros(z.shape[1]), np.corrcoef(z, rowvar=False)
                                     ).logpdf(z[1:]).mean()
    assert nsde.loss_history[0] == pytest.approx(ref, rel=1e-10)
    assert nsde.loss_history[-1] < nsde.loss_history[0]


def test_neural_sde_paths_are_seeded_and_in_factor_units(days, nsde):
    a = nsde.generate(30, 20, seed=1)
    assert a.shape == (30, 20, days.shape[1]) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, nsde.generate(30, 20, seed=1))
    assert not np.array_equal(a, nsde.generate(30, 20, seed=2))
    ratio = a.reshape(-1, days.shape[1]).std(0) / days.std().to_numpy()
    assert ((ratio > 0.5) & (ratio < 2.0)).all(), ratio
    with pytest.raises(ConfigError):
        NeuralSDEGenerator(days, steps=0)


def test_energy_distance_matches_scipy_in_one_dimension_and_detects_a_shift():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(150, 1)), rng.normal(size=(120, 1))
    e, p = energy_distance_test(x, y, n_perm=99, seed=0)
    assert e == pytest.approx(stats.energy_distance(x[:, 0], y[:, 0]) ** 2, rel=1e-10)
    assert p > 0.05
    e2, p2 = energy_distance_test(x, y + 1.0, n_perm=99, seed=0)
    assert e2 > e and p2 == pytest.approx(0.01)


def test_history_against_itself_has_no_error(days):
    s = generator_statistics(days, days.to_numpy()[None], n_perm=19, n_energy=200)
    assert s["quantile error, worst (sd units)"] == 0.0
    assert s["correlation error, worst pair"] == pytest.approx(0.0, abs=1e-12)
    table = generator_table(days, {"copy": days.to_numpy()[None]}, n_perm=19, n_energy=200)
    np.testing.assert_allclose(table.loc["ACF |x| lag 1", "copy"],
                               table.loc["ACF |x| lag 1", "history"], rtol=1e-12)
    assert np.isnan(table.loc["energy distance", "history"])
