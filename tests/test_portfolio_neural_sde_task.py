"""The campaign's Neural SDE Monte Carlo task and the hybrid Monte Carlo's dependence option."""

from __future__ import annotations

import numpy as np
import pytest

from hybridrisk.errors import ConfigError
from hybridrisk.results import LEVELS, es_column, var_column
from validation.families.portfolio import PortfolioFamily
from validation.families.portfolio_tasks import HybridMCTask, NeuralSDETask, forecast_columns
from validation.walkforward import WalkForward

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def fam() -> PortfolioFamily:
    return PortfolioFamily()


@pytest.fixture(scope="module")
def data(fam):
    return fam.load("sample_book")


@pytest.fixture(scope="module")
def window(data):
    return WalkForward(refit=21, oos=21, min_train=500).plan(data.index)[0]


def test_neural_sde_task_forecasts_one_window_reproducibly(fam, data, window):
    task = NeuralSDETask(book=fam.spec, window=300, hidden_size=4, steps=3, n_sims=300)
    a = task(data, window, 4)
    block = data.index[window.block_start:window.block_end + 1]
    assert a.index.equals(block) and len(a) == 21
    cols = list(forecast_columns(np.linspace(-1.0, 1.0, 300)).keys())
    assert set(cols) <= set(a.columns) and "sd" in cols
    assert np.isfinite(a.to_numpy()).all() and (a["sd"] > 0).all()
    for lev in LEVELS:
        assert (a[var_column(lev)] > 0).all()
        assert (a[es_column(lev)] >= a[var_column(lev)]).all()
    assert (a[var_column(0.95)] <= a[var_column(0.975)]).all()
    assert (a[var_column(0.975)] <= a[var_column(0.99)]).all()
    np.testing.assert_array_equal(a.to_numpy(), task(data, window, 4).to_numpy())
    assert not np.array_equal(a.to_numpy(), task(data, window, 5).to_numpy())


def test_neural_sde_task_uses_only_the_days_before(fam, data, window):
    task = NeuralSDETask(book=fam.spec, window=300, hidden_size=4, steps=2, n_sims=200)
    a = task(data.iloc[:window.block_end + 1], window, 0)
    moved = data.iloc[:window.block_end + 1].copy()
    moved.iloc[-1, 1:] += 0.05  # the block's last day: no forecast may see it
    np.testing.assert_array_equal(task(moved, window, 0).to_numpy(), a.to_numpy())


def test_dependence_option_is_checked(fam, data, window):
    with pytest.raises(ConfigError, match="dependence"):
        fam.tasks({"X": {"kind": "hybrid-mc", "dependence": "garch-dcc"}}, quick=True)
    with pytest.raises(ConfigError, match="dependence"):
        fam.tasks({"X": {"kind": "hybrid-mc", "dependence": "lnn-dcc",
                         "innovations": "bootstrap"}}, quick=True)
    built = fam.tasks({"X": {"kind": "hybrid-mc", "dependence": "lnn-dcc"},
                       "Y": {"kind": "neural-sde", "steps": 5}}, quick=True)
    assert built["X"].dependence == "lnn-dcc" and built["Y"].steps == 5
    assert fam.roles(["X", "Y"]) == ([], ["X", "Y"])
    # the task itself refuses it too (a config built without the family)
    with pytest.raises(ConfigError, match="dependence"):
        HybridMCTask(book=fam.spec, window=300, dependence="copula")(data, window, 0)
