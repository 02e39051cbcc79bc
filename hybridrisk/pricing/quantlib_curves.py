"""QuantLib term structures built from (fitted or forecast) Nelson-Siegel-Svensson curves.

QuantLib's ``SvenssonFitting`` discount function, given fixed parameters, is the same NSS
equation: its decays are the reciprocals ``1/tau`` and its rates are decimals, so the curve built
here reproduces :func:`hybridrisk.kernels.nss.nss_discount` to rounding (about 1e-16).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import QuantLib as ql

from hybridrisk.errors import ParameterDomainError
from hybridrisk.kernels.nss import PARAM_NAMES

__all__ = ["as_ql_date", "nss_term_structure", "nss_params_array"]


def as_ql_date(d: ql.Date | pd.Timestamp | str) -> ql.Date:
    """A QuantLib date from a QuantLib date, a pandas Timestamp or an ISO string."""
    if isinstance(d, ql.Date):
        return d
    ts = pd.Timestamp(d)
    return ql.Date(ts.day, ts.month, ts.year)


def nss_params_array(params: Mapping[str, float] | Sequence[float] | pd.Series) -> np.ndarray:
    """NSS parameters as a float array ``(beta0..beta3, tau1, tau2)``, checked for tau > 0.

    A mapping without ``beta3`` (and ``tau2``) is a Nelson-Siegel curve: ``beta3 = 0``.
    """
    if isinstance(params, Mapping | pd.Series):
        # a Nelson-Siegel curve is NSS with beta3 = 0 (tau2 is then irrelevant)
        missing = [k for k in ("beta0", "beta1", "beta2", "tau1") if k not in params]
        if missing:
            raise ParameterDomainError(missing[0], None, "required NSS parameter")
        values = [float(params.get(k, 0.0)) for k in PARAM_NAMES[:4]]
        values += [float(params["tau1"]), float(params.get("tau2", params["tau1"]))]
        out = np.array(values)
    else:
        out = np.asarray(params, dtype=float).reshape(-1)
        if out.size != 6:
            raise ParameterDomainError(
                "params", out.tolist(), "six values beta0..beta3, tau1, tau2"
            )
    for name, v in zip(PARAM_NAMES, out, strict=True):
        if not np.isfinite(v):
            raise ParameterDomainError(name, v, "finite")
    for name, v in zip(("tau1", "tau2"), out[4:], strict=True):
        if v <= 0:
            raise ParameterDomainError(name, v, "tau > 0")
    return out


def nss_term_structure(
    params: Mapping[str, float] | Sequence[float] | pd.Series,
    reference_date: ql.Date | pd.Timestamp | str,
    *,
    day_counter: ql.DayCounter | None = None,
    max_years: int = 100,
) -> ql.YieldTermStructureHandle:
    """A QuantLib ``YieldTermStructure`` whose discount function is the given NSS curve.

    Parameters
    ----------
    params
        ``beta0..beta3`` (percent) and ``tau1, tau2`` (years), GSW convention.
    reference_date
        The curve's reference date (time zero).
    day_counter
        Measures time from the reference date; Actual/365 (Fixed) by default.
    max_years
        Last date the curve may be asked for.

    Returns
    -------
    ql.YieldTermStructureHandle
    """
    p = nss_params_array(params)
    ref = as_ql_date(reference_date)
    dc = day_counter or ql.Actual365Fixed()
    x = ql.Array([*(p[:4] / 100.0), 1.0 / p[4], 1.0 / p[5]])
    curve = ql.FittedBondDiscountCurve(
        ref, ql.SvenssonFitting(), x, ref + ql.Period(max_years, ql.Years), dc
    )
    curve.enableExtrapolation()
    return ql.YieldTermStructureHandle(curve)
