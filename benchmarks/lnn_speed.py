"""Speed and peak memory of the liquid cells against torch.nn.LSTM and the ncps reference code.

Run from the repository root::

    .venv/bin/python benchmarks/lnn_speed.py            # full run, the table of RESULTS.md
    .venv/bin/python benchmarks/lnn_speed.py --quick    # a short smoke run

Every model and shape runs in fresh subprocesses, so that no model inherits the allocator state
of another (``ncps.torch.LTC`` allocates about 2-3 GiB per training pass, and whether those pages
are fresh or recycled changes its time by a factor of 2 to 3). The machine is shared, and load
from other processes comes in bursts of minutes, so the whole list of models is run
``--rounds`` times, one process per model and shape per round, and the timings of all rounds are
pooled. In each process, on ``--threads`` CPU threads:

1. peak memory of the first training pass (forward with autograd plus the backward pass of
   ``output.sum()``) as the operating system sees it: the resident-set high-water mark
   (``VmHWM``, reset through ``/proc/self/clear_refs`` right before the pass when the kernel
   allows it, else the lifetime ``ru_maxrss``) minus the resident set just before the pass, so
   the model, the input and the imported libraries are not counted. This includes what the C
   allocator keeps but does not reuse, and varies from run to run;
2. peak memory of the second training pass as PyTorch sees it: the running sum of the
   allocation and free events of ``torch.profiler`` (``profile_memory=True``), i.e. the most
   bytes held by tensors at once (activations saved for autograd, gradients, temporaries).
   Deterministic; the ratio to ncps is computed from it;
3. ``--warmup`` more training passes and forward passes, untimed;
4. ``--repeats`` timed forward passes (inference: under ``torch.no_grad``) and as many timed
   training passes. The table shows the medians over all rounds, and in brackets the best
   training pass (the least disturbed by other processes) and the ratios of best passes; the
   memory columns show the largest value over the rounds. A model whose first training pass
   takes longer than ``--slow`` seconds is timed by that pass and one forward pass, in the
   first round only; one slower than
   ``--slow / 8`` seconds gets no profiler pass (its allocated peak shows as "-").

``--plain`` is the simpler protocol some readers use instead: per process one warm-up training
pass and ``--repeats`` (default 9) timed training passes, no memory passes and no forward
timing; the table then shows medians of those. ``--only`` restricts the run to the models whose
label contains one of the given strings (``--only LSTM CfC`` for the CfC rows and their
reference), ``--shapes`` to named shapes. Every raw record (``--raw``) carries the 1-minute load
average at its start and end, and which step loops the liquid cells used (``loops``: compiled
or Python, see ``hybridrisk/lnn/_cfc_ext.py``); ``--python-loops`` forces the Python loops.

All inputs are float32 with unit time steps (``times=None``). ncps is the ``ncps`` package
(``pip install ncps``, the ``bench`` extra); its rows are skipped with a note when it is missing,
as is the CTRNN row when ``hybridrisk.lnn.ctrnn`` is absent. The 1-minute load average is
printed with the table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (name, batch, length, inputs, units); --quick shortens the long series.
SHAPES = {
    "B64 L100 I8 U64": (64, 100, 8, 64),
    "B1 L5000 I8 U32": (1, 5000, 8, 32),
}
QUICK_SHAPES = {
    "B64 L100 I8 U64": (64, 100, 8, 64),
    "B1 L1000 I8 U32": (1, 1000, 8, 32),
}
UNFOLDS = 6
# CfC backbones (layers, units), each for our CfC and for ncps' CfC: the hidden size, ncps'
# default (128), and none (the heads read [x_t, h_{t-1}] directly).
CFC_BACKBONES = [(1, 64), (1, 128), (0, 0)]


@dataclass
class ModelSpec:
    """A model to benchmark: its label, the ncps row it is compared with, and a builder."""

    label: str
    counterpart: str | None
    build: Callable[[int, int], nn.Module]
    unpack: bool = False  # the module returns (output, state)


def _ncps():
    try:
        import ncps.torch as nt
    except ImportError:
        return None
    return nt


def _backbone_label(layers: int, units: int) -> str:
    return f"backbone {layers}x{units}" if layers else "no backbone"


def model_specs() -> tuple[list[ModelSpec], list[str]]:
    """The models to run, and notes on those skipped."""
    from hybridrisk.lnn.cfc import CfC
    from hybridrisk.lnn.ltc import LTC

    notes = []
    nt = _ncps()
    specs = [
        ModelSpec("nn.LSTM", None, lambda i, u: nn.LSTM(i, u, batch_first=True), unpack=True),
        ModelSpec(f"LTC ({UNFOLDS} unfolds, fused)", f"ncps LTC ({UNFOLDS} unfolds)",
                  lambda i, u: LTC(i, u, unfolds=UNFOLDS)),
    ]
    if nt is not None:
        specs.append(ModelSpec(f"ncps LTC ({UNFOLDS} unfolds)", None,
                               lambda i, u: nt.LTC(i, u, ode_unfolds=UNFOLDS), unpack=True))
    for layers, units in CFC_BACKBONES:
        bb = _backbone_label(layers, units)
        kw = {"backbone_units": max(units, 1), "backbone_layers": layers}
        specs.append(ModelSpec(f"CfC ({bb}, fused)", f"ncps CfC ({bb})",
                               lambda i, u, kw=kw: CfC(i, u, **kw)))
        if nt is not None:
            specs.append(ModelSpec(f"ncps CfC ({bb})", None,
                                   lambda i, u, kw=kw: nt.CfC(i, u, **kw), unpack=True))
    if nt is None:
        notes.append("ncps is not installed: the ncps rows are skipped (pip install ncps).")
    try:
        from hybridrisk.lnn.ctrnn import CTRNN
    except ImportError:
        notes.append("hybridrisk.lnn.ctrnn is absent: the CTRNN row is skipped.")
    else:
        specs.append(ModelSpec("CTRNN (defaults)", None, lambda i, u: CTRNN(i, u)))
    return specs, notes


def _run(model: nn.Module, x: torch.Tensor, unpack: bool, backward: bool) -> None:
    if backward:
        for p in model.parameters():
            p.grad = None
        y = model(x)
        (y[0] if unpack else y).sum().backward()
    else:
        with torch.no_grad():
            model(x)


def _timed(model: nn.Module, x: torch.Tensor, unpack: bool, backward: bool) -> float:
    t0 = time.perf_counter()
    _run(model, x, unpack, backward)
    return time.perf_counter() - t0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_bytes(reset: bool) -> int:
    if reset:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _allocated_peak(model: nn.Module, x: torch.Tensor, unpack: bool) -> int:
    """Peak bytes held by PyTorch's CPU allocator during one training pass (profiler events)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _run(model, x, unpack, True)
    events = prof.profiler.kineto_results.events()
    deltas = sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]")
    current = peak = 0
    for _, nbytes in deltas:
        current += nbytes
        peak = max(peak, current)
    return peak


def _loops_used() -> str:
    try:
        from hybridrisk.lnn import _cfc_ext
    except ImportError:  # an older tree without the compiled loops
        return "python"
    return "compiled" if _cfc_ext.loops() is not None else f"python ({_cfc_ext.status()})"


def worker(label: str, shape_name: str, args: argparse.Namespace) -> dict:
    """Child process: peak memory of the first training pass, then the timed runs."""
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()[0]
    spec = {s.label: s for s in model_specs()[0]}[label]
    batch, length, n_in, units = {**SHAPES, **QUICK_SHAPES}[shape_name]
    torch.manual_seed(0)
    model = spec.build(n_in, units)
    x = torch.randn(batch, length, n_in)
    meta = {"loops": _loops_used(), "threads": torch.get_num_threads()}
    if args.plain:  # one warm-up training pass, then the timed training passes
        _run(model, x, spec.unpack, True)
        train = [_timed(model, x, spec.unpack, True) for _ in range(args.repeats)]
        return {"peak": 0, "hwm_reset": False, "allocated": None, "forward": [], "train": train,
                "plain": True, "load": [load0, os.getloadavg()[0]], **meta}
    before = _rss_bytes()
    reset = _reset_peak()
    first = _timed(model, x, spec.unpack, True)
    peak = _peak_bytes(reset) - before
    allocated = None
    if first > args.slow:  # the first training pass is the timing
        forward, train = [_timed(model, x, spec.unpack, False)], [first]
    else:
        # The profiler pass is slow for models with many small operations: only when cheap.
        if first < args.slow / 8:
            allocated = _allocated_peak(model, x, spec.unpack)
        for _ in range(args.warmup):
            _run(model, x, spec.unpack, True)
            _run(model, x, spec.unpack, False)
        forward = [_timed(model, x, spec.unpack, False) for _ in range(args.repeats)]
        train = [_timed(model, x, spec.unpack, True) for _ in range(args.repeats)]
    return {"peak": peak, "hwm_reset": reset, "allocated": allocated, "forward": forward,
            "train": train, "load": [load0, os.getloadavg()[0]], **meta}


def run_worker(label: str, shape_name: str, args: argparse.Namespace) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", label, shape_name,
           "--threads", str(args.threads), "--repeats", str(args.repeats), "--warmup",
           str(args.warmup), "--slow", str(args.slow)] + (["--quick"] if args.quick else [])
    cmd += ["--plain"] if args.plain else []
    env = dict(os.environ)
    if args.python_loops:
        env["HYBRIDRISK_LNN_EXTENSION"] = "off"
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if res.returncode != 0:
        print(f"worker failed for {label} at {shape_name}: {res.stderr[-800:]}", file=sys.stderr)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def _run_all(tasks: list[tuple[ModelSpec, str]], args: argparse.Namespace,
             results: dict[tuple[str, str], list[dict]]) -> None:
    """Run the worker processes, ``args.rounds`` interleaved rounds, into ``results``."""
    from tqdm import tqdm

    slow: set[tuple[str, str]] = set()
    with tqdm(total=args.rounds * len(tasks), desc="lnn_speed", unit="process") as bar:
        for _ in range(args.rounds):
            for spec, shape_name in tasks:
                key = (spec.label, shape_name)
                if key not in slow:  # a model timed once is not run again
                    res = run_worker(spec.label, shape_name, args)
                    if res is not None:
                        results.setdefault(key, []).append(res)
                        if args.raw is not None:
                            with args.raw.open("a") as fh:
                                fh.write(json.dumps({"model": spec.label, "shape": shape_name,
                                                     **res}) + "\n")
                        if len(res["train"]) == 1 and args.repeats > 1:
                            slow.add(key)
                bar.update(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="short run: 3 timed runs, 1 warm-up, the long series cut to L=1000")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per process (default 5)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="processes per model and shape, interleaved (default 3)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs (default 2)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slow", type=float, default=20.0,
                        help="a model whose first training pass takes longer is timed once")
    parser.add_argument("--raw", type=Path, default=None,
                        help="append every process's raw timings to this JSON-lines file")
    parser.add_argument("--table-from", type=Path, default=None,
                        help="print the table of a --raw file instead of running anything")
    parser.add_argument("--plain", action="store_true",
                        help="per process 1 warm-up and --repeats (default 9) timed training "
                        "passes; no memory or forward passes")
    parser.add_argument("--only", nargs="+", default=None, metavar="TEXT",
                        help="run only the models whose label contains one of these strings")
    parser.add_argument("--shapes", nargs="+", default=None, metavar="SHAPE",
                        help="run only these shapes (names as in the table)")
    parser.add_argument("--python-loops", action="store_true",
                        help="force the Python step loops of the liquid cells")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "SHAPE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain:
        args.repeats = args.repeats or 9
        args.warmup = 1
    args.repeats = args.repeats or (3 if args.quick else 5)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    if args.worker:
        print(json.dumps(worker(*args.worker, args)))
        return 0
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.shapes:
        shapes = {n: v for n, v in {**SHAPES, **QUICK_SHAPES}.items() if n in args.shapes}
    specs, notes = model_specs()
    if args.only:
        specs = [s for s in specs if any(text in s.label for text in args.only)]
    tasks = [(s, n) for n in shapes for s in specs]
    load_start = os.getloadavg()[0]
    results: dict[tuple[str, str], list[dict]] = {}
    if args.table_from is not None:
        for line in args.table_from.read_text().splitlines():
            res = json.loads(line)
            results.setdefault((res.pop("model"), res.pop("shape")), []).append(res)
        shape_names = {k[1] for k in results}
        tasks = [(s, n) for n in {**SHAPES, **QUICK_SHAPES} if n in shape_names for s in specs]
    else:
        _run_all(tasks, args, results)
    rows = {}
    for key, runs in results.items():
        fwd = [t for r in runs for t in r["forward"]]
        train = [t for r in runs for t in r["train"]]
        allocs = [r["allocated"] for r in runs if r["allocated"] is not None]
        rows[key] = (statistics.median(fwd) if fwd else math.nan, statistics.median(train),
                     max(allocs) / 2**20 if allocs else None, len(train), min(train),
                     max(r["peak"] for r in runs) / 2**20)

    if args.table_from is None:
        loops = sorted({r.get("loops", "?") for runs in results.values() for r in runs})
        print(f"\ntorch {torch.__version__}, {args.threads} threads, float32; medians over "
              f"{args.rounds} interleaved processes x {args.repeats} runs after {args.warmup} "
              f"warm-up{' (plain protocol)' if args.plain else ''}; LNN step loops: "
              f"{', '.join(loops)}; 1-minute load average {load_start:.2f} at the start, "
              f"{os.getloadavg()[0]:.2f} at the end")
    print("| model | shape | forward ms | forward+backward ms (best) | runs | x nn.LSTM (best) | "
          "x ncps (best) | peak MiB allocated (RSS) | x ncps peak |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for spec, shape_name in tasks:
        if (spec.label, shape_name) not in rows:
            print(f"| {spec.label} | {shape_name} | no result | | | | | | |")
            continue
        fwd, train, mem, count, best, rss = rows[spec.label, shape_name]
        lstm = rows.get(("nn.LSTM", shape_name))
        ref = rows.get((spec.counterpart, shape_name)) if spec.counterpart else None
        ratio_lstm = f"{train / lstm[1]:.2f} ({best / lstm[4]:.2f})" if lstm else "-"
        ratio_ref = f"{train / ref[1]:.3f} ({best / ref[4]:.3f})" if ref else "-"
        mem_ref = f"{mem / ref[2]:.3f}" if ref and mem is not None and ref[2] else "-"
        mem_s = "-" if mem is None else f"{mem:.1f}"
        fwd_s = "-" if math.isnan(fwd) else f"{fwd * 1e3:.1f}"
        rss_s = f" ({rss:.0f})" if rss > 0 else ""
        print(f"| {spec.label} | {shape_name} | {fwd_s} | {train * 1e3:.1f} "
              f"({best * 1e3:.1f}) | {count} | {ratio_lstm} | {ratio_ref} | {mem_s}{rss_s} | "
              f"{mem_ref} |")
    for note in notes:
        print(f"\nNote: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
