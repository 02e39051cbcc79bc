"""The book in QuantLib: the reference revaluation, one scenario at a time, and bump-and-reprice
greeks.

Every position is a QuantLib instrument on one USD curve: the base NSS curve
(:func:`~hybridrisk.pricing.nss_term_structure`) under a ``PiecewiseZeroSpreadedTermStructure``
whose spreads at the key dates (reference date + 1Y, 2Y, ...; linear in between, flat outside)
are the ``rate:<k>Y`` factor changes. Bonds use ``DiscountingBondEngine``, swaps (single curve:
the index forecasts off the same curve) ``DiscountingSwapEngine``, index options
``AnalyticEuropeanEngine`` on a Black-Scholes-Merton process whose risk-free curve is the USD
curve, swaptions ``BachelierSwaptionEngine`` or ``BlackSwaptionEngine`` (displaced). A scenario
sets the quotes (index levels, implied vols, key spreads) and asks every instrument for its NPV:
the way a QuantLib user revalues a book, and the reference for the torch engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import QuantLib as ql

from hybridrisk.portfolio.book import Book, Position
from hybridrisk.portfolio.factors import MarketState
from hybridrisk.pricing import as_ql_date, evaluation_date, fixed_rate_bond, nss_term_structure
from hybridrisk.pricing.instruments import vanilla_swap

__all__ = ["QuantLibBook"]

_DC = ql.Actual365Fixed()
_CAL = ql.UnitedStates(ql.UnitedStates.GovernmentBond)


class QuantLibBook:
    """The book as QuantLib instruments driven by quotes.

    Parameters
    ----------
    book, market
        The positions and the base market state.
    factors
        Factor names, in the order of the columns of the scenarios passed to :meth:`values`.
    """

    def __init__(self, book: Book, market: MarketState, factors: list[str]) -> None:
        book.require(market.equities, market.implied_vols, market.fx)
        self.book, self.market, self.factors = book, market, list(factors)
        self.ref = as_ql_date(market.date)
        with self.evaluation():
            self.base = nss_term_structure(market.nss, self.ref)
            self.key_dates = [self.ref + ql.Period(k, ql.Years) for k in market.key_tenors]
            self.key_quotes = [ql.SimpleQuote(0.0) for _ in market.key_tenors]
            spreaded = ql.PiecewiseZeroSpreadedTermStructure(
                self.base, [ql.QuoteHandle(q) for q in self.key_quotes], self.key_dates)
            spreaded.enableExtrapolation()
            self.curve = ql.YieldTermStructureHandle(spreaded)
            self.spot = {u: ql.SimpleQuote(v) for u, v in market.equities.items()}
            self.vol = {u: ql.SimpleQuote(v) for u, v in market.implied_vols.items()}
            #: book index -> (underlying swap, exercise date) of each swaption
            self.swaptions: dict[int, tuple[ql.VanillaSwap, ql.Date]] = {}
            self.instruments: list[ql.Instrument | None] = [
                self._build(i, p) for i, p in enumerate(book)]
        self.key_times = np.array([_DC.yearFraction(self.ref, d) for d in self.key_dates])

    @contextmanager
    def evaluation(self) -> Iterator[None]:
        """QuantLib's evaluation date set to the base date for the block."""
        with evaluation_date(self.ref):
            yield

    def _build(self, i: int, p: Position) -> ql.Instrument | None:
        months = lambda years: ql.Period(int(round(years * 12)), ql.Months)  # noqa: E731
        if p.instrument in ("equity_index", "fx_spot"):
            return None
        if p.instrument == "zero_bond":
            bond = ql.ZeroCouponBond(0, _CAL, 1.0, self.ref + months(p["maturity_years"]),
                                     ql.Unadjusted)
            bond.setPricingEngine(ql.DiscountingBondEngine(self.curve))
            return bond
        if p.instrument == "fixed_bond":
            bond = fixed_rate_bond(self.ref, p["maturity_years"], p["coupon"],
                                   frequency=int(p["frequency"]), face=1.0)
            bond.setPricingEngine(ql.DiscountingBondEngine(self.curve))
            return bond
        if p.instrument == "swap":
            swap = vanilla_swap(int(p["maturity_years"]), p["fixed_rate"], self.curve,
                                payer=p["payer"], nominal=1.0)
            swap.setPricingEngine(ql.DiscountingSwapEngine(self.curve))
            return swap
        if p.instrument == "index_option":
            u = p["underlying"]
            div = ql.YieldTermStructureHandle(
                ql.FlatForward(self.ref, p["dividend_yield"], _DC, ql.Continuous))
            vol = ql.BlackVolTermStructureHandle(
                ql.BlackConstantVol(self.ref, ql.NullCalendar(), ql.QuoteHandle(self.vol[u]),
                                    _DC))
            process = ql.BlackScholesMertonProcess(ql.QuoteHandle(self.spot[u]), div,
                                                   self.curve, vol)
            kind = ql.Option.Call if p["call"] else ql.Option.Put
            option = ql.VanillaOption(ql.PlainVanillaPayoff(kind, p["strike"]),
                                      ql.EuropeanExercise(self.ref + int(p["expiry_days"])))
            option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
            return option
        # swaption: exercise after expiry_years, swap starting two business days later
        exercise = _CAL.adjust(self.ref + months(p["expiry_years"]))
        start = _CAL.advance(exercise, ql.Period(2, ql.Days))
        swap = vanilla_swap(int(p["tenor_years"]), p["strike"], self.curve, start=start,
                            payer=p["payer"], nominal=1.0)
        swaption = ql.Swaption(swap, ql.EuropeanExercise(exercise))
        self.swaptions[i] = (swap, exercise)
        vol = ql.QuoteHandle(ql.SimpleQuote(p["vol"]))
        if p["model"] == "normal":
            engine = ql.BachelierSwaptionEngine(self.curve, vol, _DC)
        else:
            engine = ql.BlackSwaptionEngine(self.curve, vol, _DC, p["shift"])
        swaption.setPricingEngine(engine)
        return swaption

    def _set(self, x: np.ndarray) -> None:
        for name, v in zip(self.factors, x, strict=True):
            kind, key = name.split(":")
            if kind == "rate":
                self.key_quotes[self.market.key_tenors.index(int(key[:-1]))].setValue(float(v))
            elif kind == "equity":
                self.spot[key].setValue(self.market.equities[key] * float(np.exp(v)))
            elif kind == "vol" and key in self.vol:
                self.vol[key].setValue(self.market.implied_vols[key] * float(np.exp(v)))

    def _unit_values(self, x: np.ndarray) -> np.ndarray:
        """Value of one unit of each position in scenario ``x`` (quotes must be set)."""
        out = np.empty(len(self.book))
        col = {n: j for j, n in enumerate(self.factors)}
        for i, (p, inst) in enumerate(zip(self.book, self.instruments, strict=True)):
            if p.instrument == "equity_index":
                out[i] = self.market.equities[p["underlying"]] * np.exp(
                    x[col[f"equity:{p['underlying']}"]])
            elif p.instrument == "fx_spot":
                out[i] = self.market.fx[p.currency] * np.exp(x[col[f"fx:{p.currency}"]])
            else:
                out[i] = inst.NPV()
        return out

    def values(self, scenarios: np.ndarray) -> np.ndarray:
        """Position values (quantity times unit value, USD), shape (n_scenarios, n_positions).

        ``scenarios`` are factor changes from the base state, shape (n, n_factors).
        """
        x = np.atleast_2d(np.asarray(scenarios, float))
        q = np.array([p.quantity for p in self.book])
        out = np.empty((len(x), len(self.book)))
        with self.evaluation():
            for s, row in enumerate(x):
                self._set(row)
                out[s] = q * self._unit_values(row)
            self._set(np.zeros(len(self.factors)))
        return out

    def bumped_derivatives(self, h: dict[str, float] | None = None) -> tuple[np.ndarray,
                                                                             np.ndarray]:
        """Gradient and Hessian of the position values in the factors at the base state.

        Central differences of :meth:`values`, Richardson-extrapolated over steps ``h`` and
        ``h/2`` (error O(h^4)); ``h`` per factor kind (defaults: 1e-3 for log factors, 1e-5 for
        rates). Returns shapes (n_positions, n_factors) and (n_positions, n_factors, n_factors).
        """
        steps = {"equity": 1e-3, "vol": 1e-3, "fx": 1e-3, "rate": 1e-5, **(h or {})}
        k = len(self.factors)
        hv = np.array([steps[n.split(":")[0]] for n in self.factors])

        def grad_hess(scale: float) -> tuple[np.ndarray, np.ndarray]:
            e = np.diag(hv * scale)
            pts = [np.zeros(k)]
            for a in range(k):
                pts += [e[a], -e[a]]
                for b in range(a + 1, k):
                    pts += [e[a] + e[b], e[a] - e[b], -e[a] + e[b], -e[a] - e[b]]
            v = iter(self.values(np.array(pts)))
            v0 = next(v)
            g = np.empty((len(v0), k))
            hs = np.empty((len(v0), k, k))
            for a in range(k):
                up, dn = next(v), next(v)
                g[:, a] = (up - dn) / (2 * e[a, a])
                hs[:, a, a] = (up - 2 * v0 + dn) / e[a, a] ** 2
                for b in range(a + 1, k):
                    pp, pm, mp, mm = next(v), next(v), next(v), next(v)
                    hs[:, a, b] = hs[:, b, a] = (pp - pm - mp + mm) / (4 * e[a, a] * e[b, b])
            return g, hs

        g1, h1 = grad_hess(1.0)
        g2, h2 = grad_hess(0.5)
        return (4 * g2 - g1) / 3, (4 * h2 - h1) / 3
