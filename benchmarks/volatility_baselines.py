"""Time the classical volatility baselines beside arch's own estimator, in one run.

For each model the table gives the median wall time of ``--repeats`` fits of
``baselines.fit_garch`` and of ``arch.arch_model(...).fit(disp="off")`` followed by arch's
(lazily computed) standard errors ``.std_err``, since fit_garch returns them, on the same series,
and
the difference of their log-likelihoods (0 when fit_garch uses arch's backcast: it *is* arch's
fit plus result wrapping). DCC has no arch counterpart; its row compares ``fit_dcc`` (both
stages and the two-step standard errors) with the two arch univariate fits that make its
stage 1, and the lines under the table split it into its parts.

Usage::

    python benchmarks/volatility_baselines.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from arch import arch_model

from baselines.dcc import _stage2, _two_step_cov, fit_dcc
from baselines.garch import fit_garch
from hybridrisk import datasets


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time in seconds over ``repeats`` calls (after one warm-up call)."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def arch_fit(y: pd.Series, **kwargs: Any) -> Any:
    """arch's estimator as a user runs it: fit, then the robust standard errors."""
    backcast = kwargs.pop("backcast", None)
    res = arch_model(y, **kwargs).fit(disp="off", backcast=backcast)
    res.std_err  # noqa: B018 - arch computes the covariance on first access
    return res


def main(repeats: int) -> pd.DataFrame:
    warnings.simplefilter("ignore")
    spx, ndx = datasets.sp500_returns(), datasets.nasdaq_returns()
    dem = datasets.dem_gbp_returns()
    rows = []
    models = [
        ("GARCH(1,1)-t", spx, {"dist": "t"}, {"dist": "t"}),
        ("GJR-GARCH(1,1,1)-t", spx, {"o": 1, "dist": "t"}, {"o": 1, "dist": "t"}),
        ("EGARCH(1,1,1)-t", spx, {"vol": "egarch", "o": 1, "dist": "t"},
         {"vol": "EGARCH", "o": 1, "dist": "t"}),
        ("GARCH(1,1)-t", ndx, {"dist": "t"}, {"dist": "t"}),
        ("GJR-GARCH(1,1,1)-t", ndx, {"o": 1, "dist": "t"}, {"o": 1, "dist": "t"}),
        ("EGARCH(1,1,1)-t", ndx, {"vol": "egarch", "o": 1, "dist": "t"},
         {"vol": "EGARCH", "o": 1, "dist": "t"}),
    ]
    for label, y, ours_kw, arch_kw in models:
        t_ours, res = median_time(lambda y=y, kw=ours_kw: fit_garch(y, **kw), repeats)
        t_arch, ar = median_time(
            lambda y=y, kw=arch_kw: arch_fit(y, **kw), repeats)
        rows.append({"model": label, "data": f"{y.name} ({len(y)})", "hybridrisk_ms": t_ours * 1e3,
                     "arch_ms": t_arch * 1e3, "loglik_diff": res.loglik - ar.loglikelihood})
    # the published benchmark: our own likelihood with the backcast re-evaluated at mu
    s2 = float(np.mean((dem - dem.mean()) ** 2))
    t_ours, res = median_time(lambda: fit_garch(dem, backcast="sample-variance"), repeats)
    t_arch, ar = median_time(lambda: arch_fit(dem, backcast=s2), repeats)
    rows.append({"model": "GARCH(1,1)-normal, sample-variance backcast",
                 "data": f"dem_gbp ({len(dem)})", "hybridrisk_ms": t_ours * 1e3,
                 "arch_ms": t_arch * 1e3, "loglik_diff": res.loglik - ar.loglikelihood})
    x = pd.concat([spx, ndx], axis=1)
    t_dcc, dres = median_time(lambda: fit_dcc(x), repeats)
    t_uni, uni = median_time(
        lambda: [arch_fit(x[c]) for c in x.columns], repeats)
    rows.append({"model": "DCC(1,1)-normal (arch: stage 1 only)",
                 "data": f"sp500+nasdaq ({len(x)})", "hybridrisk_ms": t_dcc * 1e3,
                 "arch_ms": t_uni * 1e3,
                 "loglik_diff": sum(u.loglik for u in dres.univariate.values())
                 - sum(u.loglikelihood for u in uni)})
    t_dcc_t, _ = median_time(lambda: fit_dcc(x, dist="t"), repeats)
    rows.append({"model": "DCC(1,1)-t (arch: stage 1 only)", "data": f"sp500+nasdaq ({len(x)})",
                 "hybridrisk_ms": t_dcc_t * 1e3, "arch_ms": t_uni * 1e3,
                 "loglik_diff": np.nan})
    table = pd.DataFrame(rows)
    table["ratio"] = table["hybridrisk_ms"] / table["arch_ms"]

    # parts of the bivariate DCC fit
    z = dres.std_resid.to_numpy()
    qbar = z.T @ z / len(z)
    t_s2, (psi, _) = median_time(lambda: _stage2(z, qbar, "normal"), repeats)
    t_se, _ = median_time(
        lambda: _two_step_cov(list(dres.univariate.values()), z, qbar, psi, "normal"), repeats)

    print(f"Classical volatility baselines vs arch {__import__('arch').__version__} "
          f"(median of {repeats} fits after a warm-up; {platform.processor() or 'cpu'}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})\n")
    print(table.to_markdown(index=False, floatfmt=".3g") if _has_tabulate() else
          table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"\nDCC(1,1)-normal on sp500+nasdaq: total {t_dcc * 1e3:.0f} ms = stage 1 (2 arch fits) "
          f"~{t_uni * 1e3:.0f} ms + stage 2 {t_s2 * 1e3:.0f} ms + two-step SEs {t_se * 1e3:.0f} "
          f"ms (+ result assembly)")
    return table


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    main(parser.parse_args().repeats)
