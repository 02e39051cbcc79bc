"""The LNN copula challengers' nested search: out-of-sample inner scores (the network-off
candidate against the GAS-t baseline task), the choice, the forecast columns, and no look at
the window's block."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridrisk.errors import ConfigError
from validation.families.dependence import DependenceFamily
from validation.families.dependence_search import (
    _inner_window,
    clear_search_cache,
    run_copula_search,
)
from validation.families.dependence_tasks import GASCopulaTask, LNNGASCopulaTask, fit_margins
from validation.families.volatility_search import search_span
from validation.walkforward import WalkForward

pytestmark = pytest.mark.usefixtures("torch_one_thread")

HOLD = 60
KW = dict(family="student", copula_window=300, n_draws=300, max_train=300, n_starts=1,
          epochs=2, search=True, grid={"epochs": [0, 2]}, search_holdout=HOLD,
          val_fraction=0.0)  # no early stopping: the trained candidate leaves the benchmark


@pytest.fixture(scope="module")
def fx() -> pd.DataFrame:
    return DependenceFamily().load("ecb_fx").loc["2021-01-01":"2024-01-31"]


def test_inner_scores_are_out_of_sample_and_network_off_is_gas(fx):
    clear_search_cache()
    task = LNNGASCopulaTask(**KW)
    span = search_span(fx, holdout=HOLD)
    assert span.index[0].year == 2021 and span.index[0].month == 1 and span.index[-1].year == 2023
    found = run_copula_search(task, span)
    tab = found.table.set_index("candidate")
    assert list(tab.index) == ["epochs=0", "epochs=2"]
    # epochs 0 is the network off: the GAS-t champion's own task on the same inner window,
    # margins fitted without the held-out days
    win = _inner_window(span, HOLD)
    m = fit_margins(span, win)
    assert m.u_train.index[-1] < span.index[-HOLD] and len(m.u_block) == HOLD
    *_, ls = GASCopulaTask(family="student", n_starts=1).copula(
        span, win, m, m.u_train.iloc[-300:], 0)
    assert tab.loc["epochs=0", "inner log score"] == pytest.approx(float(np.mean(ls)),
                                                                  rel=1e-9, abs=1e-12)
    # the highest score wins
    assert tab.loc["epochs=2", "inner log score"] != tab.loc["epochs=0", "inner log score"]
    best = tab["inner log score"].idxmax()
    assert tab.loc[best, "chosen"] and int(tab["chosen"].sum()) == 1
    assert found.chosen == {"epochs": int(tab.loc[best, "epochs"])}
    # with early stopping the trained candidate stays at the benchmark: the tie goes to the
    # task's own settings (epochs 2), not to the first candidate
    tied = run_copula_search(LNNGASCopulaTask(**{**KW, "val_fraction": 0.2}), span).table
    assert tied["inner log score"].nunique() == 1
    assert tied.loc[tied["chosen"], "candidate"].tolist() == ["epochs=2"]
    # the same span is served from the cache; another search span is searched anew
    assert run_copula_search(task, span) is found
    assert run_copula_search(task, span.iloc[1:]) is not found


def test_task_records_the_search_and_fits_with_the_chosen_settings(fx):
    clear_search_cache()
    task = LNNGASCopulaTask(**KW)
    win = WalkForward(refit=20, oos=20, min_train=len(fx) - 20).plan(fx)[0]
    out = task(fx, win, 5)
    found = run_copula_search(task, search_span(fx.iloc[:-20], holdout=HOLD))
    chosen = found.chosen["epochs"]
    assert (out["hp_epochs"] == chosen).all()
    for cand, score in zip(found.table["candidate"], found.table["inner log score"],
                           strict=True):
        np.testing.assert_array_equal(out[f"hp_logscore[{cand}]"], score)
    assert (out["hp_search_end"] == 20231229.0).all()
    assert (out["train_end"] == float(fx.index[-21].strftime("%Y%m%d"))).all()
    # the forecasts are those of the task run with the chosen settings and no search
    plain = LNNGASCopulaTask(**{**KW, "search": False, "epochs": chosen})(fx, win, 5)
    pd.testing.assert_frame_equal(out[plain.columns], plain)
    # the window's block plays no part in the search
    moved = fx.copy()
    moved.iloc[-3:] *= 3.0
    clear_search_cache()
    again = task(moved, win, 5)
    cols = [c for c in out.columns if c.startswith("hp_")]
    pd.testing.assert_frame_equal(again[cols], out[cols])


def test_bad_search_settings_are_refused():
    with pytest.raises(ConfigError, match="not a searchable setting"):
        LNNGASCopulaTask(search=True, grid={"family": ["gaussian"]})
    with pytest.raises(ConfigError, match="search must be true or false"):
        LNNGASCopulaTask(search="yes")
    with pytest.raises(ConfigError, match="search_holdout"):
        LNNGASCopulaTask(search_holdout=10)
