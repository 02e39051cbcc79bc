"""VaR and ES read off simulated P&L, the delta-gamma(-vega) approximation, and the risk table.

Definitions (losses ``L = -P&L``, ``n`` scenarios, level ``alpha``): the tail holds the
``m = ceil(n (1 - alpha))`` largest losses; VaR is the smallest of them (the m-th largest loss,
an upper empirical quantile) and ES their mean. Both are reported as positive losses. With
these definitions the Euler contributions of :mod:`hybridrisk.portfolio.allocation` sum to the
totals exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from hybridrisk.errors import ConfigError, DataValidationError

__all__ = ["LEVELS", "tail_indices", "var_es", "delta_gamma_pnl", "risk_table"]

LEVELS: tuple[float, ...] = (0.95, 0.975, 0.99)


def _check_pnl(pnl: np.ndarray) -> np.ndarray:
    x = np.asarray(pnl, float)
    if x.ndim != 1 or len(x) < 2:
        raise DataValidationError("shape", f"P&L must be a vector of >= 2 scenarios, got "
                                  f"shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise DataValidationError("finite", f"P&L is {x[bad[0]]!r}", row=int(bad[0]))
    return x


def tail_indices(pnl: np.ndarray, level: float) -> np.ndarray:
    """Indices of the ``ceil(n (1 - level))`` largest losses, largest first."""
    x = _check_pnl(pnl)
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level must lie in (0, 1), got {level}")
    m = max(1, math.ceil(len(x) * (1.0 - level) - 1e-9))
    order = np.argsort(x, kind="stable")  # most negative P&L first
    return order[:m]


def var_es(pnl: np.ndarray, level: float) -> tuple[float, float]:
    """VaR and ES (positive losses) of a P&L sample at ``level`` (see module docstring)."""
    tail = tail_indices(pnl, level)
    losses = -np.asarray(pnl, float)[tail]
    return float(losses[-1]), float(losses.mean())


def delta_gamma_pnl(grad: torch.Tensor | np.ndarray, hess: torch.Tensor | np.ndarray,
                    x: np.ndarray) -> np.ndarray:
    """Second-order P&L per scenario and position: ``g x + x' H x / 2``.

    ``grad`` (p, k) and ``hess`` (p, k, k) from
    :meth:`~hybridrisk.portfolio.revaluation.TorchBook.derivatives`; ``x`` (n, k) factor
    changes (the vol factor makes it delta-gamma-vega). Returns (n, p).
    """
    g, h = np.asarray(grad, float), np.asarray(hess, float)
    x = np.atleast_2d(np.asarray(x, float))
    return x @ g.T + 0.5 * np.einsum("nk,pkl,nl->np", x, h, x)


def risk_table(pnl_1d: np.ndarray, pnl_10d: np.ndarray | None = None,
               levels: Sequence[float] = LEVELS) -> pd.DataFrame:
    """VaR and ES by level: 1-day, 10-day from paths, and the square-root-of-time 10-day.

    Parameters
    ----------
    pnl_1d
        Book P&L over one day, one value per scenario.
    pnl_10d
        Book P&L over ten days (revalued at the end of simulated ten-day paths), or None.
    """
    rows = []
    for lv in levels:
        v1, e1 = var_es(pnl_1d, lv)
        row = {"level": lv, "VaR_1d": v1, "ES_1d": e1,
               "VaR_10d_sqrt": v1 * math.sqrt(10.0), "ES_10d_sqrt": e1 * math.sqrt(10.0)}
        if pnl_10d is not None:
            row["VaR_10d"], row["ES_10d"] = var_es(pnl_10d, lv)
        rows.append(row)
    return pd.DataFrame(rows).set_index("level")
