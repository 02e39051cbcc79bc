"""Stress tests: historical replay of named windows, hypothetical shocks, reverse stress.

A replay adds up the factors' daily changes over a window of the bundled history and revalues
the book under that total move (the "realised" P&L of the book held through the window, valued
off the window's market moves), beside the delta-gamma prediction and its split by factor.
Factors with no data in a window (equities and the implied vol after 2018) are held at zero
and listed. Hypothetical shocks are static shifts of the factors. A reverse stress finds the
smallest multiple ``t`` of a direction ``d`` at which the book loses at least a given amount:
the first breach on a grid of ``[0, t_max]``, refined by bisection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError, NumericalError
from hybridrisk.portfolio.allocation import factor_pnl

__all__ = ["WINDOWS", "replay", "hypothetical_shocks", "apply_shocks", "reverse_stress"]

#: name -> (first, last) date of the daily changes replayed, both included
WINDOWS: dict[str, tuple[str, str]] = {
    "2008-09/10": ("2008-09-01", "2008-10-31"),
    "2011-08": ("2011-08-01", "2011-08-31"),
    "2015-08-24": ("2015-08-24", "2015-08-24"),
    "2018-02-05": ("2018-02-05", "2018-02-05"),
    "2020-03": ("2020-03-01", "2020-03-31"),
    "2022": ("2022-01-01", "2022-12-31"),
}

Revalue = Callable[[np.ndarray], np.ndarray]


def replay(book_pnl: Revalue, grad: np.ndarray, hess: np.ndarray, changes: pd.DataFrame,
           windows: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Replay named windows of history through the book.

    Parameters
    ----------
    book_pnl
        Book P&L (full revaluation) of factor changes, (n, k) -> (n,).
    grad, hess
        Per-position derivatives at the base state, for the delta-gamma prediction.
    changes
        Daily factor changes (NaN where a factor has no data), e.g. the extended history.
    windows
        Name -> (first, last date); default :data:`WINDOWS`.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``days``, ``full``, ``delta_gamma``, the per-factor delta-gamma
        pieces and ``residual`` (they sum to ``full``), and ``held_at_zero``.
    """
    rows = []
    names = list(changes.columns)
    for name, (first, last) in (windows or WINDOWS).items():
        block = changes.loc[first:last]
        if block.empty:
            raise ConfigError(f"window {name!r} ({first}..{last}) lies outside the data "
                              f"({changes.index[0].date()}..{changes.index[-1].date()})")
        absent = [c for c in names if block[c].isna().all()]
        x = block.fillna(0.0).sum().to_numpy()[None, :]
        full = book_pnl(x)
        split = factor_pnl(grad, hess, x, full, names).iloc[0]
        rows.append({"window": name, "days": len(block), "full": float(full[0]),
                     "delta_gamma": float(split.drop("residual").sum()), **split.to_dict(),
                     "held_at_zero": ", ".join(absent)})
    return pd.DataFrame(rows).set_index("window")


def hypothetical_shocks(names: Sequence[str]) -> pd.DataFrame:
    """Named static shocks (rows) over the factors ``names`` (columns), in factor units.

    Flight to quality: equities -15%, implied vol x1.6, rates -50 bp, JPY +5% and the other
    currencies -3% against USD. Parallel shifts of +-100 bp; twists of +-25 bp at 1Y to -+25 bp
    at 30Y, linear in the tenor; USD +10% against every currency; an equity crash of -20% with
    implied vol doubled.
    """
    rate = {n: float(n.split(":")[1][:-1]) for n in names if n.startswith("rate:")}

    def shock(eq: float = 0.0, vol: float = 0.0, rates: Callable[[float], float] | None = None,
              fx: Callable[[str], float] | None = None) -> dict[str, float]:
        out = {}
        for n in names:
            kind, key = n.split(":")
            out[n] = {"equity": np.log1p(eq), "vol": np.log1p(vol),
                      "rate": rates(rate[n]) if rates and kind == "rate" else 0.0,
                      "fx": np.log1p(fx(key)) if fx and kind == "fx" else 0.0}[kind]
        return out

    bp = 1e-4
    span = max(rate.values(), default=30.0) - min(rate.values(), default=1.0)
    lo = min(rate.values(), default=1.0)
    table = {
        "flight to quality": shock(-0.15, 0.6, lambda k: -50 * bp,
                                   lambda c: 0.05 if c == "JPY" else -0.03),
        "parallel +100bp": shock(rates=lambda k: 100 * bp),
        "parallel -100bp": shock(rates=lambda k: -100 * bp),
        "steepener 25bp": shock(rates=lambda k: (-25 + 50 * (k - lo) / span) * bp),
        "flattener 25bp": shock(rates=lambda k: (25 - 50 * (k - lo) / span) * bp),
        "USD +10%": shock(fx=lambda c: 1 / 1.1 - 1),
        "equity crash": shock(-0.20, 1.0),
    }
    return pd.DataFrame(table).T[list(names)]


def apply_shocks(book_pnl: Revalue, shocks: pd.DataFrame) -> pd.Series:
    """Book P&L under each static shock (rows of ``shocks``)."""
    return pd.Series(book_pnl(shocks.to_numpy()), index=shocks.index, name="pnl")


def reverse_stress(book_pnl: Revalue, direction: np.ndarray, loss: float, *,
                   t_max: float = 10.0, grid: int = 65, tol: float = 1e-12
                   ) -> tuple[float, np.ndarray]:
    """Smallest ``t`` in ``(0, t_max]`` with ``-book_pnl(t d) >= loss``, and the shock ``t d``.

    Raises
    ------
    NumericalError
        If the loss is not reached on ``[0, t_max]``.
    """
    if loss <= 0:
        raise ConfigError(f"loss must be positive, got {loss}")
    d = np.asarray(direction, float)
    ts = np.linspace(0.0, t_max, grid)
    losses = -book_pnl(ts[:, None] * d[None, :])
    hit = np.flatnonzero(losses >= loss)
    if not len(hit):
        raise NumericalError(f"the loss {loss} is not reached along the direction up to "
                             f"t = {t_max} (largest loss {losses.max():.6g})")
    if hit[0] == 0:
        return 0.0, 0.0 * d
    lo, hi = ts[hit[0] - 1], ts[hit[0]]
    while hi - lo > tol * max(1.0, hi):
        mid = 0.5 * (lo + hi)
        if -book_pnl(mid * d[None, :])[0] >= loss:
            hi = mid
        else:
            lo = mid
    return float(hi), hi * d
