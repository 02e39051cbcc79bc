"""Options priced per second: the vectorised torch pricers against QuantLib's engines.

Side by side in one process, ``torch.set_num_threads(2)`` (``--threads``), float64:

- Black-Scholes European options: :func:`hybridrisk.pricing.options.black_scholes` on one
  batch against ``AnalyticEuropeanEngine`` in a Python loop
  (:func:`hybridrisk.pricing.quantlib_options.quantlib_black_scholes`, prices only: one
  ``VanillaOption`` per option, the process and engine reused through its quotes);
- the same torch batch with delta, gamma, vega, vanna and volga by autograd (torch only);
- European swaptions on the 2016-02-29 EUR curves (Bachelier): ``TorchSwaptions.price``,
  forward swap rates and annuities recomputed from the curves' discount factors on every call,
  against ``BachelierSwaptionEngine`` in a loop
  (:func:`~hybridrisk.pricing.quantlib_options.quantlib_swaptions`, one swap and swaption
  built per option, as a revaluation loop would);
- swaption DV01 off the curves' market quotes: :class:`~hybridrisk.pricing.curve_risk.
  QuoteRisk` (a tenth of the torch batch, every quote's bucket by autograd through the
  bootstrap) against :func:`~hybridrisk.pricing.quantlib_risk.quantlib_quote_dv01` (a tenth of
  the QuantLib loop, parallel DV01: four re-bootstraps and repricings), and the largest
  relative difference of the parallel DV01s.

Each timing is the median of ``--repeats`` runs after two warm-up runs (the best run in
brackets: the machine is shared), torch and QuantLib runs interleaved so that both see the same
load; the ratio is torch's options per second over QuantLib's.
Inputs are validated in the torch calls (``check=True``).

Command (the recorded run)::

    .venv/bin/python benchmarks/option_pricing.py

``--quick``: smaller batches and 3 repeats, a smoke run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import QuantLib as ql  # noqa: E402

from hybridrisk.pricing.curve_risk import QuoteRisk  # noqa: E402
from hybridrisk.pricing.eur_curves import bootstrap_eur_curves  # noqa: E402
from hybridrisk.pricing.options import TorchSwaptions, black_scholes, option_greeks  # noqa: E402
from hybridrisk.pricing.quantlib_options import (  # noqa: E402
    SwaptionLegs,
    quantlib_black_scholes,
    quantlib_swaptions,
    swaption_legs,
)
from hybridrisk.pricing.quantlib_risk import quantlib_quote_dv01  # noqa: E402

Timing = tuple[float, float]  # (median, best) seconds


def timed(*fns: Callable[[], object], repeats: int) -> list[Timing]:
    """Median and best time of each function; runs interleaved, so both see the same load."""
    for _ in range(2):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [(statistics.median(t), min(t)) for t in times]


def bs_inputs(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 3651, n)
    t = days / 365.0
    spot, vol = rng.uniform(20, 200, n), rng.uniform(0.05, 0.8, n)
    rate, div = rng.uniform(-0.01, 0.08, n), rng.uniform(-0.01, 0.05, n)
    strike = spot * np.exp((rate - div) * t + rng.uniform(-2, 2, n) * vol * np.sqrt(t))
    return {"spot": spot, "strike": strike, "days": days, "expiry": t, "vol": vol,
            "rate": rate, "dividend": div, "call": rng.random(n) < 0.5}


def repeat_legs(legs: SwaptionLegs, idx: np.ndarray) -> SwaptionLegs:
    fields = {k: [getattr(legs, k)[i] for i in idx] for k in SwaptionLegs.__dataclass_fields__
              if k != "expiry"}
    return SwaptionLegs(expiry=legs.expiry[idx], **fields)


def row(name: str, n_torch: int, t_torch: Timing, n_ql: int | None = None,
        t_ql: Timing | None = None) -> str:
    """Median figures, the best run's in brackets."""
    rate = [n_torch / t for t in t_torch]
    out = (f"| {name} | {n_torch:,} | {t_torch[0] * 1e3:.1f} ({t_torch[1] * 1e3:.1f}) | "
           f"{rate[0]:,.0f} ({rate[1]:,.0f}) |")
    if n_ql is None or t_ql is None:
        return out + " - | - | - | - |"
    ql_rate = [n_ql / t for t in t_ql]
    return out + (f" {n_ql:,} | {t_ql[0] * 1e3:.1f} ({t_ql[1] * 1e3:.1f}) | "
                  f"{ql_rate[0]:,.0f} ({ql_rate[1]:,.0f}) | {rate[0] / ql_rate[0]:,.0f} "
                  f"({rate[1] / ql_rate[1]:,.0f}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-torch", type=int, default=100_000)
    ap.add_argument("--n-quantlib", type=int, default=2_000)
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.n_torch, args.n_quantlib = 3, 20_000, 400
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), QuantLib "
          f"{ql.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"1-min load {os.getloadavg()[0]:.2f}")
    print(f"median of {args.repeats} runs after 2 warm-ups (best run in brackets)\n")
    lines = ["| pricer | torch batch | torch ms | torch options/s | QuantLib loop | QuantLib ms "
             "| QuantLib options/s | ratio |", "|---|---:|---:|---:|---:|---:|---:|---:|"]

    x = bs_inputs(args.n_torch, seed=1)
    tt = {k: torch.as_tensor(x[k]) for k in ("spot", "strike", "expiry", "vol", "rate",
                                              "dividend", "call")}
    n_ql = args.n_quantlib
    t_torch, t_greeks, t_ql = timed(
        lambda: black_scholes(tt["spot"], tt["strike"], tt["expiry"], tt["vol"], tt["rate"],
                              tt["dividend"], call=tt["call"]),
        lambda: option_greeks(black_scholes, "spot", spot=tt["spot"], strike=tt["strike"],
                              expiry=tt["expiry"], vol=tt["vol"], rate=tt["rate"],
                              dividend=tt["dividend"], call=tt["call"]),
        lambda: quantlib_black_scholes(
            x["spot"][:n_ql], x["strike"][:n_ql], x["days"][:n_ql], x["vol"][:n_ql],
            x["rate"][:n_ql], x["dividend"][:n_ql], x["call"][:n_ql], greeks=False),
        repeats=args.repeats)
    lines.append(row("Black-Scholes price", args.n_torch, t_torch, n_ql, t_ql))
    lines.append(row("Black-Scholes price + 5 greeks (autograd)", args.n_torch, t_greeks))

    curves = bootstrap_eur_curves()
    atm = curves.atm_swaptions()
    base = swaption_legs(curves, atm.expiry, atm.tenor)
    rng = np.random.default_rng(2)
    idx = rng.integers(0, len(atm), args.n_torch)
    book = TorchSwaptions(repeat_legs(base, idx))
    fwd, t = atm.forward.to_numpy()[idx], atm.expiry_time.to_numpy()[idx]
    vol = rng.uniform(0.001, 0.008, args.n_torch)
    strike = fwd + rng.uniform(-2, 2, args.n_torch) * vol * np.sqrt(t)
    payer = rng.random(args.n_torch) < 0.5
    k_t, v_t, p_t = torch.as_tensor(strike), torch.as_tensor(vol), torch.as_tensor(payer)
    e, ten = atm.expiry.to_numpy()[idx[:n_ql]], atm.tenor.to_numpy()[idx[:n_ql]]
    t_torch, t_ql = timed(
        lambda: book.price(k_t, v_t, payer=p_t),
        lambda: quantlib_swaptions(curves, e, ten, strike[:n_ql], vol[:n_ql],
                                   payer=payer[:n_ql]),
        repeats=args.repeats)
    lines.append(row("Bachelier swaption on EUR curves", args.n_torch, t_torch, n_ql, t_ql))

    risk = QuoteRisk(curves)
    n_dv, n_qd = args.n_torch // 10, n_ql // 10
    book_dv = TorchSwaptions(repeat_legs(base, idx[:n_dv]))
    args_dv = (k_t[:n_dv], v_t[:n_dv])
    args_qd = (e[:n_qd], ten[:n_qd], strike[:n_qd], vol[:n_qd])
    t_torch, t_ql = timed(
        lambda: risk.swaption_dv01(book_dv, *args_dv, payer=p_t[:n_dv]),
        lambda: quantlib_quote_dv01(*args_qd, payer=payer[:n_qd]),
        repeats=args.repeats)
    lines.append(row("Swaption DV01 off the curve quotes (torch: all 25 quote buckets by "
                     "autograd; QuantLib: parallel, 4 re-bootstraps)", n_dv, t_torch, n_qd,
                     t_ql))
    ours = risk.swaption_dv01(book_dv, *args_dv, payer=p_t[:n_dv]).sum(-1).numpy()[:n_qd]
    ref = quantlib_quote_dv01(*args_qd, payer=payer[:n_qd])
    print("\n".join(lines))
    print(f"\nparallel quote DV01, torch vs QuantLib re-bootstrap on {n_qd} swaptions: "
          f"largest relative difference {np.max(np.abs(ours / ref - 1)):.1e}")


if __name__ == "__main__":
    main()
