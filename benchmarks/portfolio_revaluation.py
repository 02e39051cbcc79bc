"""Full revaluation of a 1,000-instrument book on 10,000 scenarios: torch against QuantLib.

The book (seeded): 200 index positions and FX spots, 200 zero and coupon bonds, 200 swaps,
200 S&P 500 options and 200 swaptions, of random maturities, strikes and expiries, on the
2018-12-31 market of :mod:`hybridrisk.portfolio.factors`. The scenarios are one-day
historical-simulation draws (seeded) of the twelve risk factors.

- torch: :meth:`hybridrisk.portfolio.TorchBook.values` on all scenarios, ``chunk`` scenarios at
  a time, ``torch.set_num_threads`` threads (``--threads``, default 2), float64;
- QuantLib: :meth:`hybridrisk.portfolio.QuantLibBook.values`, every instrument's NPV after
  the scenario's quotes are set, in a Python loop. It is timed on a subset of ``--ql-scenarios``
  scenarios and scaled linearly to the full count (a QuantLib scenario costs the same whatever
  its values); the output says so.

Each timing is the median of ``--repeats`` runs after one warm-up. The largest difference
between the two engines on the QuantLib subset, over the position's size (|quantity| times the
index level or FX rate, or the notional; relative differences of far out-of-the-money options
worth 1e-10 say nothing), is printed beside the ratio.

Command::

    .venv/bin/python benchmarks/portfolio_revaluation.py

``--quick``: 100 instruments, 1,000 scenarios, a smoke run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import QuantLib as ql
import torch

from hybridrisk.portfolio import (
    HistoricalSimulation,
    QuantLibBook,
    TorchBook,
    factor_history,
    horizon_change,
    market_state,
    read_book,
)


def synthetic_book(n: int, spot: float, seed: int) -> list[dict]:
    """``n`` positions, a fifth of each family, seeded."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for i in range(n):
        kind = ("linear", "bond", "swap", "option", "swaption")[i % 5]
        row = {"id": f"P{i:05d}", "quantity": float(rng.uniform(-1, 1) * 1e6),
               "currency": "USD"}
        if kind == "linear":
            if i % 2:
                row.update(instrument="equity_index",
                           underlying=("SP500", "NASDAQ")[i % 4 == 1])
            else:
                row.update(instrument="fx_spot", currency=("EUR", "GBP", "JPY")[i % 3])
        elif kind == "bond":
            m = int(rng.integers(6, 361)) / 12
            if i % 2:
                row.update(instrument="zero_bond", maturity_years=m)
            else:
                row.update(instrument="fixed_bond", maturity_years=m,
                           coupon=float(rng.uniform(0.0, 0.06)))
        elif kind == "swap":
            row.update(instrument="swap", maturity_years=int(rng.integers(1, 31)),
                       fixed_rate=float(rng.uniform(0.01, 0.04)), payer=bool(i % 2))
        elif kind == "option":
            row.update(instrument="index_option", underlying="SP500",
                       strike=float(spot * rng.uniform(0.7, 1.3)),
                       expiry_days=int(rng.integers(7, 731)), call=bool(i % 2),
                       dividend_yield=0.019, quantity=float(rng.uniform(-1, 1) * 1e3))
        else:
            normal = bool(i % 2)
            row.update(instrument="swaption", expiry_years=int(rng.integers(3, 61)) / 12,
                       tenor_years=int(rng.integers(1, 11)),
                       strike=float(rng.uniform(0.015, 0.04)),
                       vol=0.006 if normal else 0.25, payer=bool(i % 3),
                       model="normal" if normal else "black", shift=0.0 if normal else 0.01)
        rows.append(row)
    return rows


def scale_of(ref: QuantLibBook) -> np.ndarray:
    """Per-position size: |quantity| times the index level or FX rate, or the notional."""
    m = ref.market
    out = []
    for p in ref.book:
        unit = 1.0
        if p.instrument in ("equity_index", "index_option"):
            unit = m.equities[p["underlying"]]
        elif p.instrument == "fx_spot":
            unit = m.fx[p.currency]
        out.append(abs(p.quantity) * unit)
    return np.array(out)


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), min(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instruments", type=int, default=1000)
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--ql-scenarios", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    a = ap.parse_args()
    if a.quick:
        a.instruments, a.scenarios, a.ql_scenarios, a.repeats = 100, 1000, 5, 1
    torch.set_num_threads(a.threads)
    hist = factor_history()
    market = market_state(hist)
    t0 = time.perf_counter()
    book = read_book(synthetic_book(a.instruments, market.equities["SP500"], seed=7))
    ref = QuantLibBook(book, market, hist.names)
    tb = TorchBook(ref)
    setup = time.perf_counter() - t0
    x = horizon_change(HistoricalSimulation(hist.changes).generate(a.scenarios, 1, seed=1))
    sub = x[: a.ql_scenarios]
    t_torch, t_torch_best = timed(lambda: tb.values(x, chunk=a.chunk), a.repeats)
    t_ql, t_ql_best = timed(lambda: ref.values(sub), a.repeats)
    scaled = t_ql * a.scenarios / a.ql_scenarios
    got, want = tb.values(sub).numpy(), ref.values(sub)
    rel = float(np.max(np.abs(got - want) / scale_of(ref)))
    out = {
        "instruments": a.instruments, "scenarios": a.scenarios, "threads": a.threads,
        "torch_s": t_torch, "torch_best_s": t_torch_best,
        "quantlib_subset_scenarios": a.ql_scenarios, "quantlib_subset_s": t_ql,
        "quantlib_scaled_s": scaled, "ratio": scaled / t_torch,
        "max_abs_diff_over_size_on_subset": rel, "setup_s": setup,
        "torch": torch.__version__, "quantlib": ql.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
    }
    print(f"{a.instruments} instruments x {a.scenarios} scenarios, {a.threads} threads")
    print(f"  torch full revaluation   {t_torch:8.3f} s (best {t_torch_best:.3f})")
    print(f"  QuantLib loop            {t_ql:8.3f} s for {a.ql_scenarios} scenarios, scaled to "
          f"{scaled:.1f} s for {a.scenarios}")
    print(f"  ratio QuantLib / torch   {scaled / t_torch:8.1f}x")
    print(f"  max |torch - QuantLib| / position size on the QuantLib subset: {rel:.2e}")
    print(f"  book setup (QuantLib instruments, cash-flow extraction): {setup:.1f} s")
    if a.out:
        a.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
