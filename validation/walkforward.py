"""Walk-forward out-of-sample evaluation: plan, run, persist, resume.

A walk-forward run splits the out-of-sample (OOS) span of a time series into *refit blocks*.
For each block a model is fitted on a training span that ends the observation before the block
starts, then produces one forecast for every step of the block without refitting. The engine
is generic: a *task* does the fitting and forecasting (a GARCH variance today, a yield curve, a
smile or a copula later) and returns a DataFrame with any columns.

Plan
    :class:`WalkForward` turns a configuration (expanding or rolling training window, refit
    frequency, OOS start, minimum training length) into a list of :class:`Window` for a given
    DatetimeIndex. ``refit="weekly"`` / ``"monthly"`` blocks follow calendar weeks (Monday to
    Sunday) and months of the index, ``"daily"`` refits before every observation and an
    integer ``N`` refits every ``N`` observations. Blocks do not overlap, leave no gap and
    cover the OOS span exactly.

Task contract
    ``task(data, window, seed) -> pd.DataFrame`` is a picklable callable (a module-level
    function or a dataclass instance with ``__call__``) that depends on nothing but its three
    arguments. ``data`` is the input restricted to ``window.train_start ..
    window.block_end``: the task never receives an observation after its block, but it
    *does* receive the block's own observations so that it can filter through the block.
    **The forecast for step t must use data up to t-1 only**; :func:`split_window` gives the
    training span and the block. The returned frame must be indexed by exactly the block's
    timestamps and have string column names, the same in every window.

Seeds
    Window ``k`` receives ``window_seed(seed, k)``: the ``k``-th child of
    ``numpy.random.SeedSequence(seed)``, so it depends on the run seed and the window id only,
    never on the order windows run in or on the executor.

Persistence and resumption
    Under ``out_dir`` the engine writes ``windows/<id>.parquet`` (one per window, written by
    the engine process as soon as the window finishes, to a temporary file and then moved into
    place with :func:`os.replace`, so a file is either complete or absent) and
    ``manifest.json`` (also replaced atomically) holding the SHA-256 of the data (values,
    index and names, :func:`hybridrisk.provenance.frame_sha256`), of the configuration (task
    identity, parameters and source text, the walk-forward configuration, the plan, the seed)
    and of every window file. A run killed at any moment and started again with the same
    inputs recomputes only the windows whose file is missing or does not match the manifest,
    and ends with the same bytes as an uninterrupted run. A manifest from other data or
    another configuration raises :class:`~hybridrisk.errors.ConfigError` unless
    ``resume=False``, which deletes the old window files first. A change in code that the task
    *calls* (rather than the task's own source) is not detected: pass ``resume=False`` after
    such a change.

Executors
    ``executor="serial"``, ``"local"`` (spawned process pool, the default) or ``"dask"``
    (:mod:`validation.executors`). Workers only compute: they send each window's forecasts back
    to the engine process, which alone writes the files and the manifest, so workers need no
    access to ``out_dir`` and the manifest has a single writer. Every task runs with one
    BLAS/OpenMP/torch thread, so all executors give the same bytes; the executor is therefore
    not part of the configuration, and a run may be resumed on another executor.

Example
-------
>>> from hybridrisk import datasets
>>> from validation.walkforward import WalkForward, run_walk_forward
>>> wf = WalkForward(window="rolling", window_size=1000, refit="monthly", oos=250)
>>> res = run_walk_forward(datasets.sp500_returns(), my_task, wf,
...                        out_dir="runs/garch")  # doctest: +SKIP
>>> res.forecasts.head()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import pickle
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError, HybridRiskError
from hybridrisk.provenance import frame_sha256, package_versions
from validation.executors import Executor, make_executor, single_threaded
from validation.windows import (
    WalkForward,
    Window,
    _check_plan,
    _is_int,
    plan_table,
    split_window,
    window_seed,
)

__all__ = [
    "Window",
    "WalkForward",
    "WalkForwardResult",
    "run_walk_forward",
    "load_walk_forward",
    "split_window",
    "window_seed",
    "plan_table",
]

#: Version tag of the on-disk layout; part of the configuration hash.
FORMAT = "hybridrisk.walkforward/1"
_MANIFEST = "manifest.json"
_WINDOWS = "windows"
_LOCK = ".lock"


# ------------------------------------------------------------------------ hashes, identity


def _sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _source_sha(obj: Any) -> str | None:
    try:
        return _sha256(inspect.getsource(obj).encode())
    except (OSError, TypeError):  # built-in or defined interactively: identity only
        return None


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"


def _describe_task(task: Any) -> dict[str, Any]:
    """A JSON description identifying the task across processes and sessions."""
    if isinstance(task, functools.partial):
        return {
            "partial": _describe_task(task.func),
            "args": [repr(a) for a in task.args],
            "keywords": {k: repr(v) for k, v in sorted(task.keywords.items())},
        }
    if inspect.isfunction(task) or inspect.isbuiltin(task):
        name = _qualname(task)
        if "<lambda>" in name or "<locals>" in name:
            raise ConfigError(
                f"task {name} is a lambda or a nested function: workers cannot import it and "
                "its identity cannot be recorded; use a module-level function or a dataclass"
            )
        return {"function": name, "source_sha256": _source_sha(task)}
    if not callable(task):
        raise ConfigError(f"task must be callable, got {type(task).__name__}")
    cls = type(task)
    if "<locals>" in cls.__qualname__:
        raise ConfigError(f"task class {cls.__qualname__} is nested in a function: define it "
                          "at module level so workers can import it")
    text = repr(task)
    if cls.__repr__ is object.__repr__ or " at 0x" in text:
        # The default repr holds a memory address, different in every process.
        raise ConfigError(
            f"task {cls.__qualname__} has no deterministic repr (got {text!r}); make it a "
            "dataclass or give it a __repr__ listing its parameters"
        )
    return {"class": _qualname(cls), "repr": text, "source_sha256": _source_sha(cls)}


def _environment() -> dict[str, str | None]:
    """Interpreter, platform and the versions that shape the bytes of the window files."""
    return {
        "platform": platform.platform(),
        **package_versions("pyarrow", core=("hybridrisk", "numpy", "pandas")),
    }


# ------------------------------------------------------------------------------- the store


def _window_file(window_id: int) -> str:
    return f"{_WINDOWS}/{window_id:06d}.parquet"


def _atomic_write(path: Path, payload: bytes) -> None:
    # A kill before os.replace leaves only a temporary file (removed on the next start); after
    # it, the complete file. fsync so a power cut cannot leave a renamed but empty file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _frame_to_parquet(frame: pd.DataFrame) -> bytes:
    buf = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=True), buf)
    return buf.getvalue().to_pybytes()


def _read_window(out_dir: Path, entry: dict[str, Any]) -> pd.DataFrame:
    payload = (out_dir / entry["file"]).read_bytes()
    if _sha256(payload) != entry["sha256"]:
        raise HybridRiskError(
            f"{entry['file']} does not match its SHA-256 in the manifest: the file was modified "
            "after it was written; run again with resume=True to recompute it"
        )
    return pq.read_table(pa.BufferReader(payload)).to_pandas()


class _Store:
    """The output folder: window files and the manifest, written by this process only."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.manifest: dict[str, Any] = {}
        self._last_write = 0.0
        self._write_cost = 0.0
        self._lock_file: Any = None

    def lock(self) -> None:
        """Refuse a second concurrent run on the same folder (released by the OS on death)."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        f = open(self.out_dir / _LOCK, "a+b")  # held open (locked) for the run
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            f.close()
            raise ConfigError(
                f"another walk-forward run is writing to {self.out_dir}; wait for it or use "
                "another out_dir"
            ) from exc
        self._lock_file = f

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _clear(self) -> None:
        for p in (self.out_dir / _WINDOWS).glob("*.parquet"):
            p.unlink()
        (self.out_dir / _MANIFEST).unlink(missing_ok=True)

    def open(self, fresh: dict[str, Any], resume: bool) -> set[int]:
        """Load or create the manifest; return the ids of windows already done and intact."""
        wdir = self.out_dir / _WINDOWS
        wdir.mkdir(parents=True, exist_ok=True)
        for p in [*wdir.glob(".*.tmp"), *self.out_dir.glob(".*.tmp")]:
            p.unlink()  # left by a killed run
        path = self.out_dir / _MANIFEST
        old = None
        if path.exists():
            try:
                old = json.loads(path.read_text())
                if old.get("format") != FORMAT:
                    raise ValueError(f"format {old.get('format')!r}")
            except (ValueError, AttributeError) as exc:
                if resume:
                    raise ConfigError(
                        f"{path} is not a walk-forward manifest of this version ({exc}); pass "
                        "resume=False to overwrite the folder"
                    ) from exc
                old = None
        if old is not None and resume:
            differs = [k for k in ("data_hash", "config_hash") if old.get(k) != fresh[k]]
            if differs:
                what = " and ".join(
                    {"data_hash": "data", "config_hash": "configuration"}[k] for k in differs
                )
                raise ConfigError(
                    f"{self.out_dir} holds a walk-forward run on different {what} (manifest "
                    f"{', '.join(f'{k}={old.get(k)!s:.12}...' for k in differs)}); pass "
                    "resume=False to overwrite it, or choose another out_dir"
                )
            if old.get("environment") != fresh["environment"]:
                warnings.warn(
                    f"resuming a run started under {old.get('environment')} in "
                    f"{fresh['environment']}: resumed windows come from the older environment",
                    RuntimeWarning,
                    stacklevel=3,
                )
            done = set()
            for key, entry in old.get("windows", {}).items():
                # Trust an entry only in the exact form this module writes it.
                if not (key.isdigit() and isinstance(entry, dict)
                        and entry.get("file") == _window_file(int(key))):
                    continue
                p = self.out_dir / entry["file"]
                if p.exists() and _sha256(p.read_bytes()) == entry.get("sha256"):
                    done.add(int(key))
            fresh["windows"] = {str(k): old["windows"][str(k)] for k in sorted(done)}
            fresh["columns"] = old.get("columns") if done else None
            self.manifest = fresh
            self.write(force=True)
            return done
        self._clear()
        self.manifest = fresh
        self.write(force=True)
        return set()

    def write(self, force: bool = False) -> None:
        # Skip a rewrite when windows finish faster than ~20x the cost of one: the manifest then
        # lags by a few windows, which a resume simply recomputes.
        now = time.perf_counter()
        if not force and now - self._last_write < 20 * self._write_cost:
            return
        _atomic_write(self.out_dir / _MANIFEST,
                      json.dumps(self.manifest, indent=1, sort_keys=True).encode())
        self._last_write = time.perf_counter()
        self._write_cost = self._last_write - now

    def add_window(self, window: Window, frame: pd.DataFrame, seconds: float, seed: int) -> None:
        payload = _frame_to_parquet(frame)
        rel = _window_file(window.id)
        _atomic_write(self.out_dir / rel, payload)
        self.manifest["windows"][str(window.id)] = {
            "file": rel,
            "sha256": _sha256(payload),
            "seconds": round(seconds, 6),
            "seed": seed,
        }
        self.write()


# ------------------------------------------------------------------------------- the engine


def _run_window(shared: tuple[bytes, pd.Series | pd.DataFrame],
                item: tuple[Window, int]) -> tuple[Any, float]:
    """Worker side: run the task on the data up to the block's end; time it."""
    task_bytes, data = shared
    window, seed = item
    # A fresh copy of the task for every window, so state a task keeps between calls cannot
    # make results depend on which windows a worker happened to run before.
    task = pickle.loads(task_bytes)
    view = data.iloc[window.train_start:window.block_end + 1]  # nothing after the block
    t0 = time.perf_counter()
    try:
        with single_threaded():
            out = task(view, window, seed)
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python >= 3.11; notes survive pickling to the engine
            exc.add_note(
                f"in walk-forward window {window.id} (train {window.train_start_time:%Y-%m-%d}"
                f"..{window.train_end_time:%Y-%m-%d}, block {window.block_start_time:%Y-%m-%d}"
                f"..{window.block_end_time:%Y-%m-%d}, seed {seed})"
            )
        raise
    return out, time.perf_counter() - t0


def _check_output(out: Any, window: Window, index: pd.DatetimeIndex) -> pd.DataFrame:
    if not isinstance(out, pd.DataFrame):
        raise DataValidationError(
            "task-output",
            f"the task returned a {type(out).__name__} for window {window.id}; it must return a "
            "DataFrame of forecasts indexed by the block's timestamps",
        )
    block = index[window.block_slice]
    got = out.index
    same = (
        isinstance(got, pd.DatetimeIndex)
        and len(got) == len(block)
        and (got.tz is None) == (block.tz is None)
        and np.array_equal(got.as_unit("ns").asi8, block.as_unit("ns").asi8)
    )
    if not same:
        raise DataValidationError(
            "task-index",
            f"window {window.id}: the task's forecasts must be indexed by exactly the block's "
            f"{len(block)} timestamps {block[0]}..{block[-1]}, got {len(out)} rows "
            f"indexed by {type(out.index).__name__}",
        )
    bad = [c for c in out.columns if not isinstance(c, str)]
    if bad or not out.columns.is_unique:
        raise DataValidationError(
            "task-columns",
            f"window {window.id}: forecast columns must be distinct strings, got "
            f"{list(out.columns)}",
            column=bad[0] if bad else None,
        )
    out = out.copy()
    out.index = block  # the data's own index: same unit, timezone and name in every window
    return out


def _pickle_task(task: Any) -> bytes:
    try:
        import cloudpickle  # handles tasks defined in __main__ for remote workers
    except ImportError:
        cloudpickle = None
    try:
        return (cloudpickle or pickle).dumps(task)
    except Exception as exc:  # any pickling failure means the same thing
        raise ConfigError(
            f"the task cannot be pickled ({exc}); workers need a module-level function or a "
            "dataclass instance"
        ) from exc


@dataclass
class WalkForwardResult:
    """Outcome of :func:`run_walk_forward`.

    Attributes
    ----------
    forecasts
        The forecasts of every window, concatenated in time order, indexed by the OOS
        timestamps; read back from the window files, so a resumed run and an uninterrupted one
        return the same bytes.
    windows
        The plan table (:func:`plan_table`) plus ``seed``, ``seconds`` (task wall time of the
        window) and ``resumed`` (taken from an earlier run).
    manifest
        The manifest as written to ``out_dir/manifest.json``.
    out_dir
        The output folder.
    plan
        The windows.
    """

    forecasts: pd.DataFrame
    windows: pd.DataFrame
    manifest: dict[str, Any]
    out_dir: Path
    plan: list[Window] = field(repr=False)


def _assemble(out_dir: Path, manifest: dict[str, Any], plan: list[Window],
              resumed: set[int]) -> WalkForwardResult:
    entries = manifest["windows"]
    frames = [_read_window(out_dir, entries[str(w.id)]) for w in plan]
    forecasts = pd.concat(frames) if len(frames) > 1 else frames[0]
    table = plan_table(plan)
    table["seed"] = [int(entries[str(w.id)]["seed"]) for w in plan]
    table["seconds"] = [float(entries[str(w.id)]["seconds"]) for w in plan]
    table["resumed"] = [w.id in resumed for w in plan]
    return WalkForwardResult(forecasts, table, manifest, out_dir, plan)


def run_walk_forward(
    data: pd.Series | pd.DataFrame,
    task: Callable[[pd.Series | pd.DataFrame, Window, int], pd.DataFrame],
    plan_or_walkforward: WalkForward | Sequence[Window],
    *,
    out_dir: str | os.PathLike[str],
    executor: str | Executor = "local",
    scheduler: Any = None,
    n_workers: int | None = None,
    seed: int = 0,
    progress: bool = True,
    resume: bool = True,
) -> WalkForwardResult:
    """Run a task over every window of a walk-forward, persisting each result as it finishes.

    Parameters
    ----------
    data
        Series or DataFrame with a sorted, unique DatetimeIndex (NaN allowed: the task decides).
        Validated and copied as float64 by :func:`hybridrisk.checks.check_timeseries`.
    task
        Picklable ``task(data, window, seed) -> DataFrame``; see the module docstring for the
        contract (no look-ahead, output indexed by the block's timestamps).
    plan_or_walkforward
        A :class:`WalkForward` (planned on ``data.index``) or a list of :class:`Window` made on
        the same index.
    out_dir
        Output folder (created); see the module docstring for its layout.
    executor
        ``"local"`` (process pool, default), ``"serial"``, ``"dask"`` or an
        :class:`~validation.executors.Executor`.
    scheduler
        With ``executor="dask"``: a scheduler address or a Client; ``None`` starts a LocalCluster.
    n_workers
        Worker processes of the local pool or of the dask LocalCluster (default: CPU count).
    seed
        Run seed; window ``k`` receives ``window_seed(seed, k)``.
    progress
        Show a tqdm bar (windows done, seconds per window, time left) on stderr.
    resume
        Reuse the intact window files of an earlier run with the same data and configuration.
        ``False`` discards whatever ``out_dir`` holds and recomputes everything.

    Returns
    -------
    WalkForwardResult

    Raises
    ------
    ConfigError
        Invalid configuration, an unpicklable task, ``out_dir`` holding another run while
        ``resume=True``, or another process writing to ``out_dir``.
    DataValidationError
        Invalid data, or a task output that breaks the contract.
    """
    if not _is_int(seed) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    data = check_timeseries(data, name="data", allow_nan=True)
    if isinstance(plan_or_walkforward, WalkForward):
        spec: dict[str, Any] | None = plan_or_walkforward.to_dict()
        plan = plan_or_walkforward.plan(data.index)
    elif isinstance(plan_or_walkforward, Sequence) and not isinstance(plan_or_walkforward, str):
        spec = None
        plan = _check_plan(plan_or_walkforward, data.index)
    else:
        raise ConfigError(
            "plan_or_walkforward must be a WalkForward or a list of Window, got "
            f"{type(plan_or_walkforward).__name__}"
        )
    task_desc = _describe_task(task)
    task_bytes = _pickle_task(task)
    exe = make_executor(executor, scheduler=scheduler, n_workers=n_workers)

    config = {
        "format": FORMAT,
        "task": task_desc,
        "walkforward": spec,
        "seed": seed,
        "plan": [w.to_record() for w in plan],
    }
    fresh = {
        "format": FORMAT,
        "data_hash": frame_sha256(data),
        "config_hash": _sha256(_canonical(config)),
        "config": config,
        "data": {
            "n_obs": len(data),
            "columns": [str(data.name)] if isinstance(data, pd.Series)
            else [str(c) for c in data.columns],
            "start": data.index[0].isoformat(),
            "end": data.index[-1].isoformat(),
        },
        "environment": _environment(),
        "columns": None,
        "windows": {},
        "complete": False,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = _Store(out)
    store.lock()
    try:
        resumed = store.open(fresh, resume)
        seeds = {w.id: window_seed(seed, w.id) for w in plan}
        pending = [w for w in plan if w.id not in resumed]
        if pending:
            try:
                _compute(store, exe, task_bytes, data, pending, seeds, len(plan), progress)
            except BaseException:
                store.write(force=True)  # record every window finished before the failure
                raise
        store.manifest["complete"] = True
        store.write(force=True)
        return _assemble(out, store.manifest, plan, resumed)
    finally:
        store.unlock()


def _compute(store: _Store, exe: Executor, task_bytes: bytes, data: pd.Series | pd.DataFrame,
             pending: list[Window], seeds: dict[int, int], total: int, progress: bool) -> None:
    from tqdm.auto import tqdm

    items = [(w, seeds[w.id]) for w in pending]
    spent = 0.0
    bar = tqdm(total=total, initial=total - len(pending), desc="walk-forward", unit="window",
               disable=not progress, file=sys.stderr)
    results: Iterator[tuple[int, Any]] = exe.imap_unordered(_run_window, (task_bytes, data), items)
    with bar, contextlib.closing(results):  # closing: cancel pending jobs on any error
        for n_done, (i, (out, seconds)) in enumerate(results, start=1):
            window = pending[i]
            frame = _check_output(out, window, data.index)
            cols = list(frame.columns)
            if store.manifest["columns"] is None:
                store.manifest["columns"] = cols
            elif cols != store.manifest["columns"]:
                raise DataValidationError(
                    "task-columns",
                    f"window {window.id} returned columns {cols}, earlier windows "
                    f"{store.manifest['columns']}: every window must return the same columns",
                )
            store.add_window(window, frame, seconds, seeds[window.id])
            spent += seconds
            bar.set_postfix_str(f"{spent / n_done:.3g} s/window", refresh=False)
            bar.update(1)


def load_walk_forward(out_dir: str | os.PathLike[str]) -> WalkForwardResult:
    """Load a finished run from its folder, verifying every file against the manifest.

    Raises
    ------
    ConfigError
        If the folder holds no complete walk-forward run.
    HybridRiskError
        If a window file does not match its hash.
    """
    out = Path(out_dir)
    try:
        manifest = json.loads((out / _MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{out} holds no readable walk-forward manifest ({exc})") from exc
    if manifest.get("format") != FORMAT or not manifest.get("complete"):
        raise ConfigError(f"{out} holds no complete walk-forward run of format {FORMAT}")
    plan = [Window.from_record(r) for r in manifest["config"]["plan"]]
    return _assemble(out, manifest, plan, {w.id for w in plan})

