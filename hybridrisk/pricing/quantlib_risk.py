"""Bump-and-reprice sensitivities with QuantLib: the reference for the autograd ones.

Zero-rate shifts are continuously compounded, added through ``ZeroSpreadedTermStructure``
(parallel) or ``PiecewiseZeroSpreadedTermStructure`` (key-rate tents, linear in time between key
dates, flat outside). The instrument is rebuilt on each bumped curve, so that a swap's index
forecasts from the bumped curve too (single-curve sensitivities). Central differences are
Richardson-extrapolated over bumps of ``h`` and ``h/2``: the truncation error is O(h^4), which
makes the result a tight reference.

:func:`quantlib_quote_dv01` is DV01 off the market quotes: it moves the EUR curves' bootstrap
quotes, bootstraps the curves again and reprices the swaptions (vols held fixed), the reference
for :class:`~hybridrisk.pricing.curve_risk.QuoteRisk`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import QuantLib as ql

from hybridrisk.datasets import eur_curve_quotes
from hybridrisk.errors import ConfigError
from hybridrisk.pricing.eur_curves import bootstrap_eur_curves, curve_nodes
from hybridrisk.pricing.instruments import price_with_quantlib
from hybridrisk.pricing.quantlib_options import quantlib_swaptions

__all__ = ["quantlib_dv01", "quantlib_key_rate_durations", "key_dates", "quantlib_quote_dv01"]

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


def quantlib_quote_dv01(
    expiry: Sequence[str] | str,
    tenor: Sequence[str] | str,
    strike: float | Sequence[float],
    vol: float | Sequence[float],
    *,
    payer: bool | Sequence[bool] = True,
    model: str = "normal",
    shift: float = 0.0,
    tickers: Sequence[str] | None = None,
    quotes: pd.DataFrame | None = None,
    h: float = 1e-5,
) -> np.ndarray:
    """Swaption DV01 for a +1 bp move of EUR curve quotes, by re-bootstrapping and repricing.

    Parameters
    ----------
    expiry, tenor, strike, vol, payer, model, shift
        The swaptions, as :func:`~hybridrisk.pricing.quantlib_options.quantlib_swaptions`.
    tickers
        The bootstrap quotes moved together (decimal units, so +1 bp is +1e-4; basis spreads
        move as spreads); by default every node quote of the curve group (parallel DV01).
    quotes
        The day's quotes (default: :func:`hybridrisk.datasets.eur_curve_quotes`).
    h
        Bump size (decimal); central differences over ``h`` and ``h/2``, Richardson-
        extrapolated (error O(h^4)).

    Returns
    -------
    numpy.ndarray
        ``dV/dq * 1e-4`` per swaption (per unit nominal).
    """
    base = eur_curve_quotes() if quotes is None else quotes
    nodes = list(curve_nodes().ticker)
    chosen = nodes if tickers is None else list(tickers)
    unknown = sorted(set(chosen) - set(nodes))
    if unknown:
        raise ConfigError(f"not a bootstrap quote of the curve group: {unknown[0]!r}")
    moved = base["Ticker"].isin(chosen).to_numpy()

    def prices(x: float) -> np.ndarray:
        q = base.copy()
        q.loc[moved, "Value"] = q.loc[moved, "Value"] + x
        table = quantlib_swaptions(bootstrap_eur_curves(q), expiry, tenor, strike, vol,
                                   payer=payer, model=model, shift=shift)
        return table.price.to_numpy()

    def central(step: float) -> np.ndarray:
        return (prices(step) - prices(-step)) / (2.0 * step)

    return (4.0 * central(h / 2.0) - central(h)) / 3.0 * 1e-4
