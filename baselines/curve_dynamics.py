"""Dynamic yield-curve baselines: the random walk and Diebold-Li (2006) dynamic Nelson-Siegel.

Diebold-Li fixes the Nelson-Siegel decay (lambda = 0.0609 per month, i.e. tau = 1/(12 * 0.0609)
years, where the curvature loading peaks near 30 months), extracts level, slope and curvature by
cross-sectional least squares each day on the tenors published that day, and forecasts the
factors with an AR(1) per factor or a VAR(1) (statsmodels), iterating the one-step model to the
horizon. The yield forecast is the loading matrix times the factor forecast; its covariance adds
the factor forecast error (mapped through the loadings) and the cross-sectional residual
variance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from statsmodels.tsa.api import VAR, AutoReg

from hybridrisk.checks import check_array, check_min_obs, check_timeseries
from hybridrisk.datasets import UST_MATURITIES
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.forecasts import CurveForecast
from hybridrisk.kernels.nss import nss_loadings

__all__ = [
    "DIEBOLD_LI_TAU",
    "HORIZONS",
    "ns_loadings",
    "diebold_li_factors",
    "fit_diebold_li",
    "DieboldLiResult",
    "random_walk_forecast",
    "CurveForecast",
]

#: Diebold and Li's decay, 0.0609 per month, as tau in years.
DIEBOLD_LI_TAU = 1.0 / (12 * 0.0609)

#: Forecast horizons in trading days.
HORIZONS: dict[str, int] = {"1d": 1, "1w": 5, "1m": 21, "3m": 63, "1y": 252}

FACTORS = ("level", "slope", "curvature")


def ns_loadings(maturities: Sequence[float], tau: float = DIEBOLD_LI_TAU) -> np.ndarray:
    """Nelson-Siegel loadings (n_maturities, 3) for level, slope and curvature."""
    m = torch.as_tensor(np.asarray(maturities, float))
    t = torch.tensor(float(tau), dtype=torch.float64)
    return nss_loadings(m, t, t)[:, :3].numpy()


def _maturities(yields: pd.DataFrame, maturities: Sequence[float] | None) -> np.ndarray:
    if maturities is None and all(c in UST_MATURITIES for c in yields.columns):
        maturities = [UST_MATURITIES[c] for c in yields.columns]
    if maturities is None:
        try:
            maturities = [float(str(c).upper().removeprefix("SVENY")) for c in yields.columns]
        except ValueError as exc:
            raise ConfigError(
                "maturities must be given unless columns are GSW names SVENY01..SVENY30 "
                "or US Treasury tenors such as '10 Yr'"
            ) from exc
    m = check_array(maturities, name="maturities", ndim=1, shape=(yields.shape[1],))
    if (m <= 0).any():
        raise DataValidationError(
            "positive", "maturities must be positive", column=yields.columns[int(np.argmin(m))]
        )
    return m


def diebold_li_factors(
    yields: pd.DataFrame,
    maturities: Sequence[float] | None = None,
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
        In years; inferred from GSW column names (``SVENY10`` = 10 years) when omitted.
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
    m = _maturities(y, maturities)
    load = ns_loadings(m, tau)
    values = y.to_numpy()
    present = ~np.isnan(values)
    counts = present.sum(1)
    if (counts < min_tenors).any():
        row = int(np.flatnonzero(counts < min_tenors)[0])
        raise DataValidationError(
            "min-tenors", f"{counts[row]} tenors published, at least {min_tenors} needed",
            row=y.index[row].isoformat(),
        )
    factors = np.empty((len(y), 3))
    # days sharing a pattern of published tenors share one least-squares solve
    patterns, inverse = np.unique(present, axis=0, return_inverse=True)
    for k, pattern in enumerate(patterns):
        rows = np.flatnonzero(inverse.reshape(-1) == k)
        coef, *_ = np.linalg.lstsq(load[pattern], values[np.ix_(rows, pattern)].T, rcond=None)
        factors[rows] = coef.T
    fitted = factors @ load.T
    resid = np.where(present, values - fitted, np.nan)
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

    @property
    def params(self) -> pd.Series:
        """Intercepts and transition coefficients, named like statsmodels' terms."""
        names, vals = [], []
        for i, f in enumerate(FACTORS):
            names.append(f"const.{f}")
            vals.append(self.intercept[i])
            for j, g in enumerate(FACTORS):
                if self.dynamics == "var" or i == j:
                    names.append(f"L1.{g}.{f}")
                    vals.append(self.transition[i, j])
        return pd.Series(vals, index=names, name="params")

    def forecast(
        self, horizons: Mapping[str, int] | None = None, *, origin: pd.Timestamp | None = None,
        factors: np.ndarray | None = None,
    ) -> CurveForecast:
        """Iterated factor forecasts mapped to yields, with forecast covariances.

        Parameters
        ----------
        horizons
            Label -> steps ahead (trading days); :data:`HORIZONS` by default.
        origin, factors
            Forecast from given factors (e.g. an out-of-sample day's) instead of the last
            in-sample day: the parameters stay those estimated in sample.
        """
        horizons = dict(HORIZONS if horizons is None else horizons)
        x = self.factors.iloc[-1].to_numpy() if factors is None else np.asarray(factors, float)
        origin = self.factors.index[-1] if origin is None else origin
        load = ns_loadings(self.maturities, self.tau)
        a, phi, q = self.intercept, self.transition, self.innovation_cov
        means, covs = {}, {}
        state, cov = x.copy(), np.zeros((3, 3))
        step = 0
        for label, h in sorted(horizons.items(), key=lambda kv: kv[1]):
            while step < h:
                state = a + phi @ state
                cov = phi @ cov @ phi.T + q
                step += 1
            means[label] = load @ state
            covs[label] = load @ cov @ load.T + self.measurement_var * np.eye(len(load))
        mean = pd.DataFrame(means, index=self.columns).T.loc[list(horizons)]
        return CurveForecast(pd.Timestamp(origin), self.maturities, mean, covs)

    def summary(self) -> str:
        """Text summary: decay, dynamics and coefficients."""
        lines = [
            f"Diebold-Li dynamic Nelson-Siegel, {self.dynamics.upper()}(1) factor dynamics",
            f"tau = {self.tau:.4f} years, {len(self.factors)} days "
            f"{self.factors.index[0]:%Y-%m-%d}..{self.factors.index[-1]:%Y-%m-%d}",
            f"cross-sectional residual s.d. = {np.sqrt(self.measurement_var) * 100:.2f} bp",
            "",
            self.params.to_frame().to_string(float_format=lambda v: f"{v: .6f}"),
        ]
        return "\n".join(lines)


def fit_diebold_li(
    yields: pd.DataFrame,
    maturities: Sequence[float] | None = None,
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
        Years; inferred from GSW column names when omitted.
    dynamics
        ``"ar"`` (three AutoReg(1) models) or ``"var"`` (one VAR(1)), both by statsmodels OLS.
    tau
        Fixed decay in years.
    """
    if dynamics not in ("ar", "var"):
        raise ConfigError(f"dynamics must be 'ar' or 'var', got {dynamics!r}")
    y = check_timeseries(yields, name="yields", min_obs=1, allow_nan=True)
    empty = y.isna().all(axis=1)
    y = y.loc[~empty]  # days with no published curve (GSW lists holidays) are dropped, not filled
    check_min_obs(len(y), 30, name="yields")
    m = _maturities(y, maturities)
    factors, resid = diebold_li_factors(y, m, tau=tau)
    f = factors.to_numpy()
    if dynamics == "ar":
        models = [AutoReg(f[:, i], lags=1, trend="c").fit() for i in range(3)]
        intercept = np.array([r.params[0] for r in models])
        transition = np.diag([r.params[1] for r in models])
        innov = np.diag([r.sigma2 for r in models])
    else:
        models = VAR(f).fit(1, trend="c")
        intercept = np.asarray(models.intercept)
        transition = np.asarray(models.coefs[0])
        innov = np.asarray(models.sigma_u_mle)
    r = resid.to_numpy()
    return DieboldLiResult(
        dynamics=dynamics, tau=tau, maturities=m, columns=list(y.columns), factors=factors,
        residuals=resid, intercept=intercept, transition=transition, innovation_cov=innov,
        measurement_var=float(np.nanmean(r**2)), models=models, dropped_days=int(empty.sum()),
    )


def random_walk_forecast(
    yields: pd.DataFrame, horizons: Mapping[str, int] | None = None
) -> CurveForecast:
    """The random-walk (no-change) forecast: the last observed curve at every horizon.

    The covariance at horizon h is h times the sample covariance of daily yield changes
    (pairwise over published days), the random walk's own forecast error.
    """
    horizons = dict(HORIZONS if horizons is None else horizons)
    y = check_timeseries(yields, name="yields", min_obs=2, allow_nan=True)
    y = y.loc[~y.isna().all(axis=1)]
    last = y.iloc[-1]
    mean = pd.DataFrame([last.to_numpy()] * len(horizons), index=list(horizons), columns=y.columns)
    dcov = y.diff().cov().to_numpy()
    cov = {k: h * dcov for k, h in horizons.items()}
    return CurveForecast(y.index[-1], np.arange(y.shape[1], dtype=float), mean, cov)
