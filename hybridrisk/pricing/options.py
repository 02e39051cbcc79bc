"""Vectorised European option and swaption pricers in torch, with greeks by autograd.

Closed forms in float64, broadcast over any batch shape, differentiable in every input:

- :func:`black_scholes`: spot, continuously compounded rate and dividend yield;
- :func:`black76`: forward and discount factor; ``shift > 0`` gives shifted (displaced) Black;
- :func:`bachelier`: the normal model, for any sign of forward and strike;
- :func:`swaption`: annuity times Black or Bachelier on the forward swap rate, and
  :class:`TorchSwaptions`, whose forward rate and annuity are functions of the curves' zero
  rates, so that autograd gives the DV01.

They follow QuantLib's formulas (``BlackCalculator``, ``bachelierBlackFormula``, the swaption
engines) and equal them to ~1e-12 relative or better within a few standard deviations of
the money (beyond, both closed forms cancel to rounding noise); put values use
``N(-d)`` rather than QuantLib's ``1 - N(d)``, so deep out-of-the-money puts are the more
accurate here. A zero standard deviation (zero vol or expiry) gives the discounted intrinsic
value, as in QuantLib. Inputs outside the domain raise
:class:`~hybridrisk.errors.ParameterDomainError` (NaN/inf:
:class:`~hybridrisk.errors.DataValidationError`) naming the input and the first offending
element; nothing is clipped. Checks read values back from the device; pass ``check=False`` in
a loop whose inputs are known to be valid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from hybridrisk.errors import ConfigError, DataValidationError, ParameterDomainError
from hybridrisk.pricing.quantlib_options import SwaptionLegs

__all__ = [
    "TorchSwaptions",
    "bachelier",
    "black76",
    "black_scholes",
    "option_greeks",
    "swaption",
]

ArrayLike = torch.Tensor | np.ndarray | float | Sequence[float]
Flag = bool | torch.Tensor | np.ndarray | Sequence[bool]
#: a zero-rate shift as a function of time (decimal, continuously compounded)
Spread = Callable[[torch.Tensor], torch.Tensor]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _device(*xs: object) -> torch.device:
    for x in xs:
        if isinstance(x, torch.Tensor):
            return x.device
    return torch.device("cpu")


def _t(x: ArrayLike, device: torch.device) -> torch.Tensor:
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        x = x.copy()  # torch cannot wrap a read-only buffer (pandas' .values)
    return torch.as_tensor(x, dtype=torch.float64, device=device)


def _first_bad(name: str, x: torch.Tensor, ok: torch.Tensor) -> tuple[str, float] | None:
    """Index and value of the first element where ``ok`` (x's shape or broadcast) is False."""
    bad = ~ok
    if not bool(bad.any()):
        return None
    xs = torch.broadcast_to(x.detach(), bad.shape)
    idx = tuple(int(i) for i in torch.nonzero(bad)[0]) if bad.dim() else ()
    where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
    return where, float(xs[idx] if idx else xs)


#: (input name, values, margin or None, strict, rule): the rule is ``margin > 0`` (strict)
#: or ``margin >= 0``, the margin a function of the values (``forward + shift``)
Check = tuple[str, torch.Tensor, torch.Tensor | None, bool, str]


def _check(name: str, x: torch.Tensor, margin: torch.Tensor | None, strict: bool,
           rule: str) -> None:
    """Raise for the first NaN/inf element of ``x``, then for the first breaking the rule."""
    hit = _first_bad(name, x, torch.isfinite(x.detach()))
    if hit is not None:
        raise DataValidationError("finite", f"{hit[0]} = {hit[1]!r} must be finite",
                                  column=name)
    if margin is not None:
        hit = _first_bad(name, x, margin > 0 if strict else margin >= 0)
        if hit is not None:
            raise ParameterDomainError(hit[0], hit[1], rule)


def _validate(*checks: Check) -> None:
    """Run :func:`_check` on every input, but only if one combined test fails.

    NaN and inf propagate through a sum and through ``max``, so valid input costs one
    reduction per input and rule and a single device-to-host read.
    """
    total = sum(x.detach() for _, x, _, _, _ in checks)
    tests = [total.abs().max() < math.inf]
    for _, _, margin, strict, _ in checks:
        if margin is not None:
            low = margin.detach().min()
            tests.append(low > 0 if strict else low >= 0)
    if bool(torch.stack(tests).all()):
        return
    for c in checks:
        _check(*c)


def _sign(flag: Flag, device: torch.device) -> torch.Tensor:
    """+1 for a call (payer), -1 for a put (receiver)."""
    f = torch.as_tensor(flag, device=device)
    if f.dtype != torch.bool:
        raise ConfigError(f"call/payer flags must be booleans, got dtype {f.dtype}")
    return torch.where(f, 1.0, -1.0).to(torch.float64)


def _pdf(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * x * x) * _INV_SQRT_2PI


def _std(vol: torch.Tensor, expiry: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard deviation and a copy safe to divide by (1 where the deviation is 0)."""
    std = vol * torch.sqrt(expiry)
    return std, torch.where(std > 0, std, torch.ones_like(std))


def _black(
    forward: torch.Tensor, strike: torch.Tensor, std: torch.Tensor, safe: torch.Tensor,
    discount: torch.Tensor, w: torch.Tensor,
) -> torch.Tensor:
    d1 = torch.log(forward / strike) / safe + 0.5 * safe
    d2 = d1 - safe
    value = w * (forward * torch.special.ndtr(w * d1) - strike * torch.special.ndtr(w * d2))
    intrinsic = torch.relu(w * (forward - strike))
    return discount * torch.where(std > 0, value, intrinsic)


def _bachelier(
    forward: torch.Tensor, strike: torch.Tensor, std: torch.Tensor, safe: torch.Tensor,
    discount: torch.Tensor, w: torch.Tensor,
) -> torch.Tensor:
    d = w * (forward - strike)
    h = d / safe
    value = safe * _pdf(h) + d * torch.special.ndtr(h)
    return discount * torch.where(std > 0, value, torch.relu(d))


def _common(expiry: torch.Tensor, vol: torch.Tensor, discount: torch.Tensor) -> list[Check]:
    return [("expiry", expiry, expiry, False, "expiry >= 0"),
            ("vol", vol, vol, False, "vol >= 0"),
            ("discount", discount, discount, True, "discount > 0")]


def black_scholes(
    spot: ArrayLike,
    strike: ArrayLike,
    expiry: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    *,
    call: Flag = True,
    check: bool = True,
) -> torch.Tensor:
    """Black-Scholes-Merton price of European options.

    Parameters
    ----------
    spot, strike
        Positive.
    expiry
        Years (>= 0); QuantLib's ``AnalyticEuropeanEngine`` measures it Act/365F.
    vol
        Lognormal vol (>= 0).
    rate, dividend
        Continuously compounded decimals.
    call
        True for calls, False for puts; a bool tensor broadcasts.
    check
        Validate the inputs (see the module docstring).

    Returns
    -------
    torch.Tensor
        Prices, float64, the broadcast shape of the inputs.
    """
    dev = _device(spot, strike, expiry, vol, rate, dividend)
    s, k, t, v, r, q = (_t(x, dev) for x in (spot, strike, expiry, vol, rate, dividend))
    if check:
        _validate(("spot", s, s, True, "spot > 0"), ("strike", k, k, True, "strike > 0"),
                  ("rate", r, None, False, ""), ("dividend", q, None, False, ""),
                  *_common(t, v, torch.ones((), dtype=torch.float64, device=dev)))
    df_r, df_q = torch.exp(-r * t), torch.exp(-q * t)
    std, safe = _std(v, t)
    return _black(s * df_q / df_r, k, std, safe, df_r, _sign(call, dev))


def black76(
    forward: ArrayLike,
    strike: ArrayLike,
    expiry: ArrayLike,
    vol: ArrayLike,
    discount: ArrayLike = 1.0,
    *,
    call: Flag = True,
    shift: ArrayLike = 0.0,
    check: bool = True,
) -> torch.Tensor:
    """Black-76 price on a forward; with ``shift`` the shifted (displaced) lognormal model.

    ``forward + shift`` and ``strike + shift`` must be positive; ``vol`` is the lognormal vol
    of ``forward + shift``; ``discount`` is the discount factor to payment (> 0). Other
    parameters as :func:`black_scholes`.
    """
    dev = _device(forward, strike, expiry, vol, discount, shift)
    f, k, t, v, d, s = (_t(x, dev) for x in (forward, strike, expiry, vol, discount, shift))
    if check:
        _validate(("shift", s, None, False, ""),
                  ("forward", f, f + s, True, "forward + shift > 0 (lognormal model)"),
                  ("strike", k, k + s, True, "strike + shift > 0 (lognormal model)"),
                  *_common(t, v, d))
    std, safe = _std(v, t)
    return _black(f + s, k + s, std, safe, d, _sign(call, dev))


def bachelier(
    forward: ArrayLike,
    strike: ArrayLike,
    expiry: ArrayLike,
    vol: ArrayLike,
    discount: ArrayLike = 1.0,
    *,
    call: Flag = True,
    check: bool = True,
) -> torch.Tensor:
    """Bachelier (normal) price: ``vol`` is the absolute (normal) vol of the forward.

    Forward and strike may take any sign. Other parameters as :func:`black76`.
    """
    dev = _device(forward, strike, expiry, vol, discount)
    f, k, t, v, d = (_t(x, dev) for x in (forward, strike, expiry, vol, discount))
    if check:
        _validate(("forward", f, None, False, ""), ("strike", k, None, False, ""),
                  *_common(t, v, d))
    std, safe = _std(v, t)
    return _bachelier(f, k, std, safe, d, _sign(call, dev))


def swaption(
    forward: ArrayLike,
    strike: ArrayLike,
    expiry: ArrayLike,
    vol: ArrayLike,
    annuity: ArrayLike,
    *,
    payer: Flag = True,
    model: str = "normal",
    shift: ArrayLike = 0.0,
    check: bool = True,
) -> torch.Tensor:
    """European swaption: ``annuity`` times Bachelier (``model="normal"``) or shifted Black
    (``model="black"``) on the forward swap rate, undiscounted (the annuity discounts).

    ``payer`` is a call on the swap rate, a receiver a put. Physical settlement, as QuantLib's
    ``BachelierSwaptionEngine`` / ``BlackSwaptionEngine``.
    """
    dev = _device(forward, annuity)
    a = _t(annuity, dev)
    if check:
        _validate(("annuity", a, a, True, "annuity > 0"))
    if model == "normal":
        return a * bachelier(forward, strike, expiry, vol, call=payer, check=check)
    if model == "black":
        return a * black76(forward, strike, expiry, vol, call=payer, shift=shift, check=check)
    raise ConfigError(f"model must be 'normal' or 'black', got {model!r}")


def option_greeks(
    pricer: Callable[..., torch.Tensor],
    underlying: str,
    /,
    *,
    vol_input: str = "vol",
    **inputs: object,
) -> dict[str, torch.Tensor]:
    """Price, delta, gamma, vega, vanna and volga of ``pricer(**inputs)`` by autograd.

    Parameters
    ----------
    pricer
        Any of this module's pricers (or a function of keyword tensors like them).
    underlying
        Name of the input the delta is taken in: ``"spot"`` for :func:`black_scholes`,
        ``"forward"`` for the others.
    vol_input
        Name of the vol input.
    **inputs
        The pricer's inputs; every option gets its own greeks, even where an input is a
        scalar broadcast over the batch.

    Returns
    -------
    dict of torch.Tensor
        ``price``, ``delta`` (dV/dx), ``gamma`` (d2V/dx2), ``vega`` (dV/dvol, per unit of
        vol), ``vanna`` (d2V/dx dvol), ``volga`` (d2V/dvol2), detached, of the batch shape.
    """
    dev = _device(*inputs.values())
    shapes = [tuple(x.shape) if isinstance(x, torch.Tensor) else np.shape(x)
              for x in inputs.values()
              if isinstance(x, torch.Tensor | np.ndarray | float | int | list | tuple)]
    shape = torch.broadcast_shapes(*shapes)
    x = _t(inputs[underlying], dev).detach().expand(shape).clone().requires_grad_(True)
    s = _t(inputs[vol_input], dev).detach().expand(shape).clone().requires_grad_(True)
    price = pricer(**{**inputs, underlying: x, vol_input: s})
    delta, vega = torch.autograd.grad(price.sum(), (x, s), create_graph=True)
    gamma, vanna = torch.autograd.grad(delta.sum(), (x, s), retain_graph=True)
    (volga,) = torch.autograd.grad(vega.sum(), s)
    out = {"price": price, "delta": delta, "gamma": gamma, "vega": vega, "vanna": vanna,
           "volga": volga}
    return {k: v.detach() for k, v in out.items()}


def _pad(rows: Sequence[np.ndarray], fill: float, device: torch.device) -> torch.Tensor:
    tensors = [torch.as_tensor(np.asarray(r, float), dtype=torch.float64) for r in rows]
    return pad_sequence(tensors, batch_first=True, padding_value=fill).to(device)


class TorchSwaptions:
    """European swaptions whose forward swap rate and annuity come from the curves.

    The annuity is ``sum(accrual * P_d(t))`` over the fixed leg and the forward swap rate
    ``sum(accrual * L * P_d(pay)) / annuity`` with Euribor forwards
    ``L = (P_f(t0) / P_f(t1) - 1) / span``, where ``P_d`` (EONIA) and ``P_f`` (Euribor) are the
    curves' discount factors, optionally moved by zero-rate shifts ``P * exp(-shift(t) * t)``
    (the shift of QuantLib's ``ZeroSpreadedTermStructure``). Equal to QuantLib's swaption
    engines on the same curves; :meth:`dv01` is the autograd derivative in a parallel shift.

    Parameters
    ----------
    legs
        From :func:`~hybridrisk.pricing.quantlib_options.swaption_legs`.
    device
        Any torch device; float64 throughout.
    """

    def __init__(self, legs: SwaptionLegs, *, device: str | torch.device = "cpu") -> None:
        dev = torch.device(device)
        if len(legs.expiry) == 0:
            raise DataValidationError("min-obs", "no swaptions to price")
        self.n = len(legs.expiry)
        self.expiry = _t(legs.expiry, dev)
        # padded flows have zero accrual, unit discount factors and a unit span: they add 0
        self.fixed_time = _pad(legs.fixed_time, 0.0, dev)
        self.fixed_accrual = _pad(legs.fixed_accrual, 0.0, dev)
        self.fixed_discount = _pad(legs.fixed_discount, 1.0, dev)
        self.float_time = _pad(legs.float_time, 0.0, dev)
        self.float_accrual = _pad(legs.float_accrual, 0.0, dev)
        self.float_spread = _pad(legs.float_spread, 0.0, dev)
        self.float_discount = _pad(legs.float_discount, 1.0, dev)
        self.t0, self.t1 = _pad(legs.float_t0, 0.0, dev), _pad(legs.float_t1, 0.0, dev)
        self.span = _pad(legs.float_span, 1.0, dev)
        self.d0, self.d1 = _pad(legs.fwd_d0, 1.0, dev), _pad(legs.fwd_d1, 1.0, dev)
        self.device = dev

    @staticmethod
    def _moved(p: torch.Tensor, t: torch.Tensor, shift: Spread | None) -> torch.Tensor:
        return p if shift is None else p * torch.exp(-shift(t) * t)

    def forward_annuity(
        self, discount_shift: Spread | None = None, forward_shift: Spread | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward swap rates and annuities (per unit nominal), shape ``(n,)`` each."""
        annuity = (self.fixed_accrual
                   * self._moved(self.fixed_discount, self.fixed_time, discount_shift)).sum(-1)
        d0 = self._moved(self.d0, self.t0, forward_shift)
        d1 = self._moved(self.d1, self.t1, forward_shift)
        fixing = (d0 / d1 - 1.0) / self.span
        pay = self._moved(self.float_discount, self.float_time, discount_shift)
        floating = (self.float_accrual * (fixing + self.float_spread) * pay).sum(-1)
        return floating / annuity, annuity

    def price(
        self,
        strike: ArrayLike,
        vol: ArrayLike,
        *,
        payer: Flag = True,
        model: str = "normal",
        shift: ArrayLike = 0.0,
        discount_shift: Spread | None = None,
        forward_shift: Spread | None = None,
        check: bool = True,
    ) -> torch.Tensor:
        """Prices per unit nominal, shape ``(n,)``; see :func:`swaption` for the inputs."""
        forward, annuity = self.forward_annuity(discount_shift, forward_shift)
        return swaption(forward, strike, self.expiry, vol, annuity, payer=payer, model=model,
                        shift=shift, check=check)

    def dv01(
        self,
        strike: ArrayLike,
        vol: ArrayLike,
        *,
        payer: Flag = True,
        model: str = "normal",
        shift: ArrayLike = 0.0,
        curve: str = "both",
    ) -> torch.Tensor:
        """Price change per +1 bp parallel zero-rate shift, to first order (``dV/dy * 1e-4``).

        ``curve``: which curves the shift moves, ``"both"``, ``"discount"`` (EONIA) or
        ``"forward"`` (Euribor); vols are held fixed.
        """
        if curve not in ("both", "discount", "forward"):
            raise ConfigError(f"curve must be 'both', 'discount' or 'forward', got {curve!r}")
        eps = torch.zeros(self.n, 1, dtype=torch.float64, device=self.device,
                          requires_grad=True)

        def bump(t: torch.Tensor) -> torch.Tensor:
            return eps.expand_as(t)

        price = self.price(
            strike, vol, payer=payer, model=model, shift=shift,
            discount_shift=bump if curve != "forward" else None,
            forward_shift=bump if curve != "discount" else None,
        )
        (grad,) = torch.autograd.grad(price.sum(), eps)
        return grad.squeeze(-1) * 1e-4
