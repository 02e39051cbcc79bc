"""Nelson-Siegel-Svensson curve equations (numpy and torch), par conventions and tenor labels.

Gürkaynak-Sack-Wright convention: maturities in years, yields in percent, continuously
compounded. Parameters are ordered ``(beta0, beta1, beta2, beta3, tau1, tau2)``; a Nelson-Siegel
curve is the special case ``beta3 = 0`` (its four parameters ``beta0, beta1, beta2, tau1``).

    y(m) = b0 + b1 L(m/t1) + b2 C(m/t1) + b3 C(m/t2),
    L(x) = (1 - e^{-x}) / x,   C(x) = L(x) - e^{-x}.

:func:`nss_zero`, :func:`nss_forward` and :func:`nss_discount` take the parameters either as a
torch tensor of shape (..., 6) (differentiable, batched, unchecked: :func:`nss_yield` and
:func:`nss_loadings` are that path) or as a mapping / vector of 4 or 6 numbers (checked, numpy
out). :func:`nss_par` is the par yield of the curve under the US Treasury conventions
(:func:`par_cashflows`). :func:`tenor_years` and :func:`maturities_from_columns` read maturities
from column labels (GSW ``SVENY10``, US Treasury ``10 Yr``, ``3 Mo``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.checks import check_array
from hybridrisk.errors import ConfigError, DataValidationError

__all__ = [
    "PARAM_NAMES",
    "NS_PARAMS",
    "nss_loadings",
    "nss_yield",
    "nss_zero",
    "nss_discount",
    "nss_forward",
    "nss_par",
    "nss_params",
    "shape_terms",
    "par_cashflows",
    "par_structure",
    "tenor_years",
    "maturities_from_columns",
]

PARAM_NAMES: tuple[str, ...] = ("beta0", "beta1", "beta2", "beta3", "tau1", "tau2")
NS_PARAMS: tuple[str, ...] = ("beta0", "beta1", "beta2", "tau1")

Params = Mapping[str, float] | Sequence[float] | pd.Series | torch.Tensor


# ------------------------------------------------------------------------------------ torch


def _l1(x: torch.Tensor) -> torch.Tensor:
    # (1 - e^{-x}) / x with its limit 1 at x = 0; -expm1 keeps full precision for small x.
    small = x.abs() < 1e-8
    safe = torch.where(small, torch.ones_like(x), x)
    return torch.where(small, 1.0 - x / 2.0, -torch.expm1(-safe) / safe)


def nss_loadings(m: torch.Tensor, tau1: torch.Tensor, tau2: torch.Tensor) -> torch.Tensor:
    """Factor loadings of shape ``broadcast(m, tau).shape + (4,)`` for (b0, b1, b2, b3)."""
    x1, x2 = torch.broadcast_tensors(m / tau1, m / tau2)
    l1, l2 = _l1(x1), _l1(x2)
    return torch.stack([torch.ones_like(l1), l1, l1 - torch.exp(-x1), l2 - torch.exp(-x2)], dim=-1)


def _split(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    params = torch.as_tensor(params)
    return params[..., :4], params[..., 4:5], params[..., 5:6]


def nss_yield(m: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Zero yields in percent at maturities ``m`` (years), in torch.

    Parameters
    ----------
    m
        Maturities, shape (n,) or broadcastable against ``params.shape[:-1] + (n,)``.
    params
        Shape (..., 6).

    Returns
    -------
    Tensor of shape ``params.shape[:-1] + (n,)``.
    """
    betas, tau1, tau2 = _split(params)
    m = torch.as_tensor(m, dtype=betas.dtype, device=betas.device)
    load = nss_loadings(m, tau1, tau2)
    return (load * betas.unsqueeze(-2)).sum(-1)


def _discount_torch(t: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=torch.as_tensor(params).dtype)
    return torch.exp(-nss_yield(t, params) * t / 100.0)


def _forward_torch(m: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    betas, tau1, tau2 = _split(params)
    m = torch.as_tensor(m, dtype=betas.dtype, device=betas.device)
    x1, x2 = m / tau1, m / tau2
    e1, e2 = torch.exp(-x1), torch.exp(-x2)
    return (
        betas[..., 0:1]
        + betas[..., 1:2] * e1
        + betas[..., 2:3] * x1 * e1
        + betas[..., 3:4] * x2 * e2
    )


# ------------------------------------------------------------------------------------ numpy


def nss_params(params: Mapping[str, float] | Sequence[float] | pd.Series) -> np.ndarray:
    """Parameters as ``[b0, b1, b2, b3, tau1, tau2]`` (NS: ``b3 = 0``, ``tau2 = tau1``), checked.

    Raises
    ------
    DataValidationError
        A missing name, a wrong length, a non-finite value or a decay that is not positive.
    """
    if isinstance(params, Mapping | pd.Series):
        p = dict(params)
        try:
            b = [float(p["beta0"]), float(p["beta1"]), float(p["beta2"])]
            t1 = float(p["tau1"])
        except KeyError as exc:
            raise DataValidationError("params", f"missing NSS parameter {exc}") from exc
        b3 = float(p.get("beta3", 0.0))
        t2 = float(p.get("tau2", t1))
        if not np.isfinite(b3):  # an NS day stored in an NSS frame
            b3, t2 = 0.0, t1
        if not np.isfinite(t2):
            t2 = t1
        vec = np.array([*b, b3, t1, t2])
    else:
        arr = check_array(params, name="params", ndim=1)
        if arr.size == 4:
            vec = np.array([arr[0], arr[1], arr[2], 0.0, arr[3], arr[3]])
        elif arr.size == 6:
            vec = arr
        else:
            raise DataValidationError(
                "shape", f"params must have 4 (NS) or 6 (NSS) entries, got {arr.size}"
            )
    if not np.all(np.isfinite(vec)):
        raise DataValidationError("finite", "NSS parameters must be finite")
    if vec[4] <= 0 or vec[5] <= 0:
        raise DataValidationError("positive", "tau1 and tau2 must be strictly positive")
    return vec


def shape_terms(m: np.ndarray, tau: np.ndarray | float) -> tuple[np.ndarray, ...]:
    """``x = m/tau``, ``e^{-x}``, ``L(x)``, ``C(x)``; ``m = 0`` gives the limits ``L=1, C=0``."""
    x = np.asarray(m, dtype=float) / tau
    e = np.exp(-x)
    with np.errstate(invalid="ignore", divide="ignore"):
        L = np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0)
    return x, e, L, L - e


def nss_zero(m: Any, params: Params) -> np.ndarray | torch.Tensor:
    """Continuously compounded zero yield in percent at maturities ``m`` (years).

    Parameters
    ----------
    m
        Maturities in years (``m >= 0``; ``m = 0`` gives the short-rate limit ``b0 + b1``).
    params
        A tensor (..., 6) (then :func:`nss_yield`), or NSS/NS parameters in the GSW convention
        (mapping with ``beta0..tau2`` or a vector ``[b0, b1, b2, b3, tau1, tau2]`` /
        ``[b0, b1, b2, tau1]``).

    Returns
    -------
    ndarray
        Zero yields in percent, the shape of ``m`` (a tensor for tensor parameters).
    """
    if isinstance(params, torch.Tensor):
        return nss_yield(m, params)
    b0, b1, b2, b3, t1, t2 = nss_params(params)
    m = np.asarray(m, dtype=float)
    _, _, L1, C1 = shape_terms(m, t1)
    _, _, _, C2 = shape_terms(m, t2)
    return b0 + b1 * L1 + b2 * C1 + b3 * C2


def nss_forward(m: Any, params: Params) -> np.ndarray | torch.Tensor:
    """Instantaneous forward rate in percent, ``f(m) = d/dm [m y(m)]``, at maturities ``m``."""
    if isinstance(params, torch.Tensor):
        return _forward_torch(m, params)
    b0, b1, b2, b3, t1, t2 = nss_params(params)
    x1, e1, _, _ = shape_terms(m, t1)
    x2, e2, _, _ = shape_terms(m, t2)
    return b0 + b1 * e1 + b2 * x1 * e1 + b3 * x2 * e2


def nss_discount(m: Any, params: Params) -> np.ndarray | torch.Tensor:
    """Discount factor ``exp(-m y(m) / 100)`` at maturities ``m`` (years)."""
    if isinstance(params, torch.Tensor):
        return _discount_torch(m, params)
    m = np.asarray(m, dtype=float)
    return np.exp(-m * nss_zero(m, params) / 100.0)


def par_cashflows(m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cash-flow times and coupon accrual fractions of the par instrument of maturity ``m``.

    ``m < 0.5``: a zero-coupon bill quoted on the bond-equivalent (simple, money-market) basis,
    ``1 = D(m) (1 + c m)``, which is a one-period "coupon" ``c m`` paid at ``m``. ``m >= 0.5``: a
    newly issued semiannual bond, coupons ``c/2`` at ``m, m - 1/2, ...``, with a short first
    period (accrual ``< 1/2``) when ``m`` is not a multiple of half a year, no accrued interest.
    At ``m = 0.5`` both readings coincide. This is exactly the cash-flow schedule of a QuantLib
    ``FixedRateBond`` issued today with a backward semiannual schedule and a 30/360 accrual
    (see :mod:`baselines.nss.quantlib`).
    """
    if m < 0.5:
        return np.array([m]), np.array([m])
    n = int(np.ceil(2.0 * m - 1e-9))
    times = m - 0.5 * np.arange(n)[::-1]
    accr = np.full(n, 0.5)
    accr[0] = times[0]  # the (possibly short) first period runs from today
    return times, accr


def par_structure(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack every maturity's cash flows: unique times, accrual matrix ``A`` (n x T), index of m.

    ``par_i = (1 - D(m_i)) / (A @ D)_i`` in decimal.
    """
    per = [par_cashflows(float(mi)) for mi in m]
    times = np.unique(np.round(np.concatenate([t for t, _ in per]), 12))
    A = np.zeros((len(m), times.size))
    for i, (t, a) in enumerate(per):
        A[i, np.searchsorted(times, np.round(t, 12))] = a
    idx = np.searchsorted(times, np.round(m, 12))
    return times, A, idx


def nss_par(m: Any, params: Mapping[str, float] | Sequence[float] | pd.Series) -> np.ndarray:
    """Par yield in percent (bond-equivalent, semiannual coupons) implied by the NSS zero curve.

    ``par(m) = 100 (1 - D(m)) / sum_i a_i D(t_i)`` over the instrument's coupon dates ``t_i``
    with accrual fractions ``a_i``: on the half-year grid ``a_i = 1/2`` and this is
    ``200 (1 - D(m)) / sum_{i=1..2m} D(i/2)``; for ``m < 0.5`` (bills) it is the bond-equivalent
    simple yield ``100 (1/D(m) - 1) / m``. See :func:`par_cashflows` for the conventions.
    """
    m = check_array(m, name="maturities")
    flat = np.atleast_1d(m).ravel()
    if (flat <= 0).any():
        raise DataValidationError("positive", "par maturities must be strictly positive")
    times, A, idx = par_structure(flat)
    D = nss_discount(times, params)
    return (100.0 * (1.0 - D[idx]) / (A @ D)).reshape(m.shape)


# ------------------------------------------------------------------------------- tenor labels


def tenor_years(label: Any) -> float:
    """Maturity in years of a column label: ``SVENY05`` -> 5, ``"3 Mo"`` -> 0.25, ``"10 Yr"`` -> 10.

    Numbers pass through; weeks are ``7/364`` years. Raises :class:`DataValidationError` for an
    unrecognised label.
    """
    if isinstance(label, int | float | np.integer | np.floating) and not isinstance(label, bool):
        return float(label)
    s = str(label).strip()
    if mt := re.fullmatch(r"(?i)SVEN(?:Y|PY|F)?0*(\d+)", s):
        return float(mt.group(1))
    if mt := re.fullmatch(r"(?i)(\d+(?:\.\d+)?)\s*(mo|month|months|m)", s):
        return float(mt.group(1)) / 12.0
    if mt := re.fullmatch(r"(?i)(\d+(?:\.\d+)?)\s*(wk|week|weeks|w)", s):
        return float(mt.group(1)) * 7.0 / 364.0
    if mt := re.fullmatch(r"(?i)(\d+(?:\.\d+)?)\s*(yr|year|years|y)?", s):
        return float(mt.group(1))
    raise DataValidationError("tenor", f"cannot read a maturity from column label {label!r}")


def maturities_from_columns(columns: Sequence[Any], maturities: Any = None) -> np.ndarray:
    """Maturities in years, one per column, checked positive, finite and distinct.

    Parameters
    ----------
    columns
        Column labels of a yield panel.
    maturities
        Years per column (a sequence or a mapping column -> years); None reads them from the
        labels with :func:`tenor_years`.

    Raises
    ------
    ConfigError
        A label cannot be read (pass ``maturities``), or a mapping lacks a column.
    DataValidationError
        As many maturities as columns are not given, or one is not positive and finite, or
        one repeats.
    """
    columns = list(columns)
    if maturities is None:
        try:
            maturities = [tenor_years(c) for c in columns]
        except DataValidationError as exc:
            raise ConfigError(f"{exc}: pass maturities (years), one per column") from None
    elif isinstance(maturities, Mapping):
        missing = [c for c in columns if c not in maturities]
        if missing:
            raise ConfigError(f"maturities has no entry for column {missing[0]!r}")
        maturities = [maturities[c] for c in columns]
    m = np.asarray(maturities, dtype=np.float64).reshape(-1)
    if m.shape != (len(columns),):
        raise DataValidationError("shape", f"{m.size} maturities for {len(columns)} columns")
    if not np.isfinite(m).all() or (m <= 0).any():
        raise DataValidationError("positive", "maturities must be positive and finite",
                                  column=columns[int(np.argmin(np.nan_to_num(m)))])
    if len(np.unique(m)) != len(m):
        raise DataValidationError("unique", "maturities repeat")
    return m
