"""Bump-and-reprice sensitivities with QuantLib: the reference for the autograd ones.

Zero-rate shifts are continuously compounded, added through ``ZeroSpreadedTermStructure``
(parallel) or ``PiecewiseZeroSpreadedTermStructure`` (key-rate tents, linear in time between key
dates, flat outside). The instrument is rebuilt on each bumped curve, so that a swap's index
forecasts from the bumped curve too (single-curve sensitivities). Central differences are
Richardson-extrapolated over bumps of ``h`` and ``h/2``: the truncation error is O(h^4), which
makes the result a tight reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import QuantLib as ql

from hybridrisk.pricing.instruments import price_with_quantlib

__all__ = ["quantlib_dv01", "quantlib_key_rate_durations", "key_dates"]

Builder = Callable[[ql.YieldTermStructureHandle], ql.Instrument]
Bumped = Callable[[float], ql.YieldTermStructureHandle]


def _derivative(build: Builder, bumped: Bumped, h: float) -> float:
    def central(step: float) -> float:
        up = price_with_quantlib(build(bumped(step)), bumped(step))
        down = price_with_quantlib(build(bumped(-step)), bumped(-step))
        return (up - down) / (2.0 * step)

    return (4.0 * central(h / 2.0) - central(h)) / 3.0


def quantlib_dv01(build: Builder, curve: ql.YieldTermStructureHandle, *, h: float = 1e-4) -> float:
    """``dP/dy * 1e-4`` for a parallel zero-rate shift y, by bump and reprice.

    Parameters
    ----------
    build
        Builds the instrument on a given curve (the curve its index forecasts from, if any).
    curve
        The base curve.
    h
        Bump size (decimal).
    """

    def bumped(b: float) -> ql.YieldTermStructureHandle:
        spreaded = ql.ZeroSpreadedTermStructure(curve, ql.QuoteHandle(ql.SimpleQuote(b)))
        spreaded.enableExtrapolation()
        return ql.YieldTermStructureHandle(spreaded)

    return _derivative(build, bumped, h) * 1e-4


def key_dates(reference: ql.Date, key_tenors: Sequence[ql.Period]) -> list[ql.Date]:
    """Key-rate dates: the reference date advanced by each tenor (unadjusted)."""
    return [reference + p for p in key_tenors]


def quantlib_key_rate_durations(
    build: Builder,
    curve: ql.YieldTermStructureHandle,
    key_tenors: Sequence[ql.Period],
    *,
    h: float = 1e-4,
) -> list[float]:
    """``dP/dy_k * 1e-4`` for a tent shift at each key tenor, by bump and reprice."""
    dates = key_dates(curve.referenceDate(), key_tenors)
    out = []
    for k in range(len(dates)):

        def bumped(b: float, k: int = k) -> ql.YieldTermStructureHandle:
            quotes = [
                ql.QuoteHandle(ql.SimpleQuote(b if i == k else 0.0)) for i in range(len(dates))
            ]
            spreaded = ql.PiecewiseZeroSpreadedTermStructure(curve, quotes, dates)
            spreaded.enableExtrapolation()
            return ql.YieldTermStructureHandle(spreaded)

        out.append(_derivative(build, bumped, h) * 1e-4)
    return out
