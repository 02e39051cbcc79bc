"""The monitoring loop: feed -> guard -> market -> assess -> store -> limits -> alerts.

:class:`Monitor` consumes a feed of tick batches. Each batch is checked by the
:class:`~monitor.ticks.TickGuard` (rejected ticks become alerts), folded into the market and
the book's quantities, and, once ``interval`` seconds have passed since the last assessment,
the book is assessed by the :class:`~monitor.engine.RiskEngine`. The metrics go to the
:class:`~monitor.store.HistoryStore` and to the :class:`Hub` (the dashboard's live stream);
the limit checker and the engine's component checks produce alerts, which go to the store,
the hub and every sink (as background tasks, so a slow webhook never holds the loop up).

Faults are alerts, not crashes: a feed that raises is re-entered after ``retry`` seconds
(a replay resumes where it stopped) with a critical alert and an ``info`` one once batches
flow again; a store that cannot write keeps its records pending and alerts until it writes
again; a failing component is handled by the engine.

Memory: every in-memory structure is bounded (the store keeps ``keep`` recent records, the hub's
queues ``maxsize`` events, the latencies the last 100,000); the C heap is kept from holding
freed memory by :mod:`monitor.memory` (``mmap_threshold``, ``release_every``).
"""

from __future__ import annotations

import asyncio
import time as _time
from collections import deque
from collections.abc import AsyncIterable
from typing import Any

from monitor.alerts import Alert
from monitor.book import MonitorBook
from monitor.engine import RiskEngine
from monitor.limits import LimitChecker
from monitor.market import MarketTracker
from monitor.memory import MMAP_THRESHOLD, bound_malloc, release_free_memory
from monitor.metrics import RiskMetrics
from monitor.sinks import AlertSink
from monitor.store import HistoryStore
from monitor.ticks import TickBatch, TickGuard

__all__ = ["Hub", "Monitor"]


class Hub:
    """Fan-out of events (dicts) to subscribers, each a bounded queue (oldest dropped)."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.maxsize = maxsize
        self.queues: set[asyncio.Queue[dict[str, Any]]] = set()

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A new subscriber's queue."""
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.maxsize)
        self.queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        """Forget a subscriber."""
        self.queues.discard(q)

    def publish(self, event: dict[str, Any]) -> None:
        """Send an event to every subscriber."""
        for q in list(self.queues):
            if q.full():
                q.get_nowait()
            q.put_nowait(event)


class Monitor:
    """The loop (see the module docstring).

    Parameters
    ----------
    engine, book
        The risk engine and the monitored book.
    tracker
        The market state, warmed up to the feed's start.
    limits
        The limit checker.
    store
        The history store.
    sinks
        Alert sinks.
    interval
        Least seconds between assessments (``0``: assess after every batch).
    retry
        Seconds before a failed feed is re-entered.
    feed_retries
        Consecutive feed failures after which the loop gives up (raising the last error).
    mmap_threshold
        Fix glibc's mmap threshold at this many bytes when the monitor is built
        (:func:`monitor.memory.bound_malloc`, process-wide), so that blocks at least this
        large (the scenario P&L matrices of a large book) are mapped on their own and given
        back when freed instead of fragmenting the arenas; ``0`` leaves it as it is.
    release_every
        Return the C allocator's free pages to the system after every ``release_every``-th
        assessment (:func:`monitor.memory.release_free_memory`); ``0``: never.
    """

    def __init__(self, engine: RiskEngine, book: MonitorBook, tracker: MarketTracker, *,
                 limits: LimitChecker, store: HistoryStore, sinks: list[AlertSink] = (),
                 interval: float = 1.0, retry: float = 0.5, feed_retries: int = 20,
                 hub: Hub | None = None, mmap_threshold: int = MMAP_THRESHOLD,
                 release_every: int = 0) -> None:
        self.engine, self.book, self.tracker = engine, book, tracker
        self.limits, self.store, self.sinks = limits, store, list(sinks)
        self.interval, self.retry, self.feed_retries = interval, retry, feed_retries
        self.hub = hub or Hub()
        self.guard = TickGuard(tracker.factors, book.ids)
        self.latest: RiskMetrics | None = None
        self.batches = 0
        self.assessments = 0
        self.coalesced = 0
        #: the latest assessments' latencies (ms), bounded so a long run does not grow
        self.latencies: deque[float] = deque(maxlen=100_000)
        self.alert_count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_assess = -float("inf")
        self._store_ok = True
        self.release_every = int(release_every)
        self.malloc_bounded = bool(mmap_threshold) and bound_malloc(mmap_threshold)
        #: the latest memory releases' wall times (ms), bounded like the latencies
        self.release_ms: deque[float] = deque(maxlen=10_000)

    # ------------------------------------------------------------------ alerts
    def _alert(self, alert: Alert, *, flush: bool = True) -> None:
        self.alert_count += 1
        if flush:
            self._persist(lambda: self.store.add_alert(alert), alert.time)
        else:
            self.store.add_alert(alert, flush=False)
        self.hub.publish({"type": "alert", "alert": alert.to_dict()})
        for sink in self.sinks:
            task = asyncio.ensure_future(sink.emit(alert))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _persist(self, write: Any, when: str) -> None:
        ok = write()
        if ok == self._store_ok:
            return
        self._store_ok = ok
        if ok:
            self._alert(Alert(time=when, severity="info", kind="store", source="history",
                              state="cleared", wall_time=_time.time(),
                              message="history store writing again; pending records written"))
        else:
            self._alert(Alert(time=when, severity="critical", kind="store", source="history",
                              state="raised", wall_time=_time.time(),
                              message=f"history store unavailable ({self.store.last_error}); "
                                      "records kept pending"))

    # ------------------------------------------------------------------ one batch
    async def step(self, batch: TickBatch) -> RiskMetrics | None:
        """Handle one batch; returns the metrics when it was assessed."""
        self.batches += 1
        good, bad = self.guard.check(batch)
        for a in bad:  # stored with the day's assessment (or at once when not assessed)
            self._alert(a, flush=False)
        moves = {t.symbol: t.value for t in good if t.kind == "position"}
        if moves:
            self.book = self.book.with_quantities(moves)
        self.tracker.apply(batch.time, [t for t in good if t.kind == "market"])
        now = _time.monotonic()
        if now - self._last_assess < self.interval:
            self.coalesced += 1
            self._persist(self.store.flush, str(batch.time))
            return None
        self._last_assess = now
        metrics = await self.engine.assess(self.book, self.tracker.view())
        self.latest = metrics
        self.assessments += 1
        self.latencies.append(metrics.latency_ms or 0.0)
        # the assessment and the alerts it raised are written in one transaction, so a
        # process killed at any point leaves either all of them stored or none
        self.store.add_metrics(metrics, flush=False)
        self.hub.publish({"type": "metrics", "metrics": metrics.to_dict(self.store.detail)})
        for a in self.engine.drain_alerts() + self.limits.check(metrics):
            self._alert(a, flush=False)
        self._persist(self.store.flush, metrics.time)
        if self.release_every and self.assessments % self.release_every == 0:
            t0 = _time.perf_counter()
            release_free_memory()
            self.release_ms.append(1e3 * (_time.perf_counter() - t0))
        return metrics

    async def run(self, feed: AsyncIterable[TickBatch], *, stop: asyncio.Event | None = None,
                  ) -> None:
        """Consume the feed to its end (or until ``stop`` is set)."""
        failures = 0
        while True:
            try:
                async for batch in feed:
                    if failures:
                        self._alert(Alert(time=str(batch.time), severity="info", kind="feed",
                                          source="feed", state="cleared",
                                          wall_time=_time.time(),
                                          message=f"feed resumed after {failures} failure(s)"))
                        failures = 0
                    await self.step(batch)
                    if stop is not None and stop.is_set():
                        break
                break
            except Exception as exc:  # a dropped feed is an alert, then a retry
                failures += 1
                when = str(self.tracker.time)
                self._alert(Alert(time=when, severity="critical", kind="feed", source="feed",
                                  state="raised", wall_time=_time.time(),
                                  message=f"feed failed ({type(exc).__name__}: {exc}); "
                                          f"retry {failures} in {self.retry}s"))
                if failures > self.feed_retries:
                    await self.drain()
                    raise
                await asyncio.sleep(self.retry)
        await self.drain()

    async def drain(self) -> None:
        """Wait for the alert sinks' pending deliveries and flush the store."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._persist(self.store.flush, str(self.tracker.time))
