"""Fit time of LNN-GARCH-t beside arch's GARCH-t and the classical baselines, in one run.

On the S&P 500 (5,030 daily returns) the script times, as the median of ``--repeats`` runs after
one warm-up run (imports and first-call costs excluded):

- ``arch``: ``arch_model(r, dist="t").fit(disp="off")``, the peer;
- ``baselines.fit_garch(r, dist="t")`` (arch's fit plus the result wrapping and robust
  standard errors) and ``baselines.fit_garch(r, dist="t", backcast="sample-variance")`` (our own
  SLSQP + Newton estimator);
- ``LNNGARCH("cfc", dist="t").fit(r, covariates=sp500_range(), init=<arch result>)`` with the
  default settings (CfC with 16 units, windows of 100 steps, up to 30 epochs, early stopping),
  from the network's construction to the fitted result (its full-sample pass included), and
  the same with ``epochs=10`` (the speed/fit trade-off);
- the kernel alone: the GARCH-t log-likelihood and its gradient through the linear-recurrence
  autograd function, and through the plain autograd loop it replaces.

Every ratio is against arch's time in the same process. It also checks the nesting property
(the hybrid's nested log-likelihood against arch's). Usage::

    .venv/bin/python benchmarks/volatility.py [--repeats 5] [--threads 1]
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
import torch
from arch import arch_model

from hybridrisk import datasets
from hybridrisk.hybrids import LNNGARCH
from hybridrisk.kernels.garch import garch_loglik

CPU: dict[str, float] = {}


def median_time(fn: Callable[[], Any], repeats: int, key: str = "") -> tuple[float, Any]:
    """Median wall time in seconds over ``repeats`` calls, after one warm-up call.

    The median CPU time of the process over the same calls goes to ``CPU[key]``: on a shared,
    loaded machine it is the steadier measure of the work done.
    """
    out = fn()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[key] = float(np.median(cpu))
    return float(np.median(times)), out


def main(repeats: int, threads: int) -> None:
    warnings.simplefilter("ignore")
    torch.set_num_threads(threads)
    r = datasets.sp500_returns()
    rng = datasets.sp500_range()
    rows: list[tuple[str, float, str]] = []

    name = "arch GARCH(1,1)-t fit"
    t_arch, res = median_time(lambda: arch_model(r, dist="t").fit(disp="off"), repeats, name)
    rows.append((name, t_arch, f"loglik {res.loglikelihood:.3f}"))

    try:
        from baselines.garch import fit_garch

        name = "baselines.fit_garch GARCH-t (arch backcast)"
        t, b = median_time(lambda: fit_garch(r, dist="t"), repeats, name)
        rows.append((name, t, f"loglik {b.loglik:.3f}"))
        name = "baselines.fit_garch GARCH-t (sample-variance)"
        t, b = median_time(lambda: fit_garch(r, dist="t", backcast="sample-variance"), repeats,
                           name)
        rows.append((name, t, f"loglik {b.loglik:.3f}"))
    except ImportError:  # pragma: no cover - the baselines ship with the package
        rows.append(("baselines.fit_garch", float("nan"), "not installed"))

    fit = None
    for label, kw in (("defaults", {}), ("epochs=10", {"epochs": 10})):
        train_s: list[float] = []

        def hybrid(kw: dict[str, Any] = kw, train_s: list[float] = train_s) -> Any:
            out = LNNGARCH("cfc", dist="t").fit(r, covariates=rng, init=res, progress=False,
                                                **kw)
            train_s.append(out.history.seconds)
            return out

        name = f"LNN-GARCH-t fit (CfC-16, {label})"
        t_h, f = median_time(hybrid, repeats, name)
        fit = fit or f
        h = f.history
        spl, nspl = f.split_loglik(), f.benchmark.split_loglik()
        rows.append((name, t_h,
                     f"{h.epochs_run} epochs (best {h.best_epoch}), training "
                     f"{np.median(train_s[1:]):.2f} s; LL gain train "
                     f"{spl['train'] - nspl['train']:+.1f}, validation "
                     f"{spl['validation'] - nspl['validation']:+.1f}"))

    # Realized GARCH on the range variance and the hybrid that nests it
    from baselines.realized_garch import fit_realized_garch
    from hybridrisk.hybrids import LNNRealGARCH

    x = rng.reindex(r.index) ** 2
    name = "baselines.fit_realized_garch (range)"
    t_rg, rg = median_time(lambda: fit_realized_garch(r, x), repeats, name)
    rows.append((name, t_rg, f"joint loglik {rg.loglik:.3f}"))
    name = "LNN-RealGARCH fit (CfC-16, defaults)"
    t_h, f = median_time(lambda: LNNRealGARCH("cfc").fit(r, x, init=rg, progress=False),
                         repeats, name)
    spl, nspl = f.split_loglik(), f.benchmark.split_loglik()
    rows.append((name, t_h, f"{t_h / t_rg:.1f}x the Realized GARCH fit; "
                 f"{f.history.epochs_run} epochs (best {f.history.best_epoch}); LL gain "
                 f"validation {spl['validation'] - nspl['validation']:+.1f}; nesting "
                 f"{abs(f.nested_loglik() - rg.loglik) / abs(rg.loglik):.1e}"))

    params = {k: torch.tensor(float(v), requires_grad=True) for k, v in res.params.items()}

    def kernel(method: str) -> float:
        ll, _, _ = garch_loglik(r.to_numpy(), params, dist="t", method=method)
        total = ll.sum()
        total.backward()
        return float(total)

    for method, note in (("scan", "analytical backward"), ("loop", "plain autograd")):
        name = f"kernel: GARCH-t loglik + gradient ({method})"
        t, _ = median_time(lambda m=method: kernel(m), repeats, name)
        rows.append((name, t, note))

    assert fit is not None
    rel = abs(fit.nested_loglik() - res.loglikelihood) / abs(res.loglikelihood)
    print(f"S&P 500, {len(r)} returns; torch {torch.__version__} on {threads} thread(s), "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; median of {repeats} runs\n")
    cpu_arch = CPU["arch GARCH(1,1)-t fit"]
    print(f"{'model':<48}{'wall s':>9}{'x arch':>8}{'CPU s':>9}{'x arch':>8}  notes")
    print("-" * 120)
    for name, sec, note in rows:
        c = CPU.get(name, float("nan"))
        print(f"{name:<48}{sec:>9.4f}{sec / t_arch:>8.1f}{c:>9.4f}{c / cpu_arch:>8.1f}  {note}")
    print(f"\nnesting: |nested_loglik - arch loglik| / |arch loglik| = {rel:.2e}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    main(a.repeats, a.threads)
