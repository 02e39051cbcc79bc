"""Scale-out of a campaign over many series: serial, a Dask LocalCluster, an external scheduler.

The volatility family (its default champions GARCH-t, GJR-t, EGARCH-t and the LNN-GARCH-t
challenger) runs on each of the 17 ECB currencies quoted over the whole span
(:data:`hybridrisk.datasets.ECB_COMPLETE`: percent log returns of the euro reference rates, the
last ``--history`` of them),
through :func:`validation.harness.champion_challenger` (walk-forward, refits and scoring), once
per execution mode:

``serial``
    ``executor="serial"``: every job in this process, one after the other.
``local``
    ``executor="local"``: the default process pool (spawned workers, one per core).
``dask-local``
    ``executor="dask"`` on a :class:`dask.distributed.LocalCluster` of ``--workers``
    single-threaded worker processes, started once by this script (its start-up is timed
    apart) and passed to every campaign by its address.
``dask-external``
    ``executor="dask"`` on an external scheduler: ``dask scheduler --host 127.0.0.1 --port 0``
    and ``--workers`` separate ``dask worker --nthreads 1`` processes, started and stopped by
    this script (nothing listens beyond 127.0.0.1).

Each mode writes its walk-forward runs into a fresh temporary folder (a run reuses finished
windows, so modes must not share one). The table gives the wall time of the 17 campaigns per
mode, its ratio to the serial time, the 1-minute load average before and after, and whether
every forecast (each model, currency and day) and every score table is identical to the
serial run's. Usage::

    .venv/bin/python benchmarks/scale_out.py --quick          # 17 currencies, oos 40, 4 epochs
    .venv/bin/python benchmarks/scale_out.py                  # default models, oos 120
    .venv/bin/python benchmarks/scale_out.py --quick --currencies USD JPY --modes serial local

Jobs run single-threaded in every mode (the executors' rule), so the modes compute the same
numbers; the speed-up comes from running jobs side by side. Each campaign is one walk-forward:
its jobs (models x refits) run in parallel, and the next currency starts when the slowest job
of the current one ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODES = ("serial", "local", "dask-local", "dask-external")


def currency_data(code: str, history: int) -> pd.DataFrame:
    """The last ``history`` percent log returns of the euro reference rate of ``code``, in the
    family's layout."""
    from hybridrisk import datasets

    px = datasets.ecb_fx([code])[code]
    r = (100.0 * np.log(px).diff()).dropna().rename("returns")
    return r.iloc[-history:].to_frame()


def _dask_bin() -> str:
    exe = Path(sys.executable).with_name("dask")
    return str(exe) if exe.exists() else "dask"


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[tuple[str, float]]:
    """A LocalCluster of single-threaded worker processes on 127.0.0.1: (address, start s)."""
    from dask.distributed import LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        yield cluster.scheduler_address, time.perf_counter() - t0
    finally:
        cluster.close()


@contextlib.contextmanager
def external_cluster(workers: int, folder: Path) -> Iterator[tuple[str, float]]:
    """``dask scheduler`` and ``workers`` separate ``dask worker`` processes on 127.0.0.1,
    started here and stopped on exit: (address, start s)."""
    from dask.distributed import Client

    t0 = time.perf_counter()
    info = folder / "scheduler.json"
    logs = [open(folder / f"{name}.log", "w") for name in  # noqa: SIM115 - closed below
            ["scheduler", *(f"worker-{i}" for i in range(workers))]]
    procs: list[subprocess.Popen] = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")]).rstrip(os.pathsep)}
    try:
        procs.append(subprocess.Popen(
            [_dask_bin(), "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(info)],
            stdout=logs[0], stderr=subprocess.STDOUT, env=env, cwd=folder))
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            if procs[0].poll() is not None:
                raise RuntimeError(f"dask scheduler exited; see {folder / 'scheduler.log'}")
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for i in range(workers):
            procs.append(subprocess.Popen(
                [_dask_bin(), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--host", "127.0.0.1", "--no-dashboard", "--name", f"worker-{i}",
                 "--local-directory", str(folder / f"w{i}")],
                stdout=logs[i + 1], stderr=subprocess.STDOUT, env=env, cwd=folder))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, time.perf_counter() - t0
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for fh in logs:
            fh.close()


def run_mode(mode: str, currencies: list[str], data: dict[str, pd.DataFrame], args:
             argparse.Namespace, scheduler: str | None, out: Path) -> tuple[float, dict]:
    """All campaigns of one mode: (wall seconds, {currency: (forecasts, score tables)})."""
    from validation.families import FAMILIES
    from validation.harness import champion_challenger

    executor = {"serial": "serial", "local": "local"}.get(mode, "dask")
    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    for code in currencies:
        tasks = FAMILIES["volatility"].tasks({}, quick=args.quick)
        try:
            forecasts, scores = champion_challenger(
                "volatility", data[code], tasks, oos=args.oos, refit=args.refit,
                out=out / code, executor=executor, scheduler=scheduler, seed=args.seed,
                progress=False)
        except Exception as exc:  # e.g. a champion outside the hybrid's domain: recorded
            results[code] = f"{type(exc).__name__}: {(str(exc) or '-').splitlines()[0]}"
            continue
        results[code] = (forecasts, scores.tables)
    return time.perf_counter() - t0, results


def same_numbers(a: dict, b: dict) -> tuple[bool, str]:
    """Whether two modes' forecasts and score tables are identical (bit for bit)."""
    for code in a:
        if isinstance(a[code], str) or isinstance(b[code], str):  # a failed campaign
            # In parallel another window may fail first: the message may differ, not the fact.
            if isinstance(a[code], str) != isinstance(b[code], str):
                return False, f"{code}: failed in one mode only"
            continue
        fa, ta = a[code]
        fb, tb = b[code]
        if set(fa) != set(fb) or set(ta) != set(tb):
            return False, f"{code}: different models or tables"
        for name in fa:
            if not fa[name].equals(fb[name]):
                return False, f"{code}: forecasts of {name} differ"
        for name in ta:
            x, y = ta[name], tb[name]
            if isinstance(x, pd.DataFrame | pd.Series) and not x.equals(y):
                return False, f"{code}: score table {name} differs"
    return True, "identical"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="the family's quick models (LNN-GARCH 4 epochs) and --oos 40")
    parser.add_argument("--oos", type=int, default=None,
                        help="out-of-sample days per currency (default 120, 40 with --quick)")
    parser.add_argument("--refit", default="monthly")
    parser.add_argument("--history", type=int, default=1000,
                        help="returns per currency, the most recent (default 1000, about four "
                        "years: over the whole history since 1999 the GJR-t champion of 10 of "
                        "the 17 currencies is not stationary, which the hybrid refuses; a "
                        "campaign that stops is listed and stops the same way in every mode)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2)")
    parser.add_argument("--currencies", nargs="+", default=None,
                        help="default: the 17 complete ECB currencies")
    parser.add_argument("--modes", nargs="+", choices=MODES,
                        default=["serial", "dask-local", "dask-external"])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    args.oos = args.oos or (40 if args.quick else 120)
    warnings.simplefilter("ignore")
    import torch

    from hybridrisk.datasets import ECB_COMPLETE

    currencies = list(args.currencies or ECB_COMPLETE)
    data = {c: currency_data(c, args.history) for c in currencies}
    if "serial" not in args.modes:
        args.modes = ["serial", *args.modes]  # the reference of the ratios and the numbers
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="scale_out_") as tmp:
        for mode in args.modes:
            out = Path(tmp) / mode
            load0 = os.getloadavg()[0]
            with contextlib.ExitStack() as stack:
                scheduler, start = None, 0.0
                if mode == "dask-local":
                    scheduler, start = stack.enter_context(local_cluster(args.workers))
                elif mode == "dask-external":
                    folder = Path(tmp) / "external"
                    folder.mkdir()
                    scheduler, start = stack.enter_context(
                        external_cluster(args.workers, folder))
                seconds, results[mode] = run_mode(mode, currencies, data, args, scheduler,
                                                  out)
            shutil.rmtree(out, ignore_errors=True)
            rows.append({"mode": mode, "seconds": seconds, "start": start,
                         "load": (load0, os.getloadavg()[0])})
            print(f"{mode}: {seconds:.1f} s (cluster start {start:.1f} s), load "
                  f"{load0:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)
    serial = next(r["seconds"] for r in rows if r["mode"] == "serial")
    failed = {c: why for c, why in results["serial"].items() if isinstance(why, str)}
    for code, why in failed.items():
        print(f"{code}: the campaign stops in every mode: {why}")
    print(f"\n{len(currencies)} currencies ({len(failed)} stopped early, the same in every "
          f"mode), last {args.history} returns each, oos {args.oos}, refit {args.refit}, "
          f"{'quick models' if args.quick else 'default models'}, {args.workers} workers; "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs\n")
    print("| mode | wall s | x serial | speed-up | cluster start s | load before -> after | "
          "numbers vs serial |")
    print("|---|---:|---:|---:|---:|---|---|")
    for r in rows:
        same, why = same_numbers(results["serial"], results[r["mode"]])
        r["identical"], r["why"] = same, why
        print(f"| {r['mode']} | {r['seconds']:.1f} | {r['seconds'] / serial:.2f} | "
              f"{serial / r['seconds']:.2f} | {r['start']:.1f} | {r['load'][0]:.2f} -> "
              f"{r['load'][1]:.2f} | {why} |")
    if args.json is not None:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "currencies": currencies, "failed": failed,
                                         "rows": rows}, indent=2))
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
