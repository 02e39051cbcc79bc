"""The market as the monitor sees it: the accepted ticks folded into levels and history.

:class:`MarketTracker` starts from the bundled history up to the day before the replay (the
warm-up: enough daily factor changes for the historical scenarios) and folds in each batch of
accepted ticks. A factor without an accepted tick in a batch keeps its last level (its change
that day is 0) and is listed in :attr:`MarketView.stale_factors`; its next accepted level
carries the whole move. The history kept is bounded (``window`` days).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hybridrisk.errors import DataValidationError
from monitor.ticks import Tick

__all__ = ["MarketView", "MarketTracker", "change"]

#: days of volume averaged for the ADV
ADV_DAYS = 20


def change(name: str, new: float, old: float) -> float:
    """A factor's daily change: log change of a level, plain difference of a zero yield.

    Computed as ``log(new) - log(old)``, the formula of
    :func:`hybridrisk.portfolio.factors.factor_history`, so replayed days give its changes
    bit for bit."""
    return new - old if name.startswith("rate:") else float(np.log(new) - np.log(old))


@dataclass(frozen=True)
class MarketView:
    """The market at one time, read-only.

    Attributes
    ----------
    time
        The time of the latest batch folded in.
    levels
        Current level of every factor.
    scenarios
        The last ``window`` daily factor changes (rows: dates, oldest first).
    adv
        Average daily volume of the factors with volume data.
    stale_factors
        Factors that kept an earlier level in the latest batch.
    """

    time: pd.Timestamp
    levels: pd.Series
    scenarios: pd.DataFrame
    adv: dict[str, float] = field(default_factory=dict)
    stale_factors: tuple[str, ...] = ()


class MarketTracker:
    """Folds accepted ticks into a :class:`MarketView`.

    Parameters
    ----------
    levels, volumes
        Warm-up history (dates x factors), oldest first; the last row is the starting state.
    window
        Number of daily changes kept (the historical scenarios).
    """

    def __init__(self, levels: pd.DataFrame, volumes: pd.DataFrame | None = None, *,
                 window: int = 500) -> None:
        lv = levels.dropna()
        if len(lv) < window + 1:
            raise DataValidationError(
                "min-obs", f"the warm-up has {len(lv)} complete days; a window of {window} "
                f"scenarios needs {window + 1}", row=str(lv.index[-1]) if len(lv) else None)
        self.factors = list(lv.columns)
        tail = lv.iloc[-(window + 1):]
        ch = tail.diff().iloc[1:]
        for c in self.factors:
            if not c.startswith("rate:"):
                ch[c] = np.log(tail[c]).diff().iloc[1:]
        self.window = window
        self.dates: deque[pd.Timestamp] = deque(ch.index, maxlen=window)
        self.rows: deque[np.ndarray] = deque(ch.to_numpy(), maxlen=window)
        self.levels = tail.iloc[-1].astype(float).copy()
        self.time = pd.Timestamp(tail.index[-1])
        self.volume: dict[str, deque[float]] = {}
        if volumes is not None:
            vv = volumes.reindex(lv.index).iloc[-ADV_DAYS:]
            for c in vv.columns:
                self.volume[c] = deque(vv[c].dropna().to_numpy(float), maxlen=ADV_DAYS)
        self.stale: tuple[str, ...] = ()

    def apply(self, time: pd.Timestamp, ticks: Iterable[Tick]) -> None:
        """Fold one batch of accepted market ticks in (one new day of changes)."""
        new = self.levels.copy()
        seen = set()
        for t in ticks:
            if t.kind != "market":
                continue
            new[t.symbol] = float(t.value)
            seen.add(t.symbol)
            if t.volume is not None:
                self.volume.setdefault(t.symbol, deque(maxlen=ADV_DAYS)).append(
                    float(t.volume))
        if not seen:
            return
        row = np.array([change(c, new[c], self.levels[c]) for c in self.factors])
        self.rows.append(row)
        self.dates.append(pd.Timestamp(time))
        self.levels = new
        self.time = pd.Timestamp(time)
        self.stale = tuple(c for c in self.factors if c not in seen)

    def view(self) -> MarketView:
        """The current market."""
        sc = pd.DataFrame(np.array(self.rows), index=pd.DatetimeIndex(list(self.dates),
                                                                      name="date"),
                          columns=self.factors)
        adv = {c: float(np.mean(v)) for c, v in self.volume.items() if len(v)}
        return MarketView(time=self.time, levels=self.levels.copy(), scenarios=sc, adv=adv,
                          stale_factors=self.stale)
