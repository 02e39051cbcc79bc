"""Out-of-sample yield-curve forecasts: random walk, Diebold-Li AR/VAR and LNN-DNS.

Every model runs through the same expanding-window walk-forward (refit monthly by default)
of the curve family (:mod:`validation.families.curve`): for each out-of-sample day, forecasts
made at the previous close of the whole curve at 1d, 1w, 1m, 3m and 1y, scored against the
curve published that many trading days later, on common cells. Printed: RMSE (bp) by model and
horizon (mean over tenors), RMSE by tenor and horizon for each model, and Diebold-Mariano (HLN)
tests on the squared errors pooled across tenors (one-sided p: the first model is better).

Command (the recorded run; about 10-15 minutes per dataset on two CPU cores)::

    .venv/bin/python benchmarks/curve_forecast.py --dataset gsw --start 2015-01-01
    .venv/bin/python benchmarks/curve_forecast.py --dataset ust_par --start 2015-01-01

A smoke run: ``--start 2024-06-01 --quick``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import pandas as pd


def markdown(df: pd.DataFrame, *, index: bool = True, digits: int = 2) -> str:
    """A GitHub Markdown table (no tabulate dependency)."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return "" if v != v else f"{v:.{digits}f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"
        return str(v)

    heads = ([str(df.index.name or "")] if index else []) + [str(c) for c in df.columns]
    rows = [([str(i)] if index else []) + [cell(v) for v in r]
            for i, r in zip(df.index, df.itertuples(index=False), strict=True)]
    out = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="gsw", choices=["gsw", "ust_par"])
    ap.add_argument("--start", default="2015-01-01", help="first out-of-sample day")
    ap.add_argument("--end", default=None, help="last day of data used (default: all)")
    ap.add_argument("--refit", default="monthly")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--executor", default="serial", choices=["serial", "local"])
    ap.add_argument("--out", default="/tmp/hybridrisk-bench-curve",
                    help="walk-forward files (resumable); outside the repository by default")
    ap.add_argument("--quick", action="store_true", help="the family's quick settings")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--max-train", type=int, default=None)
    ap.add_argument("--hidden", type=int, default=None)
    ap.add_argument("--cell", default=None, choices=["cfc", "ltc", "ctrnn", "cde"])
    ap.add_argument("--train-horizons", default=None,
                    help="LNN-DNS training horizons in trading days, e.g. 1,5,21,63,252")
    ap.add_argument("--save", default=None, help="also write the tables as Markdown here")
    args = ap.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the walk-forward is many small fits; one thread is fastest
    try:
        return _run(args, argv)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    from validation.families.curve import CurveFamily
    from validation.walkforward import WalkForward, run_walk_forward

    fam = CurveFamily()
    data = fam.load(args.dataset)
    if args.end:
        data = data.loc[: args.end]
    oos = int((data.index >= pd.Timestamp(args.start)).sum())
    models = fam.default_models(quick=args.quick)
    lnn = models["LNN-DNS"]
    for key, val in (("epochs", args.epochs), ("max_train", args.max_train),
                     ("hidden_size", args.hidden), ("cell", args.cell),
                     ("horizons", None if args.train_horizons is None else
                      tuple(int(h) for h in args.train_horizons.split(",")))):
        if val is not None:
            lnn[key] = val
    tasks = fam.tasks(models, quick=args.quick)
    refit = int(args.refit) if args.refit.isdigit() else args.refit
    out = Path(args.out) / args.dataset
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # the harness's walk-forward (expanding window, at least 500 training days)
        wf = WalkForward(window="expanding", refit=refit, oos=oos, min_train=500)
        forecasts = {}
        for name, task in tasks.items():
            print(f"walk-forward: {name}", file=sys.stderr, flush=True)
            run = run_walk_forward(data, task, wf, out_dir=out / name, executor=args.executor,
                                   seed=args.seed, progress=True)
            forecasts[name] = run.forecasts
        scores = fam.score(forecasts, data, seed=args.seed)
    secs = time.perf_counter() - t0

    index = next(iter(forecasts.values())).index
    cmd = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    t = scores.tables
    lines = [
        f"# Curve forecasts, {fam.datasets[args.dataset]}",
        "",
        f"Command: `{cmd}`",
        f"Out-of-sample: {index[0]:%Y-%m-%d} .. {index[-1]:%Y-%m-%d} ({len(index)} days), "
        f"refit {args.refit}, expanding window, seed {args.seed}; wall time {secs:.0f} s.",
        f"LNN-DNS settings: {tasks['LNN-DNS']}",
        "",
        "## RMSE (bp), mean over tenors",
        "",
        markdown(t["rmse"]),
        "",
    ]
    long = t["rmse_by_tenor"]
    for model in forecasts:
        tab = long[long.model == model].pivot(index="tenor", columns="horizon",
                                              values="RMSE (bp)")
        tab = tab.reindex(index=list(data.columns), columns=list(t["rmse"].columns))
        lines += [f"## RMSE (bp) by tenor: {model}", "", markdown(tab), ""]
    dm = t["diebold_mariano"].copy()
    lines += ["## Diebold-Mariano (HLN), squared errors pooled across tenors",
              "", "`p model better`: one-sided p that the model has the lower expected loss.",
              "", markdown(dm, index=False, digits=4), ""]
    text = "\n".join(lines)
    print(text)
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
