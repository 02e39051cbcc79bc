"""Standardised innovation distributions of the GARCH family, exactly as ``arch`` writes them.

Log-densities are torch (float64, differentiable in every argument, parameters may vary over
time); quantiles, expected shortfall and sampling serve forecasts and are evaluated with
``arch``'s own distribution objects, so the risk numbers use the same parametrisation as the
benchmark.

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
    "standardized_sample",
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


def _arch_params(dist: str, shape: Mapping[str, Any] | None) -> np.ndarray | None:
    names = shape_names(dist)
    if not names:
        return None
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


def quantile(dist: str, p: float | Sequence[float], shape: Mapping[str, Any] | None = None):
    """Quantile(s) of the standardised distribution at probabilities ``p`` (arch's ``ppf``)."""
    d = arch_distribution(dist)
    return np.asarray(d.ppf(np.atleast_1d(np.asarray(p, dtype=np.float64)),
                            _arch_params(dist, shape)), dtype=np.float64)


def expected_shortfall(
    dist: str, p: float | Sequence[float], shape: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Lower-tail conditional mean ``E[z | z <= q_p]`` of the standardised distribution.

    Computed as ``partial_moment(1, q_p) / p`` with arch's closed-form lower partial moments,
    so it is exact for all three distributions (no simulation, no quadrature). The value is
    negative; a loss-side ES is ``-(mu + sigma * expected_shortfall)``.
    """
    d = arch_distribution(dist)
    params = _arch_params(dist, shape)
    ps = np.atleast_1d(np.asarray(p, dtype=np.float64))
    qs = d.ppf(ps, params)
    pairs = zip(np.atleast_1d(qs), ps, strict=True)
    return np.asarray([d.partial_moment(1, float(q), params) / pp for q, pp in pairs])


def standardized_sample(
    dist: str,
    size: tuple[int, ...],
    shape: Mapping[str, Any] | None,
    generator: torch.Generator,
    *,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Draws of the unit-variance innovation ``z`` (float64), from a torch generator.

    Normal draws are ``randn``; t and skew-t draws go through arch's quantile function applied
    to torch uniforms (inverse-CDF sampling), so one generator drives every distribution and a
    seed reproduces the draws on CPU bit for bit.
    """
    if dist == "normal":
        return torch.randn(size, generator=generator, dtype=torch.float64, device=generator.device
                           ).to(device)
    params = _arch_params(dist, shape)
    u = torch.rand(size, generator=generator, dtype=torch.float64, device=generator.device)
    # Keep u strictly inside (0, 1): rand can return exactly 0.
    u = u.clamp(min=torch.finfo(torch.float64).tiny).cpu().numpy()
    z = arch_distribution(dist).ppf(u.ravel(), params).reshape(u.shape)
    return torch.as_tensor(np.asarray(z, dtype=np.float64), device=device)


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
    Closed forms for the normal (``-phi(q)/p``) and the unit-variance t (``-(nu + q0^2) /
    (nu - 1) f_nu(q0) / p`` times ``sqrt((nu - 2)/nu)``, ``q0`` the ordinary t quantile); arch's
    ``ppf`` and ``partial_moment`` per row for the skew-t.
    """
    from scipy import stats

    p = 1.0 - np.asarray(levels, dtype=np.float64)
    if np.any((p <= 0) | (p >= 1)):
        raise ConfigError(f"levels must lie in (0, 1), got {levels!r}")
    names = shape_names(dist)
    shape = dict(shape or {})
    cols = {k: np.atleast_1d(np.asarray(shape[k], dtype=np.float64)) for k in names}
    rows = max([n] + [v.shape[0] for v in cols.values()])
    cols = {k: np.broadcast_to(v, (rows,)) for k, v in cols.items()}
    if dist == "normal":
        q = np.broadcast_to(stats.norm.ppf(p), (rows, p.size)).copy()
        es = -stats.norm.pdf(q) / p
        return q, es
    nu = cols["nu"]
    if np.any(nu <= 2):
        raise ParameterDomainError("nu", float(nu.min()), "nu > 2")
    if dist == "t":
        nu2 = nu[:, None]
        q0 = stats.t.ppf(p[None, :], nu2)
        scale = np.sqrt((nu2 - 2.0) / nu2)
        es0 = -(nu2 + q0**2) / (nu2 - 1.0) * stats.t.pdf(q0, nu2) / p[None, :]
        return q0 * scale, es0 * scale
    q = np.empty((rows, p.size))
    es = np.empty((rows, p.size))
    cache: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}
    for i in range(rows):
        key = (float(nu[i]), float(cols["lambda"][i]))
        if key not in cache:
            sh = {"nu": key[0], "lambda": key[1]}
            cache[key] = (quantile(dist, p, sh),
                          expected_shortfall(dist, p, sh))
        q[i], es[i] = cache[key]
    return q, es
