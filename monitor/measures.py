r"""The risk measures of one assessment the portfolio engine does not provide.

Conventions: P&L in USD, positive = gain; VaR and ES are positive loss numbers.

- :func:`var_by_method`: VaR 95/99 and ES 95/99 of the book's P&L over the historical
  scenarios, one entry per method. ``historical`` is the portfolio engine's
  :func:`hybridrisk.portfolio.risk_measures.var_es` (the ``ceil(n (1 - alpha))``-th largest
  loss and the mean of that tail), so the monitor's historical VaR is the batch engine's
  number; the time-series methods (filtered historical, normal, Student-t, EWMA on the book's
  P&L series) go through :func:`baselines.var.var_es` (on the P&L in units of its standard
  deviation, scaled back). The LNN-GARCH method lives in :mod:`monitor.hybrid_var`.
- :func:`concentration`: shares of gross value :math:`s_i = |v_i| / \sum_j |v_j|`; the largest,
  the Herfindahl index :math:`\sum_i s_i^2`, and each sector's share.
- :func:`liquidity`: days to liquidate :math:`|q_i| / (\text{participation}\cdot ADV_i)` where an
  average daily volume is known, else the position's own ``liquidity_days``; the liquidity
  score is the share of gross value that can be sold within one day; the exogenous liquidity
  cost of Bangia, Diebold, Schuermann and Stroughair (1999),
  :math:`LC = \tfrac12 \sum_i |v_i| (\bar s_i + a\,\sigma_{s,i})`, with relative spread mean
  :math:`\bar s_i`, its volatility :math:`\sigma_{s,i}` and the tail factor ``a``; the
  liquidity-adjusted VaR is :math:`\mathrm{LVaR} = \mathrm{VaR} + LC`.

Euler volatility contributions and stress P&L come from the portfolio engine
(:func:`hybridrisk.portfolio.allocation.euler_contributions`, :mod:`monitor.stress`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from baselines.var import var_es
from hybridrisk.errors import DataValidationError
from hybridrisk.portfolio.risk_measures import var_es as empirical_var_es

__all__ = ["METHODS", "var_by_method", "concentration", "liquidity", "bangia_cost"]

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
    ``historical`` reads the empirical tail of the P&L (the portfolio engine's definition).
    For the other methods the series is divided by its standard deviation before it reaches
    the model and the results are multiplied back: every method is positively homogeneous,
    and the GARCH fit of filtered HS converges best on numbers of order one.
    """
    if method not in METHODS:
        raise DataValidationError("method", f"unknown VaR method {method!r}; known: {METHODS}")
    if method == "historical":
        (v95, e95), (v99, e99) = (empirical_var_es(np.asarray(pnl, float), lv)
                                  for lv in (0.95, 0.99))
        return {"var_95": v95, "var_99": v99, "es_95": e95, "es_99": e99}
    unit = float(np.std(np.asarray(pnl, float), ddof=1))
    if not unit > 0:
        raise DataValidationError("positive", "the book's scenario P&L has no variation",
                                  column="pnl")
    frame = var_es(pnl / unit, method=method, levels=(0.95, 0.99))
    return {"var_95": float(frame.loc[0.95, "VaR"]) * unit,
            "var_99": float(frame.loc[0.99, "VaR"]) * unit,
            "es_95": float(frame.loc[0.95, "ES"]) * unit,
            "es_99": float(frame.loc[0.99, "ES"]) * unit}


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
