"""Which ECB currency pairs the dependence campaign is run on, chosen before any of them is run.

The rule uses the training span only. Take the nine floating G10 currencies that the ECB quotes
(USD JPY GBP CHF SEK NOK AUD CAD NZD). Score every pair by the standard deviation of its 250-day
rolling Kendall's tau of daily log returns, sampled every 21 days over the ten years before the
out-of-sample period (the last ``--oos`` days). A pair whose dependence moves more gives a dynamic
copula more to find. The default pair (USD, GBP) has already been run, so it is left out, and the
``--top`` highest-scoring pairs are taken. Holm's correction is then applied over those pairs and
the default pair together (benchmarks/RESULTS.md, "Four currency pairs").

    .venv/bin/python benchmarks/dependence_fx_pairs.py --oos 1000 --top 3
"""
from __future__ import annotations

import argparse
import itertools

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from hybridrisk import datasets

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oos", type=int, default=1000)
    parser.add_argument("--top", type=int, default=3)
    args = parser.parse_args()
    scores = score_pairs(args.oos)
    first, last, start = scores.attrs["span"]
    print(f"scored on {first}..{last}; the out-of-sample period starts {start}")
    print(scores.to_string(index=False, float_format="%.4f"))
    chosen = [(a, b) for a, b in zip(scores["first"], scores["second"], strict=True)
              if {a, b} != set(DEFAULT_PAIR)][: args.top]
    print("chosen:", " ".join(f"ecb_fx:{a},{b}" for a, b in chosen))


if __name__ == "__main__":
    main()
