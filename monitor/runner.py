"""Assembling a monitor from files and options: what ``hybridrisk monitor`` runs.

:func:`build_monitor` reads the book and the limits (the packaged samples when left out),
warms the market up on the bundled history before the replay window, builds the engine on the
last day before the window and wires the store and the sinks. :func:`run_monitor` replays the
window through it, serving the dashboard alongside when asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hybridrisk.errors import DataValidationError
from monitor.book import MonitorBook, read_monitor_book
from monitor.engine import EngineConfig, RiskEngine
from monitor.feed import MarketHistory, ReplayFeed, bundled_history, parse_window
from monitor.limits import LimitChecker, read_limits
from monitor.loop import Hub, Monitor
from monitor.market import MarketTracker
from monitor.sinks import AlertSink, JsonlSink, LogSink, WebhookSink
from monitor.store import HistoryStore
from monitor.var_rule import read_var_rule

__all__ = ["MonitorSetup", "build_monitor", "run_monitor"]

log = logging.getLogger("monitor")


@dataclass
class MonitorSetup:
    """A monitor ready to run and the replay feed for it."""

    monitor: Monitor
    feed: ReplayFeed
    book: MonitorBook


def build_monitor(*, portfolio: str | Path | None = None, limits: str | Path | None = None,
                  replay: str = "2008-09-01:2008-12-31", speed: float = 50.0,
                  alerts: str | Path | None = None, store: str | Path = ":memory:",
                  webhook: str | None = None, interval: float = 0.0, window: int = 500,
                  config: EngineConfig | None = None, history: MarketHistory | None = None,
                  log_alerts: bool = True, resume: bool = True) -> MonitorSetup:
    """Build a monitor that replays ``replay`` (``START:END``) at ``speed`` days a second.

    The headline VaR rule is the ``var_rule`` entry of the limits file when it has one
    (:func:`monitor.var_rule.read_var_rule`; it replaces the rule of ``config``), else the
    rule of ``config``.

    With ``resume`` and a store that already holds assessments (a restarted monitor), the
    replay continues after the last stored day: the days up to it are folded into the market
    without being assessed again, the engine takes the last stored day's state as the
    previous one (for the next day's P&L) and the limit levels are restored from the stored
    alerts, so the history goes on as if the monitor had never stopped.
    """
    history = history or bundled_history()
    start, end = parse_window(replay)
    before = history.levels.loc[:start - pd.Timedelta(days=1)].dropna()
    if len(before) < window + 1:
        raise DataValidationError("replay-window", f"the replay needs {window + 1} days of "
                                  f"history before {start.date()}", row=str(start.date()))
    base = before.index[-1]
    book = read_monitor_book(portfolio)
    rule = read_var_rule(limits)
    if rule is not None:
        config = dataclasses.replace(config or EngineConfig(), headline="max", var_rule=rule)
    engine = RiskEngine(book, history, base, config)
    tracker = MarketTracker(history.levels.loc[:base], history.volumes.loc[:base],
                            window=window)
    sinks: list[AlertSink] = [LogSink()] if log_alerts else []
    if alerts is not None:
        sinks.append(JsonlSink(alerts))
    if webhook:
        sinks.append(WebhookSink(webhook))
    history_store = HistoryStore(store)
    feed = ReplayFeed(start, end, speed=speed, history=history)
    done = history_store.read("assessments", limit=1) if resume else []
    if done:
        last = pd.Timestamp(done[-1]["time"])
        while feed.remaining and feed.days[feed.cursor] <= last:
            day = feed.days[feed.cursor]
            tracker.apply(day, feed.batch(day).ticks)
            feed.cursor += 1
        engine.prime(book, tracker.view())
        log.warning("resuming after %s: %d days left to replay", last.date(), feed.remaining)
    checker = LimitChecker(read_limits(limits))
    if done:
        checker.restore(history_store.read("alerts"))
    mon = Monitor(engine, book, tracker, limits=checker, store=history_store, sinks=sinks,
                  interval=interval, hub=Hub())
    return MonitorSetup(monitor=mon, feed=feed, book=book)


async def _serve(setup: MonitorSetup, *, dashboard: bool, host: str, port: int,
                 token: str | None, linger: float) -> None:
    if not dashboard:
        await setup.monitor.run(setup.feed)
        return
    from monitor.dashboard.app import dashboard_server

    server = dashboard_server(setup.monitor, host=host, port=port, token=token)
    serving = asyncio.ensure_future(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    shown = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    log.warning("dashboard at %s", shown)
    print(f"dashboard: {shown}", flush=True)
    await setup.monitor.run(setup.feed)
    if linger == float("inf"):
        await serving  # until interrupted (uvicorn stops on Ctrl-C)
        return
    await asyncio.sleep(linger)
    server.should_exit = True
    await serving


def run_monitor(*, dashboard: bool = False, host: str = "127.0.0.1", port: int = 8050,
                token: str | None = None, linger: float = 0.0, **options: object) -> Monitor:
    """Build (see :func:`build_monitor`) and run a replay to its end; returns the monitor.

    With ``dashboard``, the page is served during the replay and ``linger`` seconds after it.
    """
    if dashboard:
        from monitor.dashboard.app import check_binding

        check_binding(host, token)
    setup = build_monitor(**options)
    try:
        asyncio.run(_serve(setup, dashboard=dashboard, host=host, port=port, token=token,
                           linger=linger))
    finally:
        setup.monitor.store.close()
    return setup.monitor
