"""QuantLib reference pricers for European options and swaptions, with their greeks.

The references the torch pricers of :mod:`hybridrisk.pricing.options` are tested against:

- Black-Scholes: ``AnalyticEuropeanEngine`` on a ``BlackScholesMertonProcess`` with flat,
  continuously compounded rate and dividend curves and a flat vol, all Act/365F; expiries are
  whole calendar days (QuantLib needs dates), the year fraction used is returned.
- Black-76 and shifted Black: ``ql.BlackCalculator`` on ``(forward + shift, strike + shift)``.
- Bachelier: ``ql.BachelierCalculator``.
- Swaptions on the EUR curves: ``ql.BlackSwaptionEngine`` (with displacement) and
  ``ql.BachelierSwaptionEngine``, physical settlement, flat vol, expiry time Act/365F.

Greeks: delta, gamma and vega are QuantLib's analytic ones. Vanna and volga are central
differences, Richardson-extrapolated (O(h^4)), of QuantLib's analytic vega bumped in the
underlying and in the vol by 1e-3 of the option's natural scale: the reference the issue asks
for. (QuantLib 1.44's own ``volga(T)`` of both calculators returns vega d1 d2 / (sigma sqrt T),
i.e. the volga divided by sqrt(T), so it is not used; its ``vanna`` is checked in the tests.)
Swaption DV01 is bump-and-reprice: a parallel shift of the continuously compounded Act/365F
zero rates of the chosen curves (``ZeroSpreadedTermStructure``), the same Richardson scheme on
steps of 0.1 bp and 0.05 bp (a 1 bp step leaves an O(h^4) error of ~1e-6 relative on
one-month expiries, whose forward std is a few bp), vol unchanged, reported per +1 bp
(``dV/dy * 1e-4``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import sqrt

import numpy as np
import pandas as pd
import QuantLib as ql

from hybridrisk.errors import ConfigError
from hybridrisk.pricing.eur_curves import CURVE_DATE, EurCurves, evaluation_date
from hybridrisk.pricing.instruments import cashflow_table

__all__ = [
    "SwaptionLegs",
    "quantlib_bachelier",
    "quantlib_black76",
    "quantlib_black_scholes",
    "quantlib_swaptions",
    "swaption_legs",
]

_DC = ql.Actual365Fixed()
_CURVES = ("both", "discount", "forward")


def _richardson(f: Callable[[float], float], h: float) -> float:
    """Central derivative of ``f`` at 0, extrapolated over steps h and h/2 (error O(h^4))."""

    def central(step: float) -> float:
        return (f(step) - f(-step)) / (2.0 * step)

    if h == 0.0:
        return float("nan")  # no scale to bump on (zero vol or zero expiry)
    return (4.0 * central(h / 2.0) - central(h)) / 3.0


def _option_type(call: bool) -> int:
    return ql.Option.Call if call else ql.Option.Put


def _broadcast(*args: object) -> list[np.ndarray]:
    return [a.ravel() for a in np.broadcast_arrays(*(np.asarray(a) for a in args))]


def quantlib_black_scholes(
    spot: float | Sequence[float],
    strike: float | Sequence[float],
    days: int | Sequence[int],
    vol: float | Sequence[float],
    rate: float | Sequence[float] = 0.0,
    dividend: float | Sequence[float] = 0.0,
    call: bool | Sequence[bool] = True,
    *,
    greeks: bool = True,
    reference_date: ql.Date = CURVE_DATE,
) -> pd.DataFrame:
    """European options priced by ``AnalyticEuropeanEngine``, one at a time.

    Parameters
    ----------
    spot, strike, vol, rate, dividend, call
        Broadcast against each other; rates are continuously compounded decimals.
    days
        Calendar days to expiry from ``reference_date``.
    greeks
        Also return delta, gamma, vega (analytic) and vanna, volga (bumped analytic vega).

    Returns
    -------
    pandas.DataFrame
        ``expiry`` (Act/365F year fraction), ``price`` and, with ``greeks``, ``delta, gamma,
        vega, vanna, volga``; vega per unit of vol (1.0 = 100%).
    """
    s, k, d, v, r, q, c = _broadcast(spot, strike, days, vol, rate, dividend, call)
    ref = reference_date
    quotes = {name: ql.SimpleQuote(0.0) for name in ("spot", "vol", "rate", "div")}

    def flat(name: str) -> ql.YieldTermStructureHandle:
        return ql.YieldTermStructureHandle(ql.FlatForward(ref, ql.QuoteHandle(quotes[name]), _DC))

    vol_ts = ql.BlackConstantVol(ref, ql.NullCalendar(), ql.QuoteHandle(quotes["vol"]), _DC)
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(quotes["spot"]), flat("div"), flat("rate"),
        ql.BlackVolTermStructureHandle(vol_ts),
    )
    engine = ql.AnalyticEuropeanEngine(process)

    def vega_at(option: ql.VanillaOption, name: str, base: float) -> Callable[[float], float]:
        """The option's analytic vega with quote ``name`` moved by h from ``base``."""

        def f(h: float) -> float:
            quotes[name].setValue(base + h)
            out = option.vega()
            quotes[name].setValue(base)
            return out

        return f

    rows = []
    with evaluation_date(ref):
        for i in range(len(s)):
            for name, value in zip(quotes, (s[i], v[i], r[i], q[i]), strict=True):
                quotes[name].setValue(float(value))
            option = ql.VanillaOption(
                ql.PlainVanillaPayoff(_option_type(bool(c[i])), float(k[i])),
                ql.EuropeanExercise(ref + int(d[i])),
            )
            option.setPricingEngine(engine)
            row = {"expiry": _DC.yearFraction(ref, ref + int(d[i])), "price": option.NPV()}
            if greeks:
                row.update(delta=option.delta(), gamma=option.gamma(), vega=option.vega())
                std = sqrt(row["expiry"]) * v[i]
                row["vanna"] = _richardson(vega_at(option, "spot", s[i]), 1e-3 * s[i] * std)
                row["volga"] = _richardson(vega_at(option, "vol", v[i]), 1e-3 * v[i])
            rows.append(row)
    return pd.DataFrame(rows)


#: (row, forward bump, vol bump) -> a QuantLib Black or Bachelier calculator
Calculator = Callable[[int, float, float], ql.BlackCalculator | ql.BachelierCalculator]


def _calculator_table(
    make: Calculator, expiry: np.ndarray, vol: np.ndarray, scale: np.ndarray, greeks: bool
) -> pd.DataFrame:
    rows = []
    for i in range(len(expiry)):
        t, sig = float(expiry[i]), float(vol[i])
        c = make(i, 0.0, 0.0)
        row = {"price": c.value()}
        if greeks:
            row.update(
                delta=c.deltaForward(), gamma=c.gammaForward(), vega=c.vega(t),
                vanna=_richardson(lambda x, i=i, t=t: make(i, x, 0.0).vega(t),
                                  1e-3 * float(scale[i]) * sig * sqrt(t)),
                volga=_richardson(lambda x, i=i, t=t: make(i, 0.0, x).vega(t), 1e-3 * sig),
            )
        rows.append(row)
    return pd.DataFrame(rows)


def quantlib_black76(
    forward: float | Sequence[float],
    strike: float | Sequence[float],
    expiry: float | Sequence[float],
    vol: float | Sequence[float],
    discount: float | Sequence[float] = 1.0,
    call: bool | Sequence[bool] = True,
    *,
    shift: float | Sequence[float] = 0.0,
    greeks: bool = True,
) -> pd.DataFrame:
    """Black-76 (``shift > 0``: shifted Black) by ``ql.BlackCalculator``.

    Returns ``price`` and, with ``greeks``, ``delta, gamma`` (in the forward), ``vega, vanna,
    volga`` (see the module docstring), one row per broadcast input.
    """
    f, k, t, v, d, c, s = _broadcast(forward, strike, expiry, vol, discount, call, shift)

    def make(i: int, df: float, dv: float) -> ql.BlackCalculator:
        payoff = ql.PlainVanillaPayoff(_option_type(bool(c[i])), float(k[i] + s[i]))
        std = (float(v[i]) + dv) * sqrt(float(t[i]))
        return ql.BlackCalculator(payoff, float(f[i] + s[i]) + df, std, float(d[i]))

    return _calculator_table(make, t, v, f + s, greeks)


def quantlib_bachelier(
    forward: float | Sequence[float],
    strike: float | Sequence[float],
    expiry: float | Sequence[float],
    vol: float | Sequence[float],
    discount: float | Sequence[float] = 1.0,
    call: bool | Sequence[bool] = True,
    *,
    greeks: bool = True,
) -> pd.DataFrame:
    """Bachelier (normal) model by ``ql.BachelierCalculator``; columns as
    :func:`quantlib_black76`."""
    f, k, t, v, d, c = _broadcast(forward, strike, expiry, vol, discount, call)

    def make(i: int, df: float, dv: float) -> ql.BachelierCalculator:
        payoff = ql.PlainVanillaPayoff(_option_type(bool(c[i])), float(k[i]))
        std = (float(v[i]) + dv) * sqrt(float(t[i]))
        return ql.BachelierCalculator(payoff, float(f[i]) + df, std, float(d[i]))

    return _calculator_table(make, t, v, np.ones_like(f), greeks)


# ----------------------------------------------------------------------------- swaptions


def _engine(
    curves: EurCurves, vol: float, model: str, shift: float
) -> ql.PricingEngine:
    q = ql.QuoteHandle(ql.SimpleQuote(vol))
    if model == "normal":
        return ql.BachelierSwaptionEngine(curves.ois, q, _DC)
    if model == "black":
        return ql.BlackSwaptionEngine(curves.ois, q, _DC, shift)
    raise ConfigError(f"model must be 'normal' or 'black', got {model!r}")


def _swaption(
    curves: EurCurves, expiry: str, tenor: str, strike: float, vol: float, payer: bool,
    model: str, shift: float,
) -> ql.Swaption:
    swap, ex = curves.forward_swap(expiry, tenor, strike, payer=payer)
    swaption = ql.Swaption(swap, ql.EuropeanExercise(ex))
    swaption.setPricingEngine(_engine(curves, vol, model, shift))
    return swaption


def quantlib_swaptions(
    curves: EurCurves,
    expiry: Sequence[str] | str,
    tenor: Sequence[str] | str,
    strike: float | Sequence[float],
    vol: float | Sequence[float],
    *,
    payer: bool | Sequence[bool] = True,
    model: str = "normal",
    shift: float = 0.0,
    dv01: str | None = None,
    h: float = 1e-5,
) -> pd.DataFrame:
    """European swaptions on the EUR curves by QuantLib's engines, per unit nominal.

    Parameters
    ----------
    curves
        From :func:`~hybridrisk.pricing.eur_curves.bootstrap_eur_curves`; the underlying is
        :meth:`EurCurves.forward_swap` (Euribor 6M), discounted on EONIA.
    expiry, tenor
        Period strings ("1M", "5Y"), broadcast with the numeric inputs.
    strike, vol
        Decimal strike; normal vol (``model="normal"``) or shifted lognormal vol
        (``model="black"``, displacement ``shift``).
    payer
        Payer (call on the swap rate) or receiver.
    dv01
        None, or which curves the parallel zero-rate bump moves: ``"both"``, ``"discount"``
        (EONIA) or ``"forward"`` (Euribor).
    h
        Bump size for the DV01 (decimal, 0.1 bp; the Richardson scheme also uses h/2).

    Returns
    -------
    pandas.DataFrame
        ``expiry, tenor, strike, vol, payer, expiry_time, forward, annuity, price, vega,
        delta`` (the engine's analytic vega and forward delta) and, if asked, ``dv01``.
    """
    if dv01 is not None and dv01 not in _CURVES:
        raise ConfigError(f"dv01 must be one of {_CURVES} or None, got {dv01!r}")
    e, t, k, v, p = _broadcast(expiry, tenor, strike, vol, payer)
    rows = []
    sd, sf = ql.SimpleQuote(0.0), ql.SimpleQuote(0.0)
    bumped = curves.spreaded(sd, sf) if dv01 else None
    with curves.evaluation():
        for i in range(len(e)):
            args = (str(e[i]), str(t[i]), float(k[i]), float(v[i]), bool(p[i]), model, shift)
            sw = _swaption(curves, *args)
            row = {"expiry": args[0], "tenor": args[1], "strike": args[2], "vol": args[3],
                   "payer": args[4], "expiry_time": _DC.yearFraction(curves.date,
                                                                     sw.exercise().lastDate()),
                   "forward": sw.atmForward(), "annuity": sw.annuity(), "price": sw.NPV(),
                   "vega": sw.vega(), "delta": sw.delta()}
            if bumped is not None:
                moved = [q for q, on in ((sd, dv01 != "forward"), (sf, dv01 != "discount")) if on]
                bsw = _swaption(bumped, *args)

                def npv(x: float, moved=moved, bsw=bsw) -> float:
                    for q in moved:
                        q.setValue(x)
                    return bsw.NPV()

                row["dv01"] = _richardson(npv, h) * 1e-4
                for q in moved:
                    q.setValue(0.0)
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SwaptionLegs:
    """Swaption underlyings as arrays for the torch pricer, one list entry per swaption.

    Times are Act/365F years from the curve date. ``fixed_*``: pay times, accruals (times
    nominal) and EONIA discount factors of the fixed leg, whose sum product is the annuity.
    ``float_*``: pay times, accrual times nominal, spread and EONIA discount factors of the
    Euribor leg, and for each coupon the forecast period ``[t0, t1]`` (length ``span`` in the
    index's day count) with the forwarding curve's discount factors ``fwd_d0, fwd_d1``.
    """

    expiry: np.ndarray
    fixed_time: list[np.ndarray]
    fixed_accrual: list[np.ndarray]
    fixed_discount: list[np.ndarray]
    float_time: list[np.ndarray]
    float_accrual: list[np.ndarray]
    float_spread: list[np.ndarray]
    float_discount: list[np.ndarray]
    float_t0: list[np.ndarray]
    float_t1: list[np.ndarray]
    float_span: list[np.ndarray]
    fwd_d0: list[np.ndarray]
    fwd_d1: list[np.ndarray]


def swaption_legs(
    curves: EurCurves, expiry: Sequence[str] | str, tenor: Sequence[str] | str
) -> SwaptionLegs:
    """The legs of :meth:`EurCurves.forward_swap` for each (expiry, tenor), for torch.

    Floating coupons come from :func:`~hybridrisk.pricing.instruments.cashflow_table`, which
    checks every forecast against QuantLib's own fixing.
    """
    e, t = _broadcast(expiry, tenor)
    disc, fwd = curves.ois.currentLink(), curves.euribor6m.currentLink()
    out: dict[str, list[np.ndarray]] = {k: [] for k in SwaptionLegs.__dataclass_fields__}
    expiries = []
    with curves.evaluation():
        for i in range(len(e)):
            swap, ex = curves.forward_swap(str(e[i]), str(t[i]))
            expiries.append(_DC.yearFraction(curves.date, ex))
            coupons = [ql.as_fixed_rate_coupon(cf) for cf in swap.fixedLeg()]
            coupons = [c for c in coupons if c.date() > curves.date]
            ft = np.array([disc.timeFromReference(c.date()) for c in coupons])
            out["fixed_time"].append(ft)
            out["fixed_accrual"].append(np.array([c.accrualPeriod() * c.nominal()
                                                  for c in coupons]))
            out["fixed_discount"].append(np.array([disc.discount(x) for x in ft]))
            table = cashflow_table(swap, curves.euribor6m)
            out["float_time"].append(table.float_pay_time)
            out["float_accrual"].append(table.float_accrual_nominal)
            out["float_spread"].append(table.float_spread)
            out["float_discount"].append(np.array([disc.discount(x)
                                                   for x in table.float_pay_time]))
            out["float_t0"].append(table.float_t0)
            out["float_t1"].append(table.float_t1)
            out["float_span"].append(table.float_span)
            out["fwd_d0"].append(np.array([fwd.discount(x) for x in table.float_t0]))
            out["fwd_d1"].append(np.array([fwd.discount(x) for x in table.float_t1]))
    out.pop("expiry")
    return SwaptionLegs(expiry=np.array(expiries), **out)
