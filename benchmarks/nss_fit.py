"""NSS fitter on every day of the Gürkaynak-Sack-Wright file, plus a QuantLib par-fit check.

Fits ``baselines.nss.fit_nss_panel`` (NSS, zero yields) to every day of the bundled GSW file
(16,838 rows, 16,097 with at least 6 published maturities) and prints: wall and CPU time, the
fit rate, the worst-day RMSE, the RMSE distribution, how many days exceed 0.01 / 0.1 / 1 bp,
the diagnostics (non-convergence, ill-conditioning, decays at a bound) and the worst days.
The file rounds to 4 decimals in percent (0.01 bp), so a day reproduced to its rounding has an
RMSE of ~0.003 bp; some periods carry more decimals and fit to ~1e-10 bp.

It then fits a seeded random sample of days the way a common fitter does (one
``scipy.optimize.least_squares`` run from a standard start) to show how often that fails, and
compares our par fit with QuantLib's ``FittedBondDiscountCurve`` + ``SvenssonFitting`` on a few
Treasury par curves (``baselines.nss.quantlib.compare_par_fits``).

Command (the recorded run)::

    .venv/bin/python benchmarks/nss_fit.py

Smoke run: ``--quick`` (every 8th day, a smaller baseline sample).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baselines.nss import fit_nss_panel, nss_zero  # noqa: E402
from hybridrisk.datasets import UST_MATURITIES, gsw_zero_yields, ust_par_yields  # noqa: E402

QUANTLIB_DATES = ["2019-06-14", "2007-03-15", "2023-07-14", "2024-06-14"]


def _local_fit_rmse_bp(m: np.ndarray, y: np.ndarray) -> float:
    """One least-squares run from a standard start: b0 = long yield, b1 = short - long."""
    from scipy.optimize import least_squares

    x0 = [y[-1], y[0] - y[-1], 0.0, 0.0, 1.0, 10.0]
    res = least_squares(lambda x: nss_zero(m, x) - y, x0,
                        bounds=([-np.inf] * 4 + [0.01, 0.01], [np.inf] * 4 + [1e3, 1e3]))
    return 100.0 * float(np.sqrt(np.mean(res.fun**2)))


def run_gsw(args: argparse.Namespace) -> pd.DataFrame:
    from tqdm.auto import tqdm

    df = gsw_zero_yields()
    if args.quick:
        df = df.iloc[::8]
    print(f"GSW file: {len(df)} rows {df.index[0].date()}..{df.index[-1].date()}"
          f"{' (--quick: every 8th row)' if args.quick else ''}")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    res = fit_nss_panel(
        df, n_starts=args.n_starts, neighbour_starts=not args.no_neighbours,
        rescue=not args.no_rescue,
        progress=lambda it: tqdm(it, desc="NSS grid search + polish (batches of 1000 days)",
                                 unit="batch", file=sys.stdout),
    )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    d = res.diagnostics
    fitted = d[d.status != "insufficient"]
    r = fitted.rmse_bp
    worst = r.idxmax()
    print()
    skipped = int((d.status == "insufficient").sum())
    print(f"days fitted: {len(fitted)} (skipped, fewer than 6 maturities: {skipped})")
    print(f"wall time: {wall:.1f} s, CPU time: {cpu:.1f} s, "
          f"fit rate: {len(fitted) / wall:.0f} days/s (wall)")
    print(f"worst-day RMSE: {r.max():.4f} bp on {worst.date()} "
          f"(max |residual| that day {fitted.max_abs_bp[worst]:.4f} bp)")
    q = r.quantile([0.5, 0.9, 0.99, 0.999])
    print("RMSE quantiles (bp): " + ", ".join(f"{k:g}: {v:.4f}" for k, v in q.items()))
    for thr in (0.005, 0.01, 0.1, 1.0):
        print(f"days with RMSE > {thr:g} bp: {(r > thr).sum()}")
    print(f"largest |residual| over all days: {fitted.max_abs_bp.max():.4f} bp")
    print(f"not converged: {(~fitted.converged).sum()}, rank-deficient (cond > 1e10): "
          f"{fitted.rank_deficient.sum()}, ill-conditioned (cond > 1e6): "
          f"{fitted.ill_conditioned.sum()} (of which with 7 maturities: "
          f"{(fitted.ill_conditioned & (fitted.n_obs <= 7)).sum()}), decay at a bound: "
          f"{fitted.tau_at_bound.sum()}")
    print("worst 10 days:")
    top = fitted.sort_values("rmse_bp", ascending=False).head(10)
    show = top[["n_obs", "rmse_bp", "max_abs_bp", "cond"]].join(res.params)
    print(show.to_string(float_format=lambda v: f"{v:.4g}"))
    return df


def run_local_baseline(df: pd.DataFrame, n: int, seed: int) -> None:
    days = df[df.notna().sum(axis=1) >= 6]
    pick = np.sort(np.random.default_rng(seed).choice(len(days), min(n, len(days)),
                                                      replace=False))
    m_all = np.arange(1.0, 31.0)
    out = []
    for i in pick:
        y = days.iloc[i].to_numpy()
        ok = np.isfinite(y)
        out.append(_local_fit_rmse_bp(m_all[ok], y[ok]))
    out = np.array(out)
    print()
    print(f"single local start (scipy least_squares from b0=y30, b1=y1-y30, b2=b3=0, tau=1,10) "
          f"on {len(out)} random days (seed {seed}):")
    print(f"  > 0.01 bp: {(out > 0.01).sum()}, > 0.1 bp: {(out > 0.1).sum()}, "
          f"> 1 bp: {(out > 1).sum()}, worst: {out.max():.2f} bp")


def run_quantlib() -> None:
    from baselines.nss.quantlib import compare_par_fits

    u = ust_par_yields()
    m = np.array([UST_MATURITIES[c] for c in u.columns])
    rows = []
    for day in QUANTLIB_DATES:
        y = u.loc[day].to_numpy()
        for guess, weights, label in [(None, "quantlib", "QL default"),
                                      ("ours", "par", "QL from ours, par weights")]:
            c = compare_par_fits(m, y, day, quantlib_guess=guess, quantlib_weights=weights)
            rows.append({
                "date": day, "QuantLib run": label,
                "max |dzero| bp": c.zero_diff_bp.abs().max(),
                "par SSE ours": c.our_sse, "par SSE QL": c.quantlib_sse,
                "QL cost ours": c.our_ql_cost, "QL cost QL": c.quantlib_ql_cost,
                "our RMSE bp": c.ours.rmse_bp,
            })
    print()
    print("par fit vs QuantLib FittedBondDiscountCurve+SvenssonFitting (UST par curve, "
          "13 bonds):")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.6g}"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="every 8th day, smaller samples")
    ap.add_argument("--n-starts", type=int, default=10, help="grid basins screened per day")
    ap.add_argument("--no-neighbours", action="store_true", help="disable neighbour warm starts")
    ap.add_argument("--no-rescue", action="store_true", help="disable the rescue pass")
    ap.add_argument("--baseline-sample", type=int, default=None,
                    help="days for the single-local-start baseline (default 300, quick 60)")
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--no-quantlib", action="store_true")
    args = ap.parse_args(argv)
    print("command:", " ".join(shlex.quote(a) for a in [".venv/bin/python",
                                                         "benchmarks/nss_fit.py", *sys.argv[1:]]))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numpy {np.__version__}, Python {platform.python_version()}")
    df = run_gsw(args)
    n = args.baseline_sample if args.baseline_sample is not None else (60 if args.quick else 300)
    if n > 0:
        run_local_baseline(df, n, args.seed)
    if not args.no_quantlib:
        run_quantlib()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
