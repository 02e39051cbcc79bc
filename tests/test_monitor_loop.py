"""The loop end to end on replayed history: every day assessed and stored once, faults
(bad ticks, a dropped feed, a failing component, a locked store) alerted and nothing lost,
a restart resumes its history, and the ``hybridrisk monitor`` command."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pandas as pd
import pytest
from click.testing import CliRunner

from monitor.feed import ReplayFeed
from monitor.runner import build_monitor
from monitor.ticks import Tick, TickBatch
from validation.cli import main

WINDOW = "2008-09-10:2008-09-25"


class Drill:
    """A replay with faults on chosen days (counted from 0)."""

    def __init__(self, feed: ReplayFeed, setup, store_path) -> None:
        self.feed, self.setup, self.store_path = feed, setup, store_path
        self.dropped = False
        self.lock: sqlite3.Connection | None = None

    def _boom(self) -> None:
        raise RuntimeError("injected stress failure")

    async def __aiter__(self):
        engine = self.setup.monitor.engine
        while self.feed.remaining:
            k = self.feed.cursor
            day = self.feed.days[k]
            if k == 3 and not self.dropped:
                self.dropped = True
                raise ConnectionError("feed connection dropped")
            if k == 4:
                engine.faults["stress"] = self._boom
            if k == 6:
                engine.faults.clear()
            if k == 5:
                self.lock = sqlite3.connect(self.store_path, isolation_level=None)
                self.lock.execute("BEGIN EXCLUSIVE")
            if k == 7:
                self.lock.execute("COMMIT")
                self.lock.close()
            batch = self.feed.batch(day)
            self.feed.cursor += 1
            ticks = list(batch.ticks)
            if k == 2:
                ticks = [Tick(t.time, t.symbol, float("nan")) if t.symbol == "equity:SP500"
                         else Tick(t.time, t.symbol, -t.value) if t.symbol == "equity:NASDAQ"
                         else t for t in ticks]
            if k == 8:
                ticks.append(Tick(day, "SPX-1", 0.0, kind="position"))
            yield TickBatch(batch.time, tuple(ticks))


@pytest.fixture(scope="module")
def drilled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("drill")
    store = tmp / "history.sqlite"
    setup = build_monitor(replay=WINDOW, speed=0, alerts=tmp / "alerts.jsonl", store=store,
                          log_alerts=False)
    setup.monitor.retry = 0.01
    asyncio.run(setup.monitor.run(Drill(setup.feed, setup, store)))
    setup.monitor.store.close()
    return setup, store, tmp / "alerts.jsonl"


def _by_time(rows):
    return {pd.Timestamp(r["time"]): r for r in rows}


def test_every_replayed_day_is_assessed_and_stored_exactly_once(drilled):
    setup, store, _ = drilled
    db = sqlite3.connect(store)
    times = [pd.Timestamp(t) for (t,) in db.execute("SELECT time FROM assessments ORDER BY id")]
    assert times == list(setup.feed.days)
    assert setup.monitor.assessments == len(setup.feed.days)


def test_every_fault_produced_an_alert_and_its_recovery(drilled):
    _, store, jsonl = drilled
    db = sqlite3.connect(store)
    alerts = [json.loads(b) for (b,) in db.execute("SELECT body FROM alerts ORDER BY id")]
    seen = {(a["kind"], a["source"], a["state"]) for a in alerts}
    assert {("feed", "feed", "raised"), ("feed", "feed", "cleared"),
            ("component", "stress", "raised"), ("component", "stress", "cleared"),
            ("store", "history", "raised"), ("store", "history", "cleared")} <= seen
    ticks = sorted((a["source"], a["key"]) for a in alerts if a["kind"] == "tick")
    assert ticks == [("equity:NASDAQ", "positive"), ("equity:SP500", "finite")]
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert lines == alerts  # the file sink and the store saw the same alerts


def test_faulty_days_show_stale_values_never_bad_numbers(drilled):
    setup, store, _ = drilled
    db = sqlite3.connect(store)
    rows = _by_time(json.loads(b) for (b,) in db.execute("SELECT body FROM assessments"))
    days = setup.feed.days
    assert set(rows[days[2]]["stale_factors"]) == {"equity:SP500", "equity:NASDAQ"}
    assert rows[days[4]]["stale"] == ["stress"] and rows[days[5]]["stale"] == ["stress"]
    assert rows[days[4]]["stress"] == rows[days[3]]["stress"]
    assert rows[days[6]]["stale"] == [] and rows[days[6]]["stress"] != rows[days[3]]["stress"]
    for d in days:
        assert rows[d]["var_99"] > 0 and rows[d]["value"] is not None
    assert rows[days[7]]["contributions"]["SPX-1"] != 0.0
    assert rows[days[8]]["contributions"]["SPX-1"] == 0.0
    assert rows[days[8]]["position_shares"]["SPX-1"] == 0.0


def test_a_restart_resumes_its_history_and_gives_the_same_numbers(tmp_path):
    store = tmp_path / "h.sqlite"
    first = build_monitor(replay="2008-09-10:2008-09-16", speed=0, store=store,
                          log_alerts=False)
    asyncio.run(first.monitor.run(first.feed))
    first.monitor.store.close()
    again = build_monitor(replay="2008-09-10:2008-09-22", speed=0, store=store,
                          log_alerts=False)
    assert len(again.monitor.store.recent["assessments"]) == len(first.feed.days)
    asyncio.run(again.monitor.run(again.feed))
    again.monitor.store.close()
    straight = build_monitor(replay="2008-09-10:2008-09-22", speed=0, log_alerts=False)
    asyncio.run(straight.monitor.run(straight.feed))
    db = sqlite3.connect(store)
    times = [pd.Timestamp(t) for (t,) in db.execute("SELECT time FROM assessments ORDER BY id")]
    assert times == list(straight.feed.days)
    resumed = json.loads(db.execute("SELECT body FROM assessments ORDER BY id DESC").fetchone()[0])
    want = straight.monitor.latest.var_methods
    for method, numbers in resumed["var_methods"].items():
        assert numbers == pytest.approx(want[method], rel=1e-9), method
    assert resumed["regime_probabilities"] == pytest.approx(
        straight.monitor.latest.regime_probabilities, abs=1e-12)


def test_the_monitor_command_replays_and_writes_alerts(tmp_path):
    out = tmp_path / "alerts.jsonl"
    res = CliRunner().invoke(main, ["monitor", "--replay", "2008-09-15:2008-09-19", "--speed",
                                    "0", "--alerts", str(out)])
    assert res.exit_code == 0, res.output
    assert "assessments:    5" in res.output
    assert len(out.read_text().splitlines()) >= 1


def test_the_monitor_command_names_a_bad_window(tmp_path):
    res = CliRunner().invoke(main, ["monitor", "--replay", "2008-12-31:2008-09-01"])
    assert res.exit_code == 2 and "start after end" in res.output
