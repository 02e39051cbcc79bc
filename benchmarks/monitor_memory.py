"""Where the monitor's memory goes: assessments back to back, the Python heap diffed by
:mod:`tracemalloc` snapshots, and glibc's own accounting of the C heap.

Runs the load benchmark's seeded book (:func:`benchmarks.monitor_load.make_book`) through the
monitor as fast as it assesses (no clock). Every ``--every`` assessments it records the
resident memory, the Python heap traced by tracemalloc (numpy's array buffers included), the
objects the garbage collector tracks, and glibc's ``mallinfo2``: bytes in use by the program
(``in_use_mb``: small chunks in the arenas plus mmapped chunks) and bytes the allocator holds
free (``free_held_mb``: freed chunks kept in the arenas, not returned to the system). It
reports the assessment latency. With ``--trace`` it diffs the tracemalloc snapshot taken after
``--warmup`` assessments against the last one and lists the tracebacks whose allocations grew
most. ``--mmap-threshold 0`` leaves glibc's allocator as it was before the monitor bounded it
(:mod:`monitor.memory`); ``--release-every N`` adds ``malloc_trim`` every N assessments.

    MALLOC_ARENA_MAX=2 .venv/bin/python -W ignore benchmarks/monitor_memory.py \\
        --positions 5000 --assessments 45 --every 5 --mmap-threshold 0
    MALLOC_ARENA_MAX=2 .venv/bin/python -W ignore benchmarks/monitor_memory.py \\
        --positions 500 --assessments 300 --warmup 150 --keep 100 --trace
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.monitor_load import build_monitor, rss_mb  # noqa: E402
from monitor.feed import ReplayFeed  # noqa: E402
from monitor.loop import Monitor  # noqa: E402
from monitor.memory import MMAP_THRESHOLD, malloc_info  # noqa: E402


def sample(mon: Monitor) -> dict:
    gc.collect()
    info = malloc_info()
    return {"assessments": mon.assessments, "rss_mb": round(rss_mb(), 1),
            "python_heap_mb": round(tracemalloc.get_traced_memory()[0] / 2**20, 2),
            "gc_objects": len(gc.get_objects()),
            "in_use_mb": info.get("in_use_mb"), "free_held_mb": info.get("free_held_mb"),
            "mmapped_mb": info.get("mmapped_mb"),
            "store_recent": {k: len(v) for k, v in mon.store.recent.items()},
            "latencies_kept": len(mon.latencies)}


async def run(args: argparse.Namespace) -> dict:
    mon, h, _ = build_monitor(args, keep=args.keep)
    if args.trace:
        tracemalloc.start(args.frames)
    samples, warm = [], None
    async for batch in ReplayFeed("2008-01-02", "2018-12-31", speed=0, history=h):
        await mon.step(batch)
        if mon.assessments % args.every == 0:
            samples.append(sample(mon))
            print(json.dumps(samples[-1]), file=sys.stderr, flush=True)
        if mon.assessments == args.warmup and args.trace:
            gc.collect()
            warm = tracemalloc.take_snapshot()
        if mon.assessments >= args.assessments:
            break
    growth = []
    if warm is not None:
        gc.collect()
        end = tracemalloc.take_snapshot()
        for stat in end.compare_to(warm, "traceback")[:args.top]:
            growth.append({"kib": round(stat.size_diff / 1024, 1), "count": stat.count_diff,
                           "where": [f"{f.filename.split('/work/main/')[-1]}:{f.lineno}"
                                     for f in stat.traceback][-args.frames:]})
    mon.store.close()
    return {"positions": args.positions, "assessments": mon.assessments,
            "warmup": args.warmup, "release_every": args.release_every,
            "mmap_threshold": args.mmap_threshold,
            "latency_ms_p50_p99": [round(float(np.percentile(mon.latencies, q)), 1)
                                   for q in (50, 99)],
            "release_ms_p50_p99": [round(float(np.percentile(mon.release_ms, q)), 2)
                                   for q in (50, 99)] if mon.release_ms else None,
            "samples": samples, "heap_growth_after_warmup": growth}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=5000)
    ap.add_argument("--assessments", type=int, default=400)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--keep", type=int, default=300, help="store records kept in memory")
    ap.add_argument("--store", default=":memory:")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--trace", action="store_true",
                    help="trace the Python heap (tracemalloc) and diff it after the warm-up")
    ap.add_argument("--release-every", type=int, default=0,
                    help="assessments between malloc_trim calls (0: never, as before the fix)")
    ap.add_argument("--mmap-threshold", type=int, default=MMAP_THRESHOLD, metavar="BYTES",
                    help="glibc's mmap threshold the monitor fixes (0: left dynamic, as "
                         "before the fix)")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
