"""LNN-SABR's training settings, chosen on the EUR swaption cube only.

The smile campaign's goal is judged on the two equity surfaces (Andreasen-Huge, DAX), so the
settings of its default LNN-SABR must not be chosen by looking at their held-out expiries. This
script picks them on the third dataset, the EUR swaption normal-vol cube (three swap tenors,
six expiries each, normal SABR with beta = 0 and a 3% shift), and the equity campaigns then use
them frozen (``validation.families.smile.default_models``).

For every setting of a small grid (the desk rule the network nests: parameters linear in T,
head coordinates linear in log T, or the better of the two by leave-one-expiry-out on each
fit's own expiries; hidden units, learning rate, penalty on the head) the
seed ensemble of the default model (``--seeds`` members, mean of their parameter paths) is
scored by leave-one-expiry-out on every tenor of the cube; the criterion is the pooled RMSE
over all held-out quotes (vol bp), ties broken by the mean RMSE by expiry. The table is written
to ``benchmarks/results/smile_hyperparameters.csv``.

Run: ``python benchmarks/smile_hyperparameters.py`` (``--seeds 3``, ``--jobs 2`` by default:
settings are scored in that many processes, one torch thread each; the numbers do not depend
on it). ``--classical`` scores only the classical rules on the cube, for comparison.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from validation.families.smile_tasks import (  # noqa: E402
    SPECS,
    ModelSpec,
    fit_classical,
    leave_one_expiry_out,
    load_quotes,
)

GRID = {"interpolation": ("linear", "log", "auto"), "hidden_size": (4, 8), "lr": (3e-3, 1e-2),
        "penalty": (1e-2, 1e-3)}
FIXED = {"epochs": 300, "patience": 50, "val_fraction": 0.25}


def score(options: dict[str, float], data: pd.DataFrame, tables: dict[str, pd.DataFrame],
          seed: int) -> dict[str, float]:
    """Pooled and mean-by-expiry leave-one-expiry-out RMSE (bp) over the cube's tenors."""
    spec = SPECS["eur_swaption_cube"]
    model = ModelSpec("lnn-sabr", options)
    out = pd.concat([leave_one_expiry_out(model, q, tables[s], spec, seed)
                     for s, q in data.groupby("surface", sort=False)], ignore_index=True)
    by = out.groupby(["surface", "label"])["error_bp"].apply(lambda e: np.sqrt(np.mean(e**2)))
    return {"pooled RMSE (bp)": float(np.sqrt(np.mean(out["error_bp"] ** 2))),
            "mean RMSE by expiry (bp)": float(by.mean())}


def classical_scores() -> pd.DataFrame:
    """The classical rules' leave-one-expiry-out RMSE on the cube, scored as the grid is."""
    data = load_quotes("eur_swaption_cube")
    spec = SPECS["eur_swaption_cube"]
    tables = {s: fit_classical(q, spec) for s, q in data.groupby("surface", sort=False)}
    rows = []
    for kind in ("sabr", "sabr-linear", "sabr-log", "sabr-total-variance"):
        out = pd.concat([leave_one_expiry_out(ModelSpec(kind), q, tables[s], spec, 0)
                         for s, q in data.groupby("surface", sort=False)], ignore_index=True)
        pooled = float(np.sqrt(np.mean(out["error_bp"] ** 2)))
        by = out.groupby(["surface", "label"])["error_bp"].apply(
            lambda e: np.sqrt(np.mean(e**2)))
        rows.append({"model": kind, "pooled RMSE (bp)": pooled,
                     "mean RMSE by expiry (bp)": float(by.mean())})
    return pd.DataFrame(rows)


def _one(job: tuple[dict[str, object], int]) -> dict[str, object]:
    opts, seed = job
    torch.set_num_threads(1)
    data = load_quotes("eur_swaption_cube")
    spec = SPECS["eur_swaption_cube"]
    tables = {s: fit_classical(q, spec) for s, q in data.groupby("surface", sort=False)}
    t0 = time.perf_counter()
    row = {k: opts[k] for k in GRID} | score(opts, data, tables, seed)  # type: ignore[arg-type]
    row["seconds"] = round(time.perf_counter() - t0, 1)
    print(row, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="ensemble members")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="processes")
    ap.add_argument("--classical", action="store_true",
                    help="only score the classical rules on the cube (seconds) and stop")
    args = ap.parse_args()
    if args.classical:
        print(classical_scores().round(3).to_string(index=False))
        return
    jobs = [(dict(zip(GRID, values, strict=True)) | FIXED | {"seeds": args.seeds}, args.seed)
            for values in itertools.product(*GRID.values())]
    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(args.jobs) as pool:
            rows = pool.map(_one, jobs, chunksize=1)
    else:
        rows = [_one(j) for j in jobs]
    table = pd.DataFrame(rows).sort_values(["pooled RMSE (bp)", "mean RMSE by expiry (bp)"],
                                           kind="stable")
    out = Path(__file__).resolve().parent / "results" / "smile_hyperparameters.csv"
    table.to_csv(out, index=False)
    print(table.to_string(index=False))
    print(f"chosen: {table[list(GRID)].head(1).to_dict('records')[0]}  (written to {out})")


if __name__ == "__main__":
    main()
