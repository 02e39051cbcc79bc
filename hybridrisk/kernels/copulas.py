r"""Bivariate copulas as differentiable kernels (PyTorch, float64), pyvinecopulib's conventions.

Families, parameters (names as pyvinecopulib spells the families) and domains:

==========  ==================  ======================  ==========================================
family      parameters          domain                  Kendall's tau (rotation 0)
==========  ==================  ======================  ==========================================
gaussian    ``rho``             ``-1 < rho < 1``        :math:`\tfrac{2}{\pi}\arcsin\rho`
student     ``rho, nu``         ``|rho| < 1, nu > 0``   :math:`\tfrac{2}{\pi}\arcsin\rho`
clayton     ``theta``           ``theta > 0``           :math:`\theta / (\theta + 2)`
gumbel      ``theta``           ``theta >= 1``          :math:`1 - 1/\theta`
frank       ``theta``           any real ``theta``      :math:`1 - 4/\theta + 4 D_1(\theta)/\theta`
==========  ==================  ======================  ==========================================

Every function takes ``theta`` as one parameter set (a scalar, or ``(rho, nu)`` for the t) or
one set per row of ``u``: shape ``(n,)`` or ``(n, 1)`` for one-parameter families, ``(n, 2)``
for the t (or a pair of tensors ``(rho, nu)``). Values outside the domain raise
:class:`~hybridrisk.errors.ParameterDomainError`; nothing is clipped, so a hybrid's head must
keep its output inside the domain. pyvinecopulib's *fitting* bounds (t: ``2 <= nu <= 50``,
Clayton ``theta <= 28``, Gumbel ``theta <= 50``, Frank ``|theta| <= 35``) are not domain limits
and are applied by :mod:`baselines.copulas` only.

Rotations (Clayton and Gumbel; Gaussian, t and Frank are rotation-free, as in pyvinecopulib --
Frank reaches negative dependence through ``theta < 0``) follow pyvinecopulib: the rotated
density at ``(u1, u2)`` is the base density at ``(u1, u2)`` mapped counter-clockwise --
90: ``(u2, 1 - u1)``, 180: ``(1 - u1, 1 - u2)``, 270: ``(1 - u2, u1)``. Rotations 90 and 270
give negative Kendall's tau with the same positive ``theta``.

h-functions: ``hfunc1(u) = P(U2 <= u2 | U1 = u1)``, ``hfunc2(u) = P(U1 <= u1 | U2 = u2)``.
Their inverses take pyvinecopulib's column layout: ``hinv1`` inverts ``hfunc1`` in ``u2`` and
takes columns ``(u1, p)``; ``hinv2`` inverts ``hfunc2`` in ``u1`` and takes ``(p, u2)``.

Numerics. Everything is written in log space where a product could under- or overflow
(``u ~ 1e-10`` with Gumbel ``theta = 50`` has ``(-log u)^theta`` far below the smallest
double) and with ``log1p``/``expm1`` where a difference of nearly equal numbers would cancel.
The Frank denominator is evaluated as a sum of two positive terms; its ``theta -> 0`` limit uses
a Taylor series. The Gumbel h-inverse has no closed form: a monotone Newton iteration solves
it, and one last Newton step outside ``no_grad`` gives exact implicit-function gradients. The
Student-t distribution function and quantile come from :mod:`scipy.special` (accurate to a
few ulp in the tails) inside autograd functions whose ``x``/``u`` derivatives are analytic and
whose ``nu`` derivative is a Richardson-extrapolated central difference (relative error
~1e-10); they run on the CPU (tensors on other devices make a round trip) and support first
derivatives only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy import special

from hybridrisk.errors import ConfigError, DataValidationError, ParameterDomainError

__all__ = [
    "FAMILIES",
    "PARAM_NAMES",
    "ROTATABLE",
    "check_family",
    "as_parameters",
    "log_density",
    "loglik",
    "hfunc1",
    "hfunc2",
    "hinv1",
    "hinv2",
    "simulate",
    "kendall_tau",
    "tau_to_parameter",
    "tail_dependence",
    "tail_dependence_matrix",
    "student_cdf",
    "student_ppf",
]

#: Parameter names of each family, in pyvinecopulib's order.
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "gaussian": ("rho",),
    "student": ("rho", "nu"),
    "clayton": ("theta",),
    "gumbel": ("theta",),
    "frank": ("theta",),
}
FAMILIES: tuple[str, ...] = tuple(PARAM_NAMES)
#: Families with 90/180/270 rotations (as in pyvinecopulib).
ROTATABLE: tuple[str, ...] = ("clayton", "gumbel")
_ROTATIONS = (0, 90, 180, 270)
_LN2 = math.log(2.0)
_FRANK_SMALL = 1e-6  # below this |theta| the Frank formulas switch to their Taylor series


# ---------------------------------------------------------------- validation


def check_family(family: str, rotation: int = 0) -> str:
    """Validate a family name and rotation; return the family.

    Raises
    ------
    ConfigError
        For an unknown family, a rotation other than 0/90/180/270, or a rotation of a
        rotation-free family.
    """
    if family not in PARAM_NAMES:
        raise ConfigError(f"unknown copula family {family!r}; choose one of {list(FAMILIES)}")
    if rotation not in _ROTATIONS:
        raise ConfigError(f"rotation must be one of {_ROTATIONS}, got {rotation!r}")
    if rotation and family not in ROTATABLE:
        why = (" (Frank is radially symmetric; theta < 0 gives its negative dependence)"
               if family == "frank" else "")
        raise ConfigError(f"the {family} copula takes rotation 0 only{why}")
    return family


def _check_u(u: Any, name: str = "u") -> torch.Tensor:
    """``u`` as a float64 tensor of shape (n, 2) strictly inside the unit square."""
    t = u if isinstance(u, torch.Tensor) else torch.as_tensor(np.asarray(u, dtype=np.float64))
    if t.dtype != torch.float64:
        t = t.to(torch.float64)
    if t.ndim != 2 or t.shape[1] != 2:
        raise DataValidationError("shape", f"{name} must have shape (n, 2), got {tuple(t.shape)}")
    d = t.detach()
    bad = ~torch.isfinite(d)
    if bad.any():
        i, j = (int(k) for k in torch.nonzero(bad)[0])
        raise DataValidationError("finite", f"{name} contains a non-finite value",
                                  row=i, column=j)
    bad = (d <= 0) | (d >= 1)
    if bad.any():
        i, j = (int(k) for k in torch.nonzero(bad)[0])
        raise DataValidationError(
            "open-unit-interval",
            f"{name} must lie strictly inside (0, 1), got {float(d[i, j])!r}", row=i, column=j)
    return t


def _fail(name: str, values: torch.Tensor, bad: torch.Tensor, rule: str) -> None:
    if bad.any():
        k = int(torch.nonzero(bad.reshape(-1))[0])
        label = name if values.numel() == 1 else f"{name}[{k}]"
        raise ParameterDomainError(label, float(values.reshape(-1)[k]), rule)


def as_parameters(
    family: str, theta: Any, *, like: torch.Tensor | None = None, n: int | None = None
) -> list[torch.Tensor]:
    """Split and validate ``theta`` into one float64 tensor per parameter.

    Parameters
    ----------
    family
        A name from :data:`FAMILIES`.
    theta
        One parameter set or one per row (see the module docstring).
    like
        Tensor whose device the parameters move to.
    n
        Number of rows the parameters must broadcast to, when known.

    Returns
    -------
    list of Tensor
        ``[rho]``, ``[rho, nu]`` or ``[theta]``, each 0-d or 1-d.

    Raises
    ------
    DataValidationError
        If the shape does not fit the family or ``n``.
    ParameterDomainError
        If a value lies outside the family's domain (the first offending value is named).
    """
    check_family(family)
    k = len(PARAM_NAMES[family])
    dev = like.device if like is not None else None
    if isinstance(theta, tuple | list) and len(theta) == k and any(
            isinstance(p, torch.Tensor) for p in theta):
        parts = [torch.as_tensor(p, dtype=torch.float64, device=dev) for p in theta]
        if any(p.ndim > 1 for p in parts):
            raise DataValidationError("shape", "each parameter must be a scalar or 1-d")
    else:
        t = torch.as_tensor(theta, dtype=torch.float64, device=dev)
        if k == 1 and t.ndim == 2 and t.shape[1] == 1:
            t = t[:, 0]
        if k == 1 and t.ndim <= 1:
            parts = [t]
        elif k == 2 and t.ndim == 1 and t.shape[0] == 2:
            parts = [t[0], t[1]]
        elif k == 2 and t.ndim == 2 and t.shape[1] == 2:
            parts = [t[:, 0], t[:, 1]]
        else:
            want = "a scalar, (n,) or (n, 1)" if k == 1 else "(2,) or (n, 2)"
            raise DataValidationError(
                "shape", f"{family} parameters must have shape {want}, got {tuple(t.shape)}")
    if n is not None:
        for p in parts:
            if p.ndim == 1 and p.shape[0] not in (1, n):
                raise DataValidationError(
                    "shape", f"one parameter set per row needs {n} rows, got {p.shape[0]}")
    vals = [p.detach() for p in parts]
    for name, v in zip(PARAM_NAMES[family], vals, strict=True):
        _fail(name, v, ~torch.isfinite(v), f"{name} finite")
    if family in ("gaussian", "student"):
        _fail("rho", vals[0], vals[0].abs() >= 1, "-1 < rho < 1")
    if family == "student":
        _fail("nu", vals[1], vals[1] <= 0, "nu > 0")
    if family == "clayton":
        _fail("theta", vals[0], vals[0] <= 0, "theta > 0")
    if family == "gumbel":
        _fail("theta", vals[0], vals[0] < 1, "theta >= 1")
    return parts


# ---------------------------------------------------------------- Student t, through scipy


def _dcdf_dnu(x: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """d/dnu of the t cdf at fixed x: Richardson-extrapolated central differences.

    Differentiated on the lower tail at ``-|x|`` (relative accuracy there) and mirrored.
    """
    xl = -np.abs(x)
    h = 1e-3 * np.maximum(nu, 1e-3)
    h = np.minimum(h, 0.5 * nu)

    def d(step: np.ndarray) -> np.ndarray:
        return (special.stdtr(nu + step, xl) - special.stdtr(nu - step, xl)) / (2 * step)

    g = (4.0 * d(h / 2) - d(h)) / 3.0
    return np.where(x > 0, -g, g)


def _t_logpdf(x: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    return (torch.lgamma((nu + 1) / 2) - torch.lgamma(nu / 2) - 0.5 * torch.log(math.pi * nu)
            - (nu + 1) / 2 * torch.log1p(x * x / nu))


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


class _StudentCDF(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, nu)
        return torch.as_tensor(special.stdtr(_np(nu), _np(x)), device=x.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, nu = ctx.saved_tensors
        gx = g * torch.exp(_t_logpdf(x, nu)) if ctx.needs_input_grad[0] else None
        gnu = None
        if ctx.needs_input_grad[1]:
            gnu = g * torch.as_tensor(_dcdf_dnu(_np(x), _np(nu)), device=x.device)
        return gx, gnu


class _StudentPPF(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(special.stdtrit(_np(nu), _np(u)), device=u.device)
        ctx.save_for_backward(x, nu)
        return x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, nu = ctx.saved_tensors
        inv_f = torch.exp(-_t_logpdf(x, nu))  # dx/du = 1 / f(x)
        gu = g * inv_f if ctx.needs_input_grad[0] else None
        gnu = None
        if ctx.needs_input_grad[1]:
            dF = torch.as_tensor(_dcdf_dnu(_np(x), _np(nu)), device=x.device)
            gnu = -g * dF * inv_f  # implicit function: F(x(nu), nu) = u
        return gu, gnu


def student_cdf(x: torch.Tensor, nu: Any) -> torch.Tensor:
    """Student-t distribution function, differentiable in ``x`` and ``nu`` (first order)."""
    x, nu = torch.broadcast_tensors(x, torch.as_tensor(nu, dtype=x.dtype, device=x.device))
    return _StudentCDF.apply(x, nu)


def student_ppf(u: torch.Tensor, nu: Any) -> torch.Tensor:
    """Student-t quantile function, differentiable in ``u`` and ``nu`` (first order)."""
    u, nu = torch.broadcast_tensors(u, torch.as_tensor(nu, dtype=u.dtype, device=u.device))
    return _StudentPPF.apply(u, nu)


# ---------------------------------------------------------------- helpers


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(-x))`` for ``x > 0`` without cancellation (Maechler 2012)."""
    return torch.where(x < _LN2, torch.log(-torch.expm1(-x)), torch.log1p(-torch.exp(-x)))


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(x))`` at full precision (torch's softplus turns linear above x = 20)."""
    return torch.logaddexp(x, torch.zeros_like(x))


def _exp_prob(log_p: torch.Tensor) -> torch.Tensor:
    """``exp`` of a log-probability that rounding may have put a few ulp above 0."""
    return torch.exp(torch.clamp(log_p, max=0.0))


def _logexpm1(x: torch.Tensor) -> torch.Tensor:
    """``log(exp(x) - 1)`` for ``x > 0``."""
    return x + _log1mexp(x)


def _one_minus_rho2(rho: torch.Tensor) -> torch.Tensor:
    return (1 - rho) * (1 + rho)


def _quad_form(x1: torch.Tensor, x2: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """``(x1^2 + x2^2 - 2 rho x1 x2) / (1 - rho^2)`` without cancellation as |rho| -> 1."""
    pos = ((x1 - x2).square() / _one_minus_rho2(rho)) + 2 * x1 * x2 / (1 + rho)
    neg = ((x1 + x2).square() / _one_minus_rho2(rho)) - 2 * x1 * x2 / (1 - rho)
    return torch.where(rho >= 0, pos, neg)


# ---------------------------------------------------------------- base (rotation 0) families
# Each takes (a, b, *params) in the unrotated coordinates; the h-inverse takes (a = u1, b = p).


def _gauss_logpdf(a: torch.Tensor, b: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    x1, x2 = torch.special.ndtri(a), torch.special.ndtri(b)
    q = _quad_form(x1, x2, rho)
    # log c = -log(1-rho^2)/2 - (q - x1^2 - x2^2) / 2
    return (-0.5 * (torch.log1p(-rho) + torch.log1p(rho))
            - 0.5 * (q - x1.square() - x2.square()))


def _gauss_h1(a: torch.Tensor, b: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    x1, x2 = torch.special.ndtri(a), torch.special.ndtri(b)
    return torch.special.ndtr((x2 - rho * x1) / torch.sqrt(_one_minus_rho2(rho)))


def _gauss_hinv1(a: torch.Tensor, p: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    x1, q = torch.special.ndtri(a), torch.special.ndtri(p)
    return torch.special.ndtr(rho * x1 + torch.sqrt(_one_minus_rho2(rho)) * q)


def _t_logpdf_copula(
    a: torch.Tensor, b: torch.Tensor, rho: torch.Tensor, nu: torch.Tensor
) -> torch.Tensor:
    x1, x2 = student_ppf(a, nu), student_ppf(b, nu)
    q = _quad_form(x1, x2, rho) / nu
    const = torch.lgamma(nu / 2 + 1) + torch.lgamma(nu / 2) - 2 * torch.lgamma((nu + 1) / 2)
    return (const - 0.5 * (torch.log1p(-rho) + torch.log1p(rho))
            - (nu + 2) / 2 * torch.log1p(q)
            + (nu + 1) / 2 * (torch.log1p(x1.square() / nu) + torch.log1p(x2.square() / nu)))


def _t_h1(a: torch.Tensor, b: torch.Tensor, rho: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    x1, x2 = student_ppf(a, nu), student_ppf(b, nu)
    scale = torch.sqrt((nu + x1.square()) * _one_minus_rho2(rho) / (nu + 1))
    return student_cdf((x2 - rho * x1) / scale, nu + 1)


def _t_hinv1(a: torch.Tensor, p: torch.Tensor, rho: torch.Tensor, nu: torch.Tensor
             ) -> torch.Tensor:
    x1, q = student_ppf(a, nu), student_ppf(p, nu + 1)
    scale = torch.sqrt((nu + x1.square()) * _one_minus_rho2(rho) / (nu + 1))
    return student_cdf(q * scale + rho * x1, nu)


def _clayton_logS(la: torch.Tensor, lb: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    """``log(a^-th + b^-th - 1)`` from ``la = log a``, ``lb = log b`` (both < 0)."""
    s1, s2 = -th * la, -th * lb
    hi, lo = torch.maximum(s1, s2), torch.minimum(s1, s2)
    # a^-th + b^-th - 1 = e^hi (1 + e^(lo - hi) (1 - e^-lo)), every term positive
    return hi + torch.log1p(torch.exp(lo - hi + _log1mexp(lo)))


def _clayton_logpdf(a: torch.Tensor, b: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    la, lb = torch.log(a), torch.log(b)
    return (torch.log1p(th) - (1 + th) * (la + lb)
            - (2 + 1 / th) * _clayton_logS(la, lb, th))


def _clayton_h1(a: torch.Tensor, b: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    la, lb = torch.log(a), torch.log(b)
    return _exp_prob(-(1 + th) * la - (1 + 1 / th) * _clayton_logS(la, lb, th))


def _clayton_hinv1(a: torch.Tensor, p: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    c = -th / (1 + th) * torch.log(p)  # >= 0
    # v^-th = 1 + u^-th (p^(-th/(1+th)) - 1)
    return torch.exp(-_softplus(-th * torch.log(a) + _logexpm1(c)) / th)


def _gumbel_logA(lx: torch.Tensor, ly: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    """``log((x^th + y^th)^(1/th))`` from ``lx = log x``, ``ly = log y``."""
    return torch.logaddexp(th * lx, th * ly) / th


def _gumbel_logpdf(a: torch.Tensor, b: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    x, y = -torch.log(a), -torch.log(b)
    lx, ly = torch.log(x), torch.log(y)
    lA = _gumbel_logA(lx, ly, th)
    A = torch.exp(lA)
    return (-A + x + y + (th - 1) * (lx + ly) + (1 - 2 * th) * lA + torch.log(A + th - 1))


def _gumbel_h1(a: torch.Tensor, b: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    x, y = -torch.log(a), -torch.log(b)
    lx = torch.log(x)
    lA = _gumbel_logA(lx, torch.log(y), th)
    return _exp_prob(x - torch.exp(lA) + (th - 1) * (lx - lA))


def _gumbel_hinv1(a: torch.Tensor, p: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    # With A = x e^d the equation h1 = p reads H(d) = x expm1(d) + (th-1) d + log p = 0, H convex
    # and increasing on d >= 0. log1p(-log p / x) and -log p / (th-1) both bound the root from
    # above, so Newton from their minimum decreases monotonically to it.
    x = -torch.log(a)
    lp = torch.log(p)
    with torch.no_grad():
        xd, thd, lpd = torch.broadcast_tensors(x.detach(), th.detach(), lp.detach())
        d = torch.minimum(torch.log1p(-lpd / xd), -lpd / (thd - 1))
        for _ in range(200):
            step = (xd * torch.expm1(d) + (thd - 1) * d + lpd) / (xd * torch.exp(d) + thd - 1)
            d = d - step
            if bool((step.abs() <= 4e-16 * d.abs()).all()):
                break
    # one Newton step with gradients: exact implicit derivatives at the root
    d = d - (x * torch.expm1(d) + (th - 1) * d + lp) / (x * torch.exp(d) + th - 1)
    # y^th = A^th - x^th = x^th (e^(th d) - 1)
    log_y = torch.log(x) + d + _log1mexp(th * d) / th
    return torch.exp(-torch.exp(log_y))


def _frank_orient(th: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """|theta| and the second argument with its complement, reflected when theta < 0.

    ``c_theta(u, v) = c_|theta|(u, 1 - v)`` for ``theta < 0``; carrying ``v`` and ``1 - v`` as a
    pair keeps the small one exact.
    """
    neg = th < 0
    return th.abs(), torch.where(neg, 1 - b, b), torch.where(neg, b, 1 - b)


def _frank_terms(a: torch.Tensor, w: torch.Tensor, wc: torch.Tensor, s: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logs of the two positive terms of the Frank denominator (s = |theta| > 0).

    ``D = (1 - e^-s) - (1 - e^-su)(1 - e^-sw) = e^-su (1 - e^-sw) + e^-sw (1 - e^-s(1-w))``.
    """
    return -s * a + _log1mexp(s * w), -s * w + _log1mexp(s * wc)


def _frank_logpdf(a: torch.Tensor, b: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    small = th.abs() < _FRANK_SMALL
    s, w, wc = _frank_orient(torch.where(small, torch.ones_like(th), th), b)
    t1, t2 = _frank_terms(a, w, wc, s)
    main = torch.log(s) + _log1mexp(s) - s * (a + w) - 2 * torch.logaddexp(t1, t2)
    # Taylor series of log c in theta, third order
    c1 = (2 * a - 1) * (2 * b - 1) / 2
    c2 = a * b * (1 - a) * (1 - b) - 1 / 24
    c3 = a * b * (a - 1) * (2 * a - 1) * (b - 1) * (2 * b - 1) / 6
    series = th * (c1 + th * (c2 + th * c3))
    return torch.where(small, series, main)


def _frank_h1(a: torch.Tensor, b: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    small = th.abs() < _FRANK_SMALL
    th_safe = torch.where(small, torch.ones_like(th), th)
    s, w, wc = _frank_orient(th_safe, b)
    t1, t2 = _frank_terms(a, w, wc, s)
    # h1 = e^-su (1 - e^-sw) / D, and 1 - h1_|theta|(u, 1 - v) when theta < 0
    main = torch.sigmoid(torch.sign(th_safe) * (t1 - t2))
    series = b + th * (b * (2 * a - 1) * (b - 1) / 2
                       + th * b * (b - 1) * (2 * b - 1) * (6 * a * a - 6 * a + 1) / 12)
    return torch.where(small, series, main)


def _frank_hinv_pos(a: torch.Tensor, lp: torch.Tensor, lq: torch.Tensor, s: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(v, 1 - v)`` solving h1_s(a, v) = p for s > 0, from lp = log p and lq = log(1 - p)."""
    log_r = -s * a + lq - lp  # r = e^-sa (1 - p) / p
    v = -torch.log1p(torch.expm1(-s) * torch.sigmoid(-log_r)) / s
    vc = _softplus(_logexpm1(s) + torch.nn.functional.logsigmoid(log_r)) / s
    # vc is accurate to relative precision everywhere; v only while s v < log 2 (beyond, log1p
    # of a number near -1 cancels), where 1 - vc is accurate to absolute precision instead
    return torch.where(s * v < _LN2, v, 1 - vc), vc


def _frank_hinv1(a: torch.Tensor, p: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
    small = th.abs() < _FRANK_SMALL
    th_safe = torch.where(small, torch.ones_like(th), th)
    neg = th_safe < 0
    lp, lq = torch.log(p), torch.log1p(-p)
    # theta < 0: v = 1 - hinv1_|theta|(u, 1 - p), so swap log p and log(1 - p), take 1 - v
    v, vc = _frank_hinv_pos(a, torch.where(neg, lq, lp), torch.where(neg, lp, lq), th_safe.abs())
    main = torch.where(neg, vc, v)
    series = p + th * (-p * (p - 1) * (2 * a - 1) / 2
                       + th * p * (p - 1) * (2 * p - 1) * (3 * a * a - 3 * a + 1) / 6)
    return torch.where(small, series, main)


_BASE = {
    "gaussian": (_gauss_logpdf, _gauss_h1, _gauss_hinv1),
    "student": (_t_logpdf_copula, _t_h1, _t_hinv1),
    "clayton": (_clayton_logpdf, _clayton_h1, _clayton_hinv1),
    "gumbel": (_gumbel_logpdf, _gumbel_h1, _gumbel_hinv1),
    "frank": (_frank_logpdf, _frank_h1, _frank_hinv1),
}


# ---------------------------------------------------------------- rotations and public API


def _rotate(u: torch.Tensor, rotation: int) -> tuple[torch.Tensor, torch.Tensor]:
    """pyvinecopulib's counter-clockwise rotation of the data into base coordinates."""
    u1, u2 = u[:, 0], u[:, 1]
    if rotation == 90:
        return u2, 1 - u1
    if rotation == 180:
        return 1 - u1, 1 - u2
    if rotation == 270:
        return 1 - u2, u1
    return u1, u2


def _prepare(family: str, u: Any, theta: Any, rotation: int
             ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    check_family(family, rotation)
    uu = _check_u(u)
    params = as_parameters(family, theta, like=uu, n=uu.shape[0])
    a, b = _rotate(uu, rotation)
    return a, b, params


def log_density(family: str, u: Any, theta: Any, rotation: int = 0) -> torch.Tensor:
    """Log copula density, one value per row of ``u``.

    Parameters
    ----------
    family
        ``"gaussian"``, ``"student"``, ``"clayton"``, ``"gumbel"`` or ``"frank"``.
    u
        Tensor (or array) of shape (n, 2), strictly inside the unit square.
    theta
        One parameter set or one per row (see the module docstring).
    rotation
        0, 90, 180 or 270 (Clayton and Gumbel only).

    Returns
    -------
    Tensor
        Shape (n,), float64, differentiable in ``u`` and ``theta``.

    Raises
    ------
    ConfigError, DataValidationError, ParameterDomainError
        Unknown family or rotation; bad ``u``; parameters outside the domain.

    Examples
    --------
    >>> import torch
    >>> float(log_density("clayton", torch.tensor([[0.3, 0.4]]), 2.0)[0])  # doctest: +ELLIPSIS
    0.4721...
    """
    a, b, params = _prepare(family, u, theta, rotation)
    return _BASE[family][0](a, b, *params)


def loglik(family: str, u: Any, theta: Any, rotation: int = 0) -> torch.Tensor:
    """Sum of :func:`log_density` over the rows (a 0-d tensor)."""
    return log_density(family, u, theta, rotation).sum()


def _h_base(family: str, a: torch.Tensor, b: torch.Tensor, params: list[torch.Tensor],
            which: int) -> torch.Tensor:
    h1 = _BASE[family][1]
    # all five families are exchangeable: h2(a, b) = h1(b, a)
    return h1(a, b, *params) if which == 1 else h1(b, a, *params)


def hfunc1(family: str, u: Any, theta: Any, rotation: int = 0) -> torch.Tensor:
    """First h-function ``P(U2 <= u2 | U1 = u1)``; arguments as :func:`log_density`."""
    a, b, params = _prepare(family, u, theta, rotation)
    if rotation in (0, 180):
        h = _h_base(family, a, b, params, 1)
    else:
        h = _h_base(family, a, b, params, 2)
    return 1 - h if rotation in (180, 270) else h


def hfunc2(family: str, u: Any, theta: Any, rotation: int = 0) -> torch.Tensor:
    """Second h-function ``P(U1 <= u1 | U2 = u2)``; arguments as :func:`log_density`."""
    a, b, params = _prepare(family, u, theta, rotation)
    if rotation in (0, 180):
        h = _h_base(family, a, b, params, 2)
    else:
        h = _h_base(family, a, b, params, 1)
    return 1 - h if rotation in (90, 180) else h


def _hinv_base(family: str, a: torch.Tensor, b: torch.Tensor, params: list[torch.Tensor],
               which: int) -> torch.Tensor:
    inv1 = _BASE[family][2]
    # hinv1 takes (conditioning u1, p); hinv2 takes (p, conditioning u2) = hinv1(u2, p)
    return inv1(a, b, *params) if which == 1 else inv1(b, a, *params)


def hinv1(family: str, u: Any, theta: Any, rotation: int = 0) -> torch.Tensor:
    """Inverse of :func:`hfunc1` in ``u2``: columns of ``u`` are ``(u1, p)``; returns ``u2``."""
    a, b, params = _prepare(family, u, theta, rotation)
    if rotation in (0, 180):
        v = _hinv_base(family, a, b, params, 1)
    else:
        v = _hinv_base(family, a, b, params, 2)
    return 1 - v if rotation in (180, 270) else v


def hinv2(family: str, u: Any, theta: Any, rotation: int = 0) -> torch.Tensor:
    """Inverse of :func:`hfunc2` in ``u1``: columns of ``u`` are ``(p, u2)``; returns ``u1``."""
    a, b, params = _prepare(family, u, theta, rotation)
    if rotation in (0, 180):
        v = _hinv_base(family, a, b, params, 2)
    else:
        v = _hinv_base(family, a, b, params, 1)
    return 1 - v if rotation in (90, 180) else v


def simulate(
    family: str,
    theta: Any,
    n: int,
    *,
    rotation: int = 0,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw ``n`` pairs by the inverse Rosenblatt transform ``u2 = hinv1(u1, p)``.

    Parameters
    ----------
    family, theta, rotation
        As :func:`log_density`; ``theta`` may hold one parameter set per draw (``n`` rows).
    n
        Number of draws.
    seed, generator
        A seed for a fresh :class:`torch.Generator`, or a generator to draw from (not both).
        The same seed gives the same numbers.

    Returns
    -------
    Tensor
        Shape (n, 2), float64.
    """
    check_family(family, rotation)
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"n must be a positive integer, got {n!r}")
    if seed is not None and generator is not None:
        raise ConfigError("give a seed or a generator, not both")
    if generator is None:
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(seed))
    w = torch.rand((int(n), 2), generator=generator, dtype=torch.float64,
                   device=generator.device)
    # rand() is in [0, 1): move an exact 0 (probability 2^-53) inside the open interval
    w = torch.where(w == 0, torch.full_like(w, 2.0 ** -54), w)
    v = hinv1(family, w, theta, rotation)
    return torch.stack([w[:, 0], v], dim=1)


# ---------------------------------------------------------------- dependence measures

# 4 B_2k / ((2k+1) (2k)!) for k = 1..13: Frank's tau = sum_k coef_k theta^(2k-1) for |theta| <= 1
_FRANK_TAU_SERIES = (
    0.1111111111111111, -0.0011111111111111111, 1.889644746787604e-05,
    -3.6743092298647856e-07, 7.5915479955884e-09, -1.6259046580576902e-10,
    3.568676408182581e-12, -7.97571834428843e-14, 1.8075920118479673e-15,
    -4.142607044872499e-17, 9.580874484104748e-19, -2.2327143497300036e-20,
    5.236603021673285e-22,
)


def _frank_tau(th: torch.Tensor) -> torch.Tensor:
    s = th.abs()
    small = s <= 1
    # series (no cancellation near 0)
    t2 = th * th
    series = torch.zeros_like(th)
    for c in reversed(_FRANK_TAU_SERIES):
        series = series * t2 + c
    series = series * th
    # closed form with the Debye integral I(s) = int_0^s t/(e^t - 1) dt
    #   = pi^2/6 - sum_k e^(-k s) (s/k + 1/k^2), fast for s > 1
    ss = torch.where(small, torch.full_like(s, 2.0), s)
    k = torch.arange(1, 46, dtype=th.dtype, device=th.device)
    tail = (torch.exp(-k * ss.unsqueeze(-1)) * (ss.unsqueeze(-1) / k + 1 / k.square())).sum(-1)
    integral = math.pi ** 2 / 6 - tail
    big = 1 - 4 / ss + 4 * integral / ss.square()
    return torch.where(small, series, torch.sign(th) * big)


def kendall_tau(family: str, theta: Any, rotation: int = 0) -> torch.Tensor:
    """Kendall's tau as a function of the parameters (differentiable).

    Rotations 90 and 270 flip the sign, as in pyvinecopulib.
    """
    check_family(family, rotation)
    params = as_parameters(family, theta)
    if family in ("gaussian", "student"):
        tau = 2 / math.pi * torch.asin(params[0])
    elif family == "clayton":
        tau = params[0] / (params[0] + 2)
    elif family == "gumbel":
        tau = 1 - 1 / params[0]
    else:
        tau = _frank_tau(params[0])
    return -tau if rotation in (90, 270) else tau


def tau_to_parameter(family: str, tau: Any, rotation: int = 0) -> torch.Tensor:
    """Invert Kendall's tau: the parameter (``rho`` for Gaussian and t) with that tau.

    Closed forms for Gaussian/t (``sin(pi tau / 2)``), Clayton (``2 tau / (1 - tau)``) and
    Gumbel (``1 / (1 - tau)``); Frank by a monotone Newton iteration on its tau (concave and
    increasing in ``theta > 0``, odd in ``theta``). For rotations 90 and 270 ``tau`` must be
    negative. The t copula's ``nu`` is not identified by tau.

    Raises
    ------
    ParameterDomainError
        If ``tau`` is outside (-1, 1) or has the wrong sign for the family and rotation.
    """
    check_family(family, rotation)
    t = torch.as_tensor(tau, dtype=torch.float64)
    td = t.detach()
    _fail("tau", td, ~(td.abs() < 1), "-1 < tau < 1")
    if family in ("gaussian", "student"):
        return torch.sin(math.pi / 2 * t)
    if family == "frank":
        return _frank_tau_inverse(t)
    sgn = -1.0 if rotation in (90, 270) else 1.0
    ta = sgn * t
    if family == "clayton":
        _fail("tau", td, ~(sgn * td > 0), f"{'tau < 0' if sgn < 0 else 'tau > 0'} "
              f"for the clayton copula rotated by {rotation}")
        return 2 * ta / (1 - ta)
    _fail("tau", td, ~(sgn * td >= 0), f"{'tau <= 0' if sgn < 0 else 'tau >= 0'} "
          f"for the gumbel copula rotated by {rotation}")
    return 1 / (1 - ta)


def _frank_tau_inverse(tau: torch.Tensor) -> torch.Tensor:
    s = tau.abs()
    with torch.no_grad():
        th = 9 * s.detach()  # tau(theta) <= theta / 9: Newton from here increases monotonically
        for _ in range(200):
            x = th.clone().requires_grad_(True)
            with torch.enable_grad():
                f = _frank_tau(x)
                (g,) = torch.autograd.grad(f.sum(), x)
            step = (f.detach() - s.detach()) / g
            th = torch.where(s.detach() == 0, th, th - step)
            if bool((step.abs() <= 1e-15 * th.abs().clamp_min(1.0)).all()):
                break
    # one Newton step with gradients gives the implicit derivative d theta / d tau
    th = th.detach()
    x = th.clone().requires_grad_(True)
    with torch.enable_grad():
        f = _frank_tau(x)
        (g,) = torch.autograd.grad(f.sum(), x)
    th = th - (_frank_tau(th) - s) / g.detach()
    return torch.sign(tau) * th


def _t_tail(rho: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    return 2 * student_cdf(-torch.sqrt((nu + 1) * (1 - rho) / (1 + rho)), nu + 1)


def tail_dependence_matrix(family: str, theta: Any, rotation: int = 0) -> torch.Tensor:
    """Tail-dependence coefficients in the four corners, pyvinecopulib's ``taildep`` layout.

    ``M[..., i, j]`` is the coefficient as ``U1 -> i`` and ``U2 -> j`` (0 = lower, 1 = upper):
    ``M[0, 0]`` is the lower and ``M[1, 1]`` the upper tail dependence; rotations 90 and 270
    move an Archimedean copula's tail to the off-diagonal corners.

    Returns
    -------
    Tensor
        Shape ``theta``'s batch shape + (2, 2).
    """
    check_family(family, rotation)
    params = as_parameters(family, theta)
    p0 = params[0]
    z = torch.zeros_like(p0)
    if family == "student":
        rho, nu = torch.broadcast_tensors(params[0], params[1])
        on, off = _t_tail(rho, nu), _t_tail(-rho, nu)
        base = torch.stack([torch.stack([on, off], -1), torch.stack([off, on], -1)], -2)
    else:
        lower = 2 ** (-1 / p0) if family == "clayton" else z
        upper = 2 - 2 ** (1 / p0) if family == "gumbel" else z
        base = torch.stack([torch.stack([lower, z], -1), torch.stack([z, upper], -1)], -2)
    # rotated corner (i, j) is the base corner reached by pyvinecopulib's data rotation
    if rotation == 90:
        return base.transpose(-1, -2).flip(-2)  # M[i, j] = M0[j, 1 - i]
    if rotation == 180:
        return base.flip(-1, -2)  # M[i, j] = M0[1 - i, 1 - j]
    if rotation == 270:
        return base.transpose(-1, -2).flip(-1)  # M[i, j] = M0[1 - j, i]
    return base


def tail_dependence(family: str, theta: Any, rotation: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower and upper tail-dependence coefficients ``(lambda_L, lambda_U)``.

    Gaussian and Frank: 0 and 0. t: :math:`2 t_{\\nu+1}(-\\sqrt{(\\nu+1)(1-\\rho)/(1+\\rho)})`
    in both tails. Clayton: :math:`2^{-1/\\theta}` lower; Gumbel: :math:`2 - 2^{1/\\theta}`
    upper; rotation 180 swaps the tails and rotations 90/270 leave both diagonal tails at 0
    (see :func:`tail_dependence_matrix` for the off-diagonal corners).
    """
    m = tail_dependence_matrix(family, theta, rotation)
    return m[..., 0, 0], m[..., 1, 1]

