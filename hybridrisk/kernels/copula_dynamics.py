r"""Per-observation equations of dynamic bivariate copulas: links, scores, information, forcing.

The dynamic classical copulas (:mod:`baselines.copula_dynamics`) and the hybrids share these
equations; the copula densities themselves come from :mod:`hybridrisk.kernels.copulas`.
Families: ``gaussian``, ``student`` (``nu`` constant), ``clayton``, ``gumbel`` (with
pyvinecopulib's rotations for the last two; the dynamic parameter is always the base copula's).

Score-driven (GAS) link ``theta = g(f)`` (Creal, Koopman & Lucas 2013):

==========  ==========================  =====================
family      ``g(f)``                    ``g'(f)``
==========  ==========================  =====================
gaussian    ``rho = tanh(f)``           ``1 - rho^2``
student     ``rho = tanh(f)``           ``1 - rho^2``
clayton     ``theta = exp(f)``          ``theta``
gumbel      ``theta = 1 + exp(f)``      ``theta - 1``
==========  ==========================  =====================

The scaled score in ``f`` is ``s = S_f * d log c / d f`` with ``d log c / d f = g'(f) *
d log c / d theta`` and, by ``scaling``:

* ``"fisher"`` -- ``S_f = I_f^{-1}`` (CKL's choice), ``I_f = g'(f)^2 I(theta)``;
* ``"fisher-sqrt"`` -- ``S_f = I_f^{-1/2}`` (the scaling of Patton's 2012 toolbox);
* ``"unit"`` -- ``S_f = 1``.

The information is known in closed form for the Gaussian, ``I(rho) = (1 + rho^2) /
(1 - rho^2)^2``, and for the t copula with ``nu`` fixed, ``I(rho) = ((nu + 2)(1 + rho^2) -
2 rho^2) / ((nu + 4)(1 - rho^2)^2)`` (the ``rho`` block of the bivariate t information of Lange,
Little & Taylor 1989: the margins do not depend on ``rho``, so the copula's score in ``rho`` is
the bivariate t's). Clayton and Gumbel have no closed form, so they take ``"unit"`` only.

Patton (2006) recursions act on a *state*: the correlation for Gaussian/t, the tail-dependence
coefficient of the base copula for Clayton (lower) and Gumbel (upper), as in Patton's SJC
equations::

    rho_t    = L~(omega + beta rho_{t-1}    + alpha mean_j x1_{t-j} x2_{t-j}),
    lambda_t = L (omega + beta lambda_{t-1} + alpha mean_j |a_{t-j} - b_{t-j}|),

``L~(x) = (1 - e^-x) / (1 + e^-x) = tanh(x / 2)``, ``L`` the logistic function, ``x = Phi^-1(u)``
(Gaussian) or ``t_nu^-1(u)`` (t), ``(a, b)`` the data in the base copula's coordinates and the
mean over the last ten observations (:func:`patton_forcing` gives the per-observation terms).
The tail coefficient maps to the parameter by inverting ``lambda_L = 2^(-1/theta)`` (Clayton,
``theta = log 2 / (-log lambda)``) and ``lambda_U = 2 - 2^(1/theta)`` (Gumbel,
``theta = log 2 / log(2 - lambda)``).

Everything here is written once over a small numeric namespace: the torch functions are
vectorised and differentiable, and :func:`gas_score_function` / :func:`patton_map_function`
return the same formulas on Python floats, which is what the sequential filters of the
baselines run on (a torch call per time step would cost a hundred times more).

References
----------
Creal, D., Koopman, S. J. & Lucas, A. (2013). Generalized autoregressive score models with
applications. *Journal of Applied Econometrics* 28(5), 777-795.
Lange, K. L., Little, R. J. A. & Taylor, J. M. G. (1989). Robust statistical modeling using the
t distribution. *JASA* 84(408), 881-896.
Patton, A. J. (2006). Modelling asymmetric exchange rate dependence. *International Economic
Review* 47(2), 527-556.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from hybridrisk.errors import ConfigError, DataValidationError, ParameterDomainError
from hybridrisk.kernels import copulas as K

__all__ = [
    "DYNAMIC_FAMILIES",
    "SCALINGS",
    "PATTON_WINDOW",
    "check_dynamic",
    "default_scaling",
    "gas_link",
    "gas_link_inverse",
    "gas_link_derivative",
    "patton_map",
    "patton_state",
    "patton_index",
    "score_statistics",
    "scaled_score_from_statistics",
    "score",
    "fisher_information",
    "scaled_score",
    "patton_forcing",
    "gas_score_function",
    "patton_map_function",
]

#: Families with dynamic (GAS and Patton) versions.
DYNAMIC_FAMILIES: tuple[str, ...] = ("gaussian", "student", "clayton", "gumbel")
#: Score scalings of the GAS recursion.
SCALINGS: tuple[str, ...] = ("fisher", "fisher-sqrt", "unit")
#: Patton's (2006) window: the forcing variable averages the last ten observations.
PATTON_WINDOW = 10
_LN2 = math.log(2.0)
_ELLIPTICAL = ("gaussian", "student")


# ---------------------------------------------------------------- numeric namespaces


class _MathOps:
    """Python-float versions of the few functions the formulas use (fast in scalar loops)."""

    log = staticmethod(math.log)
    exp = staticmethod(math.exp)
    log1p = staticmethod(math.log1p)
    expm1 = staticmethod(math.expm1)
    tanh = staticmethod(math.tanh)
    atanh = staticmethod(math.atanh)
    sqrt = staticmethod(math.sqrt)
    maximum = staticmethod(max)
    minimum = staticmethod(min)

    @staticmethod
    def logaddexp(a: float, b: float) -> float:
        m = a if a > b else b
        return m + math.log1p(math.exp(-abs(a - b)))

    @staticmethod
    def sigmoid(x: float) -> float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)

    @staticmethod
    def softplus(x: float) -> float:
        return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


class _TorchOps:
    log = staticmethod(torch.log)
    exp = staticmethod(torch.exp)
    log1p = staticmethod(torch.log1p)
    expm1 = staticmethod(torch.expm1)
    tanh = staticmethod(torch.tanh)
    atanh = staticmethod(torch.atanh)
    sqrt = staticmethod(torch.sqrt)
    maximum = staticmethod(torch.maximum)
    minimum = staticmethod(torch.minimum)
    logaddexp = staticmethod(torch.logaddexp)
    sigmoid = staticmethod(torch.sigmoid)

    @staticmethod
    def softplus(x: torch.Tensor) -> torch.Tensor:
        return torch.logaddexp(x, torch.zeros_like(x))


_M, _T = _MathOps(), _TorchOps()


def _ops(x: Any) -> Any:
    return _T if isinstance(x, torch.Tensor) else _M


def _tensor(x: Any) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float64)


# ---------------------------------------------------------------- validation


def default_scaling(family: str) -> str:
    """CKL's inverse information where it is known in closed form, else the unit scaling."""
    return "fisher" if family in _ELLIPTICAL else "unit"


def check_dynamic(family: str, rotation: int = 0, scaling: str | None = None) -> str:
    """Validate a dynamic family, rotation and scaling; return the scaling in force.

    Raises
    ------
    ConfigError
        For a family without dynamics (Frank), an invalid rotation, or an unknown scaling or
        one that needs an information matrix the family does not have in closed form.
    """
    if family not in DYNAMIC_FAMILIES:
        raise ConfigError(f"dynamic copulas are defined for {list(DYNAMIC_FAMILIES)}, "
                          f"got {family!r}")
    K.check_family(family, rotation)
    if scaling is None:
        return default_scaling(family)
    if scaling not in SCALINGS:
        raise ConfigError(f"scaling must be one of {list(SCALINGS)}, got {scaling!r}")
    if scaling != "unit" and family not in _ELLIPTICAL:
        raise ConfigError(f"the {family} copula's Fisher information has no closed form: "
                          "use scaling='unit'")
    return scaling


def _check_u(u: Any) -> torch.Tensor:
    t = u if isinstance(u, torch.Tensor) else torch.as_tensor(np.asarray(u, dtype=np.float64))
    t = t.to(torch.float64)
    if t.ndim != 2 or t.shape[1] != 2:
        raise DataValidationError("shape", f"u must have shape (n, 2), got {tuple(t.shape)}")
    d = t.detach()
    bad = ~torch.isfinite(d) | (d <= 0) | (d >= 1)
    if bad.any():
        i, j = (int(k) for k in torch.nonzero(bad)[0])
        raise DataValidationError("open-unit-interval", "u must be finite and strictly "
                                  f"inside (0, 1), got {float(d[i, j])!r}", row=i, column=j)
    return t


def _check_nu(family: str, nu: Any) -> Any:
    if family != "student":
        return None
    if nu is None:
        raise ConfigError("the student copula needs nu")
    v = np.asarray(nu.detach() if isinstance(nu, torch.Tensor) else nu, dtype=float)
    if not np.all(np.isfinite(v) & (v > 0)):
        raise ParameterDomainError("nu", v.tolist(), "nu > 0")
    return nu


# ---------------------------------------------------------------- links


def _link(family: str, f: Any, o: Any) -> Any:
    if family in _ELLIPTICAL:
        return o.tanh(f)
    return o.exp(f) if family == "clayton" else 1.0 + o.exp(f)


def _link_derivative(family: str, f: Any, theta: Any) -> Any:
    if family in _ELLIPTICAL:
        return (1.0 - theta) * (1.0 + theta)
    return theta if family == "clayton" else theta - 1.0


def gas_link(family: str, f: Any) -> Any:
    """The GAS link ``theta = g(f)`` (see the module docstring); tensors or floats."""
    check_dynamic(family)
    return _link(family, f, _ops(f))


def gas_link_inverse(family: str, theta: Any) -> Any:
    """``f = g^{-1}(theta)``: ``atanh(rho)``, ``log(theta)`` or ``log(theta - 1)``.

    Raises
    ------
    ParameterDomainError
        For ``|rho| >= 1``, a Clayton ``theta <= 0`` or a Gumbel ``theta <= 1`` (the
        independence copula is the limit ``f -> -inf``).
    """
    check_dynamic(family)
    o = _ops(theta)
    v = np.asarray(theta.detach() if isinstance(theta, torch.Tensor) else theta, dtype=float)
    if family in _ELLIPTICAL:
        if np.any(~(np.abs(v) < 1)):
            raise ParameterDomainError("rho", v.tolist(), "-1 < rho < 1")
        return o.atanh(theta)
    lo = 0.0 if family == "clayton" else 1.0
    if np.any(~(v > lo)):
        raise ParameterDomainError("theta", v.tolist(), f"theta > {lo:g} for a GAS {family}")
    return o.log(theta) if family == "clayton" else o.log(theta - 1.0)


def gas_link_derivative(family: str, f: Any) -> Any:
    """``d theta / d f`` at ``f``."""
    check_dynamic(family)
    return _link_derivative(family, f, _link(family, f, _ops(f)))


def _patton(family: str, x: Any, o: Any) -> tuple[Any, Any]:
    """``x`` (the argument of Patton's Lambda) -> ``(state, theta)``."""
    if family in _ELLIPTICAL:
        rho = o.tanh(0.5 * x)  # (1 - e^-x) / (1 + e^-x), without overflow or cancellation
        return rho, rho
    lam = o.sigmoid(x)
    if family == "clayton":
        return lam, _LN2 / o.softplus(-x)  # -log(lambda) = softplus(-x)
    return lam, _LN2 / o.log1p(o.sigmoid(-x))  # log(2 - lambda) = log1p(1 - lambda)


def patton_map(family: str, x: Any) -> tuple[Any, Any]:
    """Patton's transformation of ``x``: the state (``rho`` or the tail coefficient) and
    the copula parameter; tensors or floats."""
    check_dynamic(family)
    return _patton(family, x, _ops(x))


def patton_state(family: str, theta: Any) -> Any:
    """The Patton state of a parameter: ``rho``; ``2^(-1/theta)`` (Clayton's lower tail);
    ``2 - 2^(1/theta)`` (Gumbel's upper tail)."""
    check_dynamic(family)
    if family in _ELLIPTICAL:
        return theta
    o = _ops(theta)
    if family == "clayton":
        return o.exp(-_LN2 / theta)
    return 2.0 - o.exp(_LN2 / theta)


def patton_index(family: str, state: Any) -> Any:
    """Inverse of Patton's Lambda: ``x`` with ``patton_map(family, x)[0] == state``."""
    check_dynamic(family)
    o = _ops(state)
    if family in _ELLIPTICAL:
        return 2.0 * o.atanh(state)
    return o.log(state) - o.log1p(-state)


# ---------------------------------------------------------------- scores


def _base(u: torch.Tensor, rotation: int) -> tuple[torch.Tensor, torch.Tensor]:
    """pyvinecopulib's rotation of the data into the base copula's coordinates."""
    u1, u2 = u[:, 0], u[:, 1]
    return {0: (u1, u2), 90: (u2, 1 - u1), 180: (1 - u1, 1 - u2), 270: (1 - u2, u1)}[rotation]


def _quantiles(family: str, u: torch.Tensor, nu: Any) -> torch.Tensor:
    if family == "gaussian":
        return torch.special.ndtri(u)
    nu = _tensor(nu)
    return K.student_ppf(u, nu[:, None] if nu.ndim == 1 else nu)


def score_statistics(family: str, u: Any, rotation: int = 0, nu: Any = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-observation statistics the score depends on.

    Gaussian/t: ``((x1 - x2)^2, (x1 + x2)^2)`` with ``x`` the normal or ``t_nu`` quantiles
    (they keep the quadratic form exact as ``|rho| -> 1``); Clayton: ``(log a, log b)``;
    Gumbel: ``(log(-log a), log(-log b))``, in the base copula's coordinates ``(a, b)``.
    """
    check_dynamic(family, rotation)
    ut = _check_u(u)
    nu = _check_nu(family, nu)
    if family in _ELLIPTICAL:
        x = _quantiles(family, ut, nu)
        return (x[:, 0] - x[:, 1]).square(), (x[:, 0] + x[:, 1]).square()
    a, b = _base(ut, rotation)
    if family == "clayton":
        return torch.log(a), torch.log(b)
    return torch.log(-torch.log(a)), torch.log(-torch.log(b))


def _dlogc_elliptical(s1: Any, s2: Any, th: Any, nu: Any, o: Any) -> Any:
    om, op = 1.0 - th, 1.0 + th
    q = 0.5 * (s1 / om + s2 / op)  # (x1^2 + x2^2 - 2 rho x1 x2) / (1 - rho^2)
    dq = 0.5 * (s1 / (om * om) - s2 / (op * op))
    if nu is None:  # Gaussian
        return th / (om * op) - 0.5 * dq
    return th / (om * op) - 0.5 * (nu + 2.0) * dq / (nu + q)


def _dlogc_clayton(s1: Any, s2: Any, th: Any, nu: Any, o: Any) -> Any:
    # log c = log(1 + th) - (1 + th)(la + lb) - (2 + 1/th) log S, S = a^-th + b^-th - 1
    e1, e2 = -th * s1, -th * s2
    hi, lo = o.maximum(e1, e2), o.minimum(e1, e2)
    log_s = hi + o.log1p(o.exp(lo - hi) * -o.expm1(-lo))  # every term positive
    dlog_s = -(s1 * o.exp(e1 - log_s) + s2 * o.exp(e2 - log_s))
    return 1.0 / (1.0 + th) - (s1 + s2) + log_s / (th * th) - (2.0 + 1.0 / th) * dlog_s


def _dlogc_gumbel(s1: Any, s2: Any, th: Any, nu: Any, o: Any) -> Any:
    # log c = -A + x + y + (th-1)(lx+ly) + (1-2th) lA + log(A + th - 1),
    # lA = log(x^th + y^th) / th, from (lx, ly) = (log x, log y)
    la = o.logaddexp(th * s1, th * s2) / th
    a = o.exp(la)
    dla = (o.exp(th * (s1 - la)) * s1 + o.exp(th * (s2 - la)) * s2 - la) / th
    da = a * dla
    return -da + (s1 + s2) - 2.0 * la + (1.0 - 2.0 * th) * dla + (da + 1.0) / (a + th - 1.0)


_DLOGC = {"gaussian": _dlogc_elliptical, "student": _dlogc_elliptical,
          "clayton": _dlogc_clayton, "gumbel": _dlogc_gumbel}


def _dlogc(family: str, s1: Any, s2: Any, th: Any, nu: Any, o: Any) -> Any:
    """``d log c / d theta`` from :func:`score_statistics` (first parameter only)."""
    return _DLOGC[family](s1, s2, th, None if family == "gaussian" else nu, o)


def _information(family: str, th: Any, nu: Any) -> Any:
    d = (1.0 - th) * (1.0 + th)
    if family == "gaussian":
        return (1.0 + th * th) / (d * d)
    return ((nu + 2.0) * (1.0 + th * th) - 2.0 * th * th) / ((nu + 4.0) * d * d)


def _scaled(family: str, s1: Any, s2: Any, f: Any, nu: Any, scaling: str, o: Any) -> Any:
    th = _link(family, f, o)
    g = _dlogc(family, s1, s2, th, nu, o)
    gp = _link_derivative(family, f, th)
    if scaling == "unit":
        return g * gp
    info = _information(family, th, nu)
    if scaling == "fisher":
        return g / (info * gp)
    return g / o.sqrt(info)  # g' > 0: |g'| cancels


def score(family: str, u: Any, theta: Any, rotation: int = 0) -> torch.Tensor:
    """Score ``d log c(u; theta) / d theta_1`` per row, in closed form.

    ``theta_1`` is ``rho`` (Gaussian, t -- at fixed ``nu``) or ``theta`` (Clayton, Gumbel; the
    base copula's parameter for rotations). Arguments as
    :func:`hybridrisk.kernels.copulas.log_density`; differentiable.
    """
    check_dynamic(family, rotation)
    ut = _check_u(u)
    params = K.as_parameters(family, theta, like=ut, n=ut.shape[0])
    nu = params[1] if family == "student" else None
    s1, s2 = score_statistics(family, ut, rotation, nu)
    return _dlogc(family, s1, s2, params[0], nu, _T)


def fisher_information(family: str, theta: Any) -> torch.Tensor:
    """Fisher information of ``rho`` (closed form; Gaussian, and t at fixed ``nu``)."""
    if family not in _ELLIPTICAL:
        check_dynamic(family)
        raise ConfigError(f"the {family} copula's Fisher information has no closed form")
    params = K.as_parameters(family, theta)
    return _information(family, params[0], params[1] if family == "student" else None)


def scaled_score(family: str, u: Any, f: Any, *, nu: Any = None, rotation: int = 0,
                 scaling: str | None = None) -> torch.Tensor:
    """The GAS driving term ``s_t`` in ``f`` (see the module docstring), per row of ``u``.

    Parameters
    ----------
    family, rotation
        As :func:`hybridrisk.kernels.copulas.log_density`.
    u
        PITs, shape (n, 2).
    f
        The transformed parameter, a scalar or one per row.
    nu
        Degrees of freedom of the t copula.
    scaling
        ``"fisher"``, ``"fisher-sqrt"`` or ``"unit"`` (default :func:`default_scaling`).
    """
    sc = check_dynamic(family, rotation, scaling)
    nu = _check_nu(family, nu)
    s1, s2 = score_statistics(family, u, rotation, nu)
    return _scaled(family, s1, s2, _tensor(f), nu, sc, _T)


def scaled_score_from_statistics(family: str, s1: torch.Tensor, s2: torch.Tensor, f: Any, *,
                                 nu: Any = None, scaling: str | None = None) -> torch.Tensor:
    """:func:`scaled_score` from precomputed :func:`score_statistics` (torch, differentiable):
    what a recursion whose ``f`` changes each step evaluates step by step."""
    sc = check_dynamic(family, 0, scaling)
    return _scaled(family, s1, s2, f, None if family != "student" else nu, sc, _T)


def patton_forcing(family: str, u: Any, rotation: int = 0, nu: Any = None) -> torch.Tensor:
    """Per-observation forcing term of Patton's recursion (averaged over ten lags there).

    ``x1 x2`` with normal (Gaussian) or ``t_nu`` (t) quantiles; ``|a - b|`` in the base
    copula's coordinates (Clayton, Gumbel; for rotations 90/270 this is ``|u1 + u2 - 1|``).
    """
    check_dynamic(family, rotation)
    ut = _check_u(u)
    nu = _check_nu(family, nu)
    if family in _ELLIPTICAL:
        x = _quantiles(family, ut, nu)
        return x[:, 0] * x[:, 1]
    a, b = _base(ut, rotation)
    return (a - b).abs()


# ---------------------------------------------------------------- scalar versions


def gas_score_function(family: str, nu: float | None = None, scaling: str | None = None
                       ) -> Callable[[float, float, float], float]:
    """``s(s1, s2, f)`` on Python floats: :func:`scaled_score` from precomputed statistics.

    For the sequential GAS filter: ``s1, s2`` are one row of :func:`score_statistics`; the
    formulas are those of the torch functions, evaluated with :mod:`math`.
    """
    sc = check_dynamic(family, 0, scaling)
    nu = None if family != "student" else float(_check_nu(family, nu))
    m = _M

    def step(s1: float, s2: float, f: float) -> float:
        return _scaled(family, s1, s2, f, nu, sc, m)

    return step


def patton_map_function(family: str) -> Callable[[float], tuple[float, float]]:
    """:func:`patton_map` on Python floats (for the sequential Patton filter)."""
    check_dynamic(family)

    def step(x: float) -> tuple[float, float]:
        return _patton(family, x, _M)

    return step
