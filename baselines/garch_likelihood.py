r"""The GARCH likelihood in numpy, its analytic scores and the parameter covariances.

The recursion is arch's (see :mod:`baselines.garch` for the model, the backcast options and the
parameter names): a linear filter for GARCH/GJR, arch's compiled kernel for EGARCH. Scores are
analytic for GARCH/GJR (numerical for EGARCH and the skew t's shape), the Hessian is their
numerical Jacobian, and :func:`garch_covariance` assembles the Hessian, OPG, robust (QML
sandwich), information-matrix and Bollerslev-Wooldridge estimators.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from arch.univariate import recursions as arch_recursions
from scipy.signal import lfilter, lfiltic
from scipy.special import gammaln, psi

from hybridrisk.checks import check_array, check_timeseries
from hybridrisk.errors import (
    ConfigError,
    DataValidationError,
    ParameterDomainError,
)
from hybridrisk.kernels.distributions import (
    check_dist_params,
    skewt_abc,
)
from hybridrisk.kernels.garch import (
    LNSIGMA_MAX,
    SQRT2_OV_PI,
    DistKind,
    GARCHSpec,
    MeanKind,
    VolKind,
    resolve_backcast,
)

__all__ = ["garch_loglik", "garch_scores", "garch_hessian", "garch_covariance", "MIN_OBS"]

CovKind = Literal["robust", "hessian", "opg", "information", "bollerslev-wooldridge"]

#: Fewest observations a GARCH fit accepts.
MIN_OBS = 100


# --------------------------------------------------------------------------------------------
# Standardized innovation distributions
# --------------------------------------------------------------------------------------------
def _dist_loglik_obs(dist: str, dparams: np.ndarray, e: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Per-observation log density of residuals ``e`` with conditional variances ``h``."""
    if dist == "normal":
        return -0.5 * (np.log(2 * np.pi) + np.log(h) + e**2 / h)
    if dist == "t":
        nu = dparams[0]
        c = gammaln((nu + 1) / 2) - gammaln(nu / 2) - np.log(np.pi * (nu - 2)) / 2
        return c - 0.5 * np.log(h) - ((nu + 1) / 2) * np.log(1 + e**2 / (h * (nu - 2)))
    eta, lam = dparams
    logc, a, b = skewt_abc(eta, lam)
    z = e / np.sqrt(h)
    w = (b * z + a) / (1 + np.sign(z + a / b) * lam)
    return np.log(b) + logc - np.log(h) / 2 - (eta + 1) / 2 * np.log(1 + w**2 / (eta - 2))


def _dist_derivs(
    dist: str, dparams: np.ndarray, e: np.ndarray, h: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-observation derivatives of the log density with respect to ``e`` and ``h``."""
    if dist == "normal":
        return -e / h, -0.5 * (1.0 / h - e**2 / h**2)
    if dist == "t":
        nu = dparams[0]
        u = e**2 / (h * (nu - 2))
        dle = -(nu + 1) * e / (h * (nu - 2) * (1 + u))
        dlh = -0.5 / h + 0.5 * (nu + 1) * u / (h * (1 + u))
        return dle, dlh
    eta, lam = dparams
    _, a, b = skewt_abc(eta, lam)
    sh = np.sqrt(h)
    z = e / sh
    s = 1 + np.sign(z + a / b) * lam
    w = (b * z + a) / s
    dlz = -(eta + 1) * w * b / (s * (eta - 2 + w**2))
    return dlz / sh, -0.5 / h - dlz * z / (2 * h)


def _dist_param_scores(
    dist: str, dparams: np.ndarray, e: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """Per-observation derivatives with respect to the distribution's own parameters."""
    if dist == "normal":
        return np.empty((e.shape[0], 0))
    if dist == "t":
        nu = dparams[0]
        u = e**2 / (h * (nu - 2))
        d = (0.5 * psi((nu + 1) / 2) - 0.5 * psi(nu / 2) - 0.5 / (nu - 2)
             - 0.5 * np.log1p(u) + 0.5 * (nu + 1) * u / ((nu - 2) * (1 + u)))
        return d[:, None]
    # central differences in (eta, lambda) at fixed e and h: smooth, two parameters
    out = np.empty((e.shape[0], 2))
    for j in range(2):
        step = 1e-6 * max(abs(dparams[j]), 1.0)
        up, dn = dparams.copy(), dparams.copy()
        up[j] += step
        dn[j] -= step
        out[:, j] = (_dist_loglik_obs(dist, up, e, h) - _dist_loglik_obs(dist, dn, e, h)) / (
            2 * step
        )
    return out


# --------------------------------------------------------------------------------------------
# Recursions and likelihood
# --------------------------------------------------------------------------------------------
def _lag_matrix(pad: np.ndarray, m: int, n_lags: int, T: int) -> list[np.ndarray]:
    """Lags 1..n_lags of a series stored after ``m`` pre-sample values in ``pad``."""
    return [pad[m - 1 - i: m - 1 - i + T] for i in range(n_lags)]


def _garch_variance(
    spec: GARCHSpec, vp: np.ndarray, e: np.ndarray, bc: float
) -> np.ndarray:
    """GARCH/GJR variance recursion as a linear filter (exactly arch's order of operations)."""
    T, p, o, q = e.shape[0], spec.p, spec.o, spec.q
    m = max(p, o, 1)
    f = e * e
    fpad = np.concatenate([np.full(m, bc), f])
    gpad = np.concatenate([np.full(m, 0.5 * bc), f * (e < 0)])
    x = np.full(T, vp[0])
    for i, lag in enumerate(_lag_matrix(fpad, m, p, T)):
        x = x + vp[1 + i] * lag
    for j, lag in enumerate(_lag_matrix(gpad, m, o, T)):
        x = x + vp[1 + p + j] * lag
    if q == 0:
        return x
    a = np.concatenate([[1.0], -vp[1 + p + o:]])
    zi = lfiltic([1.0], a, np.full(q, bc))
    return lfilter([1.0], a, x, zi=zi)[0]


def _egarch_variance(
    spec: GARCHSpec, vp: np.ndarray, e: np.ndarray, lnbc: float
) -> np.ndarray:
    """EGARCH recursion (nonlinear in the past variance, so a plain loop over floats)."""
    T, p, o, q = e.shape[0], spec.p, spec.o, spec.q
    omega = float(vp[0])
    alpha = [float(v) for v in vp[1:1 + p]]
    gamma = [float(v) for v in vp[1 + p:1 + p + o]]
    beta = [float(v) for v in vp[1 + p + o:]]
    ev = e.tolist()
    lnh = [0.0] * T
    z = [0.0] * T
    az = [0.0] * T
    h = np.empty(T)
    exp, sqrt = np.exp, np.sqrt
    for t in range(T):
        s = omega
        for i in range(p):
            if t - 1 - i >= 0:
                s += alpha[i] * (az[t - 1 - i] - SQRT2_OV_PI)
        for j in range(o):
            if t - 1 - j >= 0:
                s += gamma[j] * z[t - 1 - j]
        for k in range(q):
            s += beta[k] * (lnbc if t - 1 - k < 0 else lnh[t - 1 - k])
        s = min(s, LNSIGMA_MAX)
        lnh[t] = s
        ht = float(exp(s))
        h[t] = ht
        zt = ev[t] / float(sqrt(ht))
        z[t] = zt
        az[t] = abs(zt)
    return h


def _egarch_variance_compiled(
    spec: GARCHSpec, vp: np.ndarray, e: np.ndarray, lnbc: float
) -> np.ndarray:
    """The same EGARCH recursion through arch's compiled kernel, with non-binding bounds.

    Used inside optimisation and numerical differentiation, where the pure-Python loop of
    :func:`_egarch_variance` would dominate the run time; tests check the two agree.
    """
    T = e.shape[0]
    h = np.empty(T)
    bounds = np.column_stack([np.zeros(T), np.full(T, np.inf)])
    arch_recursions.egarch_recursion(
        np.ascontiguousarray(vp, dtype=float), np.ascontiguousarray(e), h, spec.p, spec.o,
        spec.q, T, lnbc, bounds, np.empty(T), np.empty(T), np.empty(T),
    )
    return h


def _filter(
    spec: GARCHSpec, params: np.ndarray, y: np.ndarray, bc_mode: str, bc_value: float | None,
    *, compiled: bool = True,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Residuals, conditional variances and the backcast variance used, for ``params``.

    ``compiled=False`` runs the EGARCH recursion in this module's own Python loop (the path
    :func:`garch_loglik` takes); GARCH/GJR always use the numpy linear filter.
    """
    mp, vp, _ = spec.split(params)
    e = y - mp[0] if spec.mean == "constant" else y.copy()
    v = float(np.mean(e * e)) if bc_mode == "sample-variance" else float(bc_value)  # type: ignore[arg-type]
    if spec.vol == "egarch":
        egarch = _egarch_variance_compiled if compiled else _egarch_variance
        h = egarch(spec, vp, e, float(np.log(v)))
    else:
        h = _garch_variance(spec, vp, e, v)
    return e, h, v


def _loglik_obs(
    spec: GARCHSpec, params: np.ndarray, y: np.ndarray, bc_mode: str, bc_value: float | None
) -> np.ndarray:
    """Per-observation log-likelihood (NaN where the variance is not positive)."""
    e, h, _ = _filter(spec, params, y, bc_mode, bc_value)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _dist_loglik_obs(spec.dist, spec.split(params)[2], e, h)


def _coerce_params(spec: GARCHSpec, params: Any) -> np.ndarray:
    names = spec.param_names()
    if isinstance(params, pd.Series):
        missing = [n for n in names if n not in params.index]
        if missing:
            raise DataValidationError(
                "params", f"params lacks {missing}; expected {names}", column=missing[0]
            )
        params = params[names]
    arr = check_array(params, name="params", ndim=1)
    if arr.shape[0] != len(names):
        raise DataValidationError(
            "shape", f"params has {arr.shape[0]} values, the model has {len(names)}: {names}"
        )
    return arr


def garch_loglik(
    params: Any,
    returns: Any,
    *,
    mean: MeanKind = "constant",
    vol: VolKind = "garch",
    p: int = 1,
    o: int = 0,
    q: int = 1,
    dist: DistKind = "normal",
    backcast: None | Literal["sample-variance"] | float = None,
    individual: bool = False,
) -> float | np.ndarray:
    """Log-likelihood of a univariate GARCH model in numpy (equal to arch's ``loglikelihood``).

    Parameters
    ----------
    params
        Parameters in arch's order (``spec.param_names()``), an array or a Series with those
        names.
    returns
        1-D array or Series of returns (percent).
    mean, vol, p, o, q, dist
        The model, as in :func:`baselines.garch.fit_garch`.
    backcast
        ``None`` (arch's EWMA backcast of the residuals at the starting values, fixed),
        ``"sample-variance"`` (mean squared residual at the current ``mu``) or a fixed
        :math:`\\sigma_0^2`. See the module docstring.
    individual
        Return the per-observation contributions instead of their sum.

    Returns
    -------
    float or ndarray
        Log-likelihood including the constant terms.

    Raises
    ------
    ParameterDomainError
        If a distribution parameter is out of range or a conditional variance is not positive.
    """
    spec = GARCHSpec(mean, vol, p, o, q, dist)
    if isinstance(returns, pd.Series | pd.DataFrame):
        y = check_timeseries(returns, name="returns", datetime_index=False, ncols=1)
        y = np.asarray(y, dtype=float).ravel()
    else:
        y = check_array(returns, name="returns", ndim=1)
    theta = _coerce_params(spec, params)
    check_dist_params(dist, spec.split(theta)[2])
    mode, value = resolve_backcast(spec.mean, y, backcast)
    e, h, _ = _filter(spec, theta, y, mode, value, compiled=False)
    if not (np.all(np.isfinite(h)) and np.all(h > 0)):
        raise ParameterDomainError("params", theta.tolist(), "positive conditional variances")
    ll = _dist_loglik_obs(dist, spec.split(theta)[2], e, h)
    return ll if individual else float(np.sum(ll))


# --------------------------------------------------------------------------------------------
# Scores and covariance matrices
# --------------------------------------------------------------------------------------------
def _garch_scores(
    spec: GARCHSpec, params: np.ndarray, y: np.ndarray, bc_mode: str, bc_value: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Analytic per-observation scores of a GARCH/GJR model.

    Returns the scores (T, k), the residuals, the variances and dh/dtheta (T, k).
    The variance derivatives follow the same linear filter as the variances; with the
    sample-variance backcast the pre-sample terms depend on mu through d(mean e^2)/dmu.
    """
    mp, vp, dp = spec.split(params)
    e, h, v = _filter(spec, params, y, bc_mode, bc_value)
    T, p, o, q = e.shape[0], spec.p, spec.o, spec.q
    m = max(p, o, 1)
    dbc = -2.0 * float(np.mean(e)) if (bc_mode == "sample-variance" and spec.n_mean) else 0.0
    f = e * e
    neg = e < 0
    fpad = np.concatenate([np.full(m, v), f])
    gpad = np.concatenate([np.full(m, 0.5 * v), f * neg])
    hpad = np.concatenate([np.full(q, v), h])
    cols: list[np.ndarray] = []
    pre: list[float] = []
    if spec.n_mean:
        dfpad = np.concatenate([np.full(m, dbc), -2.0 * e])
        dgpad = np.concatenate([np.full(m, 0.5 * dbc), -2.0 * e * neg])
        rhs = np.zeros(T)
        for i, lag in enumerate(_lag_matrix(dfpad, m, p, T)):
            rhs = rhs + vp[1 + i] * lag
        for j, lag in enumerate(_lag_matrix(dgpad, m, o, T)):
            rhs = rhs + vp[1 + p + j] * lag
        cols.append(rhs)
        pre.append(dbc)
    cols.append(np.ones(T))
    cols += _lag_matrix(fpad, m, p, T)
    cols += _lag_matrix(gpad, m, o, T)
    cols += [hpad[q - 1 - k: q - 1 - k + T] for k in range(q)]
    pre += [0.0] * (spec.n_vol)
    rhs_all = np.column_stack(cols)
    if q > 0:
        a = np.concatenate([[1.0], -vp[1 + p + o:]])
        zi = np.column_stack([lfiltic([1.0], a, np.full(q, d)) for d in pre])
        dh = lfilter([1.0], a, rhs_all, axis=0, zi=zi)[0]
    else:
        dh = rhs_all
    dle, dlh = _dist_derivs(spec.dist, dp, e, h)
    scores = dlh[:, None] * dh
    if spec.n_mean:
        scores[:, 0] -= dle  # de/dmu = -1
    scores = np.column_stack([scores, _dist_param_scores(spec.dist, dp, e, h)])
    return scores, e, h, dh


def _numeric_scores(
    spec: GARCHSpec, params: np.ndarray, y: np.ndarray, bc_mode: str, bc_value: float | None
) -> np.ndarray:
    """Per-observation scores by central differences (used for EGARCH)."""
    k = params.shape[0]
    out = np.empty((y.shape[0], k))
    for j in range(k):
        step = 6e-6 * max(abs(params[j]), 0.1)
        up, dn = params.copy(), params.copy()
        up[j] += step
        dn[j] -= step
        out[:, j] = (_loglik_obs(spec, up, y, bc_mode, bc_value)
                     - _loglik_obs(spec, dn, y, bc_mode, bc_value)) / (2 * step)
    return out


def garch_scores(
    spec: GARCHSpec, params: np.ndarray, y: np.ndarray, bc_mode: str, bc_value: float | None
) -> np.ndarray:
    """Per-observation scores (T, k): analytic for GARCH/GJR, numerical for EGARCH."""
    if spec.vol == "garch":
        return _garch_scores(spec, params, y, bc_mode, bc_value)[0]
    return _numeric_scores(spec, params, y, bc_mode, bc_value)


def garch_hessian(
    spec: GARCHSpec, params: np.ndarray, y: np.ndarray, bc_mode: str, bc_value: float | None
) -> np.ndarray:
    """Hessian of the total log-likelihood: central differences of the summed scores.

    Richardson-extrapolated over steps h and h/2, so the O(h^2) truncation error cancels;
    with analytic scores this reproduces the benchmark's standard errors to about 9 digits.
    """
    k = params.shape[0]
    rel = 1e-5 if spec.vol == "garch" else 1e-4  # numerical scores need a larger step

    def central(frac: float) -> np.ndarray:
        hess = np.empty((k, k))
        for j in range(k):
            step = frac * max(abs(params[j]), 1e-2)
            up, dn = params.copy(), params.copy()
            up[j] += step
            dn[j] -= step
            hess[:, j] = (garch_scores(spec, up, y, bc_mode, bc_value).sum(0)
                          - garch_scores(spec, dn, y, bc_mode, bc_value).sum(0)) / (2 * step)
        return hess

    hess = (4.0 * central(rel / 2) - central(rel)) / 3.0
    return 0.5 * (hess + hess.T)


def _information_matrix(
    spec: GARCHSpec, params: np.ndarray, y: np.ndarray, bc_mode: str, bc_value: float | None
) -> np.ndarray:
    """Gaussian GARCH information matrix as in TSP/FCP: mean-variance cross block set to 0."""
    _, _, h, dh = _garch_scores(spec, params, y, bc_mode, bc_value)
    d = dh / h[:, None]
    info = 0.5 * d.T @ d
    if spec.n_mean:
        info[0, 0] += float(np.sum(1.0 / h))
        info[0, 1:] = 0.0
        info[1:, 0] = 0.0
    return info


def garch_covariance(
    spec: GARCHSpec,
    params: np.ndarray,
    y: np.ndarray,
    bc_mode: str,
    bc_value: float | None,
    kind: CovKind = "robust",
) -> np.ndarray:
    """Parameter covariance of the given kind.

    See :meth:`baselines.garch.GARCHResult.covariance` for the kinds.
    """
    s = garch_scores(spec, params, y, bc_mode, bc_value)
    opg = s.T @ s
    if kind == "opg":
        return np.linalg.inv(opg)
    if kind in ("information", "bollerslev-wooldridge"):
        if spec.vol != "garch" or spec.dist != "normal":
            raise ConfigError(f"{kind!r} covariance is defined for Gaussian GARCH/GJR only")
        inv_info = np.linalg.inv(_information_matrix(spec, params, y, bc_mode, bc_value))
        return inv_info if kind == "information" else inv_info @ opg @ inv_info
    inv_h = np.linalg.inv(-garch_hessian(spec, params, y, bc_mode, bc_value))
    if kind == "hessian":
        return inv_h
    if kind == "robust":
        return inv_h @ opg @ inv_h
    raise ConfigError(f"unknown covariance kind {kind!r}")
