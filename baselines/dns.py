"""Diebold-Li (2006) dynamic Nelson-Siegel, thin over statsmodels.

Diebold-Li fixes the Nelson-Siegel decay (lambda = 0.0609 per month, i.e. tau = 1/(12 * 0.0609)
years, where the curvature loading peaks near 30 months), extracts level, slope and curvature by
cross-sectional least squares each day on the tenors published that day, and forecasts the
factors with an AR(1) per factor or a VAR(1) (statsmodels), iterating the one-step model to the
horizon. The yield forecast is the loading matrix times the factor forecast; its covariance adds
the factor forecast error (mapped through the loadings) and the cross-sectional residual
variance. The equations live in :mod:`hybridrisk.kernels.dns`, shared with the LNN-DNS hybrid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hybridrisk.checks import check_min_obs, check_timeseries
from hybridrisk.errors import ConfigError
from hybridrisk.forecasts import CurveForecast
from hybridrisk.kernels.dns import (
    DIEBOLD_LI_TAU,
    DYNAMICS,
    FACTORS,
    HORIZONS,
    estimate_dynamics,
    horizon_map,
    iterate_forecast,
    ns_loadings,
    observe_factors,
)
from hybridrisk.kernels.nss import maturities_from_columns
from hybridrisk.results import Summary, parameter_table

__all__ = [
    "DIEBOLD_LI_TAU",
    "HORIZONS",
    "FACTORS",
    "ns_loadings",
    "diebold_li_factors",
    "fit_diebold_li",
    "DieboldLiResult",
]


def diebold_li_factors(
    yields: pd.DataFrame,
    maturities: Sequence[float] | Mapping | None = None,
    *,
    tau: float = DIEBOLD_LI_TAU,
    min_tenors: int = 3,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Level, slope and curvature by least squares each day, on that day's published tenors.

    Parameters
    ----------
    yields
        Zero yields in percent, one column per maturity, NaN where not published.
    maturities
        In years; read from the column labels (``SVENY10``, ``"10 Yr"``) when omitted.
    tau
        Nelson-Siegel decay in years (Diebold-Li's by default).
    min_tenors
        Days with fewer published tenors raise (three factors need at least three points).

    Returns
    -------
    factors, residuals
        Factors (T x 3) and the cross-sectional residuals in percent (NaN where unpublished).
    """
    y = check_timeseries(yields, name="yields", min_obs=1, allow_nan=True)
    load = ns_loadings(maturities_from_columns(y.columns, maturities), tau)
    values = y.to_numpy()
    present = ~np.isnan(values)
    factors = observe_factors(values, present, load, index=y.index, min_tenors=min_tenors)
    resid = np.where(present, values - factors @ load.T, np.nan)
    return (
        pd.DataFrame(factors, index=y.index, columns=list(FACTORS)),
        pd.DataFrame(resid, index=y.index, columns=y.columns),
    )


@dataclass
class DieboldLiResult:
    """A fitted Diebold-Li model: factors, their AR(1)/VAR(1) dynamics, forecasts."""

    dynamics: str
    tau: float
    maturities: np.ndarray
    columns: list
    factors: pd.DataFrame
    residuals: pd.DataFrame
    intercept: np.ndarray
    transition: np.ndarray
    innovation_cov: np.ndarray
    measurement_var: float
    models: object
    dropped_days: int = 0

    def _terms(self) -> list[tuple[str, int, int]]:
        """(name, equation, regressor) of every coefficient; regressor -1 is the constant."""
        out = []
        for i, f in enumerate(FACTORS):
            out.append((f"const.{f}", i, -1))
            for j, g in enumerate(FACTORS):
                if self.dynamics == "var" or i == j:
                    out.append((f"L1.{g}.{f}", i, j))
        return out

    @property
    def params(self) -> pd.Series:
        """Intercepts and transition coefficients, named like statsmodels' terms."""
        return pd.Series([self.intercept[i] if j < 0 else self.transition[i, j]
                          for _, i, j in self._terms()],
                         index=[n for n, _, _ in self._terms()], name="params")

    @property
    def std_errors(self) -> pd.Series:
        """statsmodels' OLS standard errors of :attr:`params`."""
        if self.dynamics == "var":
            se = np.asarray(self.models.stderr)  # rows const, L1.*; columns equations
            vals = [se[1 + j, i] for _, i, j in self._terms()]
        else:
            vals = [self.models[i].bse[0 if j < 0 else 1] for _, i, j in self._terms()]
        return pd.Series(vals, index=self.params.index, name="std_errors")

    def forecast(
        self, horizons: Mapping[str, int] | Sequence[int] | None = None, *,
        origin: pd.Timestamp | None = None, factors: np.ndarray | None = None,
    ) -> CurveForecast:
        """Iterated factor forecasts mapped to yields, with forecast covariances.

        Parameters
        ----------
        horizons
            Label -> whole trading days ahead, or a sequence of them; :data:`HORIZONS` by
            default.
        origin, factors
            Forecast from given factors (e.g. an out-of-sample day's) instead of the last
            in-sample day: the parameters stay those estimated in sample.
        """
        hz = horizon_map(horizons, integer=True)
        x = self.factors.iloc[-1].to_numpy() if factors is None else np.asarray(factors, float)
        origin = self.factors.index[-1] if origin is None else origin
        load = ns_loadings(self.maturities, self.tau)
        means, covs = iterate_forecast(self.intercept, self.transition, x.reshape(1, 3),
                                       [int(h) for h in hz.values()], self.innovation_cov)
        noise = self.measurement_var * np.eye(len(load))
        mean = pd.DataFrame([(means[int(h)] @ load.T)[0] for h in hz.values()],
                            index=list(hz), columns=self.columns)
        fac = pd.DataFrame([means[int(h)][0] for h in hz.values()], index=list(hz),
                           columns=list(FACTORS))
        cov = {lab: load @ covs[int(h)] @ load.T + noise for lab, h in hz.items()}
        return CurveForecast(pd.Timestamp(origin), self.maturities, mean, cov, fac, hz)

    def summary(self) -> Summary:
        """Decay, sample, dynamics and the coefficients with statsmodels' standard errors."""
        idx = self.factors.index
        header = [
            ("Model", f"Diebold-Li {self.dynamics.upper()}(1)"),
            ("Decay tau", f"{self.tau:.4f} y"),
            ("Sample", f"{idx[0]:%Y-%m-%d}..{idx[-1]:%Y-%m-%d}"),
            ("No. Observations", str(len(idx))),
            ("Days dropped", str(self.dropped_days)),
            ("Residual s.d.", f"{np.sqrt(self.measurement_var) * 100:.2f} bp"),
        ]
        table = parameter_table(self.params, self.std_errors)
        return Summary("Diebold-Li dynamic Nelson-Siegel", header,
                       [("Factor dynamics (statsmodels OLS)", table)],
                       ["Factors by daily least squares on the published tenors; "
                        f"{self.dynamics.upper()}(1) factor dynamics by statsmodels."])


def fit_diebold_li(
    yields: pd.DataFrame,
    maturities: Sequence[float] | Mapping | None = None,
    *,
    dynamics: str = "ar",
    tau: float = DIEBOLD_LI_TAU,
) -> DieboldLiResult:
    """Fit Diebold-Li: factors by daily least squares, then AR(1) per factor or a VAR(1).

    Parameters
    ----------
    yields
        Zero yields in percent (T x maturities), DatetimeIndex, NaN where unpublished. Days on
        which no tenor is published are dropped (counted in ``dropped_days``), never filled.
    maturities
        Years; read from the column labels when omitted.
    dynamics
        ``"ar"`` (three AutoReg(1) models) or ``"var"`` (one VAR(1)), both by statsmodels OLS.
    tau
        Fixed decay in years.
    """
    if dynamics not in DYNAMICS:
        raise ConfigError(f"dynamics must be 'ar' or 'var', got {dynamics!r}")
    y = check_timeseries(yields, name="yields", min_obs=1, allow_nan=True)
    empty = y.isna().all(axis=1)
    y = y.loc[~empty]  # days with no published curve (GSW lists holidays) are dropped, not filled
    check_min_obs(len(y), 30, name="yields")
    m = maturities_from_columns(y.columns, maturities)
    factors, resid = diebold_li_factors(y, m, tau=tau)
    intercept, transition, innov, models = estimate_dynamics(factors.to_numpy(), dynamics)
    r = resid.to_numpy()
    return DieboldLiResult(
        dynamics=dynamics, tau=tau, maturities=m, columns=list(y.columns), factors=factors,
        residuals=resid, intercept=intercept, transition=transition, innovation_cov=innov,
        measurement_var=float(np.nanmean(r**2)), models=models, dropped_days=int(empty.sum()),
    )
