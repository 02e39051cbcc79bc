"""Walk-forward engine: plans, no look-ahead, seeds, executors bit for bit, kill-and-resume.

All on the bundled S&P 500 daily returns with real tasks (EWMA variance, GARCH(1,1) via arch)
from ``tests/_wf_child.py``, which is also the child process killed in the resume test.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.provenance import arrays_sha256, frame_sha256

sys.path.insert(0, str(Path(__file__).parent))  # _wf_child, under the name workers import
import _wf_child as tasks  # noqa: E402

from validation.walkforward import (  # noqa: E402
    WalkForward,
    Window,
    load_walk_forward,
    plan_table,
    run_walk_forward,
    split_window,
    window_seed,
)

REPO = Path(__file__).resolve().parents[1]
GARCH_WF = WalkForward(window="rolling", window_size=1000, refit="monthly", oos=126)  # 6 fits
EWMA_WF = WalkForward(window="expanding", refit=21, oos=252)  # 12 windows


def assert_identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal bit for bit: index, columns, dtypes and the bytes of every column."""
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.index.equals(b.index) and a.index.dtype == b.index.dtype
    for col in a.columns:
        assert a[col].to_numpy().tobytes() == b[col].to_numpy().tobytes(), col


def file_hashes(res) -> dict[str, str]:
    return {k: v["sha256"] for k, v in res.manifest["windows"].items()}


def check_partition(plan: list[Window], n: int, oos_start: int) -> None:
    """Blocks in order, contiguous, covering [oos_start, n); train ends the day before."""
    assert [w.id for w in plan] == list(range(len(plan)))
    assert plan[0].block_start == oos_start and plan[-1].block_end == n - 1
    for a, b in zip(plan[:-1], plan[1:], strict=True):
        assert b.block_start == a.block_end + 1  # no overlap, no gap
    covered = np.concatenate([np.arange(w.block_start, w.block_end + 1) for w in plan])
    np.testing.assert_array_equal(covered, np.arange(oos_start, n))
    for w in plan:
        assert w.train_end == w.block_start - 1
        assert w.block_start <= w.block_end


# ------------------------------------------------------------------------------------ plans


def test_plan_expanding_monthly(sp500):
    idx = sp500.index
    plan = WalkForward(window="expanding", refit="monthly", oos=500).plan(idx)
    n = len(idx)
    check_partition(plan, n, n - 500)
    assert all(w.train_start == 0 for w in plan)
    for w in plan:
        months = idx[w.block_slice].to_period("M")
        assert (months == months[0]).all()  # a block is within one calendar month
    for w in plan[1:]:
        # Later blocks start on the month's first trading day.
        assert idx[w.block_start - 1].month != idx[w.block_start].month
        assert w.block_start_time == idx[w.block_start]
        assert w.train_end_time == idx[w.block_start - 1]
    assert len(plan) == idx[n - 500:].to_period("M").nunique()


def test_plan_rolling_weekly(sp500):
    idx = sp500.index
    plan = WalkForward(window="rolling", window_size=750, refit="weekly", oos=300).plan(idx)
    check_partition(plan, len(idx), len(idx) - 300)
    assert all(w.n_train == 750 and w.train_start == w.block_start - 750 for w in plan)
    for a, b in zip(plan[:-1], plan[1:], strict=True):
        wa = idx[a.block_slice].to_period("W-SUN")
        assert (wa == wa[0]).all()
        assert idx[b.block_start].to_period("W-SUN") != wa[0]  # a new calendar week


def test_plan_daily_and_every_n(sp500):
    idx = sp500.index
    n = len(idx)
    daily = WalkForward(refit="daily", oos=30).plan(idx)
    check_partition(daily, n, n - 30)
    assert len(daily) == 30 and all(w.n_block == 1 for w in daily)
    every = WalkForward(window="rolling", window_size=500, refit=21, oos=100).plan(idx)
    check_partition(every, n, n - 100)
    assert [w.n_block for w in every] == [21, 21, 21, 21, 16]


def test_plan_oos_timestamp_and_short_rolling(sp500):
    idx = sp500.index
    plan = WalkForward(refit="monthly", oos="2017-01-01").plan(idx)
    assert plan[0].block_start_time == pd.Timestamp("2017-01-03")  # first trading day
    assert len(plan) == 24
    check_partition(plan, len(idx), int(idx.searchsorted(pd.Timestamp("2017-01-03"))))
    # A rolling window longer than the history so far starts at 0 while min_train allows it.
    early = WalkForward(window="rolling", window_size=300, refit=50, oos=len(idx) - 100,
                        min_train=100).plan(idx)
    assert early[0].train_start == 0 and early[0].n_train == 100
    assert early[-1].n_train == 300


def test_plan_table_and_records(sp500):
    plan = GARCH_WF.plan(sp500)
    table = plan_table(plan)
    assert list(table.columns[:5]) == ["id", "train_start", "train_end", "block_start",
                                       "block_end"]
    assert (table["block_start"].iloc[1:].to_numpy()
            > table["block_end"].iloc[:-1].to_numpy()).all()
    assert [Window.from_record(w.to_record()) for w in plan] == plan


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"refit": "hourly", "oos": 10}, "refit must be 'daily', 'weekly', 'monthly'"),
        ({"refit": 0, "oos": 10}, "refit must be"),
        ({"refit": True, "oos": 10}, "refit must be"),
        ({"window": "sliding", "oos": 10}, "window must be 'expanding' or 'rolling'"),
        ({"window": "rolling", "oos": 10}, "window='rolling' needs window_size"),
        ({"window": "expanding", "window_size": 100, "oos": 10}, "only used with window='rolling'"),
        ({"window": "rolling", "window_size": -5, "oos": 10}, "window_size must be a positive"),
        ({}, "oos is required"),
        ({"oos": 0}, "oos must be at least 1"),
        ({"oos": 0.2}, "oos must be an integer number"),
        ({"oos": "not a date"}, "is not a timestamp"),
        ({"window": "rolling", "window_size": 10, "min_train": 20, "oos": 5},
         "exceeds window_size"),
    ],
)
def test_bad_config_raises_at_construction(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        WalkForward(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"oos": 6000}, "oos=6000 out-of-sample observations leave no training data"),
        ({"oos": 5030}, "the data have only 5030 observations"),
        ({"oos": "2030-01-01"}, "starts after the last observation"),
        ({"oos": "1990-01-01"}, "no training data"),
        ({"oos": 5000, "min_train": 250}, "only 30 training observations"),
        ({"window": "rolling", "window_size": 1000, "oos": 4500}, "fewer than min_train=1000"),
    ],
)
def test_bad_config_raises_at_plan(sp500, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        WalkForward(**kwargs).plan(sp500.index)


def test_plan_rejects_bad_index(sp500):
    with pytest.raises(DataValidationError, match="datetime-index"):
        WalkForward(oos=10).plan(pd.RangeIndex(100))
    with pytest.raises(DataValidationError, match="sorted-index"):
        WalkForward(oos=10).plan(sp500.index[::-1])


def test_custom_plan(sp500, tmp_path):
    plan = EWMA_WF.plan(sp500)
    sub = plan[::3]  # an explicit plan: every third refit block only
    res = run_walk_forward(sp500, tasks.EwmaVar(), sub, out_dir=tmp_path, executor="serial",
                           progress=False)
    assert len(res.forecasts) == sum(w.n_block for w in sub)
    assert res.manifest["config"]["walkforward"] is None
    with pytest.raises(ConfigError, match="overlaps or precedes"):
        run_walk_forward(sp500, tasks.EwmaVar(), [plan[1], plan[0]], out_dir=tmp_path,
                         executor="serial", progress=False)
    with pytest.raises(ConfigError, match="built on another index"):
        run_walk_forward(sp500.iloc[1:], tasks.EwmaVar(), plan[:2], out_dir=tmp_path,
                         executor="serial", progress=False)


# ------------------------------------------------------------------------- task contract


def test_split_window_on_full_data_and_on_task_slice(sp500):
    w = GARCH_WF.plan(sp500)[2]
    train, block = split_window(sp500, w)
    assert train.index[0] == w.train_start_time and train.index[-1] == w.train_end_time
    assert len(train) == w.n_train and len(block) == w.n_block
    view = sp500.iloc[w.train_start:w.block_end + 1]  # what the engine passes
    t2, b2 = split_window(view, w)
    assert t2.equals(train) and b2.equals(block)
    with pytest.raises(DataValidationError, match="window-span"):
        split_window(sp500.iloc[: w.block_end], w)


def test_task_sees_nothing_after_its_block_and_gets_its_seed(sp500, tmp_path):
    wf = WalkForward(window="rolling", window_size=500, refit="weekly", oos=40)
    res = run_walk_forward(sp500, tasks.seed_probe, wf, out_dir=tmp_path, executor="serial",
                           seed=123, progress=False)
    fc = res.forecasts
    assert fc.index.equals(sp500.index[-40:])
    for w in res.plan:
        rows = fc.loc[w.block_start_time:w.block_end_time]
        assert (rows["last_seen"] == w.block_end_time.value).all()  # no data after the block
        assert (rows["first_seen"] == w.train_start_time.value).all()
        assert (rows["n_seen"] == w.n_train + w.n_block).all()
        assert (rows["seed"] == window_seed(123, w.id)).all()
    assert res.windows["seed"].tolist() == [window_seed(123, w.id) for w in res.plan]
    assert res.windows["seed"].nunique() == len(res.plan)


def test_window_seed_is_a_seedsequence_child():
    child = np.random.SeedSequence(7).spawn(4)[3]
    assert window_seed(7, 3) == int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    assert window_seed(7, 3) == window_seed(7, 3) != window_seed(8, 3)
    assert 0 <= window_seed(2**40, 10**6) < 2**63


def test_forecast_of_t_ignores_data_from_t_on(sp500, tmp_path):
    res = run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path / "a",
                           executor="serial", progress=False)
    t = res.plan[5].block_start + 7  # inside a block
    bumped = sp500.copy()
    bumped.iloc[t] += 10.0  # a crash on day t
    res2 = run_walk_forward(bumped, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path / "b",
                            executor="serial", progress=False)
    day = sp500.index[t]
    before = res.forecasts.loc[:day]
    assert_identical(before, res2.forecasts.loc[:day])  # forecasts up to t unchanged
    nxt = sp500.index[t + 1]
    assert res2.forecasts.loc[nxt, "variance"] > res.forecasts.loc[nxt, "variance"]


def test_task_output_is_checked(sp500, tmp_path):
    with pytest.raises(DataValidationError, match="task-index"):
        run_walk_forward(sp500, tasks.wrong_index_task, EWMA_WF, out_dir=tmp_path / "a",
                         executor="serial", progress=False)
    with pytest.raises(DataValidationError, match="task-output"):
        run_walk_forward(sp500, tasks.series_task, EWMA_WF, out_dir=tmp_path / "b",
                         executor="serial", progress=False)


def test_task_error_names_its_window_and_keeps_finished_ones(sp500, tmp_path):
    with pytest.raises(ValueError, match="model blew up") as info:
        run_walk_forward(sp500, tasks.failing_task, EWMA_WF, out_dir=tmp_path,
                         executor="serial", progress=False)
    assert any("walk-forward window 2" in note for note in info.value.__notes__)
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(man["windows"]) == ["0", "1"] and not man["complete"]


def test_task_identity_must_be_reproducible(sp500, tmp_path):
    with pytest.raises(ConfigError, match="lambda"):
        run_walk_forward(sp500, lambda d, w, s: d, EWMA_WF, out_dir=tmp_path, executor="serial")
    with pytest.raises(ConfigError, match="no deterministic repr"):
        run_walk_forward(sp500, tasks.NoReprTask(), EWMA_WF, out_dir=tmp_path,
                         executor="serial")


def test_bad_run_options(sp500, tmp_path):
    kw = {"out_dir": tmp_path, "progress": False}
    with pytest.raises(ConfigError, match="executor must be one of"):
        run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, executor="threads", **kw)
    with pytest.raises(ConfigError, match="only used with executor='dask'"):
        run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, executor="local",
                         scheduler="tcp://127.0.0.1:8786", **kw)
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, executor="serial", seed=-1, **kw)


def test_dataframe_input(sp500, tmp_path):
    from hybridrisk import datasets

    frame = pd.concat([sp500, datasets.nasdaq_returns()], axis=1, join="inner")
    res = run_walk_forward(frame, tasks.frame_moments, EWMA_WF, out_dir=tmp_path,
                           executor="serial", progress=False)
    assert list(res.forecasts.columns) == ["sp500_mean", "sp500_var", "nasdaq_mean",
                                           "nasdaq_var"]
    w = res.plan[-1]
    train = frame.iloc[w.train_slice]
    assert res.forecasts["nasdaq_var"].iloc[-1] == float(train["nasdaq"].var())


# ------------------------------------------------------------------- persistence, resume


def test_manifest_and_files(sp500, tmp_path):
    res = run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path, executor="serial",
                           progress=False)
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert man == res.manifest and man["complete"]
    assert man["data_hash"] == frame_sha256(sp500)
    assert man["config"]["task"]["class"] == "_wf_child.EwmaVar"
    files = sorted(p.name for p in (tmp_path / "windows").iterdir())
    assert files == [f"{i:06d}.parquet" for i in range(12)]
    import hashlib

    for entry in man["windows"].values():
        assert hashlib.sha256((tmp_path / entry["file"]).read_bytes()).hexdigest() == \
            entry["sha256"]
    assert not list(tmp_path.rglob("*.tmp"))
    assert_identical(load_walk_forward(tmp_path).forecasts, res.forecasts)
    assert (res.windows["seconds"] >= 0).all() and not res.windows["resumed"].any()


def test_data_digests_keep_their_definitions(sp500):
    """Stored manifests hold these digests: pinned to the values of the first release."""
    s = pd.Series([1.5, np.nan, -2.0], name="r",
                  index=pd.date_range("2020-01-01", periods=3, tz="UTC", name="date"))
    f = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 0.25, np.nan]},
                     index=pd.Index([10, 20, 30], name="k"))
    assert frame_sha256(s) == "1d05f88c4c9940955283e0b9d07eae8f23222b73ea6111ebde3e52d3f6869643"
    assert frame_sha256(f) == "4a52a3de6d512b65bb7fa2fd379d24b226e374ae5a24e5df3a05af466cc292ce"
    assert frame_sha256(sp500) == \
        "9d71a44c13d231c649a41514f609e1d7c2fab12781dcd4f90470917305111820"
    # the numbers, not the layout: another datetime unit or memory order hash the same
    s_sec = s.copy()
    s_sec.index = s.index.as_unit("s")
    assert frame_sha256(s_sec) == frame_sha256(s)
    f_fortran = pd.DataFrame(np.asfortranarray(f.to_numpy(float)), index=f.index,
                             columns=f.columns)
    assert frame_sha256(f_fortran) == frame_sha256(f)
    assert frame_sha256(s.rename("other")) != frame_sha256(s)
    # arrays: their bytes in order (what saved hybrids record), not their dtype or shape
    import hashlib

    a, b = np.arange(6.0).reshape(2, 3), np.array([1, 2], dtype=np.int32)
    digest = arrays_sha256(a, b)
    assert digest == "21f5a5288adf06ec4cb19c0d462b13b169d0f53d97888768cbd5f3f9d37ff454"
    assert digest == hashlib.sha256(a.tobytes() + b.tobytes()).hexdigest()
    assert arrays_sha256(np.asfortranarray(a), b) == digest


def test_environment_record_keeps_its_keys():
    from validation.walkforward import _environment

    env = _environment()
    # resuming compares this record with the stored one: same keys as the first release
    assert set(env) == {"python", "platform", "numpy", "pandas", "pyarrow", "hybridrisk"}
    assert env["numpy"] == np.__version__ and env["pandas"] == pd.__version__


def threads_task(data: pd.Series, window: Window, seed: int) -> pd.DataFrame:
    """Changes torch's global thread count, as a careless task would."""
    import torch

    torch.set_num_threads(3)
    return pd.DataFrame({"n": float(torch.get_num_threads())}, index=data.index[-window.n_block:])


def test_torch_threads_are_restored_after_every_task(sp500, tmp_path, monkeypatch):
    import torch

    from validation import executors

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        res = run_walk_forward(sp500.iloc[-300:], threads_task,
                               WalkForward(refit=50, oos=100), out_dir=tmp_path,
                               executor="serial", progress=False)
        assert (res.forecasts["n"] == 3).all()
        assert torch.get_num_threads() == 2
        # a pool worker's initializer does not change it either (the engine's
        # single_threaded() around each job sets and restores it)
        for var in executors._THREAD_ENV:
            monkeypatch.setenv(var, os.environ.get(var, ""))
        monkeypatch.setattr(executors, "_WORKER_SHARED", {})
        executors._init_pool_worker()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_resume_skips_intact_windows_and_redoes_damaged_ones(sp500, tmp_path):
    first = run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path,
                             executor="serial", progress=False)
    with open(tmp_path / "windows" / "000003.parquet", "ab") as f:
        f.write(b"\0")  # damaged after the fact
    (tmp_path / "windows" / "000007.parquet").unlink()
    again = run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path,
                             executor="serial", progress=False)
    assert again.windows.loc[~again.windows["resumed"], "id"].tolist() == [3, 7]
    assert_identical(again.forecasts, first.forecasts)
    assert file_hashes(again) == file_hashes(first)


def test_other_data_or_config_is_refused_unless_resume_false(sp500, tmp_path):
    run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path, executor="serial",
                     progress=False)
    other = sp500.copy()
    other.iloc[100] += 1e-12
    with pytest.raises(ConfigError, match="different data.*resume=False"):
        run_walk_forward(other, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path, executor="serial",
                         progress=False)
    with pytest.raises(ConfigError, match="different configuration"):
        run_walk_forward(sp500, tasks.EwmaVar(lam=0.97), EWMA_WF, out_dir=tmp_path,
                         executor="serial", progress=False)
    with pytest.raises(ConfigError, match="different configuration"):
        run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path, executor="serial",
                         seed=1, progress=False)
    over = run_walk_forward(sp500, tasks.EwmaVar(lam=0.97), EWMA_WF, out_dir=tmp_path,
                            executor="serial", progress=False, resume=False)
    fresh = run_walk_forward(sp500, tasks.EwmaVar(lam=0.97), EWMA_WF,
                             out_dir=tmp_path / "fresh", executor="serial", progress=False)
    assert not over.windows["resumed"].any()
    assert_identical(over.forecasts, fresh.forecasts)


def test_concurrent_run_on_same_folder_is_refused(sp500, tmp_path):
    with open(tmp_path / ".lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConfigError, match="another walk-forward run"):
            run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path,
                             executor="serial", progress=False)


def test_progress_bar(sp500, tmp_path, capsys):
    run_walk_forward(sp500, tasks.EwmaVar(), EWMA_WF, out_dir=tmp_path, executor="serial",
                     progress=True)
    err = capsys.readouterr().err
    assert "walk-forward" in err and "12/12" in err and "s/window" in err


def test_resume_after_kill_equals_uninterrupted_run(sp500, tmp_path):
    """SIGKILL a real child process mid-run, resume in-process: same bytes as one clean run."""
    killed = tmp_path / "killed"
    total = len(tasks.KILL_WF.plan(sp500))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get(
        "PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, str(Path(tasks.__file__)), str(killed)],
                             cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while len(list((killed / "windows").glob("*.parquet"))) < 4:
            assert child.poll() is None, child.stdout.read().decode()
            assert time.monotonic() < deadline, "child wrote no windows in 120 s"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    written = len(list((killed / "windows").glob("*.parquet")))
    assert 4 <= written < total  # killed mid-run
    manifest = json.loads((killed / "manifest.json").read_text())
    assert not manifest["complete"]

    resumed = run_walk_forward(sp500, tasks.KILL_TASK, tasks.KILL_WF, out_dir=killed,
                               executor="serial", progress=False)
    clean = run_walk_forward(sp500, tasks.KILL_TASK, tasks.KILL_WF, out_dir=tmp_path / "clean",
                             executor="serial", progress=False)
    assert 1 <= resumed.windows["resumed"].sum() < total
    assert_identical(resumed.forecasts, clean.forecasts)
    assert file_hashes(resumed) == file_hashes(clean)
    assert resumed.manifest["config_hash"] == clean.manifest["config_hash"]
    assert not list(killed.rglob("*.tmp"))


# ---------------------------------------------------------------------------- executors


@pytest.fixture(scope="module")
def garch_serial(tmp_path_factory, sp500):
    out = tmp_path_factory.mktemp("garch_serial")
    return run_walk_forward(sp500, tasks.garch_task, GARCH_WF, out_dir=out, executor="serial",
                            seed=2024, progress=False)


def test_garch_serial_is_sane(garch_serial, sp500):
    fc = garch_serial.forecasts
    assert fc.index.equals(sp500.index[-126:])
    assert (fc["variance"] > 0).all() and (fc["VaR_0.99"] > 0).all()
    # Monte Carlo VaR from 2,000 draws is close to the analytic one.
    assert np.allclose(fc["VaR_0.99_mc"], fc["VaR_0.99"], rtol=0.15)


def test_local_pool_matches_serial_bit_for_bit(garch_serial, sp500, tmp_path):
    # Bit-identity needs BLAS pinned to one thread in every process (see executors.py).
    pytest.importorskip("threadpoolctl")
    res = run_walk_forward(sp500, tasks.garch_task, GARCH_WF, out_dir=tmp_path,
                           executor="local", n_workers=2, seed=2024, progress=False)
    assert_identical(res.forecasts, garch_serial.forecasts)
    assert file_hashes(res) == file_hashes(garch_serial)
    assert res.windows["seed"].equals(garch_serial.windows["seed"])


def test_dask_local_cluster_matches_serial_bit_for_bit(garch_serial, sp500, tmp_path):
    # Bit-identity needs BLAS pinned to one thread in every process (see executors.py).
    pytest.importorskip("threadpoolctl")
    pytest.importorskip("distributed")
    res = run_walk_forward(sp500, tasks.garch_task, GARCH_WF, out_dir=tmp_path,
                           executor="dask", n_workers=2, seed=2024, progress=False)
    assert_identical(res.forecasts, garch_serial.forecasts)
    assert file_hashes(res) == file_hashes(garch_serial)
    assert res.windows["seed"].equals(garch_serial.windows["seed"])
