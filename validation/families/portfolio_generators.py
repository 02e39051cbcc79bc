"""Scenario generators set against the data they imitate: the Neural SDE next to FHS.

:func:`generator_statistics` compares simulated daily factor changes with the history:

- marginal quantiles (1, 5, 50, 95, 99%) of every factor, the error in units of the factor's
  historical standard deviation (mean and worst over factors and levels);
- autocorrelation of absolute changes at lags 1, 5 and 20 (mean over factors; over paths for
  the simulation): volatility clustering;
- cross-correlations (largest absolute error over the factor pairs) and the lower-tail
  dependence of the two equity indices, ``P(U_2 < 5% | U_1 < 5%)`` of their ranks;
- the energy distance (Szekely & Rizzo 2004) between the standardised daily vectors of the
  history and of the simulation, ``2 E|X - Y| - E|X - X'| - E|Y - Y'|``, with its permutation
  p-value (``(1 + #{E* >= E}) / (B + 1)``); it treats the days as exchangeable, which the
  history's volatility clustering only approximates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from hybridrisk.errors import DataValidationError

__all__ = ["QUANTILES", "LAGS", "energy_distance_test", "generator_statistics",
           "generator_table"]

QUANTILES = (0.01, 0.05, 0.5, 0.95, 0.99)
LAGS = (1, 5, 20)
TAIL = 0.05


def energy_distance_test(x: np.ndarray, y: np.ndarray, *, n_perm: int = 199, seed: int = 0
                         ) -> tuple[float, float]:
    """Energy distance of two samples of vectors (rows) and its permutation p-value."""
    x, y = np.atleast_2d(x), np.atleast_2d(y)
    if x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise DataValidationError("shape", f"samples must share their columns and have >= 2 "
                                  f"rows, got {x.shape} and {y.shape}")
    d = cdist(np.vstack([x, y]), np.vstack([x, y]))
    n = len(x)

    def stat(a: np.ndarray) -> float:
        ia, ib = a[:n], a[n:]
        return float(2 * d[np.ix_(ia, ib)].mean() - d[np.ix_(ia, ia)].mean()
                     - d[np.ix_(ib, ib)].mean())

    idx = np.arange(len(d))
    observed = stat(idx)
    rng = np.random.default_rng(seed)
    perm = [stat(rng.permutation(idx)) for _ in range(int(n_perm))]
    return observed, (1 + sum(p >= observed for p in perm)) / (n_perm + 1)


def _acf_abs(x: np.ndarray, lag: int) -> float:
    """Mean over columns of the lag-``lag`` autocorrelation of ``|x|`` (rows are days)."""
    a = np.abs(x)
    a = a - a.mean(axis=0)
    return float(np.mean((a[lag:] * a[:-lag]).sum(axis=0) / (a * a).sum(axis=0)))


def _tail_dependence(u: np.ndarray, v: np.ndarray) -> float:
    ru = pd.Series(u).rank(pct=True).to_numpy()
    rv = pd.Series(v).rank(pct=True).to_numpy()
    low = ru <= TAIL
    return float((rv[low] <= TAIL).mean()) if low.any() else float("nan")


def _describe(days: np.ndarray, paths: list[np.ndarray], names: list[str]) -> dict[str, float]:
    out = {f"ACF |x| lag {k}": float(np.mean([_acf_abs(p, k) for p in paths])) for k in LAGS}
    if "equity:SP500" in names and "equity:NASDAQ" in names:
        i, j = names.index("equity:SP500"), names.index("equity:NASDAQ")
        out["tail dependence S&P 500 / NASDAQ (5%)"] = _tail_dependence(days[:, i], days[:, j])
    return out


def generator_statistics(real: pd.DataFrame, paths: np.ndarray, *, seed: int = 0,
                         n_energy: int = 500, n_perm: int = 199) -> dict[str, float]:
    """Statistics of simulated ``paths`` (n_paths, T, k) against the history ``real`` (T', k)."""
    x = real.to_numpy(float)
    sim = np.asarray(paths, float)
    if sim.ndim != 3 or sim.shape[2] != x.shape[1]:
        raise DataValidationError("shape", f"paths must be (n_paths, T, {x.shape[1]}), got "
                                  f"{sim.shape}")
    names = list(real.columns)
    days = sim.reshape(-1, x.shape[1])
    sd = x.std(axis=0, ddof=1)
    q_err = np.abs(np.quantile(days, QUANTILES, axis=0) - np.quantile(x, QUANTILES, axis=0)) / sd
    corr_err = np.abs(np.corrcoef(days, rowvar=False) - np.corrcoef(x, rowvar=False))
    rng = np.random.default_rng(seed)
    xs = x[rng.choice(len(x), size=min(n_energy, len(x)), replace=False)]
    ys = days[rng.choice(len(days), size=min(n_energy, len(days)), replace=False)]
    energy, p = energy_distance_test(xs / sd, ys / sd, n_perm=n_perm, seed=seed)
    return {"quantile error, mean (sd units)": float(q_err.mean()),
            "quantile error, worst (sd units)": float(q_err.max()),
            **_describe(days, list(sim), names),
            "correlation error, worst pair": float(corr_err.max()),
            "energy distance": energy, "energy distance p-value": p}


def generator_table(real: pd.DataFrame, simulated: Mapping[str, np.ndarray], *, seed: int = 0,
                    n_energy: int = 500, n_perm: int = 199) -> pd.DataFrame:
    """One column per generator and one for the history's own statistics (where they exist)."""
    cols = {name: generator_statistics(real, p, seed=seed, n_energy=n_energy, n_perm=n_perm)
            for name, p in simulated.items()}
    data = _describe(real.to_numpy(float), [real.to_numpy(float)], list(real.columns))
    table = pd.DataFrame({"history": pd.Series(data), **{k: pd.Series(v) for k, v in
                                                       cols.items()}})
    order = list(next(iter(cols.values())))
    return table.loc[order]
