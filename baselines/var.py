r"""Classical Value-at-Risk and Expected Shortfall baselines.

Sign convention
---------------
Returns are profit and loss in percent (:math:`r_t`, positive = gain). VaR and ES are reported
as **positive loss numbers**: for a confidence level :math:`p` (0.95, 0.975, 0.99),

.. math::
    \mathrm{VaR}_p = -Q_{1-p}(r), \qquad \mathrm{ES}_p = -E[r \mid r \le Q_{1-p}(r)],

so the loss :math:`-r` exceeds :math:`\mathrm{VaR}_p` with probability :math:`1 - p` (it is not
exceeded with probability :math:`p`), and :math:`\mathrm{ES}_p \ge \mathrm{VaR}_p`.

Methods
-------
* :func:`historical_var_es` -- historical simulation (HS) on the window. Quantile convention:
  ``quantile_method="hazen"`` by default, i.e. MATLAB's ``quantile``/``prctile`` and R's type 5:
  the i-th smallest of n returns sits at probability :math:`(i - 0.5)/n`, linear interpolation in
  between, the extremes beyond. ES is the mean of the window's returns at or below that VaR
  quantile (as in MATLAB's ``esbacktest`` examples). Any numpy ``quantile`` method may be
  passed (``"inverted_cdf"`` is the plain empirical quantile, Basel-style order statistic).
* :func:`filtered_historical_var_es` -- filtered HS (Barone-Adesi, Giannopoulos & Vosper 1999;
  Hull & White 1998): a GARCH model (:func:`~baselines.garch.fit_garch`, default constant-mean
  Gaussian GARCH(1,1)) is fitted on the window; the empirical quantile / tail mean of its
  standardized residuals is scaled by the one-step volatility forecast:
  :math:`\mathrm{VaR}_p = -(\hat\mu + \hat\sigma_{T+1} Q_{1-p}(\hat z))`.
* :func:`parametric_var_es` -- normal (sample mean, sample standard deviation with ``ddof=1``)
  or Student t (location, scale and :math:`\nu \in [2.05, 500]` by maximum likelihood) fitted to
  the window, with the closed forms of :func:`normal_var_es` / :func:`student_t_var_es`.
* :func:`ewma_var_es` -- RiskMetrics (1996): zero mean, :math:`\sigma^2_{t+1} = \lambda
  \sigma^2_t + (1-\lambda) r_t^2` with :math:`\lambda = 0.94`, started at the mean squared
  return of the window, normal quantiles.

One-shot or rolling
-------------------
``rolling=False`` (default) uses the last ``window`` returns (all if ``window=None``) and returns
the forecast for the next period as a DataFrame indexed by ``level`` with columns ``VaR`` and
``ES``. ``rolling=True`` returns, for every date :math:`t` from the ``window``-th observation
on, the forecast made from the ``window`` returns strictly before :math:`t`, in a DataFrame
indexed by :math:`t` with columns ``VaR_<level>`` then ``ES_<level>`` (the library's convention,
:func:`hybridrisk.results.var_column`); each row equals the one-shot result on that window, so
the frame can be backtested directly against the returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import optimize, stats
from scipy.special import gammaln, psi

from baselines.garch import GARCHResult, fit_garch
from baselines.garch_likelihood import MIN_OBS, _filter
from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.kernels.garch import VarianceUpdater, resolve_backcast
from hybridrisk.results import LEVELS, es_column, var_column

__all__ = [
    "LEVELS",
    "var_es",
    "historical_var_es",
    "filtered_historical_var_es",
    "parametric_var_es",
    "ewma_var_es",
    "normal_var_es",
    "student_t_var_es",
    "fit_student_t",
]

#: Smallest estimation window accepted (filtered HS needs ``baselines.garch.MIN_OBS``).
MIN_WINDOW = 20

Method = Literal["historical", "filtered-historical", "normal", "t", "ewma"]


# --------------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------------
def _levels(levels: Any) -> np.ndarray:
    lv = np.atleast_1d(np.asarray(levels, dtype=float))
    if lv.size == 0 or np.any(~((lv > 0) & (lv < 1))):
        raise ConfigError(f"levels must lie in (0, 1), got {levels!r}")
    return lv


def _one_shot_frame(var: np.ndarray, es: np.ndarray, lv: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"VaR": var, "ES": es}, index=pd.Index(lv, name="level"))


def normal_var_es(mu: float, sigma: float, levels: Any = LEVELS) -> pd.DataFrame:
    r"""VaR and ES of a normal P&L :math:`N(\mu, \sigma^2)` as positive losses.

    :math:`\mathrm{VaR}_p = \sigma z_p - \mu` and :math:`\mathrm{ES}_p = \sigma\phi(z_p)/(1-p)
    - \mu` with :math:`z_p = \Phi^{-1}(p)`.
    """
    lv = _levels(levels)
    zp = stats.norm.ppf(lv)
    return _one_shot_frame(sigma * zp - mu, sigma * stats.norm.pdf(zp) / (1 - lv) - mu, lv)


def student_t_var_es(loc: float, scale: float, nu: float, levels: Any = LEVELS) -> pd.DataFrame:
    r"""VaR and ES of a location-scale Student t P&L, :math:`r = \text{loc} + \text{scale}\,T_\nu`.

    :math:`\mathrm{VaR}_p = \text{scale}\, t_p - \text{loc}`,
    :math:`\mathrm{ES}_p = \text{scale}\,\frac{\nu + t_p^2}{\nu - 1}\frac{f_\nu(t_p)}{1-p}
    - \text{loc}`, with :math:`t_p = F_\nu^{-1}(p)` (needs :math:`\nu > 1`).
    """
    lv = _levels(levels)
    if not nu > 1:
        raise ConfigError(f"the t Expected Shortfall needs nu > 1, got {nu!r}")
    tp = stats.t.ppf(lv, nu)
    es = scale * (nu + tp**2) / (nu - 1) * stats.t.pdf(tp, nu) / (1 - lv) - loc
    return _one_shot_frame(scale * tp - loc, es, lv)


def _t_nll_grad(theta: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative mean log-likelihood of a location-scale t and its gradient in
    (loc, log scale, nu)."""
    loc, lscale, nu = theta
    s = np.exp(lscale)
    u = (x - loc) / s
    r = 1.0 + u * u / nu
    ll = (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - lscale
          - 0.5 * (nu + 1) * np.log(r))
    w = (nu + 1) * u / (nu * r)
    g_loc = np.mean(w) / s
    g_ls = -1.0 + np.mean(w * u)
    g_nu = (0.5 * psi((nu + 1) / 2) - 0.5 * psi(nu / 2) - 0.5 / nu
            - 0.5 * np.mean(np.log(r)) + 0.5 * (nu + 1) * np.mean(u * u / (nu * nu * r)))
    return -float(np.mean(ll)), -np.array([g_loc, g_ls, g_nu])


def fit_student_t(
    x: Any, start: tuple[float, float, float] | None = None
) -> tuple[float, float, float]:
    """Maximum-likelihood location, scale and degrees of freedom (:math:`2.05 \\le \\nu \\le
    500`) of a Student t sample.

    Parameters
    ----------
    x
        1-D sample.
    start
        Optional ``(loc, scale, nu)`` starting point (warm start in rolling use).

    Returns
    -------
    tuple
        ``(loc, scale, nu)``.
    """
    xa = np.asarray(x, dtype=float)
    if start is None:
        kurt = float(stats.kurtosis(xa, fisher=False))
        nu0 = min(max(4.0 + 6.0 / max(kurt - 3.0, 0.2), 3.0), 50.0)
        start = (float(np.median(xa)), float(xa.std() * np.sqrt((nu0 - 2) / nu0)), nu0)
    theta0 = np.array([start[0], np.log(max(start[1], 1e-12)), start[2]])
    # SLSQP, not L-BFGS-B: the latter slows down by 20x under multi-threaded OpenBLAS when
    # the machine is busy, which rolling use (thousands of fits) cannot afford.
    res = optimize.minimize(_t_nll_grad, theta0, args=(xa,), jac=True, method="SLSQP",
                            bounds=[(None, None), (None, None), (2.05, 500.0)],
                            options={"ftol": 1e-12, "maxiter": 200})
    return float(res.x[0]), float(np.exp(res.x[1])), float(res.x[2])


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------
def _prepare(returns: Any, window: int | None, rolling: bool, min_window: int) -> tuple[
        pd.Series, int]:
    if isinstance(returns, pd.DataFrame):
        y = check_timeseries(returns, name="returns", min_obs=min_window, ncols=1).iloc[:, 0]
    else:
        y = check_timeseries(returns, name="returns", min_obs=min_window)
    if window is None:
        if rolling:
            raise ConfigError("rolling VaR needs a window length")
        return y, len(y)
    if not isinstance(window, int | np.integer) or isinstance(window, bool):
        raise ConfigError(f"window must be an integer, got {window!r}")
    if window < min_window:
        raise ConfigError(f"window must be at least {min_window}, got {window}")
    limit = len(y) - 1 if rolling else len(y)
    if window > limit:
        raise DataValidationError(
            "min-obs", f"returns has {len(y)} rows; a {'rolling ' if rolling else ''}window of "
                       f"{window} needs at least {window + int(rolling)}")
    return y, int(window)


def _rolling_frame(var: np.ndarray, es: np.ndarray, lv: np.ndarray,
                   index: pd.Index) -> pd.DataFrame:
    cols = [var_column(v) for v in lv] + [es_column(v) for v in lv]
    return pd.DataFrame(np.hstack([var, es]), index=index, columns=cols)


def _windows(y: pd.Series, window: int) -> np.ndarray:
    """Row k holds the ``window`` returns before target ``window + k``."""
    return sliding_window_view(y.to_numpy()[:-1], window)


def _empirical(w: np.ndarray, lv: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of windows -> (lower quantile, tail mean) per level, each (rows, levels)."""
    q = np.quantile(w, 1.0 - lv, axis=-1, method=method).T  # (rows, levels)
    tail = np.empty_like(q)
    for j in range(lv.shape[0]):
        mask = w <= q[:, j:j + 1]
        tail[:, j] = (w * mask).sum(-1) / mask.sum(-1)
    return q, tail


# --------------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------------
def historical_var_es(
    returns: pd.Series,
    *,
    levels: Any = LEVELS,
    window: int | None = None,
    rolling: bool = False,
    quantile_method: str = "hazen",
) -> pd.DataFrame:
    """Historical-simulation VaR and ES (see the module docstring for conventions)."""
    lv = _levels(levels)
    y, window = _prepare(returns, window, rolling, MIN_WINDOW)
    if rolling:
        q, tail = _empirical(_windows(y, window), lv, quantile_method)
        return _rolling_frame(-q, -tail, lv, y.index[window:])
    q, tail = _empirical(y.to_numpy()[-window:][None, :], lv, quantile_method)
    return _one_shot_frame(-q[0], -tail[0], lv)


def _fhs_one(
    res_spec: Any, theta: np.ndarray, yw: np.ndarray, backcast: Any, lv: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray]:
    mode, fixed = resolve_backcast(res_spec.mean, yw, backcast)
    e, h, _ = _filter(res_spec, theta, yw, mode, fixed)
    z = e / np.sqrt(h)
    sigma = float(np.sqrt(VarianceUpdater(res_spec, theta, e, h, 1).next_variance()[0]))
    mu = float(theta[0]) if res_spec.n_mean else 0.0
    q, tail = _empirical(z[None, :], lv, method)
    return -(mu + sigma * q[0]), -(mu + sigma * tail[0])


def filtered_historical_var_es(
    returns: pd.Series,
    *,
    levels: Any = LEVELS,
    window: int | None = None,
    rolling: bool = False,
    refit_every: int = 1,
    garch: dict[str, Any] | None = None,
    quantile_method: str = "hazen",
) -> pd.DataFrame:
    """Filtered historical simulation VaR and ES.

    Parameters
    ----------
    returns, levels, window, rolling, quantile_method
        See the module docstring.
    refit_every
        In rolling use, re-estimate the GARCH parameters every ``refit_every`` windows; in
        between, the latest parameters filter each new window (its variances, residuals and
        the one-step forecast are always recomputed). 1 re-estimates every window (one GARCH fit
        per date, the slow and exact choice).
    garch
        Keyword arguments of :func:`~baselines.garch.fit_garch`.
    """
    lv = _levels(levels)
    y, window = _prepare(returns, window, rolling, MIN_OBS)
    kw = dict(garch or {})
    backcast = kw.get("backcast")
    if not rolling:
        res: GARCHResult = fit_garch(y.iloc[-window:], **kw)
        v, e = _fhs_one(res.spec, res.params.to_numpy(), y.to_numpy()[-window:], backcast, lv,
                        quantile_method)
        return _one_shot_frame(v, e, lv)
    if not isinstance(refit_every, int | np.integer) or refit_every < 1:
        raise ConfigError(f"refit_every must be a positive integer, got {refit_every!r}")
    n_out = len(y) - window
    var = np.empty((n_out, lv.shape[0]))
    es = np.empty_like(var)
    ya = y.to_numpy()
    for k in range(n_out):
        if k % refit_every == 0:
            res = fit_garch(y.iloc[k:k + window], **kw)
        var[k], es[k] = _fhs_one(res.spec, res.params.to_numpy(), ya[k:k + window], backcast,
                                 lv, quantile_method)
    return _rolling_frame(var, es, lv, y.index[window:])


def parametric_var_es(
    returns: pd.Series,
    *,
    dist: Literal["normal", "t"] = "normal",
    levels: Any = LEVELS,
    window: int | None = None,
    rolling: bool = False,
) -> pd.DataFrame:
    """Parametric (normal or Student t) VaR and ES fitted to the window."""
    lv = _levels(levels)
    if dist not in ("normal", "t"):
        raise ConfigError(f"dist must be 'normal' or 't', got {dist!r}")
    y, window = _prepare(returns, window, rolling, MIN_WINDOW)
    if not rolling:
        x = y.to_numpy()[-window:]
        if dist == "normal":
            return normal_var_es(float(x.mean()), float(x.std(ddof=1)), lv)
        return student_t_var_es(*fit_student_t(x), levels=lv)
    w = _windows(y, window)
    if dist == "normal":
        frames = normal_var_es(0.0, 1.0, lv)  # standard-normal VaR/ES, then location-scale
        mu, sd = w.mean(1)[:, None], w.std(1, ddof=1)[:, None]
        var = sd * frames["VaR"].to_numpy() - mu
        es = sd * frames["ES"].to_numpy() - mu
        return _rolling_frame(var, es, lv, y.index[window:])
    var = np.empty((w.shape[0], lv.shape[0]))
    es = np.empty_like(var)
    start = None
    for k in range(w.shape[0]):
        start = fit_student_t(w[k], start)
        f = student_t_var_es(*start, levels=lv)
        var[k], es[k] = f["VaR"].to_numpy(), f["ES"].to_numpy()
    return _rolling_frame(var, es, lv, y.index[window:])


def _ewma_weights(n: int, lam: float) -> np.ndarray:
    """Weights on r^2_{T-j}, j = 0..n-1, of the EWMA started at the window's mean square."""
    j = np.arange(n)
    return (1 - lam) * lam**j + lam**n / n


def ewma_var_es(
    returns: pd.Series,
    *,
    lam: float = 0.94,
    levels: Any = LEVELS,
    window: int | None = None,
    rolling: bool = False,
) -> pd.DataFrame:
    """RiskMetrics EWMA VaR and ES (zero mean, normal; see the module docstring)."""
    lv = _levels(levels)
    if not 0 < lam < 1:
        raise ConfigError(f"lam must lie in (0, 1), got {lam!r}")
    y, window = _prepare(returns, window, rolling, MIN_WINDOW)
    wts = _ewma_weights(window, lam)[::-1]  # oldest first, to match the window order
    std = normal_var_es(0.0, 1.0, lv)
    if rolling:
        sigma = np.sqrt(_windows(y, window) ** 2 @ wts)[:, None]
        return _rolling_frame(sigma * std["VaR"].to_numpy(), sigma * std["ES"].to_numpy(), lv,
                              y.index[window:])
    sigma = float(np.sqrt(y.to_numpy()[-window:] ** 2 @ wts))
    return normal_var_es(0.0, sigma, lv)


_METHODS: dict[str, Callable[..., pd.DataFrame]] = {
    "historical": historical_var_es,
    "filtered-historical": filtered_historical_var_es,
    "ewma": ewma_var_es,
}


def var_es(returns: pd.Series, method: Method = "historical", **kwargs: Any) -> pd.DataFrame:
    """Dispatch to one of the VaR/ES baselines by name.

    ``method`` is ``"historical"``, ``"filtered-historical"``, ``"normal"``, ``"t"`` or
    ``"ewma"``; ``kwargs`` go to the corresponding function.
    """
    if method in ("normal", "t"):
        return parametric_var_es(returns, dist=method, **kwargs)
    if method not in _METHODS:
        raise ConfigError(f"unknown VaR method {method!r}; choose from "
                          f"{sorted([*_METHODS, 'normal', 't'])}")
    return _METHODS[method](returns, **kwargs)
