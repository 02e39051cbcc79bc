"""QuantLib cross-checks of the NSS fitter in :mod:`baselines.nss`.

Two things a validation team wants to see independently reproduced:

* an NSS curve handed to QuantLib gives the same discount factors (:func:`nss_term_structure`,
  built on QuantLib's own ``SvenssonFitting`` discount function, no interpolation), and
* on the same par bonds, our par-yield fit is at least as good as QuantLib's
  ``FittedBondDiscountCurve`` with ``SvenssonFitting`` and lands on (nearly) the same curve
  (:func:`compare_par_fits`).

Parameter mapping. QuantLib's ``SvenssonFitting`` (``ql/termstructures/yield/
nonlinearfittingmethods.cpp``) uses ``x = [x0, x1, x2, x3, kappa, kappa1]`` with, at time t,

    z(t) = x0 + (x1 + x2) (1 - e^{-kappa t}) / (kappa t) - x2 e^{-kappa t}
           + x3 [(1 - e^{-kappa1 t}) / (kappa1 t) - e^{-kappa1 t}],   D(t) = exp(-z(t) t),

i.e. decimal continuously compounded zero rates and decay *rates*. Since
``(x1 + x2) L - x2 e^{-x} = x1 L + x2 (L - e^{-x})`` this is exactly the GSW form with
``beta_i = 100 x_i`` (percent) and ``tau1 = 1/kappa``, ``tau2 = 1/kappa1`` (years). QuantLib adds
``QL_EPSILON`` to ``kappa`` and ``t`` in the denominators, a relative change of ~1e-13 at worst.

Bond conventions. A par bond of maturity ``m`` (coupon = par yield, clean price 100) is a
``FixedRateBond`` issued on the curve's reference date, semiannual backward schedule, no
calendar adjustment, 30/360 (Bond Basis) accrual; the curve uses the same day counter. With a
reference day-of-month <= 28 every coupon date is exactly ``k/2`` years (30/360) from the
reference date and every accrual exactly a half-year, so the bonds' cash flows are exactly the
ones :func:`~hybridrisk.kernels.nss.nss_par` assumes: bills (``m < 6`` months) become
one-period bonds with coupon ``c m`` at maturity, i.e. the bond-equivalent simple yield
``1 = D(m) (1 + c m)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import QuantLib as ql

from baselines.nss.fit import fit_nss
from baselines.nss.results import NSSFitResult
from hybridrisk.checks import check_array
from hybridrisk.errors import DataValidationError
from hybridrisk.kernels.nss import PARAM_NAMES, nss_discount, nss_par, nss_zero, par_structure

__all__ = [
    "nss_to_quantlib",
    "quantlib_to_nss",
    "nss_term_structure",
    "par_bonds",
    "QuantLibSvenssonFit",
    "fit_quantlib_svensson",
    "ParFitComparison",
    "compare_par_fits",
    "bond_day_counter",
    "par_equivalent_weights",
]


def bond_day_counter() -> ql.DayCounter:
    """The day counter of the par bonds and of the curves built here: 30/360 (Bond Basis)."""
    return ql.Thirty360(ql.Thirty360.BondBasis)


def _to_ql_date(date: Any) -> ql.Date:
    if isinstance(date, ql.Date):
        return date
    ts = pd.Timestamp(date)
    return ql.Date(ts.day, ts.month, ts.year)


@contextmanager
def _evaluation_date(date: ql.Date) -> Iterator[None]:
    """Set QuantLib's global evaluation date for the block, restoring it afterwards."""
    settings = ql.Settings.instance()
    old = settings.evaluationDate
    settings.evaluationDate = date
    try:
        yield
    finally:
        settings.evaluationDate = old


def nss_to_quantlib(params: Mapping[str, float] | pd.Series) -> ql.Array:
    """GSW-convention parameters -> QuantLib ``SvenssonFitting`` (or ``NelsonSiegelFitting``) array.

    NSS: ``[b0, b1, b2, b3] / 100`` then ``1/tau1, 1/tau2``; NS: ``[b0, b1, b2] / 100, 1/tau1``.
    """
    p = dict(params)
    if "beta3" in p and np.isfinite(p["beta3"]):
        vals = [p["beta0"] / 100, p["beta1"] / 100, p["beta2"] / 100, p["beta3"] / 100,
                1.0 / p["tau1"], 1.0 / p["tau2"]]
    else:
        vals = [p["beta0"] / 100, p["beta1"] / 100, p["beta2"] / 100, 1.0 / p["tau1"]]
    arr = ql.Array(len(vals))
    for i, v in enumerate(vals):
        arr[i] = float(v)
    return arr


def quantlib_to_nss(x: Sequence[float] | ql.Array) -> pd.Series:
    """QuantLib ``SvenssonFitting`` solution -> GSW-convention parameters (percent, years)."""
    v = [float(x[i]) for i in range(len(x))]
    if len(v) == 6:
        return pd.Series([100 * v[0], 100 * v[1], 100 * v[2], 100 * v[3], 1 / v[4], 1 / v[5]],
                         index=list(PARAM_NAMES), name="params")
    if len(v) == 4:
        return pd.Series([100 * v[0], 100 * v[1], 100 * v[2], 1 / v[3]],
                         index=["beta0", "beta1", "beta2", "tau1"], name="params")
    raise DataValidationError("shape", f"expected 4 or 6 QuantLib parameters, got {len(v)}")


def nss_term_structure(
    params: Mapping[str, float] | pd.Series,
    reference_date: Any,
    *,
    day_counter: ql.DayCounter | None = None,
) -> ql.YieldTermStructure:
    """A QuantLib yield term structure whose discount function *is* the NSS curve.

    :func:`hybridrisk.pricing.nss_term_structure` with this module's bond day count (30/360
    Bond Basis) by default, so that time on the curve is time on the par bonds' coupon
    schedule. NS parameters (no ``beta3``/``tau2``) give the Nelson-Siegel curve.
    """
    from hybridrisk.pricing import nss_term_structure as core

    dc = bond_day_counter() if day_counter is None else day_counter
    return core(params, _to_ql_date(reference_date), day_counter=dc).currentLink()


def _months(m: float) -> int:
    months = int(round(12.0 * m))
    if months < 1 or abs(12.0 * m - months) > 1e-9:
        raise DataValidationError(
            "tenor", f"maturity {m!r}y is not a whole number of months; QuantLib bonds need one"
        )
    return months


def par_bonds(maturities: Any, par_yields: Any, reference_date: Any) -> list[ql.FixedRateBond]:
    """Par bonds issued on ``reference_date``: coupon = par yield (percent), semiannual, 30/360.

    Raises :class:`DataValidationError` if the reference day-of-month exceeds 28 (30/360 would
    then make some coupon periods differ from a half-year, breaking the exact match with
    :func:`~hybridrisk.kernels.nss.nss_par`) or a maturity is not a whole number of months.
    """
    ref = _to_ql_date(reference_date)
    if ref.dayOfMonth() > 28:
        raise DataValidationError(
            "day-of-month", f"reference date {ref} has day {ref.dayOfMonth()} > 28: 30/360 "
            "coupon periods would not all be exactly half a year"
        )
    m = check_array(maturities, name="maturities", ndim=1)
    c = check_array(par_yields, name="par_yields", ndim=1)
    if m.shape != c.shape:
        raise DataValidationError("shape", "maturities and par_yields differ in length")
    dc = bond_day_counter()
    cal = ql.NullCalendar()
    bonds = []
    for mi, ci in zip(m, c, strict=True):
        end = ref + ql.Period(_months(mi), ql.Months)
        sched = ql.Schedule(ref, end, ql.Period(ql.Semiannual), cal, ql.Unadjusted,
                            ql.Unadjusted, ql.DateGeneration.Backward, False)
        bonds.append(ql.FixedRateBond(0, 100.0, sched, [ci / 100.0], dc, ql.Unadjusted, 100.0,
                                      ref, cal))
    return bonds


@dataclass(frozen=True)
class QuantLibSvenssonFit:
    """QuantLib's Svensson fit of par bonds.

    Attributes
    ----------
    params
        The solution in GSW convention (percent, years).
    raw
        QuantLib's own solution vector ``[x0, x1, x2, x3, kappa, kappa1]``.
    cost
        QuantLib's objective at the solution: sum of squared, weighted clean-price errors
        (``minimumCostValue``), weights ``1/duration`` normalised to unit norm.
    weights
        Those weights, one per bond.
    iterations
        Number of cost-function evaluations QuantLib used.
    curve
        The fitted ``FittedBondDiscountCurve`` (keep ``bonds`` alive alongside it).
    bonds
        The par bonds, in input order.
    """

    params: pd.Series
    raw: np.ndarray
    cost: float
    weights: np.ndarray
    iterations: int
    curve: ql.FittedBondDiscountCurve
    bonds: list[ql.FixedRateBond]


def fit_quantlib_svensson(
    maturities: Any,
    par_yields: Any,
    reference_date: Any,
    *,
    guess: Mapping[str, float] | pd.Series | None = None,
    weights: Any = None,
    accuracy: float = 1e-10,
    max_evaluations: int = 10000,
    simplex_lambda: float = 1.0,
) -> QuantLibSvenssonFit:
    """Fit QuantLib's ``FittedBondDiscountCurve`` + ``SvenssonFitting`` to par bonds.

    Parameters
    ----------
    maturities, par_yields
        Years (whole months) and par yields in percent, as for :func:`par_bonds`.
    reference_date
        Curve and settlement date (day-of-month <= 28).
    guess
        Starting point in GSW convention; default QuantLib's own (all zeros).
    weights
        Per-bond weights of the price errors; default QuantLib's (1/modified duration,
        normalised). See :func:`par_equivalent_weights` for weights that make QuantLib's
        objective our par-yield objective to second order.
    accuracy, max_evaluations, simplex_lambda
        QuantLib's defaults (its default optimiser is the Nelder-Mead simplex).
    """
    ref = _to_ql_date(reference_date)
    with _evaluation_date(ref):
        bonds = par_bonds(maturities, par_yields, ref)
        helpers = [ql.BondHelper(ql.QuoteHandle(ql.SimpleQuote(100.0)), b) for b in bonds]
        x0 = ql.Array() if guess is None else nss_to_quantlib(guess)
        if weights is None:
            method = ql.SvenssonFitting()
        else:
            w = check_array(weights, name="weights", shape=(len(bonds),))
            method = ql.SvenssonFitting(ql.Array([float(v) for v in w]))
        curve = ql.FittedBondDiscountCurve(ref, helpers, bond_day_counter(), method, accuracy,
                                           max_evaluations, x0, simplex_lambda)
        curve.enableExtrapolation()
        res = curve.fitResults()
        raw = np.array(list(res.solution()), dtype=float)
        weights = np.array(list(res.weights()), dtype=float)
        return QuantLibSvenssonFit(
            params=quantlib_to_nss(raw), raw=raw, cost=float(res.minimumCostValue()),
            weights=weights, iterations=int(res.numberOfIterations()), curve=curve,
            bonds=bonds,
        )


def par_equivalent_weights(maturities: Any, params: Mapping[str, float] | pd.Series) -> np.ndarray:
    """Bond weights that turn QuantLib's price-error objective into our par-yield objective.

    For a par bond with coupon ``c_obs`` priced on a curve whose par coupon is ``c_model``, the
    clean-price error is exactly ``P - 100 = -A (c_model - c_obs)`` (percent units), ``A`` the
    curve's annuity ``sum_i a_i D(t_i)`` over the coupon dates. Weighting each bond by ``1/A``
    evaluated on a reference curve (ours) makes QuantLib's cost equal to our sum of squared
    par-yield residuals up to the relative change of ``A`` between the two curves.
    """
    m = check_array(maturities, name="maturities", ndim=1)
    times, A, _ = par_structure(m)
    return 1.0 / (A @ nss_discount(times, params))


def _quantlib_cost(params: pd.Series, bonds: list[ql.FixedRateBond], weights: np.ndarray,
                   ref: ql.Date) -> float:
    """QuantLib's fitting objective evaluated at arbitrary NSS parameters, priced by QuantLib."""
    with _evaluation_date(ref):
        handle = ql.YieldTermStructureHandle(nss_term_structure(params, ref))
        engine = ql.DiscountingBondEngine(handle)
        err = []
        for b in bonds:
            b.setPricingEngine(engine)
            err.append(b.cleanPrice() - 100.0)
    return float(np.sum((weights * np.array(err)) ** 2))


@dataclass(frozen=True)
class ParFitComparison:
    """Our par fit against QuantLib's on the same bonds.

    Attributes
    ----------
    ours, quantlib
        The two fits.
    zero_diff_bp
        ``ours - quantlib`` continuously compounded zero yields (bp) at 1..30 years.
    our_sse, quantlib_sse
        Our objective (sum of squared par-yield residuals, percent^2) at each fit.
    our_ql_cost, quantlib_ql_cost
        QuantLib's objective (weighted squared clean-price errors) at each fit.
    """

    ours: NSSFitResult
    quantlib: QuantLibSvenssonFit
    zero_diff_bp: pd.Series
    our_sse: float
    quantlib_sse: float
    our_ql_cost: float
    quantlib_ql_cost: float

    def summary(self) -> str:
        """A few lines for a report."""
        z = self.zero_diff_bp.abs()
        return "\n".join([
            f"max |zero(ours) - zero(QuantLib)| over 1..30y: {z.max():.4f} bp "
            f"(at {z.idxmax():g}y)",
            f"par-yield SSE (our objective): ours {self.our_sse:.6e}, "
            f"QuantLib {self.quantlib_sse:.6e} (%^2)",
            f"QuantLib cost (its objective): ours {self.our_ql_cost:.6e}, "
            f"QuantLib {self.quantlib_ql_cost:.6e}",
            f"QuantLib evaluations: {self.quantlib.iterations}",
        ])


def compare_par_fits(
    maturities: Any,
    par_yields: Any,
    reference_date: Any,
    *,
    quantlib_guess: str | Mapping[str, float] | pd.Series | None = None,
    quantlib_weights: str = "quantlib",
    fit_kwargs: Mapping[str, Any] | None = None,
    **quantlib_kwargs: Any,
) -> ParFitComparison:
    """Fit the same par bonds with :func:`baselines.nss.fit_nss` and with QuantLib; compare.

    Parameters
    ----------
    maturities, par_yields, reference_date
        As for :func:`par_bonds` (NaN par yields are dropped first).
    quantlib_guess
        QuantLib's starting point: ``None`` (QuantLib's default, all zeros), ``"ours"`` (our
        solution: QuantLib then only has to confirm it is a minimum of *its* objective) or
        GSW-style parameters.
    quantlib_weights
        ``"quantlib"`` (its default 1/duration weights) or ``"par"``
        (:func:`par_equivalent_weights` on our curve: QuantLib then minimises our objective to
        second order, so the two optima should coincide).
    fit_kwargs
        Passed to :func:`fit_nss` (e.g. ``tau_bounds``).
    **quantlib_kwargs
        Passed to :func:`fit_quantlib_svensson`.
    """
    m = check_array(maturities, name="maturities", ndim=1)
    c = check_array(par_yields, name="par_yields", ndim=1, allow_nan=True)
    ok = np.isfinite(c)
    m, c = m[ok], c[ok]
    ours = fit_nss(m, c, kind="par", model="nss", **dict(fit_kwargs or {}))
    guess = ours.params if isinstance(quantlib_guess, str) and quantlib_guess == "ours" else (
        quantlib_guess)
    if quantlib_weights not in ("quantlib", "par"):
        raise DataValidationError("weights", f"unknown quantlib_weights {quantlib_weights!r}")
    w = par_equivalent_weights(m, ours.params) if quantlib_weights == "par" else None
    qlf = fit_quantlib_svensson(m, c, reference_date, guess=guess, weights=w, **quantlib_kwargs)
    grid = np.arange(1.0, 31.0)
    zero_diff = pd.Series(100.0 * (nss_zero(grid, ours.params) - nss_zero(grid, qlf.params)),
                          index=pd.Index(grid, name="maturity"), name="zero_diff_bp")
    ref = _to_ql_date(reference_date)
    return ParFitComparison(
        ours=ours, quantlib=qlf, zero_diff_bp=zero_diff,
        our_sse=ours.objective,
        quantlib_sse=float(np.sum((nss_par(m, qlf.params) - c) ** 2)),
        our_ql_cost=_quantlib_cost(ours.params, qlf.bonds, qlf.weights, ref),
        quantlib_ql_cost=_quantlib_cost(qlf.params, qlf.bonds, qlf.weights, ref),
    )
