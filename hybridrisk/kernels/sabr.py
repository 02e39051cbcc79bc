"""SABR implied volatilities in torch: Hagan lognormal and normal, shifted, Le Floc'h-Kennedy.

One functional entry point, :func:`implied_vol`, broadcasts over any batch of
``(forward, strike, expiry, alpha, beta, rho, nu)``, runs in float64 or float32 and is
differentiable in every argument. Each formula is the one QuantLib evaluates
(``sabrVolatility``, ``shiftedSabrVolatility``, ``sabrFlochKennedyVolatility``), written so that
it stays accurate and has finite gradients where the textbook form divides 0 by 0:

- the factor ``z / x(z)`` is evaluated as ``(z / u) * (u / log1p(u))`` with
  ``u = exp(x(z)) - 1`` written without cancellation, so only ``u / log1p(u)`` has a removable
  singularity (at the money, or ``nu = 0``), handled by its series;
- ``sqrt(1 - 2 rho z + z^2) + z - rho`` is rewritten where it would cancel (``rho`` near +-1);
- the Le Floc'h-Kennedy integral ``y(k)`` uses ``expm1`` so ``beta = 1`` is its log limit.

Every ``torch.where`` feeds the branch it discards a harmless value, so gradients stay finite on
both sides. Domains are checked, never clipped: ``alpha > 0``, ``0 <= beta <= 1``, ``nu >= 0``,
``-1 < rho < 1``, ``expiry >= 0``, ``forward + shift > 0``, ``strike + shift > 0``.

References
----------
Hagan, P., Kumar, D., Lesniewski, A. and Woodward, D. (2002), "Managing smile risk",
*Wilmott Magazine*, 84-108. Le Floc'h, F. and Kennedy, G. (2014), "Explicit SABR calibration
through simple expansions", SSRN 2467231.
"""

from __future__ import annotations

from typing import Literal

import torch

from hybridrisk.errors import ConfigError, ParameterDomainError

__all__ = ["PARAM_NAMES", "implied_vol", "atm_vol", "check_domain", "z_over_x",
           "floch_kennedy_band"]

PARAM_NAMES: tuple[str, ...] = ("alpha", "beta", "rho", "nu")

#: Bounds of ``F/K`` within which QuantLib (and so this kernel) evaluates the Le Floc'h-Kennedy
#: formula by its second-order Taylor expansion about the money: the closed form cancels there.
floch_kennedy_band: tuple[float, float] = (0.9975, 1.0025)

VolType = Literal["lognormal", "normal"]
Approx = Literal["hagan", "floch_kennedy"]
TensorLike = torch.Tensor | float

_U_SERIES = 1e-4  # |u| below which u / log1p(u) is its series (next term 19 u^4 / 720)
_E_SERIES = 1e-5  # |e| below which expm1(e) / e is its series


# ------------------------------------------------------------------------ inputs


def _as_tensors(*args: TensorLike) -> list[torch.Tensor]:
    """Tensors of one floating dtype (the promoted dtype of the tensor inputs, else float64)."""
    dtypes = [a.dtype for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()]
    dtype = dtypes[0] if dtypes else torch.float64
    for d in dtypes[1:]:
        dtype = torch.promote_types(dtype, d)
    return [a.to(dtype) if isinstance(a, torch.Tensor) else torch.tensor(a, dtype=dtype)
            for a in args]


def _first_bad(name: str, x: torch.Tensor, ok: torch.Tensor, rule: str) -> None:
    bad = ~ok
    if bool(bad.any()):
        value = x.detach().broadcast_to(bad.shape)[bad].flatten()[0].item()
        raise ParameterDomainError(name, value, rule)


def check_domain(forward: TensorLike, strike: TensorLike, expiry: TensorLike,
                 alpha: TensorLike, beta: TensorLike, rho: TensorLike, nu: TensorLike,
                 shift: TensorLike = 0.0) -> None:
    """Raise :class:`~hybridrisk.errors.ParameterDomainError` for the first value off its domain.

    Parameters
    ----------
    forward, strike, expiry, alpha, beta, rho, nu, shift
        As in :func:`implied_vol` (tensors or numbers, any broadcastable shapes).

    Raises
    ------
    ParameterDomainError
        Naming the argument, its first offending value and the rule.
    """
    f, k, t, a, b, r, n, s = _as_tensors(forward, strike, expiry, alpha, beta, rho, nu, shift)
    for name, x in (("forward", f), ("strike", k), ("expiry", t), ("alpha", a), ("beta", b),
                    ("rho", r), ("nu", n), ("shift", s)):
        _first_bad(name, x, torch.isfinite(x), "finite (no NaN or inf)")
    _first_bad("alpha", a, a > 0, "alpha > 0")
    _first_bad("beta", b, (b >= 0) & (b <= 1), "0 <= beta <= 1")
    _first_bad("rho", r, (r > -1) & (r < 1), "-1 < rho < 1")
    _first_bad("nu", n, n >= 0, "nu >= 0")
    _first_bad("expiry", t, t >= 0, "expiry >= 0")
    _first_bad("forward", f + s, f + s > 0, "forward + shift > 0 (value shown: forward + shift)")
    _first_bad("strike", k + s, k + s > 0, "strike + shift > 0 (value shown: strike + shift)")


# ------------------------------------------------------------------------ shared pieces


def _u_over_log1p(u: torch.Tensor) -> torch.Tensor:
    """``u / log1p(u)``, its series near 0 (``1 + u/2 - u^2/12 + u^3/24``)."""
    small = u.abs() < _U_SERIES
    safe = torch.where(small, torch.full_like(u, 0.5), u)
    series = 1.0 + u * (0.5 + u * (-1.0 / 12.0 + u / 24.0))
    return torch.where(small, series, safe / torch.log1p(safe))


def _expm1_over(e: torch.Tensor) -> torch.Tensor:
    """``expm1(e) / e``, its series near 0."""
    small = e.abs() < _E_SERIES
    safe = torch.where(small, torch.ones_like(e), e)
    series = 1.0 + e * (0.5 + e * (1.0 / 6.0 + e / 24.0))
    return torch.where(small, series, torch.expm1(safe) / safe)


def z_over_x(z: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    """Hagan's ``z / x(z)``, ``x(z) = log((sqrt(1 - 2 rho z + z^2) + z - rho) / (1 - rho))``.

    With ``w = z - rho`` and ``s = sqrt(w^2 + 1 - rho^2)``, ``exp(x) - 1`` equals
    ``u = z (s + w + 1 - rho) / ((s + 1)(1 - rho))``: every factor but ``z`` is positive, and
    ``s + w`` is taken as ``(1 - rho^2) / (s - w)`` when ``w < 0`` to avoid cancelling. Then
    ``z / x = (z / u) (u / log1p(u))`` has its only 0/0 in the second factor.
    """
    one_m = 1.0 - rho
    c2 = one_m * (1.0 + rho)
    w = z - rho
    s = torch.sqrt(w * w + c2)
    pos = w >= 0
    s_plus_w = torch.where(pos, s + w, c2 / (s - w))  # both finite: s > |w| for |rho| < 1
    z_over_u = (s + 1.0) * one_m / (s_plus_w + one_m)
    return z_over_u * _u_over_log1p(z / z_over_u)


# ------------------------------------------------------------------------ Hagan


def _hagan(f: torch.Tensor, k: torch.Tensor, t: torch.Tensor, alpha: torch.Tensor,
           beta: torch.Tensor, rho: torch.Tensor, nu: torch.Tensor, normal: bool) -> torch.Tensor:
    """Hagan et al. (2002) eq. (2.17a) (lognormal) and its Bachelier counterpart, as QuantLib."""
    omb = 1.0 - beta
    log_fk = torch.log(f) + torch.log(k)
    sqrt_a = torch.exp(0.5 * omb * log_fk)  # (F K)^((1 - beta) / 2)
    lm = torch.log(f / k)
    lm2 = lm * lm
    c = omb * omb * lm2
    z = (nu / alpha) * sqrt_a * lm
    mult = z_over_x(z, rho)
    second = 0.25 * rho * beta * nu * alpha / sqrt_a + (2.0 - 3.0 * rho * rho) * nu * nu / 24.0
    denom = 1.0 + c / 24.0 + c * c / 1920.0
    if normal:
        drift = -beta * (2.0 - beta) * alpha * alpha / (24.0 * sqrt_a * sqrt_a)
        e = (1.0 + lm2 / 24.0 + lm2 * lm2 / 1920.0) / denom
        return alpha * torch.exp(0.5 * beta * log_fk) * e * mult * (1.0 + t * (drift + second))
    drift = omb * omb * alpha * alpha / (24.0 * sqrt_a * sqrt_a)
    return alpha / (sqrt_a * denom) * mult * (1.0 + t * (drift + second))


# ------------------------------------------------------------------------ Le Floc'h-Kennedy


def _fk_taylor(f: torch.Tensor, k: torch.Tensor, t: torch.Tensor, alpha: torch.Tensor,
               beta: torch.Tensor, rho: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    """Second-order Taylor expansion of the Le Floc'h-Kennedy vol in ``e = k/f - 1``.

    By SABR's scale invariance the vol depends on ``f`` and ``alpha`` only through
    ``a = alpha f^(beta - 1)``. The coefficients were derived with sympy from the closed form
    (series of ``y``, ``x(z)`` and the logarithms in ``e``); the constant term is Hagan's ATM vol.
    """
    e = k / f - 1.0
    a = alpha * torch.pow(f, beta - 1.0)
    omb = 1.0 - beta
    r2, n2 = rho * rho, nu * nu
    c0 = a * (1.0 + t * (omb * omb * a * a / 24.0 + 0.25 * rho * beta * nu * a
                         + (2.0 - 3.0 * r2) * n2 / 24.0))
    c1 = 0.5 * (nu * rho - omb * a) + t * (
        -(omb ** 3) * a ** 3 / 16.0
        - a * a * nu * rho * omb * (5.0 * beta - 1.0) / 16.0
        + a * n2 * (r2 * (1.0 + beta) / 16.0 - omb / 24.0)
        + nu * n2 * rho * (r2 / 16.0 - 1.0 / 12.0))
    c2 = (a * omb * (4.0 - beta) / 12.0 - 0.25 * nu * rho + n2 * (2.0 - 3.0 * r2) / (12.0 * a)
          + t * (a ** 3 * omb ** 3 * (209.0 - 119.0 * beta) / 2880.0
                 - a * a * nu * rho * omb * (18.0 * beta * beta - 37.0 * beta + 9.0) / 96.0
                 + a * n2 * (r2 * (5.0 * beta * beta - 7.0 * beta - 4.0) / 96.0
                             + omb * (7.0 - 4.0 * beta) / 144.0)
                 + nu * n2 * rho * ((1.0 + beta) / 24.0 - r2 * (1.0 + 2.0 * beta) / 32.0)
                 + n2 * n2 * (300.0 * r2 - 225.0 * r2 * r2 - 64.0) / (2880.0 * a)))
    return c0 + e * (c1 + e * c2)


def _fk_closed(f: torch.Tensor, k: torch.Tensor, t: torch.Tensor, alpha: torch.Tensor,
               beta: torch.Tensor, rho: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    """Le Floc'h-Kennedy (2014) closed form away from the money (valid for beta = 1, nu = 0)."""
    lk = torch.log(k / f)
    omb = 1.0 - beta
    # y = int_f^k u^-beta du = f^(1-beta) lk expm1((1-beta) lk) / ((1-beta) lk)
    y = torch.pow(f, omb) * lk * _expm1_over(omb * lk)
    zeta = -nu * y / alpha
    d_int = -(y / alpha) / z_over_x(zeta, rho)  # (1/nu) x(zeta), finite as nu -> 0
    omega0 = -lk / d_int
    fb, kb = torch.pow(f, beta), torch.pow(k, beta)
    d_f = alpha * fb
    d_k = torch.sqrt(alpha * alpha + 2.0 * alpha * rho * nu * y + nu * nu * y * y) * kb
    first = omega0 * (1.0 + 0.25 * rho * nu * alpha * (kb - fb) / (k - f) * t)
    bracket = torch.log(omega0) + 0.5 * torch.log(f * k / (d_f * d_k))
    return first - omega0 / (d_int * d_int) * bracket * t


def _floch_kennedy(f: torch.Tensor, k: torch.Tensor, t: torch.Tensor, alpha: torch.Tensor,
                   beta: torch.Tensor, rho: torch.Tensor, nu: torch.Tensor) -> torch.Tensor:
    m = f / k
    band = (m >= floch_kennedy_band[0]) & (m <= floch_kennedy_band[1])
    k_far = torch.where(band, 1.1 * f, k)  # harmless stand-in where the closed form is discarded
    return torch.where(band, _fk_taylor(f, k, t, alpha, beta, rho, nu),
                       _fk_closed(f, k_far, t, alpha, beta, rho, nu))


# ------------------------------------------------------------------------ public


def implied_vol(forward: TensorLike, strike: TensorLike, expiry: TensorLike, alpha: TensorLike,
                beta: TensorLike, rho: TensorLike, nu: TensorLike,
                vol_type: VolType = "lognormal", shift: TensorLike = 0.0,
                approx: Approx = "hagan", validate: bool = True) -> torch.Tensor:
    """SABR implied volatility, vectorised and differentiable.

    Parameters
    ----------
    forward, strike
        Forward and strike (rates as decimals, or index levels); shifted by ``shift``.
    expiry
        Time to expiry in years.
    alpha, beta, rho, nu
        SABR parameters: initial vol ``alpha > 0``, CEV exponent ``0 <= beta <= 1``,
        correlation ``-1 < rho < 1``, vol of vol ``nu >= 0``.
    vol_type
        ``"lognormal"``: the (shifted) Black vol of Hagan et al. (2002), eq. (2.17a);
        ``"normal"``: the Bachelier vol (QuantLib's ``VolatilityType.Normal``).
    shift
        Displacement: the formulas see ``forward + shift`` and ``strike + shift``.
    approx
        ``"hagan"`` or ``"floch_kennedy"`` (Le Floc'h and Kennedy 2014, lognormal only; within
        ``0.9975 <= F/K <= 1.0025`` its second-order Taylor expansion, as in QuantLib).
    validate
        Check the domains first (a host sync); pass ``False`` inside compiled or vmapped code.

    Returns
    -------
    Tensor
        The vol, of the broadcast shape of the inputs and their promoted floating dtype
        (float64 when all are Python numbers).

    Raises
    ------
    ParameterDomainError
        An argument is off its domain (see :func:`check_domain`).
    ConfigError
        Unknown ``vol_type`` or ``approx``, or ``approx="floch_kennedy"`` with normal vols.
    """
    if vol_type not in ("lognormal", "normal"):
        raise ConfigError(f"vol_type must be 'lognormal' or 'normal', got {vol_type!r}")
    if approx not in ("hagan", "floch_kennedy"):
        raise ConfigError(f"approx must be 'hagan' or 'floch_kennedy', got {approx!r}")
    if approx == "floch_kennedy" and vol_type != "lognormal":
        raise ConfigError("the Le Floc'h-Kennedy approximation is a lognormal vol only")
    if validate:
        check_domain(forward, strike, expiry, alpha, beta, rho, nu, shift)
    f, k, t, a, b, r, n, s = torch.broadcast_tensors(
        *_as_tensors(forward, strike, expiry, alpha, beta, rho, nu, shift))
    f, k = f + s, k + s
    if approx == "floch_kennedy":
        return _floch_kennedy(f, k, t, a, b, r, n)
    return _hagan(f, k, t, a, b, r, n, normal=vol_type == "normal")


def atm_vol(forward: TensorLike, expiry: TensorLike, alpha: TensorLike, beta: TensorLike,
            rho: TensorLike, nu: TensorLike, vol_type: VolType = "lognormal",
            shift: TensorLike = 0.0) -> torch.Tensor:
    """At-the-money vol, the cubic in ``alpha`` both approximations share.

    ``alpha f^(b-1) [1 + T((1-b)^2 alpha^2 f^(2b-2)/24 + rho b nu alpha f^(b-1)/4
    + (2 - 3 rho^2) nu^2/24)]`` (lognormal) with ``f = forward + shift``; the normal vol is
    ``alpha f^b [1 + T(-b(2-b) alpha^2 f^(2b-2)/24 + ...)]``.
    """
    return implied_vol(forward, forward, expiry, alpha, beta, rho, nu, vol_type, shift)
