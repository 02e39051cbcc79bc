"""Euler allocation of volatility, VaR and ES to positions and to risk factors.

For a risk measure rho that is homogeneous of degree one in the position sizes, the Euler
contributions ``w_i d rho / d w_i`` sum to rho. On a P&L sample whose columns are the
positions' (or the factors') P&L:

- volatility: ``Cov(X_i, X) / sd(X)`` (``X`` the book's P&L);
- VaR: minus the component P&L in the scenario that is the VaR (the derivative of that order
  statistic, which does not move under a small change of the weights);
- ES: minus the mean component P&L over the tail scenarios of
  :func:`~hybridrisk.portfolio.risk_measures.tail_indices`.

Each sums to the total exactly (up to rounding); marginal VaR is the contribution per unit of
position, ``d VaR / d quantity``. Factor contributions come from the delta-gamma split of each
scenario's P&L into per-factor pieces, ``g_k x_k + x_k (H x)_k / 2``, plus a ``residual`` column
(full revaluation minus delta-gamma), so that they too sum to the full-revaluation totals.
:func:`delta_normal_contributions` is the closed form for a normal, linear book.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from hybridrisk.errors import DataValidationError
from hybridrisk.portfolio.risk_measures import tail_indices

__all__ = ["euler_contributions", "factor_pnl", "delta_normal_contributions"]


def euler_contributions(components: pd.DataFrame | np.ndarray, level: float,
                        quantities: Sequence[float] | None = None) -> pd.DataFrame:
    """Euler contributions of each column to the volatility, VaR and ES of the row sums.

    Parameters
    ----------
    components
        P&L per scenario (rows) and component (columns: positions or factors).
    level
        VaR/ES level.
    quantities
        Position quantities, for the marginal VaR (``d VaR / d quantity``); optional.

    Returns
    -------
    pandas.DataFrame
        Columns ``vol, VaR, ES`` (and ``marginal_VaR``), one row per component, plus a
        ``total`` row equal to the book's own volatility, VaR and ES.
    """
    # no copy of a large P&L matrix is made (the monitor calls this on 500 x 5,000 every
    # second): an array is read in place and the centring is done on the vectors
    x = components.to_numpy(float) if isinstance(components, pd.DataFrame) else \
        np.asarray(components, float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise DataValidationError("shape", f"components must be (n >= 2, p), got {x.shape}")
    names = components.columns if isinstance(components, pd.DataFrame) else None
    total = x.sum(axis=1)
    sd = total.std(ddof=1)
    d = total - total.mean()
    # (x - mean)' d = x' d - mean * sum(d); sum(d) is zero up to rounding
    vol = (x.T @ d - x.mean(axis=0) * d.sum()) / (len(total) - 1) / sd
    tail = tail_indices(total, level)
    var = -x[tail[-1]]
    es = -x[tail].mean(axis=0)
    out = pd.DataFrame({"vol": vol, "VaR": var, "ES": es}, index=names)
    if quantities is not None:
        q = np.asarray(quantities, float)
        if q.shape != (x.shape[1],):
            raise DataValidationError("shape", "one quantity per component is needed")
        out["marginal_VaR"] = np.divide(var, q, out=np.full_like(var, np.nan), where=q != 0)
    out.loc["total"] = {"vol": sd, "VaR": -total[tail[-1]], "ES": -total[tail].mean()}
    return out


def factor_pnl(grad: np.ndarray, hess: np.ndarray, x: np.ndarray, full: np.ndarray,
               names: Sequence[str]) -> pd.DataFrame:
    """Book P&L split by factor (delta-gamma pieces) plus the full-revaluation residual.

    ``grad`` (p, k), ``hess`` (p, k, k) per position, ``x`` (n, k) factor changes, ``full``
    (n,) the book's fully revalued P&L. The columns sum to ``full`` row by row.
    """
    g = np.asarray(grad, float).sum(axis=0)
    h = np.asarray(hess, float).sum(axis=0)
    x = np.atleast_2d(np.asarray(x, float))
    pieces = x * g + 0.5 * x * (x @ h.T)
    out = pd.DataFrame(pieces, columns=list(names))
    out["residual"] = np.asarray(full, float) - pieces.sum(axis=1)
    return out


def delta_normal_contributions(exposure: np.ndarray, cov: np.ndarray, level: float
                               ) -> tuple[float, np.ndarray]:
    """Delta-normal VaR ``z sd(e'X)`` of a linear book with exposures ``e`` (P&L = e'X, X
    zero-mean normal with covariance ``cov``) and its Euler contributions
    ``e_i (cov e)_i z / sd``."""
    e = np.asarray(exposure, float)
    s = float(np.sqrt(e @ cov @ e))
    z = float(norm.ppf(level))
    return z * s, e * (cov @ e) * z / s
