r"""Minimum-variance deltas from a GJR-GARCH volatility model's response to the spot.

A Black-Scholes delta at a model's volatility uses only the level of that volatility; the
option is marked at the implied vol, which moves with the index (down days raise it), and
that co-move is most of what a delta hedge leaves behind. The SABR-Bartlett delta adds the
co-move its ``rho`` and ``nu`` imply. This module adds the co-move a GJR-GARCH recursion
implies, with the recursion's parameters either fixed (GJR-GARCH-t) or those the hybrid
produces for the day (LNN-GARCH-t):

At the close of day ``t`` the model gives the next day's variance :math:`h_{t+1}` and the
parameters :math:`\omega, \alpha, \gamma, \beta, \nu` (the hybrid's for day ``t+1``, held one
more step as in its ``simulate``). For a next-day percent log return
:math:`r = \mu + \sqrt{h_{t+1}}\, z`, with ``z`` on a grid of ``n_grid`` equally spaced
quantiles of the unit-variance Student-t with :math:`\nu` degrees of freedom, the variance of
day ``t+2`` is :math:`h_{t+2}(r) = \omega + (\alpha + \gamma 1\{\epsilon < 0\}) \epsilon^2 +
\beta h_{t+1}`, :math:`\epsilon = r - \mu`. The implied vol is taken to move in proportion to
the model's average variance over the option's remaining life (persistence
:math:`\phi = \alpha + \gamma / 2 + \beta`):

.. math::

    \sigma^{imp}_{t+1}(r) = \sigma^{imp}_t \sqrt{\bar V_{t+1}(r) / \bar V_t},\qquad
    \bar V(h, m) = \frac1m \sum_{k=0}^{m-1}\Big(\omega \sum_{i<k} \phi^i + \phi^k h\Big),

with :math:`\bar V_t = \bar V(h_{t+1}, m)` over the ``m`` days left at ``t`` and
:math:`\bar V_{t+1}(r) = \bar V(h_{t+2}(r), m - 1)`. The delta is the slope of the least-squares
regression of the option's value change on the index's over the grid,
:math:`\mathrm{Cov}(\Delta C, \Delta S) / \mathrm{Var}(\Delta S)`, each scenario fully revalued
at Black-Scholes (zero rate and dividend). On the expiry day the option's value is its payoff
and no vol enters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from hybridrisk.errors import DataValidationError
from validation.families.bs_greeks import YEAR, bs_call

__all__ = ["DYNAMICS_COLUMNS", "average_variance", "min_variance_deltas", "t_grid"]

#: The columns a model's daily frame must hold: next-day variance and GJR parameters (arch's
#: names), for the forecast of each day.
DYNAMICS_COLUMNS = ("variance", "omega", "alpha[1]", "gamma[1]", "beta[1]", "nu", "mu")


def t_grid(nu: np.ndarray, n_grid: int) -> np.ndarray:
    """Unit-variance Student-t quantiles at ``(j - 1/2) / n_grid``, one row per ``nu``."""
    nu = np.asarray(nu, float)
    if (nu <= 2).any():
        bad = int(np.flatnonzero(nu <= 2)[0])
        raise DataValidationError("domain", f"nu = {nu[bad]:.4g} has no finite variance",
                                  column="nu", row=str(bad))
    p = (np.arange(n_grid) + 0.5) / n_grid
    return student_t.ppf(p[None, :], nu[:, None]) * np.sqrt((nu[:, None] - 2) / nu[:, None])


def average_variance(h: np.ndarray, m: np.ndarray, omega: np.ndarray, phi: np.ndarray
                     ) -> np.ndarray:
    """Mean of the variance forecasts over ``m`` days starting from next-day variance ``h``
    (one row per day; ``h`` may have trailing axes); 0 where ``m`` is 0.

    The forecasts follow the recursion's expectation ``E[h_{k+1}] = omega + phi E[h_k]``."""
    m = np.asarray(m, int)
    shape = (-1,) + (1,) * (np.ndim(h) - 1)
    m_, omega_, phi_ = (np.reshape(a, shape) for a in (m, omega, phi))
    total, x = np.zeros(np.shape(h)), np.asarray(h, float)
    for k in range(int(m.max(initial=0))):
        total = total + np.where(k < m_, x, 0.0)
        x = omega_ + phi_ * x
    return np.where(m_ > 0, total / np.maximum(m_, 1), 0.0)


def min_variance_deltas(s: np.ndarray, k: np.ndarray, days_left: np.ndarray,
                        implied: np.ndarray, model: pd.DataFrame, *,
                        n_grid: int = 201) -> np.ndarray:
    """The model's minimum-variance delta of a call at each close (module docstring).

    Parameters
    ----------
    s, k, implied
        Index level, strike and implied vol (decimal) at each close ``t``.
    days_left
        Trading days to expiry at each close (at least 1).
    model
        :data:`DYNAMICS_COLUMNS` for the day after each close (the forecast made at ``t``),
        one row per close, variance in percent squared.
    """
    missing = [c for c in DYNAMICS_COLUMNS if c not in model.columns]
    if missing:
        raise DataValidationError("columns", "the model frame lacks a column",
                                  column=missing[0])
    f = {c: model[c].to_numpy(float) for c in DYNAMICS_COLUMNS}
    bad = ~np.isfinite(np.column_stack(list(f.values()))).all(axis=1)
    if bad.any():
        raise DataValidationError("finite", "a model value is not finite",
                                  row=str(model.index[int(np.flatnonzero(bad)[0])]))
    s, k, implied = (np.asarray(a, float) for a in (s, k, implied))
    m = np.asarray(days_left, int)
    if (m < 1).any():
        raise DataValidationError("domain", "an option must have a day left at the close",
                                  column="days_left")
    h1, mu = f["variance"], f["mu"]
    phi = f["alpha[1]"] + 0.5 * f["gamma[1]"] + f["beta[1]"]
    eps = np.sqrt(h1)[:, None] * t_grid(f["nu"], n_grid)  # (n, J)
    h2 = (f["omega"][:, None] + (f["alpha[1]"][:, None] + f["gamma[1]"][:, None] * (eps < 0))
          * eps**2 + f["beta[1]"][:, None] * h1[:, None])
    before = average_variance(h1, m, f["omega"], phi)
    after = average_variance(h2, m - 1, f["omega"], phi)
    vol1 = implied[:, None] * np.sqrt(np.where(m[:, None] > 1, after / before[:, None], 1.0))
    s1 = s[:, None] * np.exp((mu[:, None] + eps) / 100.0)
    tau1 = ((m - 1) / YEAR)[:, None]
    c1 = bs_call(s1, k[:, None], tau1, vol1)["price"]
    ds = s1 - s1.mean(axis=1, keepdims=True)
    dc = c1 - c1.mean(axis=1, keepdims=True)
    return (dc * ds).sum(axis=1) / (ds * ds).sum(axis=1)

