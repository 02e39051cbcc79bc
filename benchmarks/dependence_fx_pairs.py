"""Which ECB currency pairs the dependence campaign is run on, chosen before any of them is run.

The rule uses the training span only. Take the nine floating G10 currencies that the ECB quotes
(USD JPY GBP CHF SEK NOK AUD CAD NZD). Score every pair by the standard deviation of its 250-day
rolling Kendall's tau of daily log returns, sampled every 21 days over the ten years before the
out-of-sample period (the last ``--oos`` days). A pair whose dependence moves more gives a dynamic
copula more to find. The default pair (USD, GBP) has already been run, so it is left out, and the
``--top`` highest-scoring pairs are taken. Holm's correction is then applied over those pairs and
the default pair together (benchmarks/RESULTS.md, "Four currency pairs").

    .venv/bin/python benchmarks/dependence_fx_pairs.py --oos 1000 --top 3
    .venv/bin/python benchmarks/dependence_fx_pairs.py --summarise DIR [DIR ...]

``--summarise`` reads the report tables of finished campaigns (one ``--out`` folder per pair).
For each pair it compares the challenger with the better of GAS-t and Patton-t on the
out-of-sample log score (the dynamic classical copulas the goal names). It gives that one-sided
DM p-value and Holm's correction over the pairs, and the challenger's 99% VaR backtest.
"""
from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from hybridrisk import datasets
from validation.evidence import holm

FLOATING_G10 = ("USD", "JPY", "GBP", "CHF", "SEK", "NOK", "AUD", "CAD", "NZD")
DEFAULT_PAIR = ("USD", "GBP")


def rolling_tau_spread(x: np.ndarray, y: np.ndarray, window: int = 250, step: int = 21) -> float:
    """Standard deviation of the rolling-window Kendall's tau of ``x`` and ``y``."""
    taus = [kendalltau(x[i - window:i], y[i - window:i])[0]
            for i in range(window, len(x) + 1, step)]
    return float(np.std(taus))


def score_pairs(oos: int, years: int = 10) -> pd.DataFrame:
    """Every pair's rolling-tau spread over the ``years`` before the last ``oos`` days."""
    returns = 100.0 * np.log(datasets.ecb_fx(list(FLOATING_G10))).diff().iloc[1:]
    start = returns.index[-oos]
    train = returns.loc[returns.index < start]
    train = train.loc[train.index >= train.index[-1] - pd.DateOffset(years=years)]
    rows = [(a, b, rolling_tau_spread(train[a].to_numpy(), train[b].to_numpy()))
            for a, b in itertools.combinations(FLOATING_G10, 2)]
    out = pd.DataFrame(rows, columns=["first", "second", "sd_rolling_tau"])
    out.attrs["span"] = (train.index[0].date(), train.index[-1].date(), start.date())
    return out.sort_values("sd_rolling_tau", ascending=False, ignore_index=True)


def summarise(outs: list[Path], challenger: str = "LNN-GAS-t",
              dynamic: tuple[str, ...] = ("GAS-t", "Patton-t")) -> pd.DataFrame:
    """One row per campaign folder: the challenger against the best dynamic classical copula."""
    rows = []
    for out in outs:
        tables = out / "tables"
        scores = pd.read_csv(tables / "log-scores.csv").set_index("model")["mean log score"]
        dm = pd.read_csv(tables / "diebold-mariano.csv")
        var = pd.read_csv(tables / "var-backtests.csv")
        best = max(dynamic, key=lambda m: scores[m])
        test = dm[(dm["challenger"] == challenger) & (dm["champion"] == best)].iloc[0]
        bt = var[(var["model"] == challenger) & np.isclose(var["level"], 0.99)].iloc[0]
        rows.append({"campaign": out.name, "challenger": float(scores[challenger]),
                     "best dynamic": best, "champion": float(scores[best]),
                     "DM p": float(test["p challenger better"]),
                     "99% exceptions": int(bt["exceptions"]), "Kupiec p": float(bt["Kupiec p"]),
                     "CC p": float(bt["Christoffersen CC p"])})
    table = pd.DataFrame(rows)
    table["DM p (Holm over pairs)"] = holm(table["DM p"].to_numpy())
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oos", type=int, default=1000)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--summarise", nargs="+", type=Path, metavar="DIR")
    args = parser.parse_args()
    if args.summarise:
        print(summarise(args.summarise).to_string(index=False, float_format="%.4f"))
        return
    scores = score_pairs(args.oos)
    first, last, start = scores.attrs["span"]
    print(f"scored on {first}..{last}; the out-of-sample period starts {start}")
    print(scores.to_string(index=False, float_format="%.4f"))
    chosen = [(a, b) for a, b in zip(scores["first"], scores["second"], strict=True)
              if {a, b} != set(DEFAULT_PAIR)][: args.top]
    print("chosen:", " ".join(f"ecb_fx:{a},{b}" for a, b in chosen))


if __name__ == "__main__":
    main()
