"""LNN-DNS in the curve campaign: the seed ensemble and the nested hyperparameter search.

Real GSW yields on a short span (mid-2016 to February 2019), tiny networks and three epochs: the
point is the bookkeeping (ensemble = mean of members, search blind to the out-of-sample
period, choices recorded), not the forecasts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridrisk.errors import ConfigError
from validation.families import curve_search
from validation.families.curve import (
    ENSEMBLE_SEEDS,
    HORIZONS,
    RW_HORIZONS,
    CurveFamily,
    LNNDNSTask,
    RandomWalkTask,
)
from validation.walkforward import WalkForward

pytestmark = [pytest.mark.usefixtures("torch_one_thread"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

SMALL = dict(hidden_size=2, epochs=3, lr=5e-2, max_train=250, batch_size=16, window=24, burn_in=8,
             search_holdout=120)
GRID = {"hidden_size": [2, 3]}


@pytest.fixture(scope="module")
def span() -> pd.DataFrame:
    return CurveFamily().load("gsw").loc["2016-06":"2019-02-28"]


@pytest.fixture(scope="module")
def windows(span):
    wins = WalkForward(refit=20, oos=40, min_train=500).plan(span)
    assert [w.block_start_time.year for w in wins] == [2019, 2019]
    return wins


def _slice(data: pd.DataFrame, w) -> pd.DataFrame:
    return data.iloc[w.train_start: w.block_end + 1]


@pytest.fixture(scope="module")
def ensemble(span, windows):
    curve_search._CACHE.clear()
    task = LNNDNSTask(**SMALL, seeds=2, search=GRID)
    w = windows[0]
    return task, task(_slice(span, w), w, 7)


def test_ensemble_is_the_mean_of_separately_fitted_members(span, windows):
    # without the search: on this short span it keeps the network off (see the test below)
    w = windows[0]
    out = LNNDNSTask(**SMALL, seeds=2)(_slice(span, w), w, 7)
    single = [LNNDNSTask(**SMALL, seeds=1)(_slice(span, w), w, s) for s in (7, 8)]
    fc = [f"{lab}|{c}" for lab in HORIZONS for c in span.columns]
    assert out.index.equals(single[0].index)
    for i, s in enumerate(single):  # each member is the single fit under seed + i, exactly
        np.testing.assert_array_equal(out[[f"member{i}|{c}" for c in fc]].to_numpy(),
                                      s[fc].to_numpy())
    mean = np.mean(np.stack([s[fc].to_numpy() for s in single]), axis=0)
    np.testing.assert_array_equal(out[fc].to_numpy(), mean)
    assert not np.array_equal(single[0][fc].to_numpy(), single[1][fc].to_numpy())
    np.testing.assert_array_equal(out["factor_level"], single[0]["factor_level"])
    assert curve_search.member_columns(out) == [0, 1]
    assert curve_search.member_columns(single[0]) == []  # a single fit keeps no members


def test_search_is_blind_to_the_data_after_the_searched_span(span, windows, ensemble):
    task, out = ensemble
    w = windows[1]
    year, before = curve_search.searched_span(span, w.block_start_time)
    assert year == 2019 and before.index[-1] < pd.Timestamp("2019-01-01")
    ref_opts, ref_cols = task.choose(_slice(span, w), w)  # the year's search (cached)
    # both windows of 2019 make the same choice, recorded in the first one's forecasts
    assert ref_opts["hidden_size"] == out["chosen|hidden_size"].iloc[0]
    # every day of 2019 moved: recomputed from scratch, the search is the same
    moved = span.copy()
    moved.loc["2019-01-01":] += 0.75
    curve_search._CACHE.clear()
    opts, cols = task.choose(_slice(moved, w), w)
    assert opts == ref_opts
    assert {k: v for k, v in cols.items() if k != "window|id"} == {
        k: v for k, v in ref_cols.items() if k != "window|id"}
    # ... while moving the inner validation block (before 2019) does change its scores
    moved = span.copy()
    moved.loc["2018-11-01":"2018-12-31"] += 0.75
    _, other = task.choose(_slice(moved, w), w)
    assert other["search|c0|RMSE h=1 (bp)"] != ref_cols["search|c0|RMSE h=1 (bp)"]
    curve_search._CACHE.clear()


def test_choices_and_search_reach_the_outputs(span, windows, ensemble):
    task, out = ensemble
    chosen = out["chosen|hidden_size"]
    assert chosen.nunique() == 1 and chosen.iloc[0] in GRID["hidden_size"]
    assert out["search|year"].iloc[0] == 2019 and out["window|id"].iloc[0] == windows[0].id
    best = int(np.argmin([out[f"search|c{k}|score"].iloc[0] for k in range(2)]))
    off = out["chosen|network_off"].iloc[0]
    # the best candidate runs when it beats the network-off model on the inner block
    assert off == float(not out[f"search|c{best}|score"].iloc[0] < 1.0)
    assert out[f"search|c{best}|chosen"].iloc[0] == 1.0 - off
    assert out["search|benchmark|chosen"].iloc[0] == off
    assert sum(out[f"search|c{k}|chosen"].iloc[0] for k in range(2)) == 1.0 - off
    assert out[f"search|c{best}|hidden_size"].iloc[0] == chosen.iloc[0]
    # the family's scores turn them into report tables
    w = windows[0]
    fam = CurveFamily()
    fam.register({"RW": RandomWalkTask(), "LNN": task})
    rw = RandomWalkTask()(_slice(span, w), w, 0)
    sc = fam.score({"RW": rw, "LNN": out}, span, seed=0)
    search = sc.tables["hyperparameter_search"]
    assert set(search["candidate"]) == {"c0", "c1", "network off"}
    row = search[search["chosen"]]
    assert len(row) == 1
    assert row["candidate"].iloc[0] == ("network off" if off else f"c{best}")
    if not off:
        assert row["hidden_size"].iloc[0] == chosen.iloc[0]
    assert row["searched year"].iloc[0] == 2019
    picked = sc.tables["chosen_hyperparameters"]
    assert picked["hidden_size"].tolist() == [chosen.iloc[0]] and picked["window"].tolist() == [0]
    spread = sc.tables["seed_spread"].set_index("member")
    assert list(spread.index) == ["seed + 0", "seed + 1", "single seed mean", "single seed min",
                                  "single seed max", "ensemble of 2"]
    # the ensemble's row is the headline's, scored on the same common cells
    np.testing.assert_allclose(spread.loc["ensemble of 2", list(HORIZONS)].to_numpy(float),
                               sc.tables["rmse"].loc["LNN"].to_numpy(float), equal_nan=True)
    for p in ("hyperparameter_search", "seed_spread"):
        assert sc.placement[p] == "sensitivity" and sc.captions[p]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3", None])
def test_bad_seeds_is_a_config_error_naming_the_option(bad):
    with pytest.raises(ConfigError, match="seeds"):
        LNNDNSTask(seeds=bad)
    with pytest.raises(ConfigError, match=r"model 'X'.*seeds"):
        CurveFamily().tasks({"X": {"kind": "lnn-dns", "seeds": bad}}, quick=True)


def test_bad_search_is_a_config_error():
    with pytest.raises(ConfigError, match="cell"):
        LNNDNSTask(search={"cell": ["cfc"]})
    with pytest.raises(ConfigError, match="hidden_size"):
        LNNDNSTask(search={"hidden_size": [2.5]})
    with pytest.raises(ConfigError, match="search_holdout"):
        LNNDNSTask(search_holdout=0)


def test_default_models_are_searched_ensembles():
    for quick, n in ((False, ENSEMBLE_SEEDS), (True, 2)):
        tasks = CurveFamily().tasks({}, quick=quick)
        dns, rw = tasks["LNN-DNS"], tasks["LNN-DNS-RW"]
        assert dns.seeds == rw.seeds == n and dns.search and rw.search
        # LNN-DNS-RW may be trained up to one year ahead, as its search decides
        assert rw.horizons == RW_HORIZONS and 252 in dict(rw.search)["max_horizon"]
        assert dns.horizons == (1, 5, 21, 63)
    assert ENSEMBLE_SEEDS == 3


def test_no_candidate_better_than_the_benchmark_forecasts_with_the_network_off(span, windows,
                                                                             monkeypatch):
    """Every candidate worse than the network-off model on the inner block: the window's
    forecasts are the benchmark's exactly, in every member."""
    curve_search._CACHE.clear()
    task = LNNDNSTask(**SMALL, seeds=2, search=GRID)
    w = windows[0]
    real_fit = LNNDNSTask.fit

    class Worse:  # a candidate that forecasts 50 bp off the benchmark
        def __init__(self, res):
            self.res, self.benchmark = res, res.benchmark

        def filter(self, *a, **k):
            out = self.benchmark.filter(*a, **k)
            return out + 0.5

    monkeypatch.setattr(curve_search, "run_search", _wrap_search(curve_search.run_search, Worse))
    out = task(_slice(span, w), w, 7)
    assert out["chosen|network_off"].iloc[0] == 1.0 and out["search|benchmark|chosen"].iloc[0]
    ref = real_fit(task, _slice(span, w).iloc[: w.block_start - w.train_start], task.options(),
                   7).benchmark
    fc = [f"{lab}|{c}" for lab in HORIZONS for c in span.columns]
    bench = ref.filter(_slice(span, w).iloc[w.block_start - w.train_start:],
                       horizons=HORIZONS, with_params=True)
    np.testing.assert_array_equal(out[fc].to_numpy(), bench.loc[out.index, fc].to_numpy())
    for i in range(2):
        np.testing.assert_array_equal(out[[f"member{i}|{c}" for c in fc]].to_numpy(),
                                      out[fc].to_numpy())
    curve_search._CACHE.clear()


def _wrap_search(run_search, worse):
    def wrapped(fit, *a, **k):
        return run_search(lambda tr, o, s: worse(fit(tr, o, s)), *a, **k)
    return wrapped
