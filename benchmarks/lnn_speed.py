"""Speed and peak memory of the liquid cells against torch.nn.LSTM and the ncps reference code.

Run from the repository root::

    .venv/bin/python benchmarks/lnn_speed.py            # full run, the table of RESULTS.md
    .venv/bin/python benchmarks/lnn_speed.py --quick    # a short smoke run

For each model and shape the script times, on ``--threads`` CPU threads, the forward pass
(inference: under ``torch.no_grad``) and one training pass (forward with autograd plus the
backward pass of ``output.sum()``), each the median of ``--repeats`` runs after ``--warmup``
runs. Peak memory is measured for one training pass in a fresh subprocess per model and shape:
the resident-set high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs`` right before
the pass when the kernel allows it, else the lifetime ``ru_maxrss``) minus the resident set just
before the pass, so the model, the input and the imported libraries are not counted.

All inputs are float32 with unit time steps (``times=None``). ncps is the ``ncps`` package
(``pip install ncps``, the ``bench`` extra); its rows are skipped with a note when it is missing,
as is the CTRNN row when ``hybridrisk.lnn.ctrnn`` is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def time_model(spec: ModelSpec, shape: tuple[int, int, int, int], repeats: int, warmup: int,
               budget_s: float) -> tuple[float, float, int]:
    """Median forward and forward+backward seconds, and the number of timed runs of the latter.

    A model whose first (warm-up) run takes longer than ``budget_s / 5`` gets no further warm-up
    and one timed run; otherwise runs stop early once they have used ``budget_s`` (at least 3).
    """
    batch, length, n_in, units = shape
    torch.manual_seed(0)
    model = spec.build(n_in, units)
    x = torch.randn(batch, length, n_in)
    out: list[float] = []
    count = 0
    for backward in (False, True):
        first = _timed(model, x, spec.unpack, backward)
        slow = first > budget_s / 5
        for _ in range(0 if slow else warmup - 1):
            _run(model, x, spec.unpack, backward)
        times: list[float] = []
        while len(times) < (1 if slow else repeats):
            times.append(_timed(model, x, spec.unpack, backward))
            if sum(times) > budget_s and len(times) >= 3:
                break
        out.append(statistics.median(times))
        count = len(times)
    return out[0], out[1], count


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


def memory_probe(label: str, shape_name: str, threads: int, quick: bool) -> None:
    """Child process: print the peak extra resident memory of one training pass, in bytes."""
    torch.set_num_threads(threads)
    spec = {s.label: s for s in model_specs()[0]}[label]
    batch, length, n_in, units = (QUICK_SHAPES if quick else SHAPES)[shape_name]
    torch.manual_seed(0)
    model = spec.build(n_in, units)
    x = torch.randn(batch, length, n_in)
    before = _rss_bytes()
    reset = _reset_peak()
    _run(model, x, spec.unpack, backward=True)
    print(json.dumps({"peak": _peak_bytes(reset) - before, "hwm_reset": reset}))


def measure_memory(label: str, shape_name: str, args: argparse.Namespace) -> float | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-probe", label, shape_name,
           "--threads", str(args.threads)]
    if args.quick:
        cmd.append("--quick")
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print(f"memory probe failed for {label}: {res.stderr[-500:]}", file=sys.stderr)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])["peak"] / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (fewer repeats, L=1000)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per model and pass before fewer repeats are taken")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--memory-probe", nargs=2, metavar=("MODEL", "SHAPE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        memory_probe(*args.memory_probe, args.threads, args.quick)
        return 0
    from tqdm import tqdm

    torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 7)
    warmup = 1 if args.quick else args.warmup
    shapes = QUICK_SHAPES if args.quick else SHAPES
    specs, notes = model_specs()
    tasks = [(s, n) for n in shapes for s in specs]
    rows = {}
    for spec, shape_name in tqdm(tasks, desc="lnn_speed", unit="model"):
        fwd, train, count = time_model(spec, shapes[shape_name], repeats, warmup, args.budget)
        mem = None if args.no_memory else measure_memory(spec.label, shape_name, args)
        rows[spec.label, shape_name] = (fwd, train, mem, count)

    load = os.getloadavg()
    print(f"\ntorch {torch.__version__}, {args.threads} threads, {platform.processor() or 'cpu'}, "
          f"float32, median of {repeats} runs after {warmup} warm-up; "
          f"load average before the table {load[0]:.2f}")
    print("| model | shape | forward ms | forward+backward ms | runs | x nn.LSTM | x ncps | "
          "peak MiB (fwd+bwd) | x ncps peak |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for spec, shape_name in tasks:
        fwd, train, mem, count = rows[spec.label, shape_name]
        lstm = rows.get(("nn.LSTM", shape_name))
        ref = rows.get((spec.counterpart, shape_name)) if spec.counterpart else None
        ratio_lstm = f"{train / lstm[1]:.2f}" if lstm else "-"
        ratio_ref = f"{train / ref[1]:.3f}" if ref else "-"
        mem_s = f"{mem:.1f}" if mem is not None else "-"
        mem_ref = f"{mem / ref[2]:.3f}" if ref and mem is not None and ref[2] else "-"
        print(f"| {spec.label} | {shape_name} | {fwd * 1e3:.1f} | {train * 1e3:.1f} | {count} | "
              f"{ratio_lstm} | {ratio_ref} | {mem_s} | {mem_ref} |")
    for note in notes:
        print(f"\nNote: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
