"""Is a failed VaR backtest a matter of level or of timing? The scaling frontier of a VaR path.

A validator whose VaR fails a coverage test wants to know whether a recalibration of its
level (a multiplier, as the Basel plus factor applies) would repair it, or whether the
exceptions fall on the wrong days. Multiplying the VaR path ``v_t`` by a constant ``k > 0``
makes the exceptions the days with ``loss_t / v_t > k``; only the ``n + 1`` thresholds between
the sorted ratios give distinct hit sequences, so every scale can be scored exactly, without a
grid.

Conventions as in :mod:`validation.backtests`: ``returns`` are P&L (a loss is negative),
``var`` is a positive loss number, ``p`` the tail probability.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from validation.backtest_inputs import _as_float, _check_lengths, _check_prob
from validation.backtests import christoffersen_cc, kupiec_pof

__all__ = ["var_scaling_frontier", "passing_scales", "nearest_passing_scale", "scale_entry",
           "describe_scale", "scaling_figure", "SCALE_COLUMN", "SCALE_NOTE"]

#: the backtest tables' column for :func:`nearest_passing_scale`
SCALE_COLUMN = "passing scale"
#: what that column means, for the tables' captions
SCALE_NOTE = ("passing scale: the constant multiple of the VaR nearest to 1 under which both "
              "Kupiec and Christoffersen CC pass at 5% (1 where the VaR passes as forecast; "
              "empty where no multiple does: the exceptions cluster, so the timing and not the "
              "level is wrong)")


def var_scaling_frontier(returns: Any, var: Any, p: float) -> pd.DataFrame:
    """Kupiec POF and Christoffersen CC p-values of ``k * var`` for every distinct ``k``.

    Parameters
    ----------
    returns
        Realised P&L, one per day.
    var
        The VaR forecast for each day, a positive loss number.
    p
        Tail probability of the VaR (0.01 for 99%).

    Returns
    -------
    DataFrame
        One row per reachable exception count ``exceptions`` (the days with the largest
        ``-returns / var``), with the half-open range of scales ``k_low <= k < k_high`` that
        produces exactly that hit sequence (a day is an exception when its loss exceeds
        ``k * var`` strictly), ``Kupiec p`` and ``CC p``. ``k = 1`` is the VaR as
        forecast. Counts that ties between ratios make unreachable are left out.
    """
    r = _as_float(returns, "returns")
    v = _as_float(var, "var", positive=True)
    _check_lengths(returns=r, var=v)
    p = _check_prob(p)
    q = -r / v
    order = np.argsort(-q, kind="stable")
    qs = q[order]
    hits = np.zeros(q.size, dtype=bool)
    rows = []
    for m in range(q.size + 1):
        if m:
            hits[order[m - 1]] = True
        k_high = np.inf if m == 0 else qs[m - 1]
        k_low = qs[m] if m < q.size else 0.0
        if k_high <= k_low:  # tied ratios: the count is skipped over
            continue
        rows.append({"exceptions": m, "k_low": max(k_low, 0.0), "k_high": k_high,
                     "Kupiec p": kupiec_pof(hits, p).pvalue,
                     "CC p": christoffersen_cc(hits, p).pvalue})
    out = pd.DataFrame(rows)
    # a non-positive threshold is no scale: k > 0 never makes a profit an exception
    return out[out.k_high > 0].reset_index(drop=True)


def passing_scales(frontier: pd.DataFrame, size: float = 0.05) -> pd.DataFrame:
    """The rows of :func:`var_scaling_frontier` where both tests pass at ``size``."""
    size = _check_prob(size, "size")
    ok = (frontier["Kupiec p"] >= size) & (frontier["CC p"] >= size)
    return frontier[ok]


def nearest_passing_scale(returns: Any, var: Any, p: float, size: float = 0.05) -> float:
    """The multiple ``k`` of the VaR nearest to 1 under which Kupiec and CC both pass.

    Returns 1.0 when the VaR passes as forecast, NaN when no ``k > 0`` passes. Each passing
    range is half-open, ``[k_low, k_high)``: a range above 1 is reported by its lower end,
    which passes, a range below 1 by its upper end, which does not (any ``k`` just below it
    passes).
    """
    ok = passing_scales(var_scaling_frontier(returns, var, p), size)
    if ok.empty:
        return float("nan")
    if ((ok.k_low <= 1.0) & (1.0 < ok.k_high)).any():
        return 1.0
    above, below = ok.k_low[ok.k_low > 1.0], ok.k_high[ok.k_high <= 1.0]
    best_above = above.min() if len(above) else np.inf
    best_below = below.max() if len(below) else -np.inf
    return float(best_above if best_above - 1.0 <= 1.0 - best_below else best_below)


def _has_frontier(var: Any) -> bool:
    """A multiple moves a negative VaR the other way: only positive, finite paths scale."""
    v = np.asarray(var, dtype=float)
    return bool(np.all(np.isfinite(v)) and np.all(v > 0))


def scale_entry(returns: Any, var: Any, p: float) -> float:
    """:func:`nearest_passing_scale` for a backtest table's row.

    A VaR path that is not positive and finite on every day has no scale in this sense, so
    its entry is NaN, like a path no multiple repairs.
    """
    return nearest_passing_scale(returns, var, p) if _has_frontier(var) else float("nan")


def describe_scale(scale: float) -> str:
    """A backtest finding's words for a :data:`SCALE_COLUMN` entry."""
    if not np.isfinite(scale):
        return ("no constant multiple of the VaR passes both tests: the exceptions fall on the "
                "wrong days, not in the wrong number")
    if scale == 1.0:
        return "the VaR as forecast passes both tests"
    if scale > 1.0:
        return (f"the VaR raised {scale:.3f}-fold passes both tests: the level is wrong, not "
                "the timing")
    return (f"the VaR lowered to just under {scale:.3f} of its level passes both tests: the "
            "level is wrong, not the timing")


def scaling_figure(returns: pd.Series, var: dict[str, pd.Series], level: float = 0.99) -> Any:
    """The report figure of :func:`var_scaling_frontier` for each model's VaR at ``level``.

    Paths that are not positive and finite on every day have no frontier and are left out of
    the figure (their table entry is NaN, see :func:`scale_entry`).
    """
    from validation.report.figures import var_scaling

    r = np.asarray(returns, dtype=float)
    fronts = {name: var_scaling_frontier(r, v, 1.0 - level) for name, v in var.items()
              if _has_frontier(v)}
    return var_scaling(fronts, title=f"{level:.0%} VaR scaled by k (k = 1: as forecast)")
