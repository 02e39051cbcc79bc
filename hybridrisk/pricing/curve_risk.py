"""Swaption DV01 off the EUR curves' market quotes, by autograd through the bootstrap.

QuantLib's bootstrap finds the node zero rates ``z`` of the EONIA and Euribor 6M curves at
which every input instrument's fair quote ``r(z)`` equals its market quote ``q``. By the
implicit function theorem ``dz/dq = (dr/dz)^-1``, so a price ``V(z)`` moves with the quotes as
``dV/dq = dV/dz (dr/dz)^-1``. :class:`QuoteRisk` computes both Jacobians by forward-mode
autograd on the curves QuantLib built (zero rates linear in Act/365F time between the nodes,
the curve date's node tied to the first pillar's, as ``PiecewiseLinearZero``), with every
instrument's dates taken from the QuantLib instrument that
:meth:`~hybridrisk.pricing.eur_curves.EurCurves.fair_quote` prices; on construction the torch
fair quotes are checked against QuantLib's to 1e-13.

The reference is QuantLib itself: bump the quotes, bootstrap again, reprice
(:func:`~hybridrisk.pricing.quantlib_risk.quantlib_quote_dv01`). The Euribor 3M curve is left
out: neither the EONIA nor the 6M curve depends on it, so Euribor 6M swaptions have exactly
zero sensitivity to its quotes (3M fixing, 3Mx6M FRA, basis spreads).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import QuantLib as ql
import torch
from torch.func import jacfwd

from hybridrisk.errors import DataValidationError, HybridRiskError
from hybridrisk.pricing.eur_curves import EurCurves, _fra_start, _ois_swap, _swap
from hybridrisk.pricing.instruments import cashflow_table
from hybridrisk.pricing.options import ArrayLike, Flag, TorchSwaptions
from hybridrisk.pricing.torch_pricer import tent_weights

__all__ = ["QuoteRisk"]

#: the curves the swaptions depend on, in the order of the zero-rate vector
CURVE_KEYS = ("ois", "euribor6m")
#: time in years from the curve date (Act/365F) of a date
Time = Callable[[ql.Date], float]
_CURVE_NAMES = {"ois": "EUR-DSCON-OIS", "euribor6m": "EUR-EURIBOR6M-IRS"}


@dataclass(frozen=True)
class _Instrument:
    """A fair quote as arrays (times in years from the curve date).

    Floating coupons ``accrual * (P_f(t0) / P_f(t1) - 1) / span``, paid at ``pay`` and
    discounted on EONIA, over the annuity ``sum(fixed_accrual * P_d(fixed_time))``; with no
    fixed leg the quote is the single coupon's forward rate (deposit, FRA).
    """

    forward: str
    fixed_time: np.ndarray
    fixed_accrual: np.ndarray
    pay: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    span: np.ndarray
    accrual: np.ndarray


def _forward_rate(curve: str, idx: ql.IborIndex, fixing: ql.Date, t: Time) -> _Instrument:
    start = idx.valueDate(fixing)
    end = idx.maturityDate(start)
    a = np.array
    empty = np.zeros(0)
    return _Instrument(curve, empty, empty, a([0.0]), a([t(start)]), a([t(end)]),
                       a([idx.dayCounter().yearFraction(start, end)]), a([1.0]))


def _fixed_leg(leg: ql.Leg, today: ql.Date, t: Time) -> tuple[np.ndarray, np.ndarray]:
    cpns = [c for c in map(ql.as_fixed_rate_coupon, leg) if c.date() > today]
    return (np.array([t(c.date()) for c in cpns]),
            np.array([c.accrualPeriod() * c.nominal() for c in cpns]))


def _ois(curves: EurCurves, tenor: str, t: Time) -> _Instrument:
    swap = _ois_swap(tenor, curves.ois)
    ft, fa = _fixed_leg(swap.fixedLeg(), curves.date, t)
    cpns = [ql.as_overnight_indexed_coupon(cf) for cf in swap.overnightLeg()]
    # compounded EONIA forecast on a curve telescopes to P(first value date) / P(last) - 1
    vd = [c.valueDates() for c in cpns]
    dc = [c.dayCounter() for c in cpns]
    return _Instrument(
        "ois", ft, fa, np.array([t(c.date()) for c in cpns]),
        np.array([t(v[0]) for v in vd]), np.array([t(v[-1]) for v in vd]),
        np.array([d.yearFraction(v[0], v[-1]) for d, v in zip(dc, vd, strict=True)]),
        np.array([c.accrualPeriod() * c.nominal() for c in cpns]))


def _irs(curves: EurCurves, tenor: str, t: Time) -> _Instrument:
    swap = _swap(tenor, curves.index(6), 0.0, curves.ois)
    ft, fa = _fixed_leg(swap.fixedLeg(), curves.date, t)
    table = cashflow_table(swap, curves.euribor6m)
    if np.any(table.float_spread != 0.0):
        raise HybridRiskError("the bootstrap swaps have no floating spread")
    return _Instrument("euribor6m", ft, fa, table.float_pay_time, table.float_t0,
                       table.float_t1, table.float_span, table.float_accrual_nominal)


def _instrument(curves: EurCurves, kind: str, tenor: str) -> _Instrument:
    t = curves.ois.timeFromReference
    if kind == "OIS":
        return _ois(curves, tenor, t)
    if kind == "IRS":
        return _irs(curves, tenor, t)
    idx = curves.index(6)
    if kind == "FIX":
        return _forward_rate("euribor6m", idx, curves.date, t)
    if kind == "FRA":
        start = int(re.findall(r"\d+", tenor)[0])
        return _forward_rate("euribor6m", idx, idx.fixingDate(_fra_start(idx, start, curves.date)),
                             t)
    raise HybridRiskError(f"no torch form for a {kind} bootstrap instrument")


class QuoteRisk:
    """Sensitivities to the bootstrap quotes of the EONIA and Euribor 6M curves, by autograd.

    Parameters
    ----------
    curves
        From :func:`~hybridrisk.pricing.eur_curves.bootstrap_eur_curves` (not spreaded).

    Attributes
    ----------
    tickers
        The bootstrap quotes, EONIA first, in the order of every result's last axis.
    quotes
        Their values (decimal).
    zeros
        The node zero rates, one per quote (the pillar it bootstraps), as QuantLib found them.
    jacobian
        ``dr/dz``: fair quote of each instrument by node zero rate, square.
    """

    def __init__(self, curves: EurCurves) -> None:
        if not all(k in curves.nodes for k in CURVE_KEYS):
            raise DataValidationError("missing-curve",
                                      "no bootstrap nodes (spreaded curves have none)")
        self.curves = curves
        table = curves.instruments
        rows = table[table.node & table.curve.isin([_CURVE_NAMES[k] for k in CURVE_KEYS])]
        self.tickers = list(rows.ticker)
        self.quotes = rows.quote.to_numpy(float)
        self._times: dict[str, torch.Tensor] = {}
        zeros = []
        for key in CURVE_KEYS:
            dates, z = zip(*curves.nodes[key], strict=True)
            self._times[key] = torch.tensor([curves.ois.timeFromReference(d) for d in dates],
                                            dtype=torch.float64)
            zeros.extend(z[1:])  # the curve date's zero equals the first pillar's
        self._sizes = [len(self._times[k]) - 1 for k in CURVE_KEYS]
        if sum(self._sizes) != len(self.tickers):
            raise HybridRiskError("one bootstrap quote per curve node is expected")
        self.zeros = torch.tensor(zeros, dtype=torch.float64)
        with curves.evaluation():
            self._instruments = [_instrument(curves, k, tn)
                                 for k, tn in zip(rows.kind, rows.tenor, strict=True)]
            reference = np.array([curves.fair_quote(k, tn)
                                  for k, tn in zip(rows.kind, rows.tenor, strict=True)])
        for inst in self._instruments:
            for key in ("ois", inst.forward):
                self._in_range(key, np.concatenate([inst.fixed_time, inst.pay, inst.t0,
                                                    inst.t1]))
        gap = np.abs(self.fair_quotes().numpy() - reference)
        if gap.max() > 1e-13:
            bad = self.tickers[int(gap.argmax())]
            raise HybridRiskError(f"torch fair quote of {bad} is {gap.max():.1e} off QuantLib's")
        self.jacobian = jacfwd(self.fair_quotes)(self.zeros)

    def _in_range(self, key: str, times: np.ndarray | torch.Tensor) -> None:
        last = float(self._times[key][-1])
        if float(np.max(np.asarray(times), initial=0.0)) > last:
            raise DataValidationError(
                "extrapolation", f"a cash flow lies beyond the {key} curve's last node "
                f"({last:.3f}y); QuantLib would need extrapolation")

    def _split(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(z, self._sizes)
        return {k: torch.cat([p[:1], p]) for k, p in zip(CURVE_KEYS, parts, strict=True)}

    def _shift(self, key: str, dz: torch.Tensor):  # noqa: ANN202
        keys = self._times[key]
        return lambda t: tent_weights(t, keys) @ dz

    def fair_quotes(self, zeros: torch.Tensor | None = None) -> torch.Tensor:
        """Every bootstrap instrument's fair quote on curves with node zero rates ``zeros``."""
        z = self._split(self.zeros if zeros is None else zeros)

        def disc(key: str, t: np.ndarray) -> torch.Tensor:
            tt = torch.as_tensor(t, dtype=torch.float64)
            return torch.exp(-self._shift(key, z[key])(tt) * tt)

        out = []
        for inst in self._instruments:
            f = inst.forward
            fwd = (disc(f, inst.t0) / disc(f, inst.t1) - 1.0) / torch.as_tensor(inst.span)
            if len(inst.fixed_time) == 0:
                out.append(fwd[0])
                continue
            annuity = (torch.as_tensor(inst.fixed_accrual) * disc("ois", inst.fixed_time)).sum()
            floating = (torch.as_tensor(inst.accrual) * fwd * disc("ois", inst.pay)).sum()
            out.append(floating / annuity)
        return torch.stack(out)

    def swaption_dv01(
        self,
        book: TorchSwaptions,
        strike: ArrayLike,
        vol: ArrayLike,
        *,
        payer: Flag = True,
        model: str = "normal",
        shift: ArrayLike = 0.0,
    ) -> torch.Tensor:
        """Price change per +1 bp of each bootstrap quote, to first order, vols fixed.

        Parameters
        ----------
        book
            Swaptions on the same curves (built by ``swaption_legs(curves, ...)``).
        strike, vol, payer, model, shift
            As :meth:`~hybridrisk.pricing.options.TorchSwaptions.price`.

        Returns
        -------
        torch.Tensor
            ``dV/dq * 1e-4``, shape ``(n_swaptions, n_quotes)`` in the order of
            :attr:`tickers`; the sum over the last axis is the DV01 for a parallel +1 bp
            move of every quote.
        """
        for times in (book.fixed_time, book.float_time):
            self._in_range("ois", times)
        for times in (book.t0, book.t1):
            self._in_range("euribor6m", times)
        kwargs = {"payer": payer, "model": model, "shift": shift}
        book.price(strike, vol, **kwargs)  # validates the inputs once

        def price(dz: torch.Tensor) -> torch.Tensor:
            d = self._split(dz)
            return book.price(strike, vol, discount_shift=self._shift("ois", d["ois"]),
                              forward_shift=self._shift("euribor6m", d["euribor6m"]),
                              check=False, **kwargs)

        dv_dz = jacfwd(price)(torch.zeros_like(self.zeros))
        # dV/dq = dV/dz (dr/dz)^-1
        return torch.linalg.solve(self.jacobian.T, dv_dz.T).T * 1e-4
