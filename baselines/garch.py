r"""Univariate GARCH baselines over :mod:`arch`, and a numpy log-likelihood that equals arch's.

Model
-----
Returns follow :math:`r_t = \mu + \epsilon_t` (``mean="constant"``) or :math:`r_t = \epsilon_t`
(``mean="zero"``), with :math:`\epsilon_t = \sigma_t z_t` and :math:`z_t` i.i.d. with mean 0 and
variance 1 (normal, standardized Student t, or Hansen's standardized skew t). The variance is

* ``vol="garch"`` (GJR when ``o > 0``)

  .. math:: \sigma_t^2 = \omega + \sum_{i=1}^p \alpha_i \epsilon_{t-i}^2
            + \sum_{j=1}^o \gamma_j \epsilon_{t-j}^2 1[\epsilon_{t-j} < 0]
            + \sum_{k=1}^q \beta_k \sigma_{t-k}^2

* ``vol="egarch"``

  .. math:: \ln\sigma_t^2 = \omega + \sum_{i=1}^p \alpha_i (|z_{t-i}| - \sqrt{2/\pi})
            + \sum_{j=1}^o \gamma_j z_{t-j} + \sum_{k=1}^q \beta_k \ln\sigma_{t-k}^2

Parameters are named exactly as arch names them: ``mu``, ``omega``, ``alpha[i]``, ``gamma[j]``,
``beta[k]``, ``nu`` (t) and ``eta``, ``lambda`` (skew t; arch calls the skew-t shape ``eta``).

Backcast (how the recursion starts)
-----------------------------------
Pre-sample terms use a single value :math:`\sigma_0^2`: pre-sample :math:`\epsilon^2` and
:math:`\sigma^2` equal it, pre-sample :math:`\epsilon^2 1[\epsilon<0]` equals half of it, and for
EGARCH pre-sample :math:`\ln\sigma^2 = \ln\sigma_0^2` while pre-sample :math:`z` terms are 0.
This is arch's own convention. The options of ``backcast=`` are

* ``None`` -- arch's default: the exponentially weighted (0.94, first 75 observations) mean of
  the squared residuals *at the starting values* (``r - mean(r)`` for a constant mean). arch
  computes it once before optimising and holds it fixed, so the likelihood maximised is
  conditional on a data-dependent constant.
* ``"sample-variance"`` -- the convention of the published GARCH benchmarks (Fiorentini,
  Calzolari & Panattoni 1996; McCullough & Renfro 1999; TSP's ``h(0) = e(0)**2 = SSR/T``):
  :math:`\sigma_0^2 = T^{-1}\sum_t (r_t - \mu)^2` re-evaluated at the *current* :math:`\mu`.
  arch cannot do this (its ``fit(backcast=)`` fixes the value, and with a constant mean the
  residuals move with :math:`\mu`), so this module maximises its own likelihood (arch's
  recursion, written here as a numpy linear filter for GARCH/GJR; arch's compiled kernel for
  EGARCH) with SLSQP under arch's bounds and constraints, started from arch's fit with the
  backcast frozen at the OLS sample variance and polished by Newton steps (analytic scores for
  GARCH/GJR, numerical for EGARCH). ``arch_result`` is then arch's result evaluated (zero
  optimiser iterations) at these estimates with the backcast fixed at
  :math:`\sigma_0^2(\hat\mu)`; its log-likelihood equals ours. On the DEM/GBP series this
  reproduces the FCP/TSP benchmark to 11 digits (``tests/results/garch_benchmark_dem_gbp.json``).
* a float -- a fixed :math:`\sigma_0^2` (passed to arch's ``fit(backcast=)``).

arch also clips each variance into loose data-based bounds (about ``[v/1e6, v*1e6]`` around an
EWMA variance); :func:`garch_loglik` does not, which makes no difference at any sensible
parameter value (the bounds never bind at arch's estimates).

The Gaussian log-likelihood includes the constant: :math:`-\tfrac12\sum_t(\ln 2\pi +
\ln\sigma_t^2 + \epsilon_t^2/\sigma_t^2)`, as arch and the TSP/FCP benchmark report it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from arch import arch_model
from arch.univariate import recursions as arch_recursions
from arch.univariate.base import ARCHModelResult
from arch.utility.exceptions import ConvergenceWarning
from scipy import optimize, stats
from scipy.integrate import quad
from scipy.signal import lfilter, lfiltic
from scipy.special import gammaln, psi

from baselines.results import ParameterResults, Summary, format_number, parameter_table
from hybridrisk.checks import check_array, check_timeseries
from hybridrisk.errors import (
    ConfigError,
    ConvergenceError,
    DataValidationError,
    ParameterDomainError,
)

__all__ = [
    "GARCHSpec",
    "GARCHResult",
    "GARCHForecast",
    "GARCHSimulation",
    "fit_garch",
    "garch_loglik",
    "std_dist_ppf",
    "std_dist_tail_mean",
    "std_dist_rvs",
    "LEVELS",
    "MIN_OBS",
]

MeanKind = Literal["constant", "zero"]
VolKind = Literal["garch", "egarch"]
DistKind = Literal["normal", "t", "skewt"]
CovKind = Literal["robust", "hessian", "opg", "information", "bollerslev-wooldridge"]

#: VaR/ES confidence levels reported by default.
LEVELS: tuple[float, ...] = (0.95, 0.975, 0.99)
#: Fewest observations a GARCH fit accepts.
MIN_OBS = 100

_SQRT2_OV_PI = float(np.sqrt(2.0 / np.pi))  # E|z| for z ~ N(0,1), arch's EGARCH constant
_LNSIGMA_MAX = float(np.log(np.finfo(np.double).max) - 0.1)  # arch's EGARCH overflow guard
_ARCH_MEAN = {"constant": "Constant", "zero": "Zero"}
_ARCH_VOL = {"garch": "GARCH", "egarch": "EGARCH"}
_MEAN_TITLE = {"constant": "Constant Mean", "zero": "Zero Mean"}
_DIST_TITLE = {"normal": "Normal", "t": "Standardized Student's t",
               "skewt": "Standardized Skew Student's t"}


# --------------------------------------------------------------------------------------------
# Specification
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GARCHSpec:
    """A univariate GARCH specification: mean, volatility process, orders and distribution."""

    mean: MeanKind = "constant"
    vol: VolKind = "garch"
    p: int = 1
    o: int = 0
    q: int = 1
    dist: DistKind = "normal"

    def __post_init__(self) -> None:
        if self.mean not in _ARCH_MEAN:
            raise ConfigError(f"mean must be one of {sorted(_ARCH_MEAN)}, got {self.mean!r}")
        if self.vol not in _ARCH_VOL:
            raise ConfigError(f"vol must be one of {sorted(_ARCH_VOL)}, got {self.vol!r}")
        if self.dist not in _DIST_TITLE:
            raise ConfigError(f"dist must be one of {sorted(_DIST_TITLE)}, got {self.dist!r}")
        for k in ("p", "o", "q"):
            v = getattr(self, k)
            if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 0:
                raise ConfigError(f"{k} must be a non-negative integer, got {v!r}")
        if self.p == 0 and self.o == 0:
            raise ConfigError("one of p or o must be positive")

    @property
    def n_mean(self) -> int:
        return 1 if self.mean == "constant" else 0

    @property
    def n_vol(self) -> int:
        return 1 + self.p + self.o + self.q

    @property
    def n_dist(self) -> int:
        return {"normal": 0, "t": 1, "skewt": 2}[self.dist]

    @property
    def n_params(self) -> int:
        return self.n_mean + self.n_vol + self.n_dist

    def param_names(self) -> list[str]:
        """Parameter names in arch's order and spelling."""
        names = ["mu"] if self.mean == "constant" else []
        names.append("omega")
        names += [f"alpha[{i + 1}]" for i in range(self.p)]
        names += [f"gamma[{i + 1}]" for i in range(self.o)]
        names += [f"beta[{i + 1}]" for i in range(self.q)]
        names += {"normal": [], "t": ["nu"], "skewt": ["eta", "lambda"]}[self.dist]
        return names

    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split a parameter vector into its mean, volatility and distribution parts."""
        a, b = self.n_mean, self.n_mean + self.n_vol
        return params[:a], params[a:b], params[b:]

    @property
    def vol_name(self) -> str:
        if self.vol == "egarch":
            return "EGARCH"
        if self.q == 0:
            return "ARCH" if self.o == 0 else "GJR-ARCH"
        return "GARCH" if self.o == 0 else "GJR-GARCH"

    def describe(self) -> str:
        """Short label such as ``GJR-GARCH(1,1,1)-t``."""
        return f"{self.vol_name}({self.p},{self.o},{self.q})-{self.dist}"

    def arch_model(self, y: pd.Series) -> Any:
        """The matching (unfitted) :func:`arch.arch_model`."""
        return arch_model(
            y, mean=_ARCH_MEAN[self.mean], vol=_ARCH_VOL[self.vol], p=self.p, o=self.o,
            q=self.q, dist=self.dist,
        )


# --------------------------------------------------------------------------------------------
# Standardized innovation distributions
# --------------------------------------------------------------------------------------------
def _check_dist_params(dist: str, dparams: np.ndarray) -> None:
    if dist == "t" and not dparams[0] > 2.0:
        raise ParameterDomainError("nu", float(dparams[0]), "nu > 2")
    if dist == "skewt":
        if not dparams[0] > 2.0:
            raise ParameterDomainError("eta", float(dparams[0]), "eta > 2")
        if not abs(dparams[1]) < 1.0:
            raise ParameterDomainError("lambda", float(dparams[1]), "|lambda| < 1")


def _skewt_constants(eta: float, lam: float) -> tuple[float, float, float]:
    """Hansen (1994) constants: log c, a, b."""
    logc = gammaln((eta + 1) / 2) - gammaln(eta / 2) - 0.5 * np.log(np.pi * (eta - 2))
    a = 4 * lam * np.exp(logc) * (eta - 2) / (eta - 1)
    b = np.sqrt(1 + 3 * lam**2 - a**2)
    return float(logc), float(a), float(b)


def _dist_loglik_obs(dist: str, dparams: np.ndarray, e: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Per-observation log density of residuals ``e`` with conditional variances ``h``."""
    if dist == "normal":
        return -0.5 * (np.log(2 * np.pi) + np.log(h) + e**2 / h)
    if dist == "t":
        nu = dparams[0]
        c = gammaln((nu + 1) / 2) - gammaln(nu / 2) - np.log(np.pi * (nu - 2)) / 2
        return c - 0.5 * np.log(h) - ((nu + 1) / 2) * np.log(1 + e**2 / (h * (nu - 2)))
    eta, lam = dparams
    logc, a, b = _skewt_constants(eta, lam)
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
    _, a, b = _skewt_constants(eta, lam)
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


def std_dist_ppf(dist: DistKind, dparams: Any, u: Any) -> np.ndarray:
    """Quantile function of the standardized (mean 0, variance 1) innovation distribution.

    Parameters
    ----------
    dist
        ``"normal"``, ``"t"`` (parameters ``[nu]``) or ``"skewt"`` (``[eta, lambda]``, Hansen 1994).
    dparams
        Distribution parameters (empty for the normal).
    u
        Probabilities in (0, 1).
    """
    u = np.asarray(u, dtype=float)
    dp = np.atleast_1d(np.asarray(dparams, dtype=float))
    _check_dist_params(dist, dp)
    if dist == "normal":
        return stats.norm.ppf(u)
    if dist == "t":
        nu = dp[0]
        return stats.t.ppf(u, nu) * np.sqrt((nu - 2) / nu)
    eta, lam = dp
    _, a, b = _skewt_constants(eta, lam)
    left = u < (1 - lam) / 2
    # the two halves of Hansen's density are rescaled t densities joined at the mode -a/b
    tq = np.where(
        left,
        stats.t.ppf(np.clip(u / (1 - lam), 0, 1), eta),
        stats.t.ppf(np.clip(0.5 + (u - (1 - lam) / 2) / (1 + lam), 0, 1), eta),
    )
    scale = np.where(left, 1 - lam, 1 + lam)
    return (tq * scale * np.sqrt(1 - 2 / eta) - a) / b


def std_dist_tail_mean(dist: DistKind, dparams: Any, alpha: Any) -> np.ndarray:
    r"""Lower tail mean :math:`E[z \mid z \le F^{-1}(\alpha)]` of the standardized distribution.

    Closed forms: normal :math:`-\phi(z_\alpha)/\alpha`; standardized t
    :math:`-s\,\frac{\nu + t_\alpha^2}{\nu - 1} f_\nu(t_\alpha)/\alpha` with
    :math:`s=\sqrt{(\nu-2)/\nu}`; skew t from the t formula on its left half (numerical
    quadrature of the quantile function when the tail crosses the mode).
    """
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    dp = np.atleast_1d(np.asarray(dparams, dtype=float))
    _check_dist_params(dist, dp)
    if dist == "normal":
        return -stats.norm.pdf(stats.norm.ppf(alpha)) / alpha
    if dist == "t":
        nu = dp[0]
        x = stats.t.ppf(alpha, nu)
        return -np.sqrt((nu - 2) / nu) * (nu + x**2) / (nu - 1) * stats.t.pdf(x, nu) / alpha
    eta, lam = dp
    _, a, b = _skewt_constants(eta, lam)
    out = np.empty_like(alpha)
    for i, al in enumerate(alpha):
        if al < (1 - lam) / 2:
            x = stats.t.ppf(al / (1 - lam), eta)
            tmean = -(eta + x**2) / (eta - 1) * stats.t.pdf(x, eta) / (al / (1 - lam))
            out[i] = ((1 - lam) * np.sqrt(1 - 2 / eta) * tmean - a) / b
        else:
            val, _ = quad(lambda v: float(std_dist_ppf("skewt", dp, v)), 0.0, al, limit=200)
            out[i] = val / al
    return out


def std_dist_rvs(
    dist: DistKind, dparams: Any, size: int | tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Draw standardized innovations (mean 0, variance 1) with a NumPy Generator."""
    dp = np.atleast_1d(np.asarray(dparams, dtype=float))
    _check_dist_params(dist, dp)
    if dist == "normal":
        return rng.standard_normal(size)
    if dist == "t":
        nu = dp[0]
        return rng.standard_t(nu, size) * np.sqrt((nu - 2) / nu)
    return std_dist_ppf("skewt", dp, rng.random(size))


# --------------------------------------------------------------------------------------------
# Recursions and likelihood
# --------------------------------------------------------------------------------------------
def _ols_resid(spec: GARCHSpec, y: np.ndarray) -> np.ndarray:
    """Residuals at arch's starting values: demeaned for a constant mean, raw for zero mean."""
    return y - y.mean() if spec.mean == "constant" else y.copy()


def arch_default_backcast(resid: np.ndarray) -> float:
    """arch's backcast: EWMA (0.94) of the squared residuals over the first 75 observations."""
    tau = min(75, resid.shape[0])
    w = 0.94 ** np.arange(tau)
    w = w / w.sum()
    return float(np.sum(resid[:tau] ** 2 * w))


def _resolve_backcast(
    spec: GARCHSpec, y: np.ndarray, backcast: None | str | float
) -> tuple[str, float | None]:
    """Map the user's ``backcast`` to a mode and, for fixed modes, the variance value."""
    if backcast is None:
        return "arch", arch_default_backcast(_ols_resid(spec, y))
    if isinstance(backcast, str):
        if backcast != "sample-variance":
            raise ConfigError(
                f"backcast must be None, 'sample-variance' or a positive float, got {backcast!r}"
            )
        return "sample-variance", None
    v = float(backcast)
    if not (np.isfinite(v) and v > 0):
        raise ParameterDomainError("backcast", backcast, "0 < backcast < inf")
    return "fixed", v


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
                s += alpha[i] * (az[t - 1 - i] - _SQRT2_OV_PI)
        for j in range(o):
            if t - 1 - j >= 0:
                s += gamma[j] * z[t - 1 - j]
        for k in range(q):
            s += beta[k] * (lnbc if t - 1 - k < 0 else lnh[t - 1 - k])
        s = min(s, _LNSIGMA_MAX)
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
        The model, as in :func:`fit_garch`.
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
    _check_dist_params(dist, spec.split(theta)[2])
    mode, value = _resolve_backcast(spec, y, backcast)
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
    """Parameter covariance of the given kind (see :meth:`GARCHResult.covariance`)."""
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


# --------------------------------------------------------------------------------------------
# One-step variance updates (forecasting origin state and simulation)
# --------------------------------------------------------------------------------------------
class VarianceUpdater:
    """Steps the variance recursion forward for many paths at once.

    Parameters
    ----------
    spec, params
        The model and its parameters.
    e_hist, h_hist
        In-sample residuals and variances; their last values are the starting state.
    n_paths
        Number of paths stepped in parallel.
    """

    def __init__(
        self, spec: GARCHSpec, params: np.ndarray, e_hist: np.ndarray, h_hist: np.ndarray,
        n_paths: int,
    ) -> None:
        self.spec = spec
        _, self.vp, _ = spec.split(np.asarray(params, dtype=float))
        self.m = max(spec.p, spec.o, 1)
        self.q = spec.q
        e_last = np.asarray(e_hist[-self.m:], dtype=float)
        h_last = np.asarray(h_hist[-max(self.q, self.m):], dtype=float)
        if spec.vol == "egarch":
            z = e_last / np.sqrt(h_hist[-self.m:])
            self.lag_e = np.tile(z, (n_paths, 1))  # standardized residuals
            self.lag_h = np.tile(np.log(h_last[-self.q:]) if self.q else np.empty(0),
                                 (n_paths, 1))
        else:
            self.lag_e = np.tile(e_last, (n_paths, 1))
            self.lag_h = np.tile(h_last[-self.q:] if self.q else np.empty(0), (n_paths, 1))

    def next_variance(self) -> np.ndarray:
        """Conditional variance of the next step, one value per path."""
        spec, vp, p, o, q = self.spec, self.vp, self.spec.p, self.spec.o, self.q
        le, lh = self.lag_e, self.lag_h
        s = np.full(le.shape[0], vp[0])
        if spec.vol == "egarch":
            for i in range(p):
                s = s + vp[1 + i] * (np.abs(le[:, -1 - i]) - _SQRT2_OV_PI)
            for j in range(o):
                s = s + vp[1 + p + j] * le[:, -1 - j]
            for k in range(q):
                s = s + vp[1 + p + o + k] * lh[:, -1 - k]
            return np.exp(np.minimum(s, _LNSIGMA_MAX))
        for i in range(p):
            s = s + vp[1 + i] * le[:, -1 - i] ** 2
        for j in range(o):
            s = s + vp[1 + p + j] * le[:, -1 - j] ** 2 * (le[:, -1 - j] < 0)
        for k in range(q):
            s = s + vp[1 + p + o + k] * lh[:, -1 - k]
        return s

    def push(self, e: np.ndarray, h: np.ndarray) -> None:
        """Record the residuals ``e`` realised with variances ``h``."""
        if self.spec.vol == "egarch":
            new_e, new_h = e / np.sqrt(h), np.log(h)
        else:
            new_e, new_h = e, h
        self.lag_e = np.column_stack([self.lag_e[:, 1:], new_e])
        if self.q:
            self.lag_h = np.column_stack([self.lag_h[:, 1:], new_h])


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GARCHForecast:
    """Forecast distribution of the returns 1..horizon steps after the last observation.

    Attributes
    ----------
    mean, variance
        Conditional mean and variance of each step (index ``horizon`` = 1, 2, ...).
    var, es
        Value-at-Risk and Expected Shortfall as positive losses (percent, like the returns),
        rows = horizon steps, columns = confidence levels. For step h they are
        :math:`-(m_h + \\sqrt{v_h}\\,q_{1-p})` and :math:`-(m_h + \\sqrt{v_h}\\,
        E[z\\mid z\\le q_{1-p}])` with :math:`q` the fitted standardized innovation quantile.
        Exact for h = 1; for h > 1 this is the usual location-scale approximation (the true
        h-step distribution is a variance mixture).
    method
        ``"analytic"`` or ``"simulation"`` (EGARCH beyond one step, seeded).
    origin
        Label of the last observation.
    """

    mean: pd.Series
    variance: pd.Series
    var: pd.DataFrame
    es: pd.DataFrame
    method: str
    origin: Any

    @property
    def volatility(self) -> pd.Series:
        return np.sqrt(self.variance).rename("volatility")

    def to_frame(self) -> pd.DataFrame:
        """One frame: mean, variance, ``VaR_<level>`` and ``ES_<level>`` columns."""
        out = pd.DataFrame({"mean": self.mean, "variance": self.variance})
        for lev in self.var.columns:
            out[f"VaR_{lev:g}"] = self.var[lev]
        for lev in self.es.columns:
            out[f"ES_{lev:g}"] = self.es[lev]
        return out


@dataclass(frozen=True)
class GARCHSimulation:
    """Simulated paths after the last observation: arrays of shape (n_paths, horizon)."""

    returns: np.ndarray
    variance: np.ndarray
    origin: Any


class GARCHResult(ParameterResults):
    """A fitted univariate GARCH model (see :func:`fit_garch`).

    Attributes
    ----------
    spec : GARCHSpec
    params : Series
        Estimates named as arch names them.
    std_errors : Series
        Robust (QML sandwich) standard errors. With arch's backcast (``None`` or a float) they
        are arch's own ``std_err``. With ``"sample-variance"`` they are
        :math:`H^{-1}(\\sum_t s_t s_t')H^{-1}` from this module's analytic scores, the
        convention of the FCP/TSP benchmark (arch instead uses ``np.cov`` of the scores,
        i.e. demeaned and divided by T-1).
    param_cov : DataFrame
        The covariance matrix behind ``std_errors``.
    loglik : float
    nobs : int
    resid, conditional_volatility, std_resid : Series
    backcast : str or float
        ``"arch"``, ``"sample-variance"`` or the fixed value given.
    backcast_value : float
        The pre-sample variance :math:`\\sigma_0^2` used at the estimates.
    arch_result
        arch's result object (see the module docstring for the sample-variance case).
    converged : bool
    active_constraints : list of str
        arch's parameter bounds and linear constraints that hold with equality at the
        estimates (e.g. ``alpha[1] + beta[1] <= 1``); the usual standard errors do not apply
        there.
    """

    def __init__(
        self, *, spec: GARCHSpec, y: pd.Series, params: np.ndarray, param_cov: np.ndarray,
        loglik: float, e: np.ndarray, h: np.ndarray, bc_mode: str, bc_fixed: float | None,
        bc_value: float, backcast: str | float, arch_result: Any, converged: bool,
    ) -> None:
        names = spec.param_names()
        self.spec = spec
        self.params = pd.Series(params, index=names, name="params")
        self.param_cov = pd.DataFrame(param_cov, index=names, columns=names)
        self.std_errors = pd.Series(np.sqrt(np.diag(param_cov)), index=names, name="std_errors")
        self.loglik = float(loglik)
        self.nobs = int(y.shape[0])
        idx = y.index
        self.resid = pd.Series(e, index=idx, name="resid")
        self.conditional_volatility = pd.Series(np.sqrt(h), index=idx, name="cond_vol")
        self.std_resid = pd.Series(e / np.sqrt(h), index=idx, name="std_resid")
        self.backcast = backcast
        self.backcast_value = float(bc_value)
        self.arch_result = arch_result
        self.converged = bool(converged)
        self.active_constraints: list[str] = []
        self.dep_name = str(y.name) if y.name is not None else "returns"
        self._y = np.asarray(y, dtype=float)
        self._bc_mode = bc_mode
        self._bc_fixed = bc_fixed

    # -- information criteria ----------------------------------------------------------------
    @property
    def num_params(self) -> int:
        return self.spec.n_params

    @property
    def aic(self) -> float:
        """Akaike criterion :math:`-2\\ell + 2k` (arch's definition)."""
        return -2.0 * self.loglik + 2.0 * self.num_params

    @property
    def bic(self) -> float:
        """Schwarz criterion :math:`-2\\ell + k\\ln T` (arch's definition)."""
        return -2.0 * self.loglik + self.num_params * np.log(self.nobs)

    # -- covariance ---------------------------------------------------------------------------
    def covariance(self, kind: CovKind = "robust") -> pd.DataFrame:
        """Parameter covariance computed by hybridrisk under this fit's backcast convention.

        Parameters
        ----------
        kind
            ``"hessian"`` :math:`(-H)^{-1}`, ``"opg"`` :math:`(\\sum s_t s_t')^{-1}`,
            ``"robust"`` (QML sandwich :math:`H^{-1}\\,\\sum s_t s_t'\\,H^{-1}`),
            ``"information"`` (Gaussian information matrix with the mean/variance cross block
            set to zero, as in TSP and FCP) and ``"bollerslev-wooldridge"`` (the sandwich with
            that information matrix as bread). The last two need a Gaussian GARCH/GJR model.
            :math:`H` is the numerical Jacobian of the analytic scores (numerical scores for
            EGARCH).
        """
        cov = garch_covariance(
            self.spec, self.params.to_numpy(), self._y, self._bc_mode, self._bc_fixed, kind
        )
        names = self.spec.param_names()
        return pd.DataFrame(cov, index=names, columns=names)

    # -- text -----------------------------------------------------------------------------------
    def summary(self) -> Summary:
        """arch-style text summary."""
        spec = self.spec
        bc = {"arch": "arch EWMA", "sample-variance": "sample variance"}.get(
            str(self.backcast), "fixed")
        header = [
            ("Dep. Variable", self.dep_name),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Mean Model", _MEAN_TITLE[spec.mean]),
            ("AIC", f"{self.aic:.3f}"),
            ("Vol Model", spec.vol_name),
            ("BIC", f"{self.bic:.3f}"),
            ("Distribution", {"normal": "Normal", "t": "Student's t",
                              "skewt": "Skew Student's t"}[spec.dist]),
            ("No. Observations", str(self.nobs)),
            ("Method", "Maximum Likelihood"),
            ("Backcast", f"{bc} ({format_number(self.backcast_value)})"),
        ]
        table = parameter_table(self.params, self.std_errors)
        mp, vp, dp = (spec.param_names()[:spec.n_mean],
                      spec.param_names()[spec.n_mean:spec.n_mean + spec.n_vol],
                      spec.param_names()[spec.n_mean + spec.n_vol:])
        tables = [(name, table.loc[rows]) for name, rows in
                  (("Mean Model", mp), ("Volatility Model", vp), ("Distribution", dp)) if rows]
        note = ("Covariance estimator: robust (arch)" if self._bc_mode != "sample-variance"
                else "Covariance estimator: robust QML sandwich H^-1 (sum s s') H^-1")
        return Summary(
            title=f"{_MEAN_TITLE[spec.mean]} - {spec.vol_name} Model Results",
            header=header, tables=tables,
            notes=[note] + [f"Active constraint at the estimates (standard errors unreliable): "
                            f"{c}" for c in self.active_constraints],
        )

    def __repr__(self) -> str:
        return (f"GARCHResult({self.spec.describe()}, nobs={self.nobs}, "
                f"loglik={self.loglik:.4f})")

    # -- forecasting and simulation -----------------------------------------------------------
    def forecast(
        self,
        horizon: int = 1,
        *,
        levels: tuple[float, ...] = LEVELS,
        method: Literal["analytic", "simulation"] | None = None,
        simulations: int = 10_000,
        seed: int | None = 0,
    ) -> GARCHForecast:
        """Forecast mean, variance, VaR and ES for steps 1..``horizon``.

        Parameters
        ----------
        horizon
            Number of steps.
        levels
            VaR/ES confidence levels (e.g. 0.99 for the 99% VaR).
        method
            arch's forecast method; the default is ``"analytic"``, except for EGARCH beyond
            one step where arch needs ``"simulation"``.
        simulations, seed
            Paths and seed for the simulation method (seeded so forecasts are reproducible).
        """
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ConfigError(f"horizon must be a positive integer, got {horizon!r}")
        lv = _check_levels(levels)
        if method is None:
            method = "simulation" if (self.spec.vol == "egarch" and horizon > 1) else "analytic"
        dp = self.spec.split(self.params.to_numpy())[2]
        kw: dict[str, Any] = {}
        if method == "simulation":
            # arch draws simulation innovations from the distribution's own unseeded generator;
            # pass a seeded one so forecasts are reproducible
            gen = np.random.default_rng(seed)
            kw = {"simulations": simulations,
                  "rng": lambda size: std_dist_rvs(self.spec.dist, dp, size, gen)}
        f = self.arch_result.forecast(horizon=int(horizon), reindex=False, method=method, **kw)
        idx = pd.RangeIndex(1, horizon + 1, name="horizon")
        mean = pd.Series(f.mean.iloc[-1].to_numpy(), index=idx, name="mean")
        var = pd.Series(f.variance.iloc[-1].to_numpy(), index=idx, name="variance")
        alphas = 1.0 - np.asarray(lv)
        qz = std_dist_ppf(self.spec.dist, dp, alphas)
        tz = std_dist_tail_mean(self.spec.dist, dp, alphas)
        sd = np.sqrt(var.to_numpy())[:, None]
        cols = pd.Index(lv, name="level")
        value_at_risk = pd.DataFrame(-(mean.to_numpy()[:, None] + sd * qz), index=idx,
                                     columns=cols)
        es = pd.DataFrame(-(mean.to_numpy()[:, None] + sd * tz), index=idx, columns=cols)
        return GARCHForecast(mean, var, value_at_risk, es, method, self.resid.index[-1])

    def simulate(self, n_paths: int, horizon: int, seed: int | None = None) -> GARCHSimulation:
        """Simulate ``n_paths`` return paths of length ``horizon`` from the end of the sample.

        Innovations are drawn from the fitted standardized distribution with
        ``numpy.random.default_rng(seed)``; the first step's variance equals the one-step
        forecast.
        """
        for name, v in (("n_paths", n_paths), ("horizon", horizon)):
            if not isinstance(v, int | np.integer) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        rng = np.random.default_rng(seed)
        theta = self.params.to_numpy()
        mp, _, dp = self.spec.split(theta)
        mu = float(mp[0]) if self.spec.n_mean else 0.0
        upd = VarianceUpdater(self.spec, theta, self.resid.to_numpy(),
                              self.conditional_volatility.to_numpy() ** 2, n_paths)
        z = std_dist_rvs(self.spec.dist, dp, (n_paths, horizon), rng)
        rets = np.empty((n_paths, horizon))
        var = np.empty((n_paths, horizon))
        for k in range(horizon):
            hk = upd.next_variance()
            ek = np.sqrt(hk) * z[:, k]
            upd.push(ek, hk)
            var[:, k] = hk
            rets[:, k] = mu + ek
        return GARCHSimulation(rets, var, self.resid.index[-1])


def _check_levels(levels: Any) -> list[float]:
    lv = [float(x) for x in np.atleast_1d(levels)]
    if not lv or any(not (0.0 < x < 1.0) for x in lv):
        raise ConfigError(f"levels must lie in (0, 1), got {levels!r}")
    return lv


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------
def _constraint_system(am: Any, resid0: np.ndarray) -> tuple[list[tuple[float, float]],
                                                               np.ndarray, np.ndarray]:
    """arch's bounds and linear constraints ``A x >= b`` for the whole parameter vector."""
    parts = [am.constraints(), am.volatility.constraints(), am.distribution.constraints()]
    sizes = [am.num_params, am.volatility.num_params, am.distribution.num_params]
    rows = sum(c[0].shape[0] for c in parts)
    a = np.zeros((rows, sum(sizes)))
    b = np.zeros(rows)
    r = c0 = 0
    for (ai, bi), k in zip(parts, sizes, strict=True):
        a[r:r + ai.shape[0], c0:c0 + k] = ai
        b[r:r + ai.shape[0]] = bi
        r += ai.shape[0]
        c0 += k
    std0 = resid0 / resid0.std()
    bounds = list(am.bounds()) + am.volatility.bounds(resid0) + am.distribution.bounds(std0)
    return bounds, a, b


def _feasible(x: np.ndarray, bounds: list[tuple[float, float]], a: np.ndarray, b: np.ndarray,
              tol: float = 0.0) -> bool:
    lo = np.array([bd[0] for bd in bounds])
    hi = np.array([bd[1] for bd in bounds])
    return bool(np.all(x >= lo - tol) and np.all(x <= hi + tol)
                and (a.shape[0] == 0 or np.all(a @ x - b >= -tol)))


def _fit_sample_variance(
    spec: GARCHSpec, y: np.ndarray, am: Any, start: np.ndarray
) -> tuple[np.ndarray, bool]:
    """Maximise the likelihood with the backcast re-evaluated at the current mu."""
    T = y.shape[0]
    bounds, a, b = _constraint_system(am, _ols_resid(spec, y))
    mode = "sample-variance"

    def nll(x: np.ndarray) -> float:
        ll = _loglik_obs(spec, x, y, mode, None)
        s = float(np.sum(ll))
        return -s / T if np.isfinite(s) else 1e10

    jac = None
    if spec.vol == "garch":
        def jac(x: np.ndarray) -> np.ndarray:  # noqa: F811 - analytic gradient for GARCH/GJR
            g = garch_scores(spec, x, y, mode, None).sum(0)
            return -g / T if np.all(np.isfinite(g)) else np.zeros_like(x)

    cons = {"type": "ineq", "fun": lambda x: a @ x - b, "jac": lambda x: a} if a.size else ()
    res = optimize.minimize(nll, start, jac=jac, method="SLSQP", bounds=bounds,
                            constraints=cons, options={"ftol": 1e-13, "maxiter": 500})
    x = np.clip(res.x, [bd[0] for bd in bounds], [bd[1] for bd in bounds])
    ok = bool(res.success)
    # Newton polish with analytic scores: SLSQP stops at ~1e-7 relative, benchmarks want more.
    # Steps that leave the feasible set (an estimate on a bound or on alpha + beta = 1) are
    # rejected, so a constrained optimum is left where SLSQP put it.
    best = -nll(x)
    for _ in range(10):
        g = garch_scores(spec, x, y, mode, None).sum(0)
        hess = garch_hessian(spec, x, y, mode, None)
        try:
            step = -np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        moved = False
        for shrink in (1.0, 0.5, 0.25):
            cand = x + shrink * step
            if _feasible(cand, bounds, a, b) and -nll(cand) >= best - 1e-15 * abs(best):
                moved = True
                x, best = cand, -nll(cand)
                break
        if not moved or np.max(np.abs(step) / np.maximum(np.abs(x), 1e-4)) < 1e-9:
            ok = ok or moved
            break
    return x, ok


def fit_garch(
    returns: pd.Series | pd.DataFrame,
    *,
    mean: MeanKind = "constant",
    vol: VolKind = "garch",
    p: int = 1,
    o: int = 0,
    q: int = 1,
    dist: DistKind = "normal",
    backcast: None | Literal["sample-variance"] | float = None,
) -> GARCHResult:
    """Fit a univariate GARCH, GJR-GARCH (``o=1``) or EGARCH model by maximum likelihood.

    Parameters
    ----------
    returns
        Percent returns as a Series (or one-column DataFrame) with a DatetimeIndex, validated
        by :func:`hybridrisk.checks.check_timeseries` (at least ``MIN_OBS`` rows, no NaN).
    mean
        ``"constant"`` or ``"zero"``.
    vol
        ``"garch"`` (GJR when ``o > 0``) or ``"egarch"``.
    p, o, q
        Orders of the symmetric, asymmetric and lagged-variance terms.
    dist
        ``"normal"``, ``"t"`` or ``"skewt"`` (Hansen).
    backcast
        ``None`` (arch's default), ``"sample-variance"`` (the benchmark convention) or a fixed
        pre-sample variance. See the module docstring.

    Returns
    -------
    GARCHResult

    Raises
    ------
    DataValidationError
        For invalid input data.
    ConfigError
        For an unknown option.
    ConvergenceError
        If the optimiser returns non-finite estimates.

    Examples
    --------
    >>> from hybridrisk.datasets import dem_gbp_returns
    >>> res = fit_garch(dem_gbp_returns(), backcast="sample-variance")
    >>> round(res.loglik, 2)
    -1106.61
    """
    spec = GARCHSpec(mean, vol, p, o, q, dist)
    if isinstance(returns, pd.DataFrame):
        y = check_timeseries(returns, name="returns", min_obs=MIN_OBS, ncols=1).iloc[:, 0]
    else:
        y = check_timeseries(returns, name="returns", min_obs=MIN_OBS)
    ya = y.to_numpy()
    if not np.any(ya != ya[0]):
        raise DataValidationError("constant", "returns are constant; no volatility to model")
    mode, fixed = _resolve_backcast(spec, ya, backcast)
    am = spec.arch_model(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if mode == "sample-variance":
            # start from arch's fit with the backcast frozen at the OLS sample variance
            r0 = am.fit(disp="off", backcast=float(np.mean(_ols_resid(spec, ya) ** 2)),
                        show_warning=False)
            theta, converged = _fit_sample_variance(spec, ya, am, r0.params.to_numpy())
            e, h, v = _filter(spec, theta, ya, mode, None)
            # arch's own result at our estimates: zero iterations, backcast fixed at s2(mu_hat)
            ares: ARCHModelResult = am.fit(disp="off", starting_values=theta, backcast=v,
                                           options={"maxiter": 0}, show_warning=False)
            if not np.allclose(ares.params.to_numpy(), theta, rtol=0, atol=1e-12):
                warnings.warn("arch rejected the estimates as starting values; arch_result "
                              "holds arch's own estimates", RuntimeWarning, stacklevel=2)
            loglik = float(np.sum(_dist_loglik_obs(dist, spec.split(theta)[2], e, h)))
            cov = garch_covariance(spec, theta, ya, mode, None, "robust")
            bc_label: str | float = "sample-variance"
        else:
            ares = am.fit(disp="off", backcast=fixed if mode == "fixed" else None,
                          show_warning=False)
            converged = ares.convergence_flag == 0
            theta = ares.params.to_numpy()
            e, h, v = _filter(spec, theta, ya, mode, fixed)
            loglik = float(ares.loglikelihood)
            cov = ares.param_cov.to_numpy()
            bc_label = "arch" if mode == "arch" else float(fixed)  # type: ignore[arg-type]
    if not (np.all(np.isfinite(theta)) and np.isfinite(loglik)):
        raise ConvergenceError(f"GARCH estimation ({spec.describe()}) returned non-finite values")
    if not converged:
        warnings.warn(f"{spec.describe()} optimiser did not report convergence",
                      ConvergenceWarning, stacklevel=2)
    result = GARCHResult(
        spec=spec, y=y, params=theta, param_cov=cov, loglik=loglik, e=e, h=h, bc_mode=mode,
        bc_fixed=fixed, bc_value=v, backcast=bc_label, arch_result=ares, converged=converged,
    )
    result.active_constraints = _active_constraints(spec, am, ya, theta)
    return result


def _active_constraints(spec: GARCHSpec, am: Any, y: np.ndarray, theta: np.ndarray,
                        tol: float = 1e-8) -> list[str]:
    """arch's bounds and linear constraints that bind at ``theta``, as readable strings."""
    bounds, a, b = _constraint_system(am, _ols_resid(spec, y))
    names = spec.param_names()
    out = []
    for name, x, (lo, hi) in zip(names, theta, bounds, strict=True):
        if np.isfinite(lo) and abs(x - lo) <= tol * max(1.0, abs(lo)):
            out.append(f"{name} >= {lo:g}")
        if np.isfinite(hi) and abs(x - hi) <= tol * max(1.0, abs(hi)):
            out.append(f"{name} <= {hi:g}")
    for row, rhs in zip(a, b, strict=True):
        if abs(row @ theta - rhs) <= tol and np.count_nonzero(row) > 1:
            # arch writes "A x >= b"; the persistence row reads better as "sum <= 1"
            sign, op = (-1.0, "<=") if np.all(row[row != 0] < 0) else (1.0, ">=")
            lhs = " + ".join(n if sign * c == 1 else f"{sign * c:g}*{n}"
                             for c, n in zip(row, names, strict=True) if c != 0)
            out.append(f"{lhs} {op} {sign * rhs + 0.0:g}")
    return out
