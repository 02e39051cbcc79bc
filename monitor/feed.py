"""Market-data and position feeds: async iterators of :class:`~monitor.ticks.TickBatch`.

:class:`ReplayFeed` replays the bundled history (S&P 500 and NASDAQ closes with their volume,
the S&P 500 implied vol, GSW zero yields at the key tenors and ECB FX rates, on the factor
calendar of :func:`hybridrisk.portfolio.factors.factor_history`) one trading day per batch,
``speed`` trading days per second of wall time. A live source plugs in through the same
interface: any object whose ``__aiter__`` yields ``TickBatch`` objects.

The replay keeps its cursor in the object: when a consumer's iteration is broken off (a feed
drop) and started again, it resumes at the first day not yet delivered, so nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.portfolio.factors import FactorHistory, factor_history
from monitor.ticks import Tick, TickBatch

__all__ = ["MarketHistory", "bundled_history", "parse_window", "ReplayFeed"]


@dataclass(frozen=True)
class MarketHistory:
    """Factor levels and the traded volume of the equity factors on one calendar."""

    levels: pd.DataFrame
    volumes: pd.DataFrame
    factors: FactorHistory


@lru_cache(maxsize=2)
def bundled_history(currencies: tuple[str, ...] = ("EUR", "GBP", "JPY")) -> MarketHistory:
    """The bundled history the replay and the monitor's warm-up read (cached per process)."""
    fh = factor_history(currencies)
    vol = pd.DataFrame({
        "equity:SP500": datasets.sp500_ohlc()["Volume"],
        "equity:NASDAQ": datasets.nasdaq_ohlc()["Volume"],
    }).reindex(fh.levels.index)
    return MarketHistory(levels=fh.levels, volumes=vol, factors=fh)


def parse_window(text: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``"2008-09-01:2008-12-31"`` -> the two timestamps (start <= end)."""
    parts = text.split(":")
    if len(parts) != 2:
        raise ConfigError(f"replay window {text!r}: expected START:END, e.g. "
                          "2008-09-01:2008-12-31")
    try:
        start, end = pd.Timestamp(parts[0]), pd.Timestamp(parts[1])
    except ValueError as exc:
        raise ConfigError(f"replay window {text!r}: {exc}") from None
    if start > end:
        raise ConfigError(f"replay window {text!r}: start after end")
    return start, end


class ReplayFeed:
    """Replays history as one batch per trading day.

    Parameters
    ----------
    history
        Levels and volumes (default :func:`bundled_history`).
    start, end
        The replay window (inclusive).
    speed
        Trading days per second of wall time; ``0`` or ``inf`` replays as fast as the consumer
        takes the batches.
    """

    def __init__(self, start: str | pd.Timestamp, end: str | pd.Timestamp, *,
                 speed: float = 1.0, history: MarketHistory | None = None) -> None:
        self.history = history if history is not None else bundled_history()
        lv = self.history.levels
        days = lv.loc[pd.Timestamp(start):pd.Timestamp(end)].dropna(how="all").index
        if len(days) == 0:
            raise DataValidationError(
                "replay-window", f"no trading day in {start}..{end}; the bundled history "
                f"covers {lv.index[0].date()}..{lv.index[-1].date()}")
        if not np.isfinite(speed) and speed > 0 or speed == 0:
            self.pause = 0.0
        elif speed < 0:
            raise ConfigError(f"speed must be >= 0, got {speed!r}")
        else:
            self.pause = 1.0 / speed
        self.days = days
        self.cursor = 0

    @property
    def start(self) -> pd.Timestamp:
        """The first replayed day."""
        return self.days[0]

    @property
    def remaining(self) -> int:
        """Days not yet delivered."""
        return len(self.days) - self.cursor

    def batch(self, day: pd.Timestamp) -> TickBatch:
        """The batch of one day: a tick per factor with a level (and volume where known)."""
        lv = self.history.levels.loc[day]
        vol = self.history.volumes.loc[day] if day in self.history.volumes.index else None
        ticks = []
        for name, value in lv.items():
            if pd.isna(value):
                continue
            v = None if vol is None or name not in vol.index or pd.isna(vol[name]) \
                else float(vol[name])
            ticks.append(Tick(time=day, symbol=str(name), value=float(value), volume=v))
        return TickBatch(time=day, ticks=tuple(ticks))

    async def __aiter__(self) -> AsyncIterator[TickBatch]:
        while self.cursor < len(self.days):
            day = self.days[self.cursor]
            batch = self.batch(day)
            self.cursor += 1
            yield batch
            if self.pause and self.cursor < len(self.days):
                await asyncio.sleep(self.pause)
