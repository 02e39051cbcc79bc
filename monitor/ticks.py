"""Ticks and the guard that keeps bad ones out of the numbers.

A tick is one observation: a market level (index points, implied vol, a zero yield, USD per
unit of a currency), optionally with the day's traded volume, or a position's new quantity.
Ticks arrive in batches (:class:`TickBatch`), one per feed clock step: a replayed trading day,
or one poll of a live source.

:class:`TickGuard` accepts or rejects each tick; a rejected tick produces an alert (kind
``tick``) and never reaches the market state. The rules, each with its name:

``finite``
    the value (and the volume, where given) is a finite number;
``positive``
    levels of prices, implied vols and FX rates are > 0 (zero yields may be negative);
``non-negative-volume``
    the volume, where given, is >= 0;
``out-of-order``
    the tick's time is earlier than the last accepted tick of the same symbol;
``stale``
    the tick repeats the time of the last accepted tick of its symbol, or lags the batch's
    clock by more than ``max_lag``;
``unknown-symbol``
    the symbol is neither a factor nor a position the monitor knows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from monitor.alerts import Alert

__all__ = ["Tick", "TickBatch", "TickGuard"]

#: default for :class:`TickGuard`'s ``max_lag``
MAX_LAG = pd.Timedelta(days=5)
#: factor kinds whose level must be positive
_POSITIVE_KINDS = ("equity", "vol", "fx")


@dataclass(frozen=True)
class Tick:
    """One observation.

    Attributes
    ----------
    time
        When it was observed.
    symbol
        A factor name (``equity:SP500``, ``rate:10Y``, ``fx:EUR``, ...) for a market tick, a
        position id for a position tick.
    value
        The level, or the position's new quantity.
    volume
        The day's traded volume (market ticks of equity indices), or ``None``.
    kind
        ``market`` or ``position``.
    """

    time: pd.Timestamp
    symbol: str
    value: float
    volume: float | None = None
    kind: str = "market"


@dataclass(frozen=True)
class TickBatch:
    """The ticks of one feed clock step."""

    time: pd.Timestamp
    ticks: tuple[Tick, ...] = field(default_factory=tuple)


class TickGuard:
    """Accepts good ticks and turns bad ones into alerts.

    Parameters
    ----------
    factors
        The market symbols the monitor knows.
    positions
        The position ids the monitor knows.
    max_lag
        A tick older than the batch clock by more than this is ``stale``.
    """

    def __init__(self, factors: Iterable[str], positions: Iterable[str] = (), *,
                 max_lag: pd.Timedelta = MAX_LAG) -> None:
        self.factors = set(factors)
        self.positions = set(positions)
        self.max_lag = max_lag
        self.last: dict[str, pd.Timestamp] = {}
        self.rejected = 0

    def _rule(self, tick: Tick, clock: pd.Timestamp) -> tuple[str, str] | None:
        known = self.factors if tick.kind == "market" else self.positions
        if tick.kind not in ("market", "position") or tick.symbol not in known:
            return "unknown-symbol", f"{tick.kind} symbol {tick.symbol!r} is not monitored"
        try:
            value = float(tick.value)
        except (TypeError, ValueError):
            return "finite", f"value {tick.value!r} is not a number"
        if not math.isfinite(value):
            return "finite", f"value {tick.value!r} is not finite"
        if tick.kind == "market" and tick.symbol.split(":")[0] in _POSITIVE_KINDS and value <= 0:
            return "positive", f"level {value!r} of {tick.symbol} must be > 0"
        if tick.volume is not None:
            if not math.isfinite(float(tick.volume)):
                return "finite", f"volume {tick.volume!r} is not finite"
            if tick.volume < 0:
                return "non-negative-volume", f"volume {tick.volume!r} is negative"
        last = self.last.get(tick.symbol)
        if last is not None and tick.time < last:
            return "out-of-order", f"time {tick.time} is before the last accepted {last}"
        if last is not None and tick.time == last:
            return "stale", f"time {tick.time} repeats the last accepted tick"
        if clock - tick.time > self.max_lag:
            return "stale", f"time {tick.time} lags the feed clock {clock} by more than " \
                            f"{self.max_lag}"
        return None

    def check(self, batch: TickBatch) -> tuple[list[Tick], list[Alert]]:
        """Split a batch into accepted ticks and alerts for the rejected ones."""
        good, alerts = [], []
        for tick in batch.ticks:
            broken = self._rule(tick, batch.time)
            if broken is None:
                self.last[tick.symbol] = tick.time
                good.append(tick)
                continue
            rule, why = broken
            self.rejected += 1
            alerts.append(Alert(
                time=str(batch.time), severity="warning", kind="tick", source=tick.symbol,
                message=f"tick rejected [{rule}]: {why}", key=rule,
                value=tick.value if isinstance(tick.value, int | float) else None,
                extra={"rule": rule, "tick_time": str(tick.time)}))
        return good, alerts
