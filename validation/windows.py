"""Walk-forward windows: the configuration, the plan of windows and their seeds.

:class:`WalkForward` (expanding or rolling training spans, a refit schedule) turns a
DatetimeIndex into :class:`Window` objects; :mod:`validation.walkforward` runs a task on each
and persists the results. See that module's docstring for the conventions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError

__all__ = ["Window", "WalkForward", "split_window", "window_seed", "plan_table"]

_REFIT_NAMES = ("daily", "weekly", "monthly")
_PERIOD = {"weekly": "W-SUN", "monthly": "M"}  # W-SUN: weeks run Monday..Sunday


# --------------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """One refit block of a walk-forward plan.

    Positions are 0-based, *inclusive*, and index the full data the plan was built on.

    Attributes
    ----------
    id
        Window number, 0, 1, ... in chronological order; names its file and its seed.
    train_start, train_end
        First and last position of the training span (``train_end = block_start - 1`` in plans
        made by :class:`WalkForward`).
    block_start, block_end
        First and last position of the block of OOS steps forecast by this fit.
    train_start_time, train_end_time, block_start_time, block_end_time
        The timestamps at those positions.
    """

    id: int
    train_start: int
    train_end: int
    block_start: int
    block_end: int
    train_start_time: pd.Timestamp
    train_end_time: pd.Timestamp
    block_start_time: pd.Timestamp
    block_end_time: pd.Timestamp

    @property
    def n_train(self) -> int:
        """Number of training observations."""
        return self.train_end - self.train_start + 1

    @property
    def n_block(self) -> int:
        """Number of OOS steps forecast by this window."""
        return self.block_end - self.block_start + 1

    @property
    def train_slice(self) -> slice:
        """Positional slice of the training span in the full data."""
        return slice(self.train_start, self.train_end + 1)

    @property
    def block_slice(self) -> slice:
        """Positional slice of the block in the full data."""
        return slice(self.block_start, self.block_end + 1)

    def to_record(self) -> dict[str, Any]:
        """A JSON-serialisable dict (timestamps in ISO 8601)."""
        rec: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            rec[f.name] = v.isoformat() if isinstance(v, pd.Timestamp) else int(v)
        return rec

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Window:
        """Inverse of :meth:`to_record`."""
        kw = {
            f.name: pd.Timestamp(rec[f.name]) if f.name.endswith("_time") else int(rec[f.name])
            for f in dataclasses.fields(cls)
        }
        return cls(**kw)


def _span(data: pd.Series | pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, n: int,
          what: str) -> pd.Series | pd.DataFrame:
    idx = data.index
    lo = int(idx.searchsorted(first, side="left"))
    hi = int(idx.searchsorted(last, side="right"))
    if hi - lo != n or lo >= len(idx) or idx[lo] != first or idx[hi - 1] != last:
        raise DataValidationError(
            "window-span",
            f"the data do not hold the window's {what} {first}..{last} ({n} observations); "
            "pass the data the plan was built on, or the slice the engine gave the task",
        )
    return data.iloc[lo:hi]


def split_window(
    data: pd.Series | pd.DataFrame, window: Window
) -> tuple[pd.Series | pd.DataFrame, pd.Series | pd.DataFrame]:
    """Split data into the window's training span and its block.

    Works on the full data or on the slice the engine passes to a task (the lookup is by
    timestamp, not position).

    Parameters
    ----------
    data
        Series or DataFrame with the DatetimeIndex the plan was built on (or a slice of it
        containing the window).
    window
        The window.

    Returns
    -------
    train, block
        ``train`` holds the ``window.n_train`` training observations, ``block`` the
        ``window.n_block`` OOS observations. The forecast for the block's step ``t`` may use
        ``train`` and the block's observations *before* ``t`` only.

    Raises
    ------
    DataValidationError
        If the data do not contain the window's spans.
    """
    train = _span(data, window.train_start_time, window.train_end_time, window.n_train,
                  "training span")
    block = _span(data, window.block_start_time, window.block_end_time, window.n_block, "block")
    return train, block


def plan_table(plan: Sequence[Window]) -> pd.DataFrame:
    """The plan as a DataFrame: ``id``, train/block start and end timestamps and lengths."""
    cols = ["id", "train_start", "train_end", "block_start", "block_end", "n_train", "n_block"]
    rows = [
        (w.id, w.train_start_time, w.train_end_time, w.block_start_time, w.block_end_time,
         w.n_train, w.n_block)
        for w in plan
    ]
    return pd.DataFrame(rows, columns=cols)


def window_seed(seed: int, window_id: int) -> int:
    """Seed of one window: the ``window_id``-th child of ``SeedSequence(seed)``.

    Equal to ``SeedSequence(seed).spawn(window_id + 1)[-1]`` reduced to a 63-bit integer,
    usable by :func:`numpy.random.default_rng`, :func:`torch.manual_seed` and
    :func:`hybridrisk.seed_everything`.
    """
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(window_id),))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


# ------------------------------------------------------------------------------------ plan


def _is_int(x: Any) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_)


def _check_index(index: Any) -> pd.DatetimeIndex:
    if isinstance(index, pd.Series | pd.DataFrame):
        index = index.index
    if not isinstance(index, pd.Index):
        raise DataValidationError(
            "type", f"plan() needs a pandas DatetimeIndex, got {type(index).__name__}"
        )
    # The library's one validation layer: DatetimeIndex, no NaT, increasing, unique.
    check_timeseries(pd.Series(np.zeros(len(index)), index=index), name="index")
    return index


@dataclass(frozen=True)
class WalkForward:
    """Walk-forward configuration; :meth:`plan` turns it into windows for an index.

    Parameters
    ----------
    window
        ``"expanding"`` (train from the first observation) or ``"rolling"`` (the last
        ``window_size`` observations before the block).
    window_size
        Length of a rolling training window; required for ``"rolling"``, refused for
        ``"expanding"``.
    refit
        ``"daily"`` (refit before every OOS observation), ``"weekly"`` / ``"monthly"`` (refit at
        the first observation of each calendar week, Monday to Sunday, or month) or an integer
        ``N`` (every ``N`` observations, counted from the first OOS observation).
    oos
        The OOS span: an integer (the last ``oos`` observations) or a timestamp (the OOS span
        starts at the first observation at or after it). Required.
    min_train
        Minimum number of training observations of every window; default ``window_size`` for
        rolling windows (every window has a full window) and 1 for expanding ones. With a
        rolling window and ``min_train < window_size``, early windows may start at the first
        observation with a shorter span.

    Raises
    ------
    ConfigError
        On an invalid option, here or (for data-dependent checks) in :meth:`plan`.
    """

    window: str = "expanding"
    window_size: int | None = None
    refit: str | int = "monthly"
    oos: int | str | pd.Timestamp | None = None
    min_train: int | None = None

    def __post_init__(self) -> None:
        if self.window not in ("expanding", "rolling"):
            raise ConfigError(f"window must be 'expanding' or 'rolling', got {self.window!r}")
        if self.window == "rolling":
            if self.window_size is None:
                raise ConfigError(
                    "window='rolling' needs window_size=<number of training observations>"
                )
            if not _is_int(self.window_size) or self.window_size < 1:
                raise ConfigError(
                    f"window_size must be a positive integer, got {self.window_size!r}"
                )
            object.__setattr__(self, "window_size", int(self.window_size))
        elif self.window_size is not None:
            raise ConfigError(
                "window_size is only used with window='rolling'; an expanding window starts at "
                "the first observation"
            )
        if isinstance(self.refit, str):
            if self.refit not in _REFIT_NAMES:
                raise ConfigError(
                    f"refit must be 'daily', 'weekly', 'monthly' or a positive integer number "
                    f"of observations, got {self.refit!r}"
                )
        elif _is_int(self.refit) and self.refit >= 1:
            object.__setattr__(self, "refit", int(self.refit))
        else:
            raise ConfigError(
                f"refit must be 'daily', 'weekly', 'monthly' or a positive integer number of "
                f"observations, got {self.refit!r}"
            )
        oos = self.oos
        if oos is None:
            raise ConfigError(
                "oos is required: the number of out-of-sample observations or the first "
                "out-of-sample timestamp"
            )
        if _is_int(oos):
            if oos < 1:
                raise ConfigError(f"oos must be at least 1 observation, got {oos}")
            object.__setattr__(self, "oos", int(oos))
        elif isinstance(oos, str | pd.Timestamp | np.datetime64) or hasattr(oos, "isoformat"):
            try:
                ts = pd.Timestamp(oos)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"oos={oos!r} is not a timestamp") from exc
            if ts is pd.NaT:
                raise ConfigError("oos must not be NaT")
            object.__setattr__(self, "oos", ts)
        else:
            raise ConfigError(
                "oos must be an integer number of out-of-sample observations or a timestamp, "
                f"got {type(oos).__name__} {oos!r}"
            )
        if self.min_train is not None:
            if not _is_int(self.min_train) or self.min_train < 1:
                raise ConfigError(
                    f"min_train must be a positive integer, got {self.min_train!r}"
                )
            object.__setattr__(self, "min_train", int(self.min_train))
            if self.window == "rolling" and self.min_train > self.window_size:
                raise ConfigError(
                    f"min_train={self.min_train} exceeds window_size={self.window_size}: no "
                    "rolling window could ever be long enough"
                )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable configuration (part of the run's configuration hash)."""
        oos = self.oos.isoformat() if isinstance(self.oos, pd.Timestamp) else self.oos
        return {
            "window": self.window,
            "window_size": self.window_size,
            "refit": self.refit,
            "oos": oos,
            "min_train": self.min_train,
        }

    def _oos_start(self, index: pd.DatetimeIndex) -> int:
        n = len(index)
        if isinstance(self.oos, int):
            if self.oos >= n:
                raise ConfigError(
                    f"oos={self.oos} out-of-sample observations leave no training data: the "
                    f"data have only {n} observations"
                )
            return n - self.oos
        ts = self.oos
        if index.tz is not None and ts.tz is None:
            ts = ts.tz_localize(index.tz)
        elif index.tz is None and ts.tz is not None:
            raise ConfigError(f"oos={ts} is timezone-aware but the data's index is naive")
        start = int(index.searchsorted(ts, side="left"))
        if start >= n:
            raise ConfigError(
                f"oos={ts} starts after the last observation ({index[-1]}): nothing to forecast"
            )
        if start == 0:
            raise ConfigError(
                f"oos={ts} is at or before the first observation ({index[0]}): no training data"
            )
        return start

    def _block_starts(self, index: pd.DatetimeIndex, oos_start: int) -> np.ndarray:
        n = len(index)
        if self.refit == "daily":
            return np.arange(oos_start, n)
        if isinstance(self.refit, int):
            return np.arange(oos_start, n, self.refit)
        oos_idx = index[oos_start:]
        if oos_idx.tz is not None:
            oos_idx = oos_idx.tz_localize(None)  # calendar of the local wall clock
        codes = oos_idx.to_period(_PERIOD[self.refit]).asi8
        change = np.r_[True, codes[1:] != codes[:-1]]
        return np.flatnonzero(change) + oos_start

    def plan(self, index: pd.DatetimeIndex | pd.Series | pd.DataFrame) -> list[Window]:
        """Windows of this walk-forward over ``index``.

        Parameters
        ----------
        index
            A sorted, unique DatetimeIndex (or a Series/DataFrame carrying one).

        Returns
        -------
        list of Window
            In chronological order, ids 0, 1, ...; the blocks cover the OOS span with no
            overlap and no gap, each training span ends the observation before its block.

        Raises
        ------
        ConfigError
            If the OOS span is empty or leaves fewer than ``min_train`` training observations.
        DataValidationError
            If ``index`` is not a valid DatetimeIndex.
        """
        index = _check_index(index)
        n = len(index)
        oos_start = self._oos_start(index)
        rolling = self.window == "rolling"
        min_train = self.min_train or (self.window_size if rolling else 1)
        first_train = min(oos_start, self.window_size) if rolling else oos_start
        if first_train < min_train:
            raise ConfigError(
                f"the first window has only {first_train} training observations before the first "
                f"out-of-sample point {index[oos_start]}, fewer than min_train={min_train}: "
                "shorten oos or lower min_train"
            )
        starts = self._block_starts(index, oos_start)
        ends = np.r_[starts[1:] - 1, n - 1]
        windows = []
        for k, (b0, b1) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            t0 = max(0, b0 - self.window_size) if rolling else 0
            t1 = b0 - 1
            windows.append(
                Window(k, t0, t1, b0, b1, index[t0], index[t1], index[b0], index[b1])
            )
        return windows


def _check_plan(plan: Sequence[Any], index: pd.DatetimeIndex) -> list[Window]:
    plan = list(plan)
    if not plan:
        raise ConfigError("the plan is empty: nothing to forecast")
    n = len(index)
    ids = set()
    prev_end = -1
    for w in plan:
        if not isinstance(w, Window):
            raise ConfigError(f"a plan is a list of Window, got an element {type(w).__name__}")
        if w.id in ids or not _is_int(w.id) or w.id < 0:
            raise ConfigError(f"window ids must be distinct non-negative integers, got {w.id!r}")
        ids.add(w.id)
        if not 0 <= w.train_start <= w.train_end < w.block_start <= w.block_end < n:
            raise ConfigError(
                f"window {w.id} is inconsistent: it needs 0 <= train_start <= train_end < "
                f"block_start <= block_end < {n} (the data's length), got {w.train_start}, "
                f"{w.train_end}, {w.block_start}, {w.block_end}"
            )
        if w.block_start <= prev_end:
            raise ConfigError(
                f"window {w.id}'s block overlaps or precedes the previous one: blocks must be "
                "in chronological order without overlap"
            )
        prev_end = w.block_end
        times = (w.train_start_time, w.train_end_time, w.block_start_time, w.block_end_time)
        pos = (w.train_start, w.train_end, w.block_start, w.block_end)
        if any(index[p] != t for p, t in zip(pos, times, strict=True)):
            raise ConfigError(
                f"window {w.id}'s timestamps do not match the data at its positions: the plan "
                "was built on another index"
            )
    return plan
