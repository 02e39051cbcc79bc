"""A monitor process killed with SIGKILL in the middle of a replay and started again: nothing
it stored is lost, the restarted run continues after the last stored day, and the final stored
history equals that of a run that was never interrupted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from monitor.runner import build_monitor

WINDOW = "2008-09-02:2008-10-15"
#: fields that measure the run (wall times), not the risk
RUN_FIELDS = {"latency_ms", "component_ms", "wall_time"}


def _command(store: Path, speed: str) -> list[str]:
    return [sys.executable, "-m", "validation.cli", "monitor", "--replay", WINDOW,
            "--speed", speed, "--store", str(store)]


def _rows(path: Path, table: str) -> list[dict]:
    db = sqlite3.connect(path)
    try:
        rows = [json.loads(b) for (b,) in db.execute(f"SELECT body FROM {table} ORDER BY id")]
    finally:
        db.close()
    return [{k: v for k, v in r.items() if k not in RUN_FIELDS} for r in rows]


def _count(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=5)
    try:
        return int(db.execute("SELECT COUNT(*) FROM assessments").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        db.close()


def test_sigkill_mid_replay_then_restart_loses_nothing_and_ends_as_an_uninterrupted_run(
        tmp_path):
    store = tmp_path / "history.sqlite"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(_command(store, "5"), cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600  # a guard against a hung child, not a timing check
    try:
        while _count(store) < 5:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the monitor stored nothing"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before_kill = _rows(store, "assessments")
    alerts_before = _rows(store, "alerts")
    days = build_monitor(replay=WINDOW, speed=0, log_alerts=False).feed.days
    assert 5 <= len(before_kill) < len(days), "killed in the middle of the replay"

    again = subprocess.run(_command(store, "0"), cwd=root, env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"assessments:    {len(days) - len(before_kill)}" in again.stdout
    assert "resuming after" in again.stderr

    after = _rows(store, "assessments")
    alerts_after = _rows(store, "alerts")
    assert after[:len(before_kill)] == before_kill  # nothing stored was lost or rewritten
    assert alerts_after[:len(alerts_before)] == alerts_before
    assert [pd.Timestamp(r["time"]) for r in after] == list(days)  # each day exactly once

    ref_path = tmp_path / "straight.sqlite"
    straight = build_monitor(replay=WINDOW, speed=0, store=ref_path, log_alerts=False)
    asyncio.run(straight.monitor.run(straight.feed))
    straight.monitor.store.close()
    want = _rows(ref_path, "assessments")
    assert after == want  # P&L, VaR by method, contributions, stress, regime: all equal
    assert alerts_after == _rows(ref_path, "alerts")
    assert any(a["kind"] == "limit" for a in alerts_after)  # limits were crossed
