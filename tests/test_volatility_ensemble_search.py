"""The volatility challenger chosen without looking: a seed ensemble whose hyperparameters
are searched inside the training span only (issue 13)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest

from hybridrisk.errors import ConfigError
from validation.families.volatility import LNNGARCHTask, VolatilityFamily
from validation.families.volatility_search import (
    clear_search_cache,
    date_code,
    qlike_column,
    run_search,
    search_span,
    search_table,
    seed_spread,
    window_table,
)
from validation.windows import Window

pytestmark = pytest.mark.usefixtures("torch_one_thread")

# 2013-04-29 .. 2018-07-24: the training span ends on 2018-06-25, the block is the next 20
# days (a span on which the network moves away from its benchmark in a few epochs)
START, TRAIN_END, BLOCK = 3600, 1299, 20


@pytest.fixture(scope="module")
def frame():
    from hybridrisk import datasets

    out = pd.DataFrame({"returns": datasets.sp500_returns(), "range": datasets.sp500_range()})
    return out.iloc[START:START + TRAIN_END + 1 + BLOCK]


def _window(idx: pd.DatetimeIndex, train_end: int = TRAIN_END) -> Window:
    return Window(id=0, train_start=0, train_end=train_end, block_start=train_end + 1,
                  block_end=train_end + BLOCK, train_start_time=idx[0],
                  train_end_time=idx[train_end], block_start_time=idx[train_end + 1],
                  block_end_time=idx[train_end + BLOCK])


def test_ensemble_is_the_mean_of_members_fitted_separately(frame):
    task = LNNGARCHTask(vol="gjr", hidden_size=8, epochs=4, seeds=3, search=False)
    window = _window(frame.index)
    ens = task(frame, window, seed=7)
    single = replace(task, seeds=1)
    members = [single(frame, window, seed=7 + i) for i in range(3)]
    averaged = [c for c in ens.columns if c in ("mean", "variance", "nu")
                or c.startswith(("VaR_", "ES_", "theta_")) and "_seed" not in c]
    assert {"variance", "VaR_0.99", "ES_0.975", "theta_beta", "nu"} <= set(averaged)
    for col in averaged:
        mean = np.mean(np.stack([m[col].to_numpy() for m in members]), axis=0)
        np.testing.assert_array_equal(ens[col].to_numpy(), mean, err_msg=col)
    for i, m in enumerate(members):  # each member's own forecasts are kept, bit for bit
        np.testing.assert_array_equal(ens[f"variance_seed{i}"].to_numpy(), m["variance"])
        np.testing.assert_array_equal(ens[f"VaR_0.99_seed{i}"].to_numpy(), m["VaR_0.99"])
        assert not any(c.endswith("_seed0") for c in m.columns)  # one seed: no member columns
    # the seeds give different fits, so the ensemble is not any one of them
    assert not np.array_equal(members[0]["variance"], members[1]["variance"])


def test_search_ignores_data_after_its_span(frame):
    """The search of a window whose training ends in 2018 uses the days before 2018-01-01:
    changing every later return and range (the rest of the training span and the block)
    leaves its table and choice unchanged, recomputed from scratch."""
    task = LNNGARCHTask(vol="gjr", epochs=4, seeds=1)
    window = _window(frame.index)
    train = frame.iloc[:TRAIN_END + 1]
    span = search_span(train)
    # the whole calendar years 2014-2017 of a span that runs from 2013-04-29 to 2018-06-25
    assert span.index[-1] == pd.Timestamp("2017-12-29")
    assert span.index[0] == pd.Timestamp("2014-01-02") and train.index[0].year == 2013
    clear_search_cache()
    a = run_search(task, span)
    out_a = task(frame, window, seed=3)

    shocked = frame.copy()
    later = shocked.index > span.index[-1]
    shocked.loc[later, "returns"] *= -1.0
    shocked.loc[later, "range"] *= 0.8
    clear_search_cache()
    span_b = search_span(shocked.iloc[:TRAIN_END + 1])
    pd.testing.assert_frame_equal(span_b, span)
    b = run_search(task, span_b)
    assert a.table["inner QLIKE"].nunique() == 4  # the candidates differ on this span
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.chosen == b.chosen
    clear_search_cache()
    out_b = task(shocked, window, seed=3)
    hp = [c for c in out_a.columns if c.startswith("hp_")]
    pd.testing.assert_frame_equal(out_a[hp], out_b[hp])
    # and the data inside the span do matter: another span is another search
    moved = span.copy()
    moved.iloc[-10:, 0] *= 3.0
    assert run_search(task, moved) is not run_search(task, span)


def test_chosen_values_are_forecast_columns(frame):
    task = LNNGARCHTask(vol="gjr", epochs=4, seeds=2)
    out = task(frame, _window(frame.index), seed=11)
    span = search_span(frame.iloc[:TRAIN_END + 1])
    found = run_search(task, span)  # cached: the search the task used
    assert found.table["chosen"].sum() == 1 and len(found.table) == 4
    win = found.table.loc[found.table["chosen"]].iloc[0]
    assert win["inner QLIKE"] == found.table["inner QLIKE"].min()
    for key, value in found.chosen.items():
        assert (out[f"hp_{key}"] == value).all()
    for _, row in found.table.iterrows():
        assert (out[qlike_column(row["candidate"])] == row["inner QLIKE"]).all()
    assert (out["hp_search_end"] == date_code(span.index[-1])).all()
    assert (out["train_end"] == date_code(frame.index[TRAIN_END])).all()

    # the report's tables read them back
    fc = {"LNN": out}
    search = search_table(fc, ["LNN"])
    assert len(search) == 4 and search["chosen"].sum() == 1
    assert search.loc[search["chosen"], "candidate"].iloc[0] == win["candidate"]
    assert search["days using it"].eq(BLOCK).all()
    windows = window_table(fc, ["LNN"])
    assert len(windows) == 1 and windows["hidden_size"].iloc[0] == found.chosen["hidden_size"]
    spread = seed_spread(fc, ["LNN"], frame["returns"].loc[out.index], None)
    assert list(spread["member"]) == ["seed +0", "seed +1", "ensemble"]
    r2 = frame["returns"].loc[out.index].to_numpy() ** 2
    ens = np.mean(np.log(out["variance"]) + r2 / out["variance"])
    assert spread["QLIKE"].iloc[-1] == pytest.approx(ens, rel=1e-12)


def test_search_off_keeps_the_task_settings(frame):
    out = LNNGARCHTask(vol="gjr", hidden_size=4, penalty=1e-3, epochs=1, search=False)(
        frame, _window(frame.index), seed=0)
    assert (out["hp_hidden_size"] == 4).all() and (out["hp_penalty"] == 1e-3).all()
    assert not any(c.startswith(("hp_qlike", "hp_search")) for c in out.columns)


def test_search_is_shared_by_every_window_of_a_year(frame):
    """Windows whose training ends in 2018 search the same days, the whole years before
    2018 (at most ``span`` of them); a span too short to search gives no search."""
    ends = [frame.index.get_loc(pd.Timestamp(d)) for d in ("2018-01-03", "2018-06-25")]
    spans = [search_span(frame.iloc[:e + 1]) for e in ends]
    pd.testing.assert_frame_equal(spans[0], spans[1])
    assert spans[0].index[-1] == pd.Timestamp("2017-12-29")
    assert len(search_span(frame.iloc[:ends[1] + 1], span=1000)) == 1000
    assert search_span(frame.iloc[:600]) is None


@dataclass(frozen=True)
class _FlatTask(LNNGARCHTask):
    """Every candidate forecasts the same variance: a tie."""

    @staticmethod
    def forecast(result, block):
        return pd.DataFrame({"variance": np.ones(len(block))}, index=block.index)

    def fit_member(self, train, vol, champion, seed, overrides=None):
        return None


def test_a_tie_goes_to_the_task_settings(frame):
    span = search_span(frame.iloc[:TRAIN_END + 1])
    for hidden, penalty in ((8, 1e-2), (4, 1e-3)):
        found = run_search(_FlatTask(vol="gjr", hidden_size=hidden, penalty=penalty), span)
        assert found.chosen == {"hidden_size": hidden, "penalty": penalty}
    # settings outside the grid: the first candidate
    found = run_search(_FlatTask(vol="gjr", hidden_size=16), span)
    assert found.chosen == {"hidden_size": 4, "penalty": 1e-2}


def test_bad_options_are_config_errors():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="seeds"):
            LNNGARCHTask(seeds=bad)
    fam = VolatilityFamily()
    with pytest.raises(ConfigError, match="seeds"):
        fam.tasks({"GJR-t": {"kind": "garch", "o": 1},
                   "LNN": {"kind": "lnn-garch", "seeds": 0}}, quick=True)
    with pytest.raises(ConfigError, match="grid"):
        LNNGARCHTask(grid={"dropout": [0.1]})
    with pytest.raises(ConfigError, match="search"):
        LNNGARCHTask(search="yes")
    # a YAML mapping is accepted and kept in a hashable, deterministic form
    task = LNNGARCHTask(grid={"hidden_size": [4, 8], "lr": [1e-2]})
    assert task.grid == (("hidden_size", (4, 8)), ("lr", (1e-2,)))


def test_campaign_defaults():
    fam = VolatilityFamily()
    fam.load("sp500")
    full = fam.tasks({}, quick=False)["LNN-GARCH-t"]
    quick = fam.tasks({}, quick=True)["LNN-GARCH-t"]
    assert (full.seeds, quick.seeds) == (3, 2)
    assert full.search and quick.search and full.vol == "auto"
