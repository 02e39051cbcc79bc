"""Standardised innovation distributions of the GARCH family, exactly as ``arch`` writes them.

Log-densities are torch (float64, differentiable in every argument, parameters may vary over
time); quantiles, expected shortfall and sampling (numpy) serve the forecasts of the classical
models and the hybrids alike, in arch's parametrisation, and are checked against ``arch``'s
own distribution objects.

=========  ====================  ==================================================
name       shape parameters      standardised density of ``z = eps / sigma``
=========  ====================  ==================================================
normal     none                  standard normal
t          ``nu > 2``            Student-t rescaled to unit variance
skewt      ``nu > 2``,           Hansen (1994) skew-t, arch's ``SkewStudent`` with
           ``-1 < lambda < 1``   ``eta = nu``
=========  ====================  ==================================================

Each log-density takes the residual ``eps`` and its conditional variance ``sigma2`` (not
``z``): ``log f(eps) = log g(eps / sigma) - log(sigma)``, arch's ``loglikelihood(...,
individual=True)``. Unlike arch, which nudges ``|lambda| >= 1`` inside the domain, values
outside the domain raise nothing here but give NaN: hybrids keep parameters inside their
domains through the head's constraints, never by clipping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from scipy import stats
from scipy.special import gammaln

from hybridrisk.errors import ConfigError, ParameterDomainError

__all__ = [
    "DISTRIBUTIONS",
    "shape_names",
    "normal_logpdf",
    "std_t_logpdf",
    "skewt_logpdf",
    "log_density",
    "arch_distribution",
    "quantile",
    "expected_shortfall",
    "check_dist_params",
    "skewt_abc",
    "std_dist_ppf",
    "std_dist_cdf",
    "std_dist_rvs",
    "std_dist_tail_mean",
    "tail_risk",
]

#: Shape parameter names of each distribution, in arch's order (arch calls skew-t's ``nu`` eta).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": (),
    "t": ("nu",),
    "skewt": ("nu", "lambda"),
}

_LOG_2PI = math.log(2.0 * math.pi)


def shape_names(dist: str) -> tuple[str, ...]:
    """Names of the shape parameters of ``dist`` (``()``, ``("nu",)`` or ``("nu", "lambda")``).

    Raises
    ------
    ConfigError
        For an unknown distribution.
    """
    try:
        return DISTRIBUTIONS[dist]
    except KeyError:
        raise ConfigError(
            f"unknown distribution {dist!r}; choose one of {sorted(DISTRIBUTIONS)}"
        ) from None


def _t(x: Any, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def normal_logpdf(eps: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """``-0.5 (log 2 pi + log sigma2 + eps^2 / sigma2)``, arch's ``Normal``."""
    return -0.5 * (_LOG_2PI + torch.log(sigma2) + eps.square() / sigma2)


def std_t_logpdf(eps: torch.Tensor, sigma2: torch.Tensor, nu: Any) -> torch.Tensor:
    """Unit-variance Student-t, arch's ``StudentsT``.

    ``lgamma((nu+1)/2) - lgamma(nu/2) - log(pi (nu-2)) / 2 - log(sigma2) / 2
    - (nu+1)/2 log(1 + eps^2 / (sigma2 (nu-2)))``.
    """
    nu = _t(nu, eps)
    lls = torch.lgamma((nu + 1) / 2) - torch.lgamma(nu / 2) - torch.log(math.pi * (nu - 2)) / 2
    lls = lls - 0.5 * torch.log(sigma2)
    return lls - ((nu + 1) / 2) * torch.log1p(eps.square() / (sigma2 * (nu - 2)))


def _skewt_constants(
    nu: torch.Tensor, lam: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # arch's __const_c is the *log* of Hansen's c; a and b follow from it.
    log_c = torch.lgamma((nu + 1) / 2) - torch.lgamma(nu / 2) - torch.log(math.pi * (nu - 2)) / 2
    a = 4 * lam * torch.exp(log_c) * (nu - 2) / (nu - 1)
    b = torch.sqrt(1 + 3 * lam.square() - a.square())
    return a, b, log_c


def skewt_logpdf(eps: torch.Tensor, sigma2: torch.Tensor, nu: Any, lam: Any) -> torch.Tensor:
    """Hansen's skew-t with unit variance, arch's ``SkewStudent(eta=nu, lambda=lam)``.

    ``log b + log c - log(sigma2)/2 - (nu+1)/2 log(1 + ((b z + a) / (1 + sgn(z + a/b) lam))^2
    / (nu - 2))`` with ``z = eps / sigma``.
    """
    nu = _t(nu, eps)
    lam = _t(lam, eps)
    a, b, log_c = _skewt_constants(nu, lam)
    z = eps / torch.sqrt(sigma2)
    lls = torch.log(b) + log_c - torch.log(sigma2) / 2
    # sign() has zero derivative, so autograd differentiates the branch that applies.
    resid = ((b * z + a) / (1 + torch.sign(z + a / b) * lam)).square()
    return lls - (nu + 1) / 2 * torch.log1p(resid / (nu - 2))


def log_density(
    dist: str, eps: torch.Tensor, sigma2: torch.Tensor, shape: Mapping[str, Any] | None = None
) -> torch.Tensor:
    """Per-observation log-likelihood of ``eps`` given ``sigma2`` under ``dist``.

    Parameters
    ----------
    dist
        ``"normal"``, ``"t"`` or ``"skewt"``.
    eps, sigma2
        Residuals and conditional variances, broadcastable tensors.
    shape
        Shape parameters by name (:func:`shape_names`); scalars or tensors broadcastable to
        ``eps`` (time-varying shapes are allowed).

    Returns
    -------
    Tensor
        ``log f(eps_t | sigma2_t)`` with the broadcast shape.
    """
    names = shape_names(dist)
    shape = dict(shape or {})
    missing = [n for n in names if n not in shape]
    if missing:
        raise ConfigError(f"distribution {dist!r} needs shape parameter(s) {missing}")
    if dist == "normal":
        return normal_logpdf(eps, sigma2)
    if dist == "t":
        return std_t_logpdf(eps, sigma2, shape["nu"])
    return skewt_logpdf(eps, sigma2, shape["nu"], shape["lambda"])


# ---------------------------------------------------------------- forecasts: quantiles and ES


def arch_distribution(dist: str) -> Any:
    """The ``arch`` distribution object of the same name (used for quantiles and ES)."""
    from arch.univariate import Normal, SkewStudent, StudentsT

    shape_names(dist)
    return {"normal": Normal, "t": StudentsT, "skewt": SkewStudent}[dist]()


def _shape_vector(dist: str, shape: Mapping[str, Any] | None) -> np.ndarray:
    """Shape parameters by name -> arch's parameter vector (checked against the domain)."""
    names = shape_names(dist)
    if not names:
        return np.empty(0)
    shape = dict(shape or {})
    vals = []
    for n in names:
        if n not in shape:
            raise ConfigError(f"distribution {dist!r} needs shape parameter {n!r}")
        vals.append(float(shape[n]))
    if vals[0] <= 2.0:
        raise ParameterDomainError("nu", vals[0], "nu > 2")
    if dist == "skewt" and not -1.0 < vals[1] < 1.0:
        raise ParameterDomainError("lambda", vals[1], "-1 < lambda < 1")
    return np.asarray(vals, dtype=np.float64)


# Quantiles, tail means and draws of the unit-variance innovation, with ``dparams`` in arch's
# order (``[nu]`` or ``[eta, lambda]``): the one implementation that champions and hybrids use.


def check_dist_params(dist: str, dparams: np.ndarray) -> None:
    # dparams[j] may be an array of time-varying values
    if dist == "t" and not np.all(np.asarray(dparams[0]) > 2.0):
        raise ParameterDomainError("nu", float(np.min(dparams[0])), "nu > 2")
    if dist == "skewt":
        if not np.all(np.asarray(dparams[0]) > 2.0):
            raise ParameterDomainError("eta", float(np.min(dparams[0])), "eta > 2")
        if not np.all(np.abs(np.asarray(dparams[1])) < 1.0):
            raise ParameterDomainError("lambda", float(np.max(np.abs(dparams[1]))),
                                       "|lambda| < 1")


def skewt_abc(eta: float, lam: float) -> tuple[float, float, float]:
    """Hansen (1994) constants: log c, a, b."""
    logc = gammaln((eta + 1) / 2) - gammaln(eta / 2) - 0.5 * np.log(np.pi * (eta - 2))
    a = 4 * lam * np.exp(logc) * (eta - 2) / (eta - 1)
    b = np.sqrt(1 + 3 * lam**2 - a**2)
    return float(logc), float(a), float(b)


def _skewt_ab(eta: Any, lam: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hansen's ``a`` and ``b`` elementwise (arrays of ``eta`` and ``lambda``)."""
    logc = gammaln((eta + 1) / 2) - gammaln(eta / 2) - 0.5 * np.log(np.pi * (eta - 2))
    a = 4 * lam * np.exp(logc) * (eta - 2) / (eta - 1)
    return a, np.sqrt(1 + 3 * lam**2 - a**2)


def _broadcast_params(dist: str, dparams: Any, x: Any) -> tuple[np.ndarray, ...]:
    """``x`` and each shape parameter of ``dist`` as float arrays of one common shape."""
    x = np.asarray(x, dtype=float)
    if dist not in DISTRIBUTIONS:
        raise ConfigError(f"unknown distribution {dist!r}; known: {sorted(DISTRIBUTIONS)}")
    if dist == "normal":
        return (x,)
    if not isinstance(dparams, list | tuple):
        dparams = np.atleast_1d(np.asarray(dparams, dtype=float))
    shapes = [np.asarray(d, dtype=float) for d in dparams]
    if len(shapes) != len(DISTRIBUTIONS[dist]):
        raise ConfigError(f"{dist} takes the shape parameters {DISTRIBUTIONS[dist]}, got "
                          f"{len(shapes)} value(s)")
    check_dist_params(dist, shapes)
    return tuple(np.broadcast_arrays(x, *shapes))


def std_dist_ppf(dist: str, dparams: Any, u: Any) -> np.ndarray:
    """Quantile function of the standardized (mean 0, variance 1) innovation distribution.

    Parameters
    ----------
    dist
        ``"normal"``, ``"t"`` (parameters ``[nu]``) or ``"skewt"`` (``[eta, lambda]``, Hansen 1994).
    dparams
        Distribution parameters (empty for the normal); each may be an array that broadcasts
        against ``u`` (a parameter per probability).
    u
        Probabilities in (0, 1).
    """
    u, *shape = _broadcast_params(dist, dparams, u)
    if dist == "normal":
        return stats.norm.ppf(u)
    if dist == "t":
        nu = shape[0]
        return stats.t.ppf(u, nu) * np.sqrt((nu - 2) / nu)
    eta, lam = shape
    a, b = _skewt_ab(eta, lam)
    left = u < (1 - lam) / 2
    # the two halves of Hansen's density are rescaled t densities joined at the mode -a/b
    tq = np.where(
        left,
        stats.t.ppf(np.clip(u / (1 - lam), 0, 1), eta),
        stats.t.ppf(np.clip(0.5 + (u - (1 - lam) / 2) / (1 + lam), 0, 1), eta),
    )
    scale = np.where(left, 1 - lam, 1 + lam)
    return (tq * scale * np.sqrt(1 - 2 / eta) - a) / b


def std_dist_cdf(dist: str, dparams: Any, z: Any) -> np.ndarray:
    """Distribution function of the standardized innovation distribution (the PIT of ``z``).

    The inverse of :func:`std_dist_ppf`, with the same parameters (arrays broadcast against
    ``z``); equals arch's ``distribution.cdf``.
    """
    z, *shape = _broadcast_params(dist, dparams, z)
    if dist == "normal":
        return stats.norm.cdf(z)
    if dist == "t":
        nu = shape[0]
        return stats.t.cdf(z * np.sqrt(nu / (nu - 2)), nu)
    eta, lam = shape
    a, b = _skewt_ab(eta, lam)
    y = b * z + a
    left = y < 0
    scale = np.where(left, 1 - lam, 1 + lam)
    f = stats.t.cdf(y / scale * np.sqrt(eta / (eta - 2)), eta)
    return np.where(left, (1 - lam) * f, (1 - lam) / 2 + (1 + lam) * (f - 0.5))


def std_dist_tail_mean(dist: str, dparams: Any, alpha: Any) -> np.ndarray:
    r"""Lower tail mean :math:`E[z \mid z \le F^{-1}(\alpha)]` of the standardized distribution.

    Closed forms: normal :math:`-\phi(z_\alpha)/\alpha`; standardized t
    :math:`-s\,\frac{\nu + t_\alpha^2}{\nu - 1} f_\nu(t_\alpha)/\alpha` with
    :math:`s=\sqrt{(\nu-2)/\nu}`; skew t from arch's closed-form lower partial moment.
    ``dparams`` entries may be arrays that broadcast against ``alpha`` (normal and t).
    """
    alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
    dp = np.atleast_1d(np.asarray(dparams, dtype=float))
    check_dist_params(dist, dp)
    if dist == "normal":
        return -stats.norm.pdf(stats.norm.ppf(alpha)) / alpha
    if dist == "t":
        nu = dp[0]
        x = stats.t.ppf(alpha, nu)
        return -np.sqrt((nu - 2) / nu) * (nu + x**2) / (nu - 1) * stats.t.pdf(x, nu) / alpha
    # skew t: arch's closed-form lower partial moment E[z 1{z <= q}] over the probability
    d = arch_distribution("skewt")
    q = d.ppf(alpha.ravel(), dp)
    pm = [d.partial_moment(1, float(qi), dp) for qi in np.atleast_1d(q)]
    return (np.asarray(pm) / alpha.ravel()).reshape(alpha.shape)


def std_dist_rvs(
    dist: str, dparams: Any, size: int | tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Draw standardized innovations (mean 0, variance 1) with a NumPy Generator."""
    dp = np.atleast_1d(np.asarray(dparams, dtype=float))
    check_dist_params(dist, dp)
    if dist == "normal":
        return rng.standard_normal(size)
    if dist == "t":
        nu = dp[0]
        return rng.standard_t(nu, size) * np.sqrt((nu - 2) / nu)
    return std_dist_ppf("skewt", dp, rng.random(size))


def quantile(dist: str, p: float | Sequence[float], shape: Mapping[str, Any] | None = None):
    """:func:`std_dist_ppf` with the shape parameters given by name (``nu``, ``lambda``)."""
    return std_dist_ppf(dist, _shape_vector(dist, shape), np.atleast_1d(np.asarray(p, float)))


def expected_shortfall(
    dist: str, p: float | Sequence[float], shape: Mapping[str, Any] | None = None
) -> np.ndarray:
    """:func:`std_dist_tail_mean` with the shape parameters given by name (negative values)."""
    return std_dist_tail_mean(dist, _shape_vector(dist, shape), p)


def tail_risk(
    dist: str, levels: Sequence[float], shape: Mapping[str, Any] | None = None, n: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Lower-tail quantiles and conditional means of ``z`` for many parameter values at once.

    Parameters
    ----------
    dist
        Distribution name.
    levels
        Confidence levels (e.g. 0.95, 0.975, 0.99); the tail probability is ``1 - level``.
    shape
        Shape parameters, each a scalar or an array of shape (N,) (time-varying).
    n
        Number of rows when every shape parameter is a scalar (or for ``"normal"``).

    Returns
    -------
    q, es
        Arrays of shape (N, len(levels)): ``q`` the ``1 - level`` quantile of ``z`` and ``es``
        ``E[z | z <= q]`` (both negative for usual levels). A loss-side VaR is
        ``-(mu + sigma q)``, ES ``-(mu + sigma es)``.

    Notes
    -----
    :func:`std_dist_ppf` and :func:`std_dist_tail_mean` row by row: the classical models'
    VaR and ES come from the same two functions.
    """
    p = 1.0 - np.asarray(levels, dtype=np.float64)
    if np.any((p <= 0) | (p >= 1)):
        raise ConfigError(f"levels must lie in (0, 1), got {levels!r}")
    names = shape_names(dist)
    shape = dict(shape or {})
    cols = {k: np.atleast_1d(np.asarray(shape[k], dtype=np.float64)) for k in names}
    rows = max([n] + [v.shape[0] for v in cols.values()])
    cols = {k: np.broadcast_to(v, (rows,)) for k, v in cols.items()}
    if dist != "skewt":  # closed forms, vectorised over rows
        dp = [cols[k][:, None] for k in names]
        q = np.broadcast_to(std_dist_ppf(dist, dp, p[None, :]), (rows, p.size)).copy()
        es = np.broadcast_to(std_dist_tail_mean(dist, dp, p[None, :]), (rows, p.size)).copy()
        return q, es
    q = np.empty((rows, p.size))
    es = np.empty((rows, p.size))
    cache: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}
    for i in range(rows):
        key = (float(cols["nu"][i]), float(cols["lambda"][i]))
        if key not in cache:
            cache[key] = (std_dist_ppf(dist, key, p), std_dist_tail_mean(dist, key, p))
        q[i], es[i] = cache[key]
    return q, es
