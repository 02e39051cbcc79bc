"""Load benchmark of the monitor: a seeded book of N positions assessed at 1 Hz.

A clock feed delivers one replayed trading day per second (slot k at start + k seconds). When
an assessment overruns its slot, the slots that passed meanwhile are missed (their days are
folded into the next batch, so no market data is lost, but the 1 Hz schedule is). Reports the
assessment latency (p50, p99, max), the missed slots and the resident memory sampled every
``--sample-every`` seconds, with a verdict on flat memory: the least-squares slope of the
resident memory against time over the second half of the run (MB per minute), and the rise it
implies over that half; the memory is called flat when that rise is under 2% of the mean
resident memory of the half. The verdict is given twice: on samples taken every
``--sample-every`` seconds at whatever point the monitor is in (they include the in-flight
arrays of an assessment when one is running, about +-50 MB for 5,000 positions), and on
samples taken just before each batch is handed over, when the previous assessment has
finished (``memory_between_assessments``), which show what the monitor keeps.

    .venv/bin/python benchmarks/monitor_load.py --positions 5000 --seconds 600

The monitor bounds glibc's allocator (:mod:`monitor.memory`: a fixed mmap threshold and
optionally ``malloc_trim`` every ``--release-every`` assessments); ``--mmap-threshold 0`` runs
it as it was before, with the allocator left alone. :mod:`benchmarks.monitor_memory` shows where the
memory goes.

``--back-to-back N`` is a memory diagnostic instead: N replayed days assessed one after the
other (no clock), the resident memory, the Python heap traced by :mod:`tracemalloc` and the
number of objects the garbage collector tracks sampled every 40 assessments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.book import read_monitor_book
from monitor.engine import RiskEngine
from monitor.feed import ReplayFeed, bundled_history
from monitor.limits import LimitChecker, read_limits
from monitor.loop import Monitor
from monitor.market import MarketTracker
from monitor.memory import MMAP_THRESHOLD
from monitor.store import HistoryStore
from monitor.ticks import TickBatch


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_book(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        u = rng.random()
        sector = str(rng.choice(["tech", "energy", "financials", "health", "industrials"]))
        if u < 0.4:
            rows.append({"id": f"EQ{i}", "instrument": "equity_index", "quantity":
                         float(rng.integers(1, 200)), "underlying": str(rng.choice(
                             ["SP500", "NASDAQ"])), "currency": "USD", "sector": sector})
        elif u < 0.7:
            rows.append({"id": f"FX{i}", "instrument": "fx_spot", "quantity":
                         float(rng.integers(1, 100)) * 1e4, "currency": str(rng.choice(
                             ["EUR", "GBP", "JPY"])), "sector": "fx"})
        elif u < 0.9:
            rows.append({"id": f"BD{i}", "instrument": "fixed_bond", "quantity":
                         float(rng.integers(1, 50)) * 1e4, "maturity_years":
                         int(rng.integers(1, 31)), "coupon": 0.04, "currency": "USD",
                         "sector": "rates", "liquidity_days": 2})
        else:
            rows.append({"id": f"OP{i}", "instrument": "index_option", "underlying": "SP500",
                         "strike": float(rng.integers(1000, 1500)), "expiry_days":
                         int(rng.integers(30, 365)), "call": bool(rng.random() < 0.5),
                         "quantity": float(rng.integers(-50, 50) or 1), "currency": "USD",
                         "sector": "equity-vol", "liquidity_days": 2})
    return rows


class ClockFeed:
    """One replayed day per ``period`` seconds on a fixed schedule; overrun slots are missed."""

    def __init__(self, replay: ReplayFeed, seconds: float, period: float = 1.0) -> None:
        self.replay, self.seconds, self.period = replay, seconds, period
        self.missed = 0
        #: (seconds, RSS MB) read just before each batch is handed over: the previous
        #: assessment has finished and freed its temporaries, so these samples show the
        #: memory the monitor keeps, without the in-flight arrays of an assessment
        self.settled: list[tuple[float, float]] = []

    async def __aiter__(self):
        t0 = time.monotonic()
        k = 0
        while self.replay.remaining and k * self.period < self.seconds:
            wait = t0 + k * self.period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            late = int((time.monotonic() - t0) / self.period) - k
            ticks = []
            for _ in range(max(late, 0) + 1):  # fold the missed slots' days in
                if not self.replay.remaining:
                    break
                day = self.replay.days[self.replay.cursor]
                ticks += self.replay.batch(day).ticks
                self.replay.cursor += 1
            self.missed += max(late, 0)
            k += max(late, 0) + 1
            self.settled.append((round(time.monotonic() - t0, 2), round(rss_mb(), 1)))
            yield TickBatch(ticks[-1].time, tuple(ticks))


def build_monitor(args: argparse.Namespace, keep: int = 300) -> tuple[Monitor, object, float]:
    """The seeded book's monitor on the bundled history, valued off 2007-12-31: the monitor,
    the history and the seconds taken to build the book and its engine."""
    h = bundled_history()
    base = pd.Timestamp("2007-12-31")
    t = time.perf_counter()
    book = read_monitor_book(make_book(args.positions, args.seed))
    engine = RiskEngine(book, h, base)
    build_s = time.perf_counter() - t
    tracker = MarketTracker(h.levels.loc[:base], h.volumes.loc[:base], window=500)
    mon = Monitor(engine, book, tracker, limits=LimitChecker(read_limits()),
                  store=HistoryStore(args.store, keep=keep), interval=0.0,
                  mmap_threshold=args.mmap_threshold, release_every=args.release_every)
    return mon, h, build_s


async def main_async(args: argparse.Namespace) -> dict:
    mon, h, build_s = build_monitor(args)
    feed = ClockFeed(ReplayFeed("2008-01-02", "2018-12-31", speed=0, history=h),
                     args.seconds)
    memory = []

    async def sample():
        t0 = time.monotonic()
        while True:
            memory.append((round(time.monotonic() - t0, 1), round(rss_mb(), 1)))
            await asyncio.sleep(args.sample_every)

    sampler = asyncio.ensure_future(sample())
    await mon.run(feed)
    sampler.cancel()
    lat = np.array(mon.latencies)
    mon.store.close()
    rel = np.array(mon.release_ms) if mon.release_ms else np.array([np.nan])
    return {"positions": args.positions, "seconds": args.seconds, "build_s": round(build_s, 1),
            "mmap_threshold": args.mmap_threshold, "release_every": args.release_every,
            "release_ms": {"p50": round(float(np.percentile(rel, 50)), 1),
                           "max": round(float(rel.max()), 1)},
            "assessments": mon.assessments, "missed_slots": feed.missed,
            "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 1),
                           "p99": round(float(np.percentile(lat, 99)), 1),
                           "max": round(float(lat.max()), 1)},
            "memory": flat_memory(memory),
            "memory_between_assessments": flat_memory(feed.settled),
            "rss_mb_over_time": memory}


def flat_memory(samples: list[tuple[float, float]], tolerance: float = 0.02) -> dict:
    """Slope of RSS against time over the second half of the samples and the verdict."""
    t, m = (np.array(x, float) for x in zip(*samples, strict=True))
    half = t >= t[-1] / 2
    if half.sum() < 3:
        return {"verdict": "too few samples"}
    slope = float(np.polyfit(t[half], m[half], 1)[0])  # MB per second
    rise = slope * float(t[half][-1] - t[half][0])
    mean = float(m[half].mean())
    return {"second_half_from_s": float(t[half][0]), "slope_mb_per_min": round(60 * slope, 2),
            "rise_mb": round(rise, 1), "mean_mb": round(mean, 1),
            "min_mb": float(m[half].min()), "max_mb": float(m[half].max()),
            "verdict": "flat" if abs(rise) < tolerance * mean else
            ("not flat (rising)" if rise > 0 else "not flat (falling)")}


async def back_to_back(args: argparse.Namespace) -> dict:
    import gc
    import tracemalloc

    mon, h, _ = build_monitor(args)
    tracemalloc.start()
    samples = []
    async for batch in ReplayFeed("2008-01-02", "2018-12-31", speed=0, history=h):
        await mon.step(batch)
        if mon.assessments % 40 == 0:
            gc.collect()
            samples.append({"assessments": mon.assessments, "rss_mb": round(rss_mb(), 1),
                            "python_heap_mb": round(tracemalloc.get_traced_memory()[0] / 2**20,
                                                    2),
                            "gc_objects": len(gc.get_objects())})
        if mon.assessments >= args.back_to_back:
            break
    mon.store.close()
    return {"positions": args.positions, "back_to_back": args.back_to_back,
            "samples": samples}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--store", default=":memory:")
    ap.add_argument("--sample-every", type=float, default=10.0,
                    help="seconds between memory samples")
    ap.add_argument("--mmap-threshold", type=int, default=MMAP_THRESHOLD,
                    help="bytes; glibc's mmap threshold the monitor fixes (0: left alone)")
    ap.add_argument("--release-every", type=int, default=0,
                    help="assessments between malloc_trim calls (0: never)")
    ap.add_argument("--back-to-back", type=int, default=0,
                    help="memory diagnostic: assess this many days back to back")
    args = ap.parse_args()
    run = back_to_back if args.back_to_back else main_async
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
