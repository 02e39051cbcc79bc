"""QuantLib fixed-rate bonds and vanilla swaps, and their cash flows as arrays for torch pricing.

The vectorised torch pricer needs each instrument as dates turned into times plus amounts that
are either fixed or forecast from the curve. :func:`cashflow_table` extracts them from the
QuantLib instrument itself and checks every floating forecast against QuantLib's own fixing on
the curve it is given, so the torch pricer cannot silently drift from QuantLib's conventions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import QuantLib as ql

from hybridrisk.errors import HybridRiskError
from hybridrisk.pricing.quantlib_curves import as_ql_date

__all__ = [
    "CashflowTable",
    "fixed_rate_bond",
    "vanilla_swap",
    "price_with_quantlib",
    "cashflow_table",
]


def fixed_rate_bond(
    settlement: ql.Date,
    years: float,
    coupon: float,
    *,
    frequency: int = ql.Semiannual,
    face: float = 100.0,
    day_counter: ql.DayCounter | None = None,
    calendar: ql.Calendar | None = None,
) -> ql.FixedRateBond:
    """A bullet fixed-rate bond issued at ``settlement``, maturing ``years`` later.

    ``coupon`` is a decimal annual rate (0.045 = 4.5%); US Treasury conventions by default
    (semiannual, Actual/Actual (Bond), US government calendar, unadjusted).
    """
    settlement = as_ql_date(settlement)
    cal = calendar or ql.UnitedStates(ql.UnitedStates.GovernmentBond)
    months = int(round(years * 12))
    maturity = settlement + ql.Period(months, ql.Months)
    sched = ql.Schedule(
        settlement,
        maturity,
        ql.Period(frequency),
        cal,
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )
    dc = day_counter or ql.ActualActual(ql.ActualActual.Bond, sched)
    return ql.FixedRateBond(0, face, sched, [coupon], dc)


def vanilla_swap(
    years: int,
    fixed_rate: float,
    curve: ql.YieldTermStructureHandle,
    *,
    start: ql.Date | None = None,
    payer: bool = True,
    nominal: float = 1_000_000.0,
    spread: float = 0.0,
) -> ql.VanillaSwap:
    """A single-curve vanilla swap: fixed semiannual 30/360 against 3M Libor-style Act/360.

    The floating index forecasts from ``curve`` (single-curve setting), so the swap can be
    priced off any fitted or forecast curve. ``start`` defaults to spot: two business days
    after the first business day on or after the curve's reference date, so that no coupon
    needs a past fixing.
    """
    cal = ql.UnitedStates(ql.UnitedStates.GovernmentBond)
    index = ql.IborIndex(
        "USD3M-curve",
        ql.Period(3, ql.Months),
        2,
        ql.USDCurrency(),
        cal,
        ql.ModifiedFollowing,
        False,
        ql.Actual360(),
        curve,
    )
    if start is None:
        start = index.valueDate(cal.adjust(curve.referenceDate()))
    start = as_ql_date(start)
    end = start + ql.Period(years, ql.Years)
    fixed_sched = ql.Schedule(
        start,
        end,
        ql.Period(ql.Semiannual),
        cal,
        ql.ModifiedFollowing,
        ql.ModifiedFollowing,
        ql.DateGeneration.Forward,
        False,
    )
    float_sched = ql.Schedule(
        start,
        end,
        ql.Period(ql.Quarterly),
        cal,
        ql.ModifiedFollowing,
        ql.ModifiedFollowing,
        ql.DateGeneration.Forward,
        False,
    )
    kind = ql.VanillaSwap.Payer if payer else ql.VanillaSwap.Receiver
    return ql.VanillaSwap(
        kind,
        nominal,
        fixed_sched,
        fixed_rate,
        ql.Thirty360(ql.Thirty360.BondBasis),
        float_sched,
        index,
        spread,
        ql.Actual360(),
    )


def price_with_quantlib(instrument: ql.Instrument, curve: ql.YieldTermStructureHandle) -> float:
    """NPV at the curve's reference date with QuantLib's discounting engines."""
    if isinstance(instrument, ql.Bond):
        instrument.setPricingEngine(ql.DiscountingBondEngine(curve))
    else:
        instrument.setPricingEngine(ql.DiscountingSwapEngine(curve))
    return instrument.NPV()


@dataclass(frozen=True)
class CashflowTable:
    """Cash flows of one instrument as arrays of times (years from the curve's reference date).

    A fixed flow pays ``fixed_amount`` at ``pay_time``. A floating flow pays
    ``sign * nominal * accrual * ((D(t0)/D(t1) - 1) / span + spread)`` at its ``pay_time``, the
    forward being simple over the forecast period ``[t0, t1]`` of length ``span`` in the index's
    day count. Amounts carry the sign of the holder's position.
    """

    fixed_time: np.ndarray
    fixed_amount: np.ndarray
    float_pay_time: np.ndarray
    float_t0: np.ndarray
    float_t1: np.ndarray
    float_span: np.ndarray
    float_accrual_nominal: np.ndarray
    float_spread: np.ndarray


def _ibor_forecast_dates(cpn: ql.FloatingRateCoupon) -> list[tuple[ql.Date, ql.Date]]:
    """Candidate forecast periods: QuantLib's indexed and at-par coupon conventions."""
    idx = ql.as_iborindex(cpn.index())
    cal = idx.fixingCalendar()
    value = cal.advance(cpn.fixingDate(), idx.fixingDays(), ql.Days)
    indexed_end = idx.maturityDate(value)
    next_fixing = cal.advance(cpn.accrualEndDate(), -idx.fixingDays(), ql.Days)
    par_end = max(cal.advance(next_fixing, idx.fixingDays(), ql.Days), value + 1)
    return [(value, indexed_end), (value, par_end)]


def cashflow_table(
    instrument: ql.Instrument, curve: ql.YieldTermStructureHandle, *, check: bool = True
) -> CashflowTable:
    """Extract the future cash flows of a bond or a vanilla swap (see :class:`CashflowTable`).

    Parameters
    ----------
    instrument
        A QuantLib ``Bond`` or ``VanillaSwap``.
    curve
        Defines time zero and the day count of times, and is used to check that each floating
        forecast reproduces QuantLib's own fixing to 1e-13.
    """
    ts = curve.currentLink()
    ref = ts.referenceDate()

    def t(d: ql.Date) -> float:
        return ts.timeFromReference(d)

    if isinstance(instrument, ql.Bond):
        legs = [(instrument.cashflows(), 1.0)]
    elif isinstance(instrument, ql.VanillaSwap):
        payer = instrument.type() == ql.VanillaSwap.Payer
        legs = [
            (instrument.fixedLeg(), -1.0 if payer else 1.0),
            (instrument.floatingLeg(), 1.0 if payer else -1.0),
        ]
    else:
        raise HybridRiskError(f"cannot extract cash flows from {type(instrument).__name__}")

    fixed_t, fixed_a = [], []
    fl = {k: [] for k in ("pay", "t0", "t1", "span", "an", "spread")}
    for leg, sign in legs:
        for cf in leg:
            if cf.date() <= ref:
                continue  # QuantLib's discounting engines ignore flows on or before today
            cpn = ql.as_floating_rate_coupon(cf)
            if cpn is None:
                fixed_t.append(t(cf.date()))
                fixed_a.append(sign * cf.amount())
                continue
            ibor = cpn
            if (
                ql.as_iborindex(cpn.index()) is None
                or cpn.fixingDate() < ref
                or cpn.gearing() != 1.0
            ):
                raise HybridRiskError("only forecast, ungeared Ibor coupons are supported")
            idx_dc = ibor.index().dayCounter()
            fixing = ibor.indexFixing()
            for d0, d1 in _ibor_forecast_dates(ibor):
                if d1 > ts.maxDate() and not ts.allowsExtrapolation():
                    continue  # a convention that would read the curve past its end
                span = idx_dc.yearFraction(d0, d1)
                fwd = (ts.discount(d0) / ts.discount(d1) - 1.0) / span
                if abs(fwd - fixing) <= 1e-13 * max(1.0, abs(fixing)):
                    break
            else:
                raise HybridRiskError(
                    f"cannot reproduce QuantLib's fixing {fixing!r} for the coupon paid "
                    f"{cf.date().ISO()}: unknown coupon convention"
                )
            fl["pay"].append(t(cf.date()))
            fl["t0"].append(t(d0))
            fl["t1"].append(t(d1))
            fl["span"].append(span)
            fl["an"].append(sign * ibor.nominal() * ibor.accrualPeriod())
            fl["spread"].append(ibor.spread())
    a = np.asarray
    return CashflowTable(
        a(fixed_t, float),
        a(fixed_a, float),
        a(fl["pay"], float),
        a(fl["t0"], float),
        a(fl["t1"], float),
        a(fl["span"], float),
        a(fl["an"], float),
        a(fl["spread"], float),
    )
