"""Realized GARCH(1,1), log-linear form (Hansen, Huang & Shek 2012), with a realised measure.

The model couples the returns with a realised measure ``x_t`` of the day's variance (here the
Parkinson range variance, :func:`baselines.har.parkinson_variance`)::

    r_t      = mu + sqrt(h_t) z_t,                         z_t ~ iid (0, 1)
    log h_t  = omega + beta log h_{t-1} + gamma log x_{t-1}
    log x_t  = xi + phi log h_t + tau1 z_t + tau2 (z_t^2 - 1) + u_t,   u_t ~ iid N(0, sigma_u^2)

and is estimated by Gaussian quasi-maximum likelihood on the joint density of ``(r_t, x_t)``:
``l = -1/2 sum[log 2pi + log h_t + z_t^2] - 1/2 sum[log 2pi + log sigma_u^2 + u_t^2 / sigma_u^2]``.
The recursion for ``log h`` does not involve ``z``, so it is a first-order linear filter of
``log x`` (:func:`scipy.signal.lfilter`); :func:`realized_garch_loglik_loop` is the same
likelihood as a plain loop, kept as a second implementation. ``log h_0`` is the log of the
sample variance of the returns (like a backcast). Persistence of ``log h`` is ``beta + phi
gamma``. Standard errors are the QML sandwich from numerical derivatives.

Reference: Hansen, P. R., Huang, Z. and Shek, H. H. (2012), Realized GARCH: a joint model for
returns and realized measures of volatility, Journal of Applied Econometrics 27(6), 877-906.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, signal

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConvergenceError, DataValidationError
from hybridrisk.results import ParameterResults, Summary, parameter_table

__all__ = [
    "PARAMS",
    "RealizedGARCHResult",
    "fit_realized_garch",
    "realized_garch_loglik",
    "realized_garch_loglik_loop",
    "simulate_realized_garch",
]

PARAMS = ("mu", "omega", "beta", "gamma", "xi", "phi", "tau1", "tau2", "sigma_u")
_LOG2PI = float(np.log(2.0 * np.pi))
_BOUNDS = [(None, None), (-20.0, 20.0), (0.0, 0.9999), (-2.0, 2.0), (-20.0, 20.0),
           (0.0, 5.0), (-2.0, 2.0), (-2.0, 2.0), (1e-4, 10.0)]


def _log_h(theta: np.ndarray, logx: np.ndarray, logh0: float) -> np.ndarray:
    _, omega, beta, gamma = theta[:4]
    drive = np.empty(len(logx))
    drive[0] = logh0
    drive[1:] = omega + gamma * logx[:-1]
    return signal.lfilter([1.0], [1.0, -beta], drive)


def _terms(theta: np.ndarray, r: np.ndarray, logx: np.ndarray, logh0: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-day log-likelihood of the returns and of the measure, and log h."""
    mu, xi, phi, tau1, tau2, su = theta[0], *theta[4:]
    logh = _log_h(theta, logx, logh0)
    z = (r - mu) * np.exp(-0.5 * logh)
    u = logx - xi - phi * logh - tau1 * z - tau2 * (z * z - 1.0)
    lr = -0.5 * (_LOG2PI + logh + z * z)
    lx = -0.5 * (_LOG2PI + 2.0 * np.log(su) + (u / su) ** 2)
    return lr, lx, logh


def realized_garch_loglik(theta: np.ndarray, r: np.ndarray, x: np.ndarray,
                          logh0: float) -> float:
    """Joint QML log-likelihood (vectorised); ``theta`` in the order of :data:`PARAMS`."""
    lr, lx, _ = _terms(np.asarray(theta, float), np.asarray(r, float),
                       np.log(np.asarray(x, float)), logh0)
    return float(lr.sum() + lx.sum())


def realized_garch_loglik_loop(theta: np.ndarray, r: np.ndarray, x: np.ndarray,
                               logh0: float) -> float:
    """The same log-likelihood as :func:`realized_garch_loglik`, as a plain loop."""
    mu, omega, beta, gamma, xi, phi, tau1, tau2, su = (float(v) for v in theta)
    total, logh = 0.0, float(logh0)
    for t in range(len(r)):
        if t:
            logh = omega + beta * logh + gamma * float(np.log(x[t - 1]))
        z = (float(r[t]) - mu) / float(np.exp(0.5 * logh))
        u = float(np.log(x[t])) - xi - phi * logh - tau1 * z - tau2 * (z * z - 1.0)
        total += -0.5 * (_LOG2PI + logh + z * z)
        total += -0.5 * (_LOG2PI + 2.0 * float(np.log(su)) + (u / su) ** 2)
    return total


def simulate_realized_garch(params: pd.Series | dict, n: int, seed: int,
                            burn: int = 500) -> pd.DataFrame:
    """Simulate returns and the realised measure with Gaussian ``z`` and ``u``.

    Returns
    -------
    pandas.DataFrame
        Columns ``returns`` and ``rv`` on a business-day index.
    """
    p = {k: float(params[k]) for k in PARAMS}
    rng = np.random.default_rng(seed)
    m = n + burn
    z, u = rng.standard_normal(m), rng.standard_normal(m)
    persistence = p["beta"] + p["phi"] * p["gamma"]
    logh = (p["omega"] + p["gamma"] * p["xi"]) / (1.0 - persistence)  # the mean of log h
    r, logx = np.empty(m), np.empty(m)
    for t in range(m):
        if t:
            logh = p["omega"] + p["beta"] * logh + p["gamma"] * logx[t - 1]
        r[t] = p["mu"] + np.exp(0.5 * logh) * z[t]
        logx[t] = (p["xi"] + p["phi"] * logh + p["tau1"] * z[t]
                   + p["tau2"] * (z[t] ** 2 - 1.0) + p["sigma_u"] * u[t])
    idx = pd.bdate_range("2000-01-03", periods=n, name="date")
    return pd.DataFrame({"returns": r[burn:], "rv": np.exp(logx[burn:])}, index=idx)


def _scores(theta: np.ndarray, r: np.ndarray, logx: np.ndarray, logh0: float) -> np.ndarray:
    """Per-day scores (n x k) by central differences."""
    k = len(theta)
    out = np.empty((len(r), k))
    for j in range(k):
        step = 1e-5 * max(1.0, abs(theta[j]))
        hi, lo = theta.copy(), theta.copy()
        hi[j] += step
        lo[j] -= step
        out[:, j] = (sum(_terms(hi, r, logx, logh0)[:2]) - sum(_terms(lo, r, logx, logh0)[:2])
                     ) / (2 * step)
    return out


def _sandwich(theta: np.ndarray, r: np.ndarray, logx: np.ndarray, logh0: float) -> np.ndarray:
    s = _scores(theta, r, logx, logh0)
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        step = 1e-4 * max(1.0, abs(theta[j]))
        hi, lo = theta.copy(), theta.copy()
        hi[j] += step
        lo[j] -= step
        hess[:, j] = (_scores(hi, r, logx, logh0).sum(0) - _scores(lo, r, logx, logh0).sum(0)
                      ) / (2 * step)
    hess = 0.5 * (hess + hess.T)
    inv = np.linalg.pinv(hess)
    return inv @ (s.T @ s) @ inv


@dataclass
class RealizedGARCHResult(ParameterResults):
    """A fitted log-linear Realized GARCH(1,1).

    Attributes
    ----------
    params, std_errors : pandas.Series
        Estimates (:data:`PARAMS`) and QML sandwich standard errors.
    loglik : float
        Joint log-likelihood of returns and measure.
    loglik_returns : float
        The returns' part alone (comparable with a GARCH model's log-likelihood).
    conditional_variance : pandas.Series
        ``h_t`` over the sample (known at t-1).
    nobs : int
    logh0 : float
        ``log h`` of the first day.
    """

    params: pd.Series
    std_errors: pd.Series
    loglik: float
    loglik_returns: float
    conditional_variance: pd.Series
    nobs: int
    logh0: float
    last_logx: float
    converged: bool

    @property
    def aic(self) -> float:
        """Akaike information criterion of the joint likelihood."""
        return -2.0 * self.loglik + 2.0 * len(self.params)

    @property
    def bic(self) -> float:
        """Schwarz information criterion of the joint likelihood."""
        return -2.0 * self.loglik + np.log(self.nobs) * len(self.params)

    @property
    def persistence(self) -> float:
        """``beta + phi gamma``, the persistence of ``log h``."""
        p = self.params
        return float(p["beta"] + p["phi"] * p["gamma"])

    def forecast(self, horizon: int = 1) -> float:
        """The variance of the return of the day after the sample (``horizon=1`` only)."""
        if horizon != 1:
            raise ValueError("only the one-step forecast is known in closed form")
        p = self.params
        logh = float(np.log(self.conditional_variance.iloc[-1]))
        return float(np.exp(p["omega"] + p["beta"] * logh + p["gamma"] * self.last_logx))

    def filter(self, returns: pd.Series, rv: pd.Series) -> pd.Series:
        """Conditional variances ``h_t`` over another sample with the parameters fixed.

        The series starts at ``log h_0`` of the fit, so ``returns`` should start where the
        estimation sample did (a walk-forward's expanding window does).
        """
        r, x = _inputs(returns, rv, min_obs=2)
        logh = _log_h(self.params.to_numpy(), np.log(x.to_numpy()), self.logh0)
        return pd.Series(np.exp(logh), index=r.index, name="variance")

    def summary(self) -> Summary:
        """arch-style text summary."""
        header = [("Dep. Variable", "returns, log x"), ("Log-Likelihood", f"{self.loglik:.3f}"),
                  ("Vol Model", "RealGARCH(1,1) log"),
                  ("AIC", f"{self.aic:.3f}"), ("Distribution", "Normal (QML)"),
                  ("BIC", f"{self.bic:.3f}"), ("Method", "Quasi Maximum Likelihood"),
                  ("No. Observations", str(self.nobs)),
                  ("Persistence", f"{self.persistence:.4f}"),
                  ("Returns loglik", f"{self.loglik_returns:.3f}")]
        table = parameter_table(self.params, self.std_errors)
        groups = [("Mean Model", ["mu"]), ("Volatility Model", ["omega", "beta", "gamma"]),
                  ("Measurement Equation", ["xi", "phi", "tau1", "tau2", "sigma_u"])]
        notes = ["Covariance estimator: QML sandwich H^-1 (sum s s') H^-1, numerical "
                 "derivatives"]
        if not self.converged:
            notes.append("The optimiser did not report convergence.")
        return Summary("Realized GARCH Model Results", header,
                       [(name, table.loc[rows]) for name, rows in groups], notes)


def _inputs(returns: pd.Series, rv: pd.Series, min_obs: int) -> tuple[pd.Series, pd.Series]:
    r = check_timeseries(returns, name="returns", min_obs=min_obs)
    x = check_timeseries(rv, name="rv", positive=True, min_obs=min_obs)
    if not r.index.equals(x.index):
        raise DataValidationError("index", "returns and rv must have the same dates",
                                  column="rv")
    return r, x


def _start(r: np.ndarray, logx: np.ndarray, logh0: float) -> np.ndarray:
    beta, gamma, phi = 0.55, 0.4, 1.0
    xi = float(logx.mean() - logh0)
    omega = (1.0 - beta - phi * gamma) * logh0 - gamma * xi
    su = float(np.std(logx - xi - logh0))
    return np.array([r.mean(), omega, beta, gamma, xi, phi, -0.05, 0.05, max(su, 0.05)])


def fit_realized_garch(returns: pd.Series, rv: pd.Series) -> RealizedGARCHResult:
    """Fit a log-linear Realized GARCH(1,1) by Gaussian QML.

    Parameters
    ----------
    returns : pandas.Series
        Returns (percent), DatetimeIndex.
    rv : pandas.Series
        Positive realised measure on the same dates (percent squared), e.g. the Parkinson
        range variance; the measure of day t is known at the close of day t.

    Returns
    -------
    RealizedGARCHResult

    Raises
    ------
    DataValidationError
        Mismatched dates, a non-positive measure, fewer than 250 observations.
    ConvergenceError
        The likelihood is not finite at the optimum.
    """
    r_s, x_s = _inputs(returns, rv, min_obs=250)
    r, logx = r_s.to_numpy(), np.log(x_s.to_numpy())
    logh0 = float(np.log(r.var()))

    def nll(theta: np.ndarray) -> float:
        lr, lx, _ = _terms(theta, r, logx, logh0)
        v = -(lr.sum() + lx.sum())
        return float(v) if np.isfinite(v) else 1e12

    theta, converged = _start(r, logx, logh0), False
    for _ in range(2):  # a restart from the first optimum polishes the estimate
        res = optimize.minimize(nll, theta, method="L-BFGS-B", bounds=_BOUNDS,
                                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-7})
        theta, converged = res.x, bool(res.success)
    lr, lx, logh = _terms(theta, r, logx, logh0)
    if not np.isfinite(lr.sum() + lx.sum()):
        raise ConvergenceError("the Realized GARCH likelihood is not finite at the optimum")
    cov = _sandwich(theta, r, logx, logh0)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return RealizedGARCHResult(
        params=pd.Series(theta, index=list(PARAMS), name="params"),
        std_errors=pd.Series(se, index=list(PARAMS), name="std_errors"),
        loglik=float(lr.sum() + lx.sum()), loglik_returns=float(lr.sum()),
        conditional_variance=pd.Series(np.exp(logh), index=r_s.index, name="variance"),
        nobs=len(r), logh0=logh0, last_logx=float(logx[-1]), converged=converged,
    )
