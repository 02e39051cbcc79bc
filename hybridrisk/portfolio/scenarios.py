"""Scenario generators behind one interface: ``generate(n, horizon, seed)`` -> factor paths.

A path is ``horizon`` daily factor changes (the units of :mod:`hybridrisk.portfolio.factors`),
so ``generate`` returns an array of shape ``(n, horizon, n_factors)``; :func:`horizon_change`
adds the days up into the change over the horizon (every factor change is additive: log
changes and yield differences). ``seed`` fixes every draw.

- :class:`HistoricalSimulation`: blocks of ``horizon`` consecutive days of history, with
  uniformly drawn start dates (with replacement).
- :class:`FilteredHistorical`: each factor filtered by a GJR-GARCH(1,1) whose parameters come in
  as a plain argument (fitted by :func:`baselines.fit_garch`; the filter reproduces its
  conditional variances), standardised residual vectors of whole days bootstrapped (keeping the
  cross-section's dependence) and rescaled along simulated GARCH variance paths that start at
  the next-day forecast.
- :class:`ParametricNormal`, :class:`ParametricStudentT`: i.i.d. multivariate normal / Student-t
  days with the sample mean and covariance; the t's degrees of freedom match the factors'
  average excess kurtosis (``nu = 4 + 6 / kappa``) unless given, and its scale matrix is set so
  that the covariance is the sample covariance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import pandas as pd
import torch

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError, ParameterDomainError
from hybridrisk.kernels.garch import arch_backcast, garch_variance

__all__ = [
    "ScenarioGenerator",
    "HistoricalSimulation",
    "FilteredHistorical",
    "ParametricNormal",
    "ParametricStudentT",
    "horizon_change",
]

GARCH_COLUMNS = ("mu", "omega", "alpha", "gamma", "beta")
#: How far past the stationarity boundary a persistence may lie: arch's constrained optimiser
#: (SLSQP) meets ``alpha + gamma/2 + beta <= 1`` only to its tolerance (excesses of 2e-6 occur
#: on the bundled factors' 1000-day spans).
PERSISTENCE_TOL = 1e-4


def horizon_change(paths: np.ndarray) -> np.ndarray:
    """Factor changes over the whole horizon, ``(n, horizon, k) -> (n, k)``."""
    return np.asarray(paths).sum(axis=1)


class ScenarioGenerator(ABC):
    """Factor-path generator fitted to a history of daily factor changes.

    Parameters
    ----------
    changes
        Daily factor changes, a DataFrame with a DatetimeIndex, no missing values.
    window
        Use only the last ``window`` days (default all).
    """

    name = "generator"

    def __init__(self, changes: pd.DataFrame, *, window: int | None = None) -> None:
        data = check_timeseries(changes, name="factor changes", min_obs=30)
        if window is not None:
            if window < 30:
                raise ConfigError(f"window must be at least 30 days, got {window}")
            data = data.iloc[-window:]
        self.data = data
        self.names = list(data.columns)

    @abstractmethod
    def _draw(self, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray: ...

    def generate(self, n: int, horizon: int, seed: int) -> np.ndarray:
        """``n`` paths of ``horizon`` daily factor changes, shape (n, horizon, n_factors)."""
        if n < 1 or horizon < 1:
            raise ConfigError(f"n and horizon must be >= 1, got {n}, {horizon}")
        return self._draw(int(n), int(horizon), np.random.default_rng(seed))


class HistoricalSimulation(ScenarioGenerator):
    """Historical blocks of consecutive days (see the module docstring)."""

    name = "HS"

    def _draw(self, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
        x = self.data.to_numpy()
        if horizon > len(x):
            raise ConfigError(f"horizon {horizon} exceeds the {len(x)} days of history")
        start = rng.integers(0, len(x) - horizon + 1, size=n)
        return x[start[:, None] + np.arange(horizon)[None, :]]

    def all_blocks(self, horizon: int) -> np.ndarray:
        """Every overlapping block of the history (no sampling), shape (T-h+1, h, k)."""
        x = self.data.to_numpy()
        start = np.arange(len(x) - horizon + 1)
        return x[start[:, None] + np.arange(horizon)[None, :]]


class FilteredHistorical(ScenarioGenerator):
    """GJR-GARCH-filtered historical simulation (see the module docstring).

    Parameters
    ----------
    changes
        Daily factor changes.
    garch
        One row per factor (index = factor names), columns ``mu, omega, alpha, gamma, beta``:
        constant-mean GJR-GARCH(1,1) parameters for ``scale * changes`` (arch's naming without
        the ``[1]``; ``gamma = 0`` is a GARCH(1,1)). A persistence on the stationarity
        boundary (an integrated GARCH, where arch's estimates on short samples often end) is
        accepted: the filter and a finite-horizon simulation stay finite.
    scale
        The factor changes are multiplied by ``scale`` before filtering (100: percent), one
        number or a Series by factor (1e4 puts yield changes in basis points).
    window
        As :class:`ScenarioGenerator`; the filter runs over the window.
    """

    name = "FHS"

    def __init__(self, changes: pd.DataFrame, garch: pd.DataFrame, *,
                 scale: float | pd.Series = 100.0, window: int | None = None) -> None:
        super().__init__(changes, window=window)
        missing = [c for c in GARCH_COLUMNS if c not in garch.columns]
        if missing:
            raise DataValidationError("columns", "GARCH parameters missing", column=missing[0])
        absent = [f for f in self.names if f not in garch.index]
        if absent:
            raise DataValidationError("columns", "no GARCH parameters for this factor",
                                      column=absent[0])
        p = garch.loc[self.names, list(GARCH_COLUMNS)].astype(float)
        for f, row in p.iterrows():
            if row["omega"] <= 0 or min(row["alpha"], row["beta"]) < 0 or (
                    row["alpha"] + row["gamma"] / 2 + row["beta"] > 1 + PERSISTENCE_TOL):
                raise ParameterDomainError(
                    f"garch[{f}]", row.to_dict(),
                    f"omega > 0, alpha, beta >= 0, alpha+gamma/2+beta <= 1 (+{PERSISTENCE_TOL})")
        self.params = p
        self.scale = (scale.loc[self.names].to_numpy(float) if isinstance(scale, pd.Series)
                      else np.full(len(self.names), float(scale)))
        y = self.data.to_numpy() * self.scale
        eps = y - p["mu"].to_numpy()
        back = [arch_backcast(y[:, j] - y[:, j].mean()) for j in range(y.shape[1])]
        t = lambda a: torch.as_tensor(np.array(a), dtype=torch.float64)  # noqa: E731
        col = lambda c: t(p[c].to_numpy()).unsqueeze(-1)  # noqa: E731
        s2 = garch_variance(t(eps.T), col("omega"), col("alpha"), col("beta"), col("gamma"),
                            backcast=t(back)).numpy().T
        self.sigma2 = pd.DataFrame(s2, index=self.data.index, columns=self.names)
        self.std_resid = pd.DataFrame(eps / np.sqrt(s2), index=self.data.index,
                                      columns=self.names)
        last = eps[-1]
        self.sigma2_next = (p["omega"] + (p["alpha"] + p["gamma"] * (last < 0)) * last ** 2
                            + p["beta"] * s2[-1]).to_numpy()

    def _draw(self, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
        z = self.std_resid.to_numpy()[rng.integers(0, len(self.std_resid), size=(n, horizon))]
        mu, om, al, ga, be = (self.params[c].to_numpy() for c in GARCH_COLUMNS)
        s2 = np.broadcast_to(self.sigma2_next, (n, len(self.names))).copy()
        out = np.empty((n, horizon, len(self.names)))
        for h in range(horizon):
            eps = np.sqrt(s2) * z[:, h]
            out[:, h] = (mu + eps) / self.scale
            s2 = om + (al + ga * (eps < 0)) * eps ** 2 + be * s2
        return out


class ParametricNormal(ScenarioGenerator):
    """I.i.d. multivariate normal days with the sample mean and covariance."""

    name = "normal"

    def __init__(self, changes: pd.DataFrame, *, window: int | None = None) -> None:
        super().__init__(changes, window=window)
        x = self.data.to_numpy()
        self.mean, self.cov = x.mean(0), np.cov(x, rowvar=False)
        self.chol = np.linalg.cholesky(self.cov)

    def _draw(self, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((n, horizon, len(self.names)))
        return self.mean + z @ self.chol.T


class ParametricStudentT(ParametricNormal):
    """I.i.d. multivariate Student-t days with the sample mean and covariance.

    ``dof`` (> 2) defaults to ``4 + 6 / kappa`` for the factors' mean excess kurtosis kappa.
    """

    name = "t"

    def __init__(self, changes: pd.DataFrame, *, dof: float | None = None,
                 window: int | None = None) -> None:
        super().__init__(changes, window=window)
        if dof is None:
            kappa = float(self.data.kurt().mean())
            if kappa <= 0:
                raise ConfigError("the factors have no excess kurtosis; give dof")
            dof = 4.0 + 6.0 / kappa
        if dof <= 2:
            raise ParameterDomainError("dof", dof, "dof > 2 (finite variance)")
        self.dof = float(dof)

    def _draw(self, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((n, horizon, len(self.names)))
        w = rng.chisquare(self.dof, size=(n, horizon, 1)) / (self.dof - 2.0)
        return self.mean + (z / np.sqrt(w)) @ self.chol.T
