"""Time the static copula fits beside pyvinecopulib's ``Bicop.fit``, in one run.

For each data set (GARCH(1,1)-t PITs of S&P 500 / NASDAQ and of EUR/USD / EUR/GBP) and each
family the table gives our estimate, pyvinecopulib's (``FitControlsBicop(parametric_method=
"mle")``), their largest difference, both log-likelihoods (pyvinecopulib's ``loglik`` at each
estimate) and the median wall time of ``--repeats`` fits of each (after one warm-up call).
Our fit includes the Newton polish and the numerical Hessian behind the standard errors;
pyvinecopulib returns no standard errors. A last row per data set times family selection
(``select_copula`` against ``Bicop.select`` over the same five families). torch runs on one
thread, as in the test suite.

A second table times one fit of each dynamic Student-t copula on the same PITs, with the
settings of the full dependence campaign: Patton and GAS (``n_starts=2``) on every PIT, and
LNN-Copula (CfC, 8 units, ``epochs=30, lr=0.02, window=250, burn_in=50``, seed 0) on the last
2000 PITs, as ``LNNCopulaTask`` trains it, and the LNN-GAS copula with the same settings,
whose time includes its GAS benchmark's fit on the training part of those PITs. These have no
pyvinecopulib counterpart (``--dynamic-only`` runs this table alone).

Usage::

    python benchmarks/copula_fit.py [--repeats 5] [--out benchmarks/results/copula_fit.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyvinecopulib as pv
import torch

from baselines.copulas import fit_copula, select_copula
from baselines.margins import garch_pits
from hybridrisk import datasets
from hybridrisk.kernels.copulas import FAMILIES

CASES = [("gaussian", 0), ("student", 0), ("clayton", 0), ("clayton", 180), ("gumbel", 0),
         ("gumbel", 180), ("frank", 0)]


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time in seconds over ``repeats`` calls (after one warm-up call)."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def data_sets() -> dict[str, pd.DataFrame]:
    eq = pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1, join="inner")
    fx = 100 * np.log(datasets.ecb_fx(["USD", "GBP"])).diff().iloc[1:]
    return {"sp500_nasdaq": garch_pits(eq), "eurusd_eurgbp": garch_pits(fx)}


def pv_fit(u: np.ndarray, family: str, rotation: int) -> pv.Bicop:
    b = pv.Bicop(family=getattr(pv.BicopFamily, family), rotation=rotation)
    b.fit(u, pv.FitControlsBicop(parametric_method="mle"))
    return b


def main(repeats: int) -> pd.DataFrame:
    torch.set_num_threads(1)
    rows = []
    for name, u in data_sets().items():
        arr = u.to_numpy()
        for family, rot in CASES:
            t_ours, ours = median_time(lambda u=u, f=family, r=rot: fit_copula(u, f, r), repeats)
            t_pv, theirs = median_time(lambda a=arr, f=family, r=rot: pv_fit(a, f, r), repeats)
            est_o, est_p = ours.params.to_numpy(), theirs.parameters.ravel()
            rows.append({
                "data": name, "copula": f"{family} {rot}" if rot else family,
                "ours": ", ".join(f"{x:.6f}" for x in est_o),
                "pyvinecopulib": ", ".join(f"{x:.6f}" for x in est_p),
                "max abs diff": float(np.abs(est_o - est_p).max()),
                "loglik ours": ours.loglik, "loglik pv": float(theirs.loglik(arr)),
                "ours [ms]": 1e3 * t_ours, "pv [ms]": 1e3 * t_pv, "ratio": t_ours / t_pv,
            })
        controls = pv.FitControlsBicop(family_set=[getattr(pv.BicopFamily, f) for f in FAMILIES],
                                       parametric_method="mle", selection_criterion="aic")
        t_ours, sel = median_time(lambda u=u: select_copula(u), max(1, repeats // 2))
        t_pv, ref = median_time(lambda a=arr, c=controls: pv.Bicop.from_data(a, controls=c),
                                max(1, repeats // 2))
        best = sel.best
        rows.append({
            "data": name, "copula": "select (AIC)",
            "ours": f"{best.family} {best.rotation}",
            "pyvinecopulib": f"{ref.family.name} {ref.rotation}", "max abs diff": np.nan,
            "loglik ours": best.loglik, "loglik pv": float(ref.loglik(arr)),
            "ours [ms]": 1e3 * t_ours, "pv [ms]": 1e3 * t_pv, "ratio": t_ours / t_pv,
        })
    return pd.DataFrame(rows)


def dynamic_fits(repeats: int) -> pd.DataFrame:
    """Median wall time of the dynamic t-copula fits (see the module docstring)."""
    from functools import partial

    from baselines.copula_gas import fit_gas_copula
    from baselines.copula_patton import fit_patton_copula
    from hybridrisk.hybrids import LNNCopula, LNNGASCopula

    torch.set_num_threads(1)
    rows = []
    for name, u in data_sets().items():
        recent = u.iloc[-2000:]
        fits = {
            "Patton-t": lambda u=u: fit_patton_copula(u, "student", n_starts=2),
            "GAS-t": lambda u=u: fit_gas_copula(u, "student", n_starts=2),
            "LNN-Copula-t": lambda r=recent: LNNCopula("cfc", 8, family="student").fit(
                r, init=partial(fit_copula, family="student"), seed=0, epochs=30, lr=0.02,
                window=250, burn_in=50, patience=6, progress=False),
            # the GAS benchmark is estimated on the training part of the same 2000 PITs
            "LNN-GAS-t": lambda r=recent: LNNGASCopula("cfc", 8, family="student").fit(
                r, init=partial(fit_gas_copula, family="student", n_starts=2), seed=0,
                epochs=30, lr=0.02, window=250, burn_in=50, patience=6, progress=False),
        }
        for model, fn in fits.items():
            t, res = median_time(fn, repeats)
            rows.append({"data": name, "model": model, "observations": res.nobs,
                         "loglik": float(res.loglik), "fit [s]": t})
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    fmt = table.copy()
    if "max abs diff" in fmt:
        fmt["max abs diff"] = fmt["max abs diff"].map(lambda x: "" if np.isnan(x) else f"{x:.1e}")
    for c in ("loglik ours", "loglik pv", "loglik"):
        if c in fmt:
            fmt[c] = fmt[c].map(lambda x: f"{x:.6f}")
    for c in ("ours [ms]", "pv [ms]", "ratio", "fit [s]"):
        if c in fmt:
            fmt[c] = fmt[c].map(lambda x: f"{x:.1f}")
    head = "| " + " | ".join(fmt.columns) + " |\n|" + "---|" * len(fmt.columns) + "\n"
    body = "".join("| " + " | ".join(map(str, r)) + " |\n" for r in fmt.itertuples(index=False))
    return head + body


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dynamic-repeats", type=int, default=1,
                        help="timed fits of each dynamic copula (0 skips them)")
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    parser.add_argument("--dynamic-only", action="store_true",
                        help="skip the static fits against pyvinecopulib")
    args = parser.parse_args()
    text = ""
    if not args.dynamic_only:
        text = (f"Copula fits, median of {args.repeats} (pyvinecopulib {pv.__version__}, "
                f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
                "1 thread)\n\n" + to_markdown(main(args.repeats)))
    if args.dynamic_repeats > 0:
        text += (f"\nDynamic Student-t copula fits, median of {args.dynamic_repeats} "
                 "(after one warm-up fit)\n\n" + to_markdown(dynamic_fits(args.dynamic_repeats)))
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
