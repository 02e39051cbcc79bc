"""The hybrid scenario generator: LNN-GARCH-t margins joined by LNN-DCC, simulated jointly.

Each factor ``j`` (its daily change times ``scale_j``: percent, or basis points for rates)
has a fitted LNN-GARCH-t (GJR recursion, :class:`hybridrisk.hybrids.LNNGARCH`), and the
vector of their standardised residuals a fitted LNN-DCC (:class:`hybridrisk.hybrids.LNNDCC`,
normal). A path starts at the end of the sample and, day by day (``h = 1..horizon``)::

    zeta_h ~ N(0, R_h),   R_h = diag(Q_h)^-1/2 Q_h diag(Q_h)^-1/2
    eps_jh = T^-1_{nu_j}(Phi(zeta_jh)) sqrt((nu_j - 2) / nu_j)      (unit-variance t margin)
    x_jh = mu_j + sigma_jh eps_jh
    sigma_j,h+1^2 = omega_j + (alpha_j + gamma_j 1[x_jh < mu_j]) (x_jh - mu_j)^2
                    + beta_j sigma_jh^2
    Q_h+1 = (1 - a - b) Qbar + a eps_h eps_h' + b Q_h

with ``sigma_j1^2`` the margins' one-step forecasts, ``Q_1`` the LNN-DCC's ``Q_{T+1}`` (so
``R_1`` is its one-step correlation forecast) and every network output held at its one-step
value ``theta_{T+1}`` (future covariates and network inputs beyond one day are unknown; as
:meth:`LNNGARCHResult.simulate` and :meth:`LNNDCCResult.forecast` do). The volatilities and
the correlations thus both react to each path's own shocks. The copula of ``eps_h`` given the
past is Gaussian with correlation ``R_h``; its margins are the hybrids' own t.

Every draw comes from one numpy generator seeded by ``seed``: the same seed gives the same
paths bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.portfolio.scenarios import ScenarioGenerator

__all__ = ["HybridGenerator"]


class HybridGenerator(ScenarioGenerator):
    """LNN-GARCH-t margins with LNN-DCC dependence (see the module docstring).

    Parameters
    ----------
    changes
        The daily factor changes the models were fitted on (their last date is the start).
    margins
        Factor name -> fitted :class:`~hybridrisk.hybrids.LNNGARCHResult` (GJR, Student-t) on
        ``scale * changes[name]``.
    dependence
        A fitted :class:`~hybridrisk.hybrids.LNNDCCResult` (normal) on the margins'
        standardised residuals, columns in the order of ``changes``.
    scale
        One number or a Series by factor: the units the margins were fitted in.
    """

    name = "Hybrid (LNN-GARCH-t + LNN-DCC)"

    def __init__(self, changes: pd.DataFrame, margins: Mapping[str, Any], dependence: Any, *,
                 scale: float | pd.Series = 100.0) -> None:
        super().__init__(changes)
        missing = [n for n in self.names if n not in margins]
        if missing:
            raise DataValidationError("columns", "no LNN-GARCH margin for this factor",
                                      column=missing[0])
        cols = list(getattr(dependence, "columns", []))
        if cols != [str(n) for n in self.names]:
            raise ConfigError(f"the dependence model's columns {cols} are not the factors "
                              f"{self.names}")
        if getattr(dependence, "dist", "normal") != "normal":
            raise ConfigError("the hybrid generator takes a normal LNN-DCC")
        self.scale = (scale.loc[self.names].to_numpy(float) if isinstance(scale, pd.Series)
                      else np.full(len(self.names), float(scale)))
        th = {}
        for key in ("omega", "alpha", "gamma", "beta", "nu"):
            th[key] = np.array([_next(margins[n], key) for n in self.names])
        self.mu = np.array([float(margins[n].mu) for n in self.names])
        self.omega, self.alpha, self.gamma, self.beta, self.nu = (
            th[k] for k in ("omega", "alpha", "gamma", "beta", "nu"))
        self.sigma2_next = np.array([float(margins[n]._ev["sigma2"][-1]) for n in self.names])
        nxt = dependence.next_params
        self.a, self.b = float(nxt["a"]), float(nxt["b"])
        self.qbar = np.array(dependence.qbar, dtype=float)
        self.q_next = np.array(dependence._ev["q"][-1], dtype=float)

    @property
    def correlation_next(self) -> np.ndarray:
        """``R_{T+1}``, the dependence model's one-step correlation."""
        d = 1.0 / np.sqrt(np.diag(self.q_next))
        return self.q_next * d[:, None] * d[None, :]

    def simulate(self, n: int, horizon: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Factor-change paths and the Gaussian innovations ``zeta`` that drove them, both
        shaped (n, horizon, n_factors)."""
        if n < 1 or horizon < 1:
            raise ConfigError(f"n and horizon must be >= 1, got {n}, {horizon}")
        return self._simulate(int(n), int(horizon), np.random.default_rng(seed))

    def _draw(self, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
        return self._simulate(n, horizon, rng)[0]

    def _simulate(self, n: int, horizon: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.names)
        s2 = np.broadcast_to(self.sigma2_next, (n, k)).copy()
        q = np.broadcast_to(self.q_next, (n, k, k)).copy()
        t_scale = np.sqrt((self.nu - 2.0) / self.nu)
        out = np.empty((n, horizon, k))
        zetas = np.empty((n, horizon, k))
        for h in range(horizon):
            d = 1.0 / np.sqrt(np.einsum("nii->ni", q))
            r = q * d[:, :, None] * d[:, None, :]
            chol = np.linalg.cholesky(r)
            zeta = np.einsum("nij,nj->ni", chol, rng.standard_normal((n, k)))
            eps = stats.t.ppf(special.ndtr(zeta), self.nu) * t_scale
            e = np.sqrt(s2) * eps
            out[:, h] = (self.mu + e) / self.scale
            zetas[:, h] = zeta
            s2 = self.omega + (self.alpha + self.gamma * (e < 0)) * e ** 2 + self.beta * s2
            q = ((1.0 - self.a - self.b) * self.qbar + self.a * eps[:, :, None] * eps[:, None, :]
                 + self.b * q)
        return out, zetas


def _next(result: Any, key: str) -> float:
    """A margin's one-step parameter ``theta_{T+1}`` under its plain name (gamma 0 for a
    symmetric GARCH)."""
    theta = result._ev["theta"]
    if key == "gamma" and key not in theta:
        return 0.0
    if key not in theta:
        raise ConfigError(f"the margin has no {key!r}: fit LNN-GARCH with dist='t'")
    return float(theta[key][-1])
