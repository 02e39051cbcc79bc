r"""The risk measures of one assessment, as plain functions of the book's scenario P&L.

Conventions: P&L in USD, positive = gain; VaR and ES are positive loss numbers (the sign
convention of :mod:`baselines.var`).

- :func:`var_by_method`: VaR 95/99 and ES 95 of the book's P&L over the historical scenarios,
  one entry per method, each through :func:`baselines.var.var_es` (on the P&L in units of its
  standard deviation, scaled back).
- :func:`euler_volatility`: the book's P&L volatility :math:`\sigma_p` (sample standard
  deviation over the scenarios, ``ddof=1``) and each position's Euler contribution
  :math:`c_i = \mathrm{cov}(L_i, L_p)/\sigma_p = w_i\,\partial\sigma_p/\partial w_i`, which sum
  to :math:`\sigma_p` exactly.
- :func:`concentration`: shares of gross value :math:`s_i = |v_i| / \sum_j |v_j|`; the largest,
  the Herfindahl index :math:`\sum_i s_i^2`, and each sector's share.
- :func:`liquidity`: days to liquidate :math:`|q_i| / (\text{participation}\cdot ADV_i)` where an
  average daily volume is known, else the position's own ``liquidity_days``; the liquidity
  score is the share of gross value that can be sold within one day; the exogenous liquidity
  cost of Bangia, Diebold, Schuermann and Stroughair (1999),
  :math:`LC = \tfrac12 \sum_i |v_i| (\bar s_i + a\,\sigma_{s,i})`, with relative spread mean
  :math:`\bar s_i`, its volatility :math:`\sigma_{s,i}` and the tail factor ``a``; the
  liquidity-adjusted VaR is :math:`\mathrm{LVaR} = \mathrm{VaR} + LC`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from baselines.var import var_es
from hybridrisk.errors import DataValidationError

__all__ = ["METHODS", "var_by_method", "euler_volatility", "concentration", "liquidity",
           "bangia_cost"]

#: VaR methods the monitor knows, by the name :func:`baselines.var.var_es` gives them.
METHODS: tuple[str, ...] = ("historical", "filtered-historical", "normal", "ewma", "t")


def var_by_method(pnl: pd.Series, method: str) -> dict[str, float]:
    """VaR 95 and 99 and ES 95 and 99 of a P&L series by one method, in the P&L's units.

    Parameters
    ----------
    pnl
        The book's P&L per historical scenario (USD), indexed by the scenario's date, oldest
        first (EWMA and filtered HS read it as a time series).
    method
        One of :data:`METHODS`.

    Notes
    -----
    The series is divided by its standard deviation before it reaches the model and the
    results are multiplied back: every method is positively homogeneous, and the GARCH fit of
    filtered HS converges best on numbers of order one.
    """
    if method not in METHODS:
        raise DataValidationError("method", f"unknown VaR method {method!r}; known: {METHODS}")
    unit = float(np.std(np.asarray(pnl, float), ddof=1))
    if not unit > 0:
        raise DataValidationError("positive", "the book's scenario P&L has no variation",
                                  column="pnl")
    frame = var_es(pnl / unit, method=method, levels=(0.95, 0.99))
    return {"var_95": float(frame.loc[0.95, "VaR"]) * unit,
            "var_99": float(frame.loc[0.99, "VaR"]) * unit,
            "es_95": float(frame.loc[0.95, "ES"]) * unit,
            "es_99": float(frame.loc[0.99, "ES"]) * unit}


def euler_volatility(pnl: np.ndarray) -> tuple[float, np.ndarray]:
    """The book's P&L volatility and each position's Euler contribution.

    Parameters
    ----------
    pnl
        Position P&L per scenario, shape (n_scenarios, n_positions).

    Returns
    -------
    tuple
        ``(sigma_p, contributions)``; the contributions sum to ``sigma_p``.
    """
    x = np.asarray(pnl, float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise DataValidationError("shape", f"need (n >= 2, positions) P&L, got {x.shape}")
    xc = x - x.mean(axis=0)
    book = xc.sum(axis=1)
    var = float(book @ book) / (x.shape[0] - 1)
    sigma = float(np.sqrt(var))
    if sigma == 0.0:
        return 0.0, np.zeros(x.shape[1])
    contrib = (book @ xc) / (x.shape[0] - 1) / sigma
    return sigma, contrib


def concentration(values: np.ndarray, sectors: Sequence[str]) -> dict[str, object]:
    """Largest position share, Herfindahl index and sector shares of gross value."""
    v = np.abs(np.asarray(values, float))
    gross = float(v.sum())
    if not gross > 0:
        raise DataValidationError("positive", "the book's gross value is zero", column="value")
    share = v / gross
    sect = pd.Series(share).groupby(np.asarray(sectors, dtype=object)).sum()
    return {"shares": share, "largest_share": float(share.max()),
            "largest_position": int(np.argmax(share)), "herfindahl": float(share @ share),
            "sector_shares": {str(k): float(s) for k, s in sect.items()}}


def liquidity(values: np.ndarray, quantities: np.ndarray, adv: np.ndarray,
              fallback_days: np.ndarray, participation: float) -> dict[str, object]:
    """Days to liquidate each position and the book's liquidity score.

    Parameters
    ----------
    values, quantities
        Position values (USD) and quantities.
    adv
        Average daily volume per position in the position's units, NaN where unknown.
    fallback_days
        Days to liquidate where no volume is known (the position's ``liquidity_days``).
    participation
        The share of the daily volume the book may trade, in (0, 1].
    """
    if not 0 < participation <= 1:
        raise DataValidationError("domain", f"participation {participation!r} must lie in "
                                  "(0, 1]", column="participation")
    q = np.abs(np.asarray(quantities, float))
    a = np.asarray(adv, float)
    known = np.isfinite(a) & (a > 0)
    days = np.where(known, q / np.where(known, participation * a, 1.0),
                    np.asarray(fallback_days, float))
    v = np.abs(np.asarray(values, float))
    gross = float(v.sum())
    score = float(v[days <= 1.0].sum() / gross) if gross > 0 else 1.0
    return {"days": days, "max_days": float(days.max()), "score": score,
            "from_volume": known}


def bangia_cost(values: np.ndarray, spread_mean: np.ndarray, spread_sd: np.ndarray,
                a: float) -> float:
    """Exogenous liquidity cost (Bangia et al. 1999) of selling the book, USD."""
    v = np.abs(np.asarray(values, float))
    return float(0.5 * np.sum(v * (np.asarray(spread_mean, float)
                                   + a * np.asarray(spread_sd, float))))
