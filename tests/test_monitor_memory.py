"""Memory of a long-running monitor: every in-memory structure stays bounded, and the C
allocator does not keep the large freed blocks of each assessment (the scenario P&L matrices
of a large book) resident, which is what made the resident memory of the 10-minute load runs
climb while the Python heap stayed flat."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from monitor.book import read_monitor_book
from monitor.engine import EngineConfig, RiskEngine
from monitor.feed import ReplayFeed, bundled_history
from monitor.limits import LimitChecker, read_limits
from monitor.loop import Monitor
from monitor.market import MarketTracker
from monitor.memory import malloc_info
from monitor.store import HistoryStore

ROOT = Path(__file__).resolve().parent.parent

# What an assessment of a 5,000-position book does to the C heap, in miniature: worker
# threads allocate and free 20 MB matrices (501 scenarios x 5,000 positions) while small
# long-lived blocks are allocated between them.
_WORKLOAD = textwrap.dedent("""
    import json, sys
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace
    import numpy as np
    if sys.argv[1] == "monitor":  # the loop's defaults, as every monitor is built
        from monitor.loop import Monitor
        from monitor.store import HistoryStore
        Monitor(SimpleNamespace(), SimpleNamespace(ids=[]), SimpleNamespace(factors=[]),
                limits=None, store=HistoryStore(":memory:"))
    from monitor.memory import malloc_info
    keep = deque(maxlen=5000)
    def assess(i):
        a = np.ones((501, 5000))
        b = a * 2.0
        keep.append(bytearray(4000 + i))
        c = b - a
        keep.append(bytearray(3000 + i))
        return float(c[0, 0])
    with ThreadPoolExecutor(4) as pool:
        for _ in range(25):
            list(pool.map(assess, range(6)))
    print(json.dumps(malloc_info()))
""")


def _free_held(mode: str) -> float:
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _WORKLOAD, mode], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["free_held_mb"]


@pytest.mark.skipif(not malloc_info(), reason="glibc's mallinfo2 is needed to read the C heap")
def test_a_monitor_keeps_freed_scenario_matrices_out_of_the_allocators_arenas():
    plain = _free_held("plain")  # glibc as it is: the freed 20 MB blocks stay in the arenas
    bounded = _free_held("monitor")  # after a Monitor is built (mmap threshold fixed)
    assert bounded < 40.0, (plain, bounded)
    assert plain > 3 * bounded, (plain, bounded)


def test_in_memory_structures_stay_bounded_over_many_assessments():
    h = bundled_history()
    base = pd.Timestamp("2007-12-31")
    book = read_monitor_book()
    engine = RiskEngine(book, h, base, EngineConfig(methods=("historical", "normal")))
    tracker = MarketTracker(h.levels.loc[:base], h.volumes.loc[:base], window=250)
    mon = Monitor(engine, book, tracker, limits=LimitChecker(read_limits()),
                  store=HistoryStore(":memory:", keep=10), interval=0.0, release_every=20)
    mon.latencies = type(mon.latencies)(maxlen=25)
    slow_reader = mon.hub.subscribe()  # a dashboard that never reads
    mon.hub.maxsize = 5
    mon.hub.unsubscribe(slow_reader)
    slow_reader = mon.hub.subscribe()
    heap: dict[int, int] = {}

    async def run() -> None:
        async for batch in ReplayFeed("2008-01-02", "2008-06-30", speed=0, history=h):
            await mon.step(batch)
            if mon.assessments in (40, 120):
                gc.collect()
                heap[mon.assessments] = tracemalloc.get_traced_memory()[0]
            if mon.assessments >= 120:
                break

    tracemalloc.start()
    try:
        asyncio.run(run())
    finally:
        tracemalloc.stop()
    assert mon.assessments == 120
    assert all(len(v) == 10 for v in mon.store.recent.values())
    assert mon.store.count("assessments") == 120  # the file keeps everything
    assert len(mon.latencies) == 25 and slow_reader.qsize() == 5
    assert len(mon.tracker.rows) == len(mon.tracker.dates) == 250
    assert set(engine._last) <= {"revaluation", "var:historical", "var:normal", "volatility",
                                 "concentration", "liquidity", "stress", "regime"}
    assert len(mon.release_ms) == 120 // 20
    # 80 assessments after the history filled up: the traced heap does not grow with them
    assert heap[120] - heap[40] < 256 * 1024, heap
