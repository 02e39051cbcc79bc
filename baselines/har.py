"""HAR model of a realised variance measure (Corsi 2009), here on the daily range.

The heterogeneous autoregression explains tomorrow's realised variance by today's, the mean of
the last week's (5 days) and the mean of the last month's (22 days)::

    RV_{t+1} = b0 + b_d RV_t + b_w RV_t^(w) + b_m RV_t^(m) + e_{t+1},
    RV_t^(w) = mean(RV_{t-4..t}),   RV_t^(m) = mean(RV_{t-21..t}).

It is estimated by OLS with Newey-West (HAC) standard errors, as in Corsi (2009). With
``log=True`` the regression is on log RV and the forecast is ``exp(fit + s^2 / 2)`` (the
lognormal mean, ``s^2`` the residual variance).

The realised measure here is the Parkinson (1980) range variance
``(100 ln(H/L))^2 / (4 ln 2)`` (percent squared), available from daily high/low prices when
intraday data are not: :func:`parkinson_variance`. The range covers the trading day only, so it
is on a different scale from the close-to-close return variance: :attr:`HARResult.scale` (the
ratio of the mean squared return to the mean range variance on the estimation sample, Hansen &
Lunde 2005) converts a forecast into a return-variance forecast when returns are given.

References
----------
Corsi, F. (2009), A simple approximate long-memory model of realized volatility, Journal of
Financial Econometrics 7(2), 174-196. Parkinson, M. (1980), The extreme value method for
estimating the variance of the rate of return, Journal of Business 53(1), 61-65.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import DataValidationError
from hybridrisk.results import ParameterResults, Summary, parameter_table

__all__ = ["HARResult", "fit_har", "har_design", "parkinson_variance"]

#: Lags of the weekly and monthly components, in trading days.
WEEK, MONTH = 5, 22
PARAMS = ("const", "rv_d", "rv_w", "rv_m")


def parkinson_variance(high: pd.Series, low: pd.Series) -> pd.Series:
    """Parkinson range variance ``(100 ln(H/L))^2 / (4 ln 2)`` in percent squared.

    Raises
    ------
    DataValidationError
        A low above its high, or a non-positive price.
    """
    h = check_timeseries(high, name="high", positive=True)
    lo = check_timeseries(low, name="low", positive=True)
    bad = np.flatnonzero((lo > h).to_numpy())
    if len(bad):
        raise DataValidationError("domain", "the low is above the high", column="low",
                                  row=str(h.index[bad[0]]))
    out = (100.0 * np.log(h / lo)) ** 2 / (4.0 * np.log(2.0))
    out.name = "parkinson_variance"
    return out


def har_design(rv: pd.Series | np.ndarray) -> np.ndarray:
    """Regressors ``[1, RV_t, RV_t^(w), RV_t^(m)]`` for each day t with a full month of history.

    Row k belongs to day ``t = MONTH - 1 + k``; it forecasts day ``t + 1``.
    """
    x = np.asarray(rv, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(x)])
    t = np.arange(MONTH - 1, len(x))
    week = (c[t + 1] - c[t + 1 - WEEK]) / WEEK
    month = (c[t + 1] - c[t + 1 - MONTH]) / MONTH
    return np.column_stack([np.ones(len(t)), x[t], week, month])


def _newey_west(x: np.ndarray, e: np.ndarray, lags: int) -> np.ndarray:
    """HAC covariance of OLS estimates, Bartlett kernel, no small-sample correction."""
    xe = x * e[:, None]
    s = xe.T @ xe
    for lag in range(1, lags + 1):
        w = 1.0 - lag / (lags + 1.0)
        g = xe[lag:].T @ xe[:-lag]
        s += w * (g + g.T)
    bread = np.linalg.inv(x.T @ x)
    return bread @ s @ bread


@dataclass
class HARResult(ParameterResults):
    """A fitted HAR model.

    Attributes
    ----------
    params, std_errors : pandas.Series
        ``const``, ``rv_d``, ``rv_w``, ``rv_m`` and their Newey-West standard errors.
    resid : pandas.Series
        Residuals, dated by the day forecast.
    rsquared : float
    sigma2 : float
        Residual variance (divided by n).
    loglik, aic, bic : float
        Gaussian log-likelihood of the residuals and the criteria.
    nobs : int
    log : bool
        Regression on log RV.
    scale : float
        Mean squared return over mean RV on the estimation sample (1 without returns).
    last : numpy.ndarray
        The regressors of the last day, for the one-step forecast.
    """

    params: pd.Series
    std_errors: pd.Series
    resid: pd.Series
    rsquared: float
    sigma2: float
    loglik: float
    nobs: int
    log: bool
    scale: float
    nw_lags: int
    last: np.ndarray

    @property
    def aic(self) -> float:
        """Akaike information criterion."""
        return -2.0 * self.loglik + 2.0 * (len(self.params) + 1)

    @property
    def bic(self) -> float:
        """Schwarz information criterion."""
        return -2.0 * self.loglik + np.log(self.nobs) * (len(self.params) + 1)

    def _predict(self, design: np.ndarray) -> np.ndarray:
        fit = design @ self.params.to_numpy()
        return np.exp(fit + 0.5 * self.sigma2) if self.log else fit

    def forecast(self, horizon: int = 1) -> float:
        """The one-step forecast of RV for the day after the sample (``horizon=1`` only)."""
        if horizon != 1:
            raise ValueError("the HAR forecasts one step here; iterate filter() for more")
        return float(self._predict(self.last[None, :])[0])

    def filter(self, rv: pd.Series) -> pd.Series:
        """One-step forecasts of RV with the parameters fixed, dated by the day forecast.

        The forecast dated ``t + 1`` uses RV up to ``t``; the first forecast is for the day
        after the first full month of ``rv``.
        """
        x = check_timeseries(rv, name="rv", min_obs=MONTH + 1)
        design = self._transform(x.to_numpy(float))
        f = self._predict(har_design(design))[:-1]
        return pd.Series(f, index=x.index[MONTH:], name="rv_forecast")

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return np.log(x) if self.log else x

    def summary(self) -> Summary:
        """arch-style text summary."""
        header = [("Dep. Variable", "log RV" if self.log else "RV"),
                  ("R-squared", f"{self.rsquared:.4f}"), ("Model", "HAR (Corsi 2009)"),
                  ("Log-Likelihood", f"{self.loglik:.3f}"), ("Method", "OLS"),
                  ("AIC", f"{self.aic:.3f}"), ("No. Observations", str(self.nobs)),
                  ("BIC", f"{self.bic:.3f}"), ("Return scale", f"{self.scale:.4f}"),
                  ("Resid. variance", f"{self.sigma2:.4g}")]
        return Summary("HAR Model Results", header,
                       [("Coefficients", parameter_table(self.params, self.std_errors))],
                       [f"Covariance estimator: Newey-West (Bartlett, {self.nw_lags} lags)"])


def fit_har(
    rv: pd.Series, *, log: bool = False, nw_lags: int = 22,
    returns: pd.Series | None = None,
) -> HARResult:
    """Fit a HAR model to a realised variance series by OLS.

    Parameters
    ----------
    rv : pandas.Series
        Positive realised variance measure (e.g. :func:`parkinson_variance`), DatetimeIndex.
    log : bool
        Regress log RV (the forecast is then the lognormal mean).
    nw_lags : int
        Lags of the Newey-West covariance.
    returns : pandas.Series, optional
        Returns on the same dates, to estimate :attr:`HARResult.scale`.

    Returns
    -------
    HARResult

    Raises
    ------
    DataValidationError
        Non-positive or non-finite values, or fewer than 100 observations.
    """
    x = check_timeseries(rv, name="rv", positive=True, min_obs=100)
    y_all = np.log(x.to_numpy(float)) if log else x.to_numpy(float)
    design = har_design(y_all)
    xmat, y = design[:-1], y_all[MONTH:]
    beta, *_ = np.linalg.lstsq(xmat, y, rcond=None)
    e = y - xmat @ beta
    n = len(y)
    sigma2 = float(e @ e / n)
    cov = _newey_west(xmat, e, nw_lags)
    loglik = float(-0.5 * n * (np.log(2 * np.pi * sigma2) + 1.0))
    scale = 1.0
    if returns is not None:
        r = check_timeseries(returns, name="returns").reindex(x.index)
        if r.isna().any():
            raise DataValidationError("index", "returns must cover every date of rv",
                                      column="returns")
        scale = float((r**2).mean() / x.mean())
    idx = list(PARAMS)
    return HARResult(
        params=pd.Series(beta, index=idx, name="params"),
        std_errors=pd.Series(np.sqrt(np.diag(cov)), index=idx, name="std_errors"),
        resid=pd.Series(e, index=x.index[MONTH:], name="resid"),
        rsquared=float(1.0 - e @ e / np.sum((y - y.mean()) ** 2)), sigma2=sigma2,
        loglik=loglik, nobs=n, log=log, scale=scale, nw_lags=nw_lags, last=design[-1],
    )
