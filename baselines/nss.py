"""Nelson-Siegel(-Svensson) yield-curve fitting, one day or a whole panel, zero or par yields.

Conventions are those of Gürkaynak, Sack and Wright (2007): yields in percent, continuously
compounded, maturities ``m`` in years, and

.. math::

    y(m) = \\beta_0 + \\beta_1 L(m/\\tau_1) + \\beta_2 C(m/\\tau_1) + \\beta_3 C(m/\\tau_2),
    \\quad L(x) = \\frac{1 - e^{-x}}{x}, \\quad C(x) = L(x) - e^{-x},

with ``beta3`` and ``tau2`` absent for the Nelson-Siegel (``"ns"``) model.

Why not a plain local optimiser: given the decays the model is linear in the betas, but the
objective is multimodal in the decays. On many real days the right basin is narrow (e.g. GSW
days with ``beta0`` at its zero bound), and on others the best fit has ``tau1 ≈ tau2`` with
large, offsetting ``beta2``/``beta3`` (the two humps then combine into the derivative of a hump
with respect to its decay), a nearly singular problem. A local start from a "standard" guess
stalls in a worse basin there, by several basis points. This module therefore

1. profiles the betas out (linear least squares given the decays: variable projection) and
   evaluates the profiled residual on a log-spaced ``(tau1, tau2)`` grid covering the whole
   plane, plus points hugging the diagonal ``tau1 ≈ tau2``. The model is *not* symmetric in
   the two decays (``beta1`` loads on ``tau1`` only), so both orderings are searched, and the
   mirror image ``(tau2, tau1)`` of the winner is tried as well;
2. starts from the best grid-*local minima* (not the best grid points, which crowd into one
   wide basin), screens each with a few Levenberg-Marquardt steps and polishes the best to
   convergence: LM on the profiled problem in ``log tau`` with box bounds and the exact
   (Golub-Pereyra) Jacobian, betas by QR least squares at every step.

A tiny ridge (:data:`DEFAULT_RIDGE`) on ``beta1..beta3`` makes the confluent limit
``tau2 -> tau1``, where the unpenalised betas diverge along a valley that is flat to the data's
rounding, a well-posed problem with finite betas. Designs that are still numerically rank
deficient are flagged, never returned as silent garbage.

For a panel all of this is array work: days sharing a pattern of missing tenors share the
orthonormal bases of the grid designs, so the grid search is a handful of matrix products, and
the polish is one vectorised LM across all (day, start) problems. The panel adds two passes that
a single day cannot have: warm starts from the neighbouring days' decays (swept until nothing
improves) and an exhaustive re-fit of days whose fit stands out from their neighbours'.

Missing tenors (NaN) are dropped per day, never imputed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from hybridrisk.checks import check_array, check_timeseries
from hybridrisk.errors import (
    ConfigError,
    ConvergenceError,
    DataValidationError,
    InsufficientDataError,
)

__all__ = [
    "NSSFitResult",
    "NSSPanelResult",
    "fit_nss",
    "fit_nss_panel",
    "nss_zero",
    "nss_discount",
    "nss_forward",
    "nss_par",
    "tenor_years",
    "default_tau_grid",
    "DEFAULT_TAU_BOUNDS",
    "DEFAULT_RIDGE",
    "NSS_PARAMS",
    "NS_PARAMS",
]

NSS_PARAMS: tuple[str, ...] = ("beta0", "beta1", "beta2", "beta3", "tau1", "tau2")
NS_PARAMS: tuple[str, ...] = ("beta0", "beta1", "beta2", "tau1")

#: Default box for both decays, in years. Below ~0.05y the curvature loading of a 1y+ tenor is
#: numerically the slope loading (``e^{-m/tau}`` vanishes next to ``L``), so shorter decays only
#: add rank-deficient designs. The upper end is wide because some GSW days need a decay above
#: 100y (the hump then acts as a linear term over 0..30y). Pass ``tau_bounds`` to change it;
#: on real par curves, which are not NSS curves, a narrower box gives tamer parameters.
DEFAULT_TAU_BOUNDS: tuple[float, float] = (0.05, 1000.0)

#: Tikhonov weight on ``beta1..beta3`` added to the sum of squared residuals (percent^2). When
#: the best fit is the confluent limit ``tau2 -> tau1`` (beta2 = -beta3 -> infinity, the two
#: humps merging into a hump's derivative), the unpenalised objective is flat to rounding along
#: that valley and the betas are not determined; this tiny ridge picks a point of the valley
#: with betas of a few hundred. It costs the confluent GSW days < 1e-4 bp of RMSE, and on an
#: exactly-NSS curve with ``beta2 = -300, beta3 = 302`` it biases the betas by ~4e-5 relative.
#: ``ridge=0`` disables it (exact recovery, but divergent betas on confluent days).
DEFAULT_RIDGE: float = 1e-16

#: Relative size of the last Householder pivot (sine of the angle between a column and the span
#: of the ones before it) below which a design is treated as rank deficient.
_RANK_TOL = 1e-11
#: Condition number (column-normalised design) above which a day is flagged rank deficient: the
#: betas are then determined only up to (rounding error) x cond, i.e. not at all.
_COND_FLAG = 1e10
#: Above this condition number the individual betas are flagged as weakly identified: with the
#: GSW rounding (~3e-5 percent RMS) they are uncertain by more than ~1 percent point.
_COND_WEAK = 1e6

Kind = Literal["zero", "par"]
Model = Literal["nss", "ns"]


# ---------------------------------------------------------------------------- curve functions


def _check_model(model: str) -> bool:
    if model not in ("nss", "ns"):
        raise ConfigError(f"model must be 'nss' or 'ns', got {model!r}")
    return model == "nss"


def _check_kind(kind: str) -> None:
    if kind not in ("zero", "par"):
        raise ConfigError(f"kind must be 'zero' or 'par', got {kind!r}")


def _as_param_vector(params: Mapping[str, float] | Sequence[float] | pd.Series) -> np.ndarray:
    """Parameters as ``[b0, b1, b2, b3, tau1, tau2]`` (NS: ``b3 = 0``, ``tau2 = tau1``)."""
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


def _shape_terms(m: np.ndarray, tau: np.ndarray | float) -> tuple[np.ndarray, ...]:
    """``x = m/tau``, ``e^{-x}``, ``L(x)``, ``C(x)``; ``m = 0`` gives the limits ``L=1, C=0``."""
    x = np.asarray(m, dtype=float) / tau
    e = np.exp(-x)
    with np.errstate(invalid="ignore", divide="ignore"):
        L = np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0)
    return x, e, L, L - e


def nss_zero(m: Any, params: Mapping[str, float] | Sequence[float] | pd.Series) -> np.ndarray:
    """Continuously compounded zero yield in percent at maturities ``m`` (years).

    Parameters
    ----------
    m
        Maturities in years (``m >= 0``; ``m = 0`` gives the short-rate limit ``b0 + b1``).
    params
        NSS or NS parameters in the GSW convention (mapping with ``beta0..tau2`` or a vector
        ``[b0, b1, b2, b3, tau1, tau2]`` / ``[b0, b1, b2, tau1]``).

    Returns
    -------
    ndarray
        Zero yields in percent, the shape of ``m``.
    """
    b0, b1, b2, b3, t1, t2 = _as_param_vector(params)
    m = np.asarray(m, dtype=float)
    _, _, L1, C1 = _shape_terms(m, t1)
    _, _, _, C2 = _shape_terms(m, t2)
    return b0 + b1 * L1 + b2 * C1 + b3 * C2


def nss_forward(m: Any, params: Mapping[str, float] | Sequence[float] | pd.Series) -> np.ndarray:
    """Instantaneous forward rate in percent (continuous compounding) at maturities ``m``."""
    b0, b1, b2, b3, t1, t2 = _as_param_vector(params)
    x1, e1, _, _ = _shape_terms(m, t1)
    x2, e2, _, _ = _shape_terms(m, t2)
    return b0 + b1 * e1 + b2 * x1 * e1 + b3 * x2 * e2


def nss_discount(m: Any, params: Mapping[str, float] | Sequence[float] | pd.Series) -> np.ndarray:
    """Discount factor ``exp(-m y(m) / 100)`` at maturities ``m`` (years)."""
    m = np.asarray(m, dtype=float)
    return np.exp(-m * nss_zero(m, params) / 100.0)


def _par_cashflows(m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cash-flow times and coupon accrual fractions of the par instrument of maturity ``m``.

    ``m < 0.5``: a zero-coupon bill quoted on the bond-equivalent (simple, money-market) basis,
    ``1 = D(m) (1 + c m)``, which is a one-period "coupon" ``c m`` paid at ``m``. ``m >= 0.5``: a
    newly issued semiannual bond, coupons ``c/2`` at ``m, m - 1/2, ...``, with a short first
    period (accrual ``< 1/2``) when ``m`` is not a multiple of half a year, no accrued interest.
    At ``m = 0.5`` both readings coincide. This is exactly the cash-flow schedule of a QuantLib
    ``FixedRateBond`` issued today with a backward semiannual schedule and a 30/360 accrual
    (see :mod:`baselines.curve_quantlib`).
    """
    if m < 0.5:
        return np.array([m]), np.array([m])
    n = int(np.ceil(2.0 * m - 1e-9))
    times = m - 0.5 * np.arange(n)[::-1]
    accr = np.full(n, 0.5)
    accr[0] = times[0]  # the (possibly short) first period runs from today
    return times, accr


def _par_structure(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack every maturity's cash flows: unique times, accrual matrix ``A`` (n x T), index of m.

    ``par_i = (1 - D(m_i)) / (A @ D)_i`` in decimal.
    """
    per = [_par_cashflows(float(mi)) for mi in m]
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
    simple yield ``100 (1/D(m) - 1) / m``. See :func:`_par_cashflows` for the conventions.
    """
    m = check_array(m, name="maturities")
    flat = np.atleast_1d(m).ravel()
    if (flat <= 0).any():
        raise DataValidationError("positive", "par maturities must be strictly positive")
    times, A, idx = _par_structure(flat)
    D = nss_discount(times, params)
    return (100.0 * (1.0 - D[idx]) / (A @ D)).reshape(m.shape)


def tenor_years(label: Any) -> float:
    """Maturity in years of a column label: ``SVENY05`` -> 5, ``"3 Mo"`` -> 0.25, ``"10 Yr"`` -> 10.

    Numbers pass through. Raises :class:`DataValidationError` for an unrecognised label.
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


# ---------------------------------------------------------------------- batched profile kernel


def default_tau_grid(
    bounds: tuple[float, float] = DEFAULT_TAU_BOUNDS, n: int = 40
) -> np.ndarray:
    """Log-spaced decays over ``bounds`` (years): the axis of the ``(tau1, tau2)`` search grid.

    The panel pass uses 40 a side, :func:`fit_nss` 60, the panel's rescue pass 100.
    """
    return np.geomspace(bounds[0], bounds[1], n)


def _grid_points(tau_grid: np.ndarray, nss: bool, bounds: tuple[float, float]) -> np.ndarray:
    """Grid in ``log tau``: all ordered off-diagonal pairs, plus pairs hugging the diagonal.

    The near-diagonal pairs (``tau2 = tau1 e^{±d}``, small ``d``) seed the ``tau1 ≈ tau2``
    basin, where the profiled objective is smooth in ``tau2 - tau1`` but the ordinary grid
    spacing is too coarse to land in it.
    """
    s = np.log(tau_grid)
    if not nss:
        return s[:, None]
    i, j = np.meshgrid(np.arange(s.size), np.arange(s.size), indexing="ij")
    off = i != j
    pts = [np.column_stack([s[i[off]], s[j[off]]])]
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    for d in (0.01, 0.05):
        for sign in (1.0, -1.0):
            s2 = s + sign * d
            keep = (s2 >= lo) & (s2 <= hi)
            pts.append(np.column_stack([s[keep], s2[keep]]))
    return np.vstack(pts)


def _design(m: np.ndarray, s: np.ndarray, nss: bool) -> tuple[np.ndarray, ...]:
    """Design matrix and shape terms for decays ``exp(s)``.

    ``m``: (n,) or (P, n); ``s``: (P, q). Returns the transposed design ``Xt`` (P, p, n), one
    row per column (the layout the batched QR wants), and the terms the VarPro Jacobian needs:
    ``C1, dC1, dC2`` with ``dC/dlog tau = C - x e^{-x}`` (and ``dL/dlog tau = C``).
    """
    x1, e1, L1, C1 = _shape_terms(m, np.exp(s[:, :1]))
    cols = [np.ones_like(L1), L1, C1]
    dC1 = C1 - x1 * e1
    if nss:
        x2, e2, _, C2 = _shape_terms(m, np.exp(s[:, 1:2]))
        cols.append(C2)
        dC2 = C2 - x2 * e2
    else:
        dC2 = None
    return np.stack(cols, axis=1), C1, dC1, dC2


def _backsub(R: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve upper-triangular ``R x = b`` for a stack (P, p, p), (P, p); inf/nan if singular."""
    p = R.shape[-1]
    x = np.zeros_like(b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(p - 1, -1, -1):
            acc = b[:, k] - np.einsum("ij,ij->i", R[:, k, k + 1:], x[:, k + 1:])
            x[:, k] = acc / R[:, k, k]
    return x


def _forwardsub_T(R: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``R^T x = b`` (lower-triangular) for a stack."""
    p = R.shape[-1]
    x = np.zeros_like(b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(p):
            acc = b[:, k] - np.einsum("ij,ij->i", R[:, :k, k], x[:, :k])
            x[:, k] = acc / R[:, k, k]
    return x


def _rank_ok(Xt: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Whether every QR pivot is non-negligible relative to its column's norm.

    ``|R_kk| / |x_k|`` is the sine of the angle between column k and the span of the columns
    before it, so this catches ``tau1 == tau2`` and columns that vanish or coincide.
    """
    diag = np.abs(np.diagonal(R, axis1=-2, axis2=-1))
    norms = np.sqrt(np.einsum("...kn,...kn->...k", Xt, Xt))
    return (diag > _RANK_TOL * np.maximum(norms, 1e-300)).all(axis=-1)


def _qr_cgs2(Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thin QR of a stack of tall matrices given as ``Xt`` (P, p, N) = their transposes.

    Classical Gram-Schmidt with one reorthogonalisation ("twice is enough", Giraud et al.
    2005): orthogonal to machine precision for any numerically full-rank matrix, like
    Householder, but vectorised across the stack, which for p <= 4 beats one LAPACK call per
    matrix several-fold. Returns ``Qt`` (P, p, N) and upper-triangular ``R`` (P, p, p); a
    dependent column gives a zero pivot and non-finite ``Qt`` rows (caught by the caller).
    """
    P, p, N = Xt.shape
    Qt = np.empty_like(Xt)
    R = np.zeros((P, p, p))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(p):
            v = Xt[:, k, :].copy()
            for _ in range(2):
                for j in range(k):
                    c = np.einsum("ij,ij->i", Qt[:, j, :], v)
                    v -= c[:, None] * Qt[:, j, :]
                    R[:, j, k] += c
            nrm = np.sqrt(np.einsum("ij,ij->i", v, v))
            R[:, k, k] = nrm
            Qt[:, k, :] = v / nrm[:, None]
    return Qt, R


def _qt_apply(Qt: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Q^T v`` for a stack: (P, p, N), (P, N) -> (P, p)."""
    return np.stack([np.einsum("ij,ij->i", Qt[:, k, :], v) for k in range(Qt.shape[1])], axis=1)


def _q_apply(Qt: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``Q c`` for a stack: (P, p, N), (P, p) -> (P, N)."""
    out = c[:, :1] * Qt[:, 0, :]
    for k in range(1, Qt.shape[1]):
        out += c[:, k:k + 1] * Qt[:, k, :]
    return out


@dataclass
class _LSState:
    """Profiled least-squares solution at given decays, for a stack of problems."""

    Q: np.ndarray
    R: np.ndarray
    beta: np.ndarray
    r: np.ndarray
    rss: np.ndarray
    ok: np.ndarray
    C1: np.ndarray
    dC1: np.ndarray
    dC2: np.ndarray | None


def _ridge_cols(P: int, p: int, ridge: float) -> np.ndarray:
    """Ridge rows ``sqrt(ridge) [0 | I]`` of the augmented design, transposed: (P, p, p - 1).

    Every beta but the level is penalised (the level column stays unpenalised, so centring the
    data is still exact in the grid search).
    """
    E = np.zeros((p, p - 1))
    E[1:, :] = np.sqrt(ridge) * np.eye(p - 1)
    return np.broadcast_to(E, (P, p, p - 1))


def _solve_profile(m: np.ndarray, Y: np.ndarray, W: np.ndarray, s: np.ndarray,
                   nss: bool, ridge: float) -> _LSState:
    """Betas by QR least squares given ``log tau = s``, rows with ``W = 0`` (missing) ignored.

    With ``ridge > 0`` the system is augmented by ``sqrt(ridge) * beta_k = 0`` rows (k >= 1), so
    ``rss`` is the penalised objective and ``r`` the augmented residual (data rows first).
    """
    Xt, C1, dC1, dC2 = _design(m, s, nss)
    Xt = Xt * W[:, None, :]
    P, p, n = Xt.shape
    if ridge > 0:
        Xt = np.concatenate([Xt, _ridge_cols(P, p, ridge)], axis=2)
        Y = np.concatenate([Y, np.zeros((P, p - 1))], axis=1)
    Qt, R = _qr_cgs2(Xt)
    qy = _qt_apply(Qt, Y)
    ok = _rank_ok(Xt, R)
    beta = _backsub(R, qy)
    r = Y - _q_apply(Qt, qy)  # residual via Q: no cancellation in X beta
    rss = np.einsum("ij,ij->i", r, r)
    ok &= np.isfinite(beta).all(axis=1) & np.isfinite(rss)
    rss = np.where(ok, rss, np.inf)
    return _LSState(Qt, R, beta, r, rss, ok, C1, dC1, dC2)


def _varpro_jacobian(st: _LSState, W: np.ndarray, nss: bool) -> np.ndarray:
    """Golub-Pereyra Jacobian of the profiled residual ``r(s) = (I - P(s)) y`` w.r.t. ``log tau``.

    ``dr/ds_k = -P_perp dX_k beta - (X^+)^T dX_k^T r`` with ``(X^+)^T = Q R^{-T}``. The ridge
    rows do not depend on the decays, so only the data rows of ``dX_k`` are non-zero.
    """
    Qt, R, beta, r_aug = st.Q, st.R, st.beta, st.r
    P, p = beta.shape
    n = W.shape[1]
    N = r_aug.shape[1]
    r = r_aug[:, :n]
    cols = []
    # k = 1: dX/ds1 has columns [0, C1, dC1, 0]
    a = (beta[:, 1:2] * st.C1 + beta[:, 2:3] * st.dC1) * W
    v = np.zeros((P, p))
    v[:, 1] = np.einsum("ij,ij->i", st.C1 * W, r)
    v[:, 2] = np.einsum("ij,ij->i", st.dC1 * W, r)
    cols.append((a, v))
    if nss:
        a = beta[:, 3:4] * st.dC2 * W
        v = np.zeros((P, p))
        v[:, 3] = np.einsum("ij,ij->i", st.dC2 * W, r)
        cols.append((a, v))
    J = np.empty((P, N, len(cols)))
    for k, (a, v) in enumerate(cols):
        if N > n:
            a = np.concatenate([a, np.zeros((P, N - n))], axis=1)
        perp = a - _q_apply(Qt, _qt_apply(Qt, a))
        J[:, :, k] = -perp - _q_apply(Qt, _forwardsub_T(R, v))
    return J


@dataclass
class _PolishOut:
    s: np.ndarray
    beta: np.ndarray
    rss: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray


_STATE_FIELDS = ("Q", "R", "beta", "r", "rss", "ok", "C1", "dC1", "dC2")


def _take(st: _LSState, idx: np.ndarray) -> _LSState:
    return _LSState(*(None if getattr(st, f) is None else getattr(st, f)[idx]
                      for f in _STATE_FIELDS))


def _merge(cur: _LSState, trial: _LSState, take: np.ndarray) -> _LSState:
    """Rows of ``trial`` where ``take``, else rows of ``cur``."""
    out = []
    for f in _STATE_FIELDS:
        c, t = getattr(cur, f), getattr(trial, f)
        if c is None:
            out.append(None)
            continue
        mask = take.reshape((-1,) + (1,) * (c.ndim - 1))
        out.append(np.where(mask, t, c))
    return _LSState(*out)


def _varpro_lm(m: np.ndarray, Y: np.ndarray, W: np.ndarray, s0: np.ndarray, nss: bool,
               bounds: tuple[float, float], ridge: float, max_iter: int = 200,
               xtol: float = 1e-8, ftol: float = 1e-10, stall_window: int = 5,
               stall_atol: float = 1e-12) -> _PolishOut:
    """Levenberg-Marquardt on the profiled objective in ``log tau``, vectorised over problems.

    Each problem keeps its own damping; a trial is accepted only if it does not raise the
    (ridge-penalised) residual sum of squares. Components pushing out of the box at an active
    bound are frozen (projected LM). A problem has converged when an accepted step is below
    ``xtol`` (in log tau), its relative decrease below ``ftol``, the damping exceeds 1e12 (no
    descent left in floating point), or it stalls: over ``stall_window`` accepted steps the mean
    squared residual fell by less than ``stall_atol`` percent^2 (1e-12 = (1e-4 bp)^2, a
    hundredth of the GSW rounding noise) and by less than 0.1 % relative. The stall test ends the
    slow crawl along flat valleys (decays that the data barely identify), where LM would
    otherwise spend hundreds of iterations on changes far below the data's precision.
    Finished problems are dropped from the working arrays, so the cost follows the active set.
    """
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    P, q = s0.shape
    n_obs = np.maximum(W.sum(axis=1), 1.0)
    s_all = np.clip(s0, lo, hi).copy()
    st = _solve_profile(m, Y, W, s_all, nss, ridge)
    out = _PolishOut(s_all, st.beta.copy(), st.rss.copy(), np.zeros(P, bool), np.zeros(P, int))
    act = np.flatnonzero(st.ok)
    cur = _take(st, act)
    s, Ya, Wa = s_all[act], Y[act], W[act]
    lam = np.full(act.size, 1e-4)
    ref = cur.rss.copy()
    n_acc = np.zeros(act.size, dtype=int)
    eye = np.eye(q)
    for it in range(1, max_iter + 1):
        if act.size == 0:
            break
        J = _varpro_jacobian(cur, Wa, nss)
        A = np.matmul(J.transpose(0, 2, 1), J)
        g = np.matmul(J.transpose(0, 2, 1), cur.r[:, :, None])[:, :, 0]
        frozen = ((s <= lo + 1e-12) & (g > 0)) | ((s >= hi - 1e-12) & (g < 0))
        A = np.where(frozen[:, :, None] | frozen[:, None, :], 0.0, A) + frozen[:, :, None] * eye
        g = np.where(frozen, 0.0, g)
        dA = np.diagonal(A, axis1=1, axis2=2)
        damp = lam[:, None] * (dA + 1e-12 * dA.max(axis=1, keepdims=True)) + 1e-300
        step = -np.linalg.solve(A + damp[:, :, None] * eye, g[:, :, None])[:, :, 0]
        s_new = np.clip(s + step, lo, hi)
        trial = _solve_profile(m, Ya, Wa, s_new, nss, ridge)
        better = trial.ok & (trial.rss <= cur.rss)
        dec = np.where(better, cur.rss - trial.rss, 0.0)
        moved = np.abs(s_new - s).max(axis=1)
        old_rss = cur.rss
        cur = _merge(cur, trial, better)
        s = np.where(better[:, None], s_new, s)
        lam = np.where(better, np.maximum(lam / 3.0, 1e-12), lam * 2.0)
        done = better & ((moved < xtol) | (dec <= ftol * old_rss) | (cur.rss == 0))
        done |= lam > 1e12
        n_acc += better
        check = n_acc >= stall_window  # stall is judged on accepted steps, not rejections
        gain = ref - cur.rss
        done |= check & (gain <= stall_atol * n_obs[act]) & (gain <= 1e-3 * ref)
        ref = np.where(check, cur.rss, ref)
        n_acc = np.where(check, 0, n_acc)
        out.n_iter[act] = it
        if done.any() or it == max_iter:
            fin = done | (it == max_iter)
            ids = act[fin]
            out.s[ids], out.beta[ids], out.rss[ids] = s[fin], cur.beta[fin], cur.rss[fin]
            out.converged[ids] = done[fin]
            keep = ~fin
            act, s, Ya, Wa = act[keep], s[keep], Ya[keep], Wa[keep]
            lam, ref, n_acc = lam[keep], ref[keep], n_acc[keep]
            n_keep = np.flatnonzero(keep)
            cur = _take(cur, n_keep)
    return out


def _grid_bases(m_obs: np.ndarray, S: np.ndarray, nss: bool,
                ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases of every (ridge-augmented) grid design for one missingness pattern.

    Returns ``Q`` restricted to the data rows, (G, n, p), and whether each design has full rank.
    """
    Xt, *_ = _design(m_obs, S, nss)
    G, p, n = Xt.shape
    if ridge > 0:
        Xt = np.concatenate([Xt, _ridge_cols(G, p, ridge)], axis=2)
    Q, R = np.linalg.qr(Xt.transpose(0, 2, 1))
    return np.ascontiguousarray(Q[:, :n, :]), _rank_ok(Xt, R)


def _grid_rss(Yc: np.ndarray, Q: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Profiled RSS of each day (rows of centred ``Yc``) at each grid point: ``|y|^2 - |Q^T y|^2``.

    ``Q`` holds the data rows of the augmented bases, and the augmented target is ``[y; 0]``, so
    this is the ridge-penalised profiled objective. Centring is exact because the (unpenalised)
    constant column is in every design's span, and it shrinks ``|y|^2`` so the subtraction
    loses nothing at the rounding level of the data.
    """
    G, n, p = Q.shape
    Z = (Yc @ Q.transpose(0, 2, 1).reshape(G * p, n).T).reshape(len(Yc), G, p)
    proj = np.einsum("dgk,dgk->dg", Z, Z)
    rss = np.einsum("ij,ij->i", Yc, Yc)[:, None] - proj
    rss[:, ~valid] = np.inf
    return rss


def _grid_neighbours(S: np.ndarray, k: int = 8) -> np.ndarray:
    """Indices (G, k) of each grid point's ``k`` nearest other points (Euclidean, log tau)."""
    from scipy.spatial import cKDTree

    k = min(k, len(S) - 1)
    if k <= 0:
        return np.zeros((len(S), 0), dtype=int)
    _, idx = cKDTree(S).query(S, k=k + 1)
    return np.asarray(idx)[:, 1:]


def _axis_neighbours(S: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Masks (q, G, k): which of each point's neighbours lie along decay axis ``a`` only."""
    diff = np.abs(S[nbr] - S[:, None, :])  # (G, k, q)
    q = S.shape[1]
    out = np.zeros((q,) + nbr.shape, dtype=bool)
    for a in range(q):
        others = np.delete(diff, a, axis=2)
        out[a] = (diff[:, :, a] > 1e-12) & (others < 1e-12).all(axis=2)
    return out


def _valley_starts(rss: np.ndarray, nbr: np.ndarray, axis_nb: np.ndarray, k: int) -> np.ndarray:
    """Indices (d, k) of the best grid points on a valley floor: minima along one decay axis.

    Grid-local minima miss narrow curved valleys (the floor between two grid points slopes away
    on the grid, so no grid point in the valley is a 2-D local minimum), yet the valley's grid
    points are still minima along one axis. Used by the exhaustive searches, which can afford
    the many more starts this gives.
    """
    floor = np.zeros(rss.shape, dtype=bool)
    for a in range(axis_nb.shape[0]):
        nb_min = np.full_like(rss, np.inf)
        for j in range(nbr.shape[1]):
            vals = np.where(axis_nb[a, :, j], rss[:, nbr[:, j]], np.inf)
            np.minimum(nb_min, vals, out=nb_min)
        floor |= rss <= nb_min
    score = np.where(floor & np.isfinite(rss), rss, np.inf)
    k = min(k, rss.shape[1])
    part = np.argpartition(score, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(score, part, axis=1), axis=1)
    out = np.take_along_axis(part, order, axis=1)
    bad = ~np.isfinite(np.take_along_axis(score, out, axis=1))
    return np.where(bad, np.argmin(rss, axis=1)[:, None], out)


def _basin_starts(rss: np.ndarray, nbr: np.ndarray, k: int) -> np.ndarray:
    """Indices (d, k) of each day's ``k`` best grid-local minima of the profiled objective.

    Why local minima and not the k best points: the k best points usually sit in one wide,
    shallow basin, while the basin holding the global minimum can be narrow (on some GSW days it
    ranks only ~10th on the grid). Days with fewer than ``k`` local minima repeat their best.
    """
    nb_min = np.full_like(rss, np.inf)
    for j in range(nbr.shape[1]):
        np.minimum(nb_min, rss[:, nbr[:, j]], out=nb_min)
    score = np.where((rss <= nb_min) & np.isfinite(rss), rss, np.inf)
    k = min(k, rss.shape[1])
    part = np.argpartition(score, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(score, part, axis=1), axis=1)
    out = np.take_along_axis(part, order, axis=1)
    bad = ~np.isfinite(np.take_along_axis(score, out, axis=1))
    return np.where(bad, np.argmin(rss, axis=1)[:, None], out)


def _cond(m: np.ndarray, W: np.ndarray, s: np.ndarray, nss: bool) -> np.ndarray:
    """Condition number of the column-normalised (weighted, unpenalised) design."""
    Xt, *_ = _design(m, s, nss)
    Xt = Xt * W[:, None, :]
    Xt = Xt / np.maximum(np.linalg.norm(Xt, axis=2, keepdims=True), 1e-300)
    sv = np.linalg.svd(Xt, compute_uv=False)
    with np.errstate(divide="ignore"):
        return np.where(sv[:, -1] > 0, sv[:, 0] / sv[:, -1], np.inf)


@dataclass
class _ZeroFit:
    """Best profiled solution per day."""

    s: np.ndarray
    beta: np.ndarray
    rss: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    cond: np.ndarray


@dataclass
class _Search:
    """The grid search set-up shared by all days of a call.

    ``starts`` picks the start generator: ``"basin"`` (grid-local minima: few, for the fast
    panel pass) or ``"valley"`` (valley-floor points: many, for the exhaustive searches).
    ``screen_iter`` LM steps are given to every start before the best ``_KEEP`` are polished
    to convergence (0: polish every start).
    """

    S: np.ndarray
    nbr: np.ndarray
    axis_nb: np.ndarray | None
    bounds: tuple[float, float]
    ridge: float
    n_starts: int
    max_iter: int
    screen_iter: int
    starts: str
    bases: dict[bytes, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def pick(self, rss: np.ndarray) -> np.ndarray:
        """Start indices (d, n_starts) into ``S`` from the grid objective ``rss`` (d, G)."""
        if self.starts == "valley":
            return _valley_starts(rss, self.nbr, self.axis_nb, self.n_starts)
        return _basin_starts(rss, self.nbr, self.n_starts)


def _make_search(tau_grid: np.ndarray, nss: bool, bounds: tuple[float, float], ridge: float,
                 n_starts: int, max_iter: int, screen_iter: int = 6,
                 starts: str = "basin") -> _Search:
    S = _grid_points(tau_grid, nss, bounds)
    nbr = _grid_neighbours(S)
    axis_nb = _axis_neighbours(S, nbr) if starts == "valley" else None
    return _Search(S, nbr, axis_nb, bounds, ridge, n_starts, max_iter, screen_iter, starts)


#: The searches. Panel pass: 40 decays a side, the 10 best grid-local minima screened by 6 LM
#: steps. Single day (:func:`fit_nss`): 60 a side, the 200 best valley-floor points screened by
#: 10 steps. Rescue of a panel's outlying days (:func:`_rescue`): 100 a side, 400 valley
#: points. In each, the best ``_KEEP`` screened starts are polished to convergence.
_PANEL_GRID, _PANEL_STARTS, _PANEL_SCREEN = 40, 10, 6
_SINGLE_GRID, _SINGLE_STARTS, _SINGLE_SCREEN = 60, 200, 10
_RESCUE_GRID, _RESCUE_STARTS, _RESCUE_SCREEN = 100, 400, 10
_KEEP = 2
#: LM steps of the screening of extra starts (mirror image, neighbouring days).
_SCREEN_ITER = 6


def _try_starts(m: np.ndarray, Y: np.ndarray, W: np.ndarray, day: np.ndarray,
                s_start: np.ndarray, best: _PolishOut, nss: bool, sr: _Search) -> np.ndarray:
    """Try extra starts ``s_start`` for days ``day`` (repeats allowed); update ``best`` in place.

    Each start gets ``_SCREEN_ITER`` LM steps; only starts that already beat their day's best by
    more than 1e-8 relative (and 1e-14 percent^2 per observation, so equal fits never
    ping-pong) are polished to convergence. Returns the indices of the days that improved.
    """
    if day.size == 0:
        return day
    n_obs = W[day].sum(axis=1)
    pre = _varpro_lm(m, Y[day], W[day], s_start, nss, sr.bounds, sr.ridge,
                     max_iter=_SCREEN_ITER)
    thresh = best.rss[day] * (1 - 1e-8) - 1e-14 * n_obs
    cand = np.flatnonzero(pre.rss < thresh)
    if cand.size == 0:
        return cand
    out = _varpro_lm(m, Y[day[cand]], W[day[cand]], pre.s[cand], nss, sr.bounds, sr.ridge,
                     max_iter=sr.max_iter)
    dc = day[cand]
    gain = np.where(out.rss < thresh[cand], best.rss[dc] - out.rss, -np.inf)
    order = np.lexsort((-gain, dc))  # several candidates per day: the largest gain wins
    first = np.r_[True, dc[order][1:] != dc[order][:-1]]
    sel = order[first]
    sel = sel[np.isfinite(gain[sel])]
    upd = dc[sel]
    best.s[upd], best.beta[upd], best.rss[upd] = out.s[sel], out.beta[sel], out.rss[sel]
    best.converged[upd], best.n_iter[upd] = out.converged[sel], out.n_iter[sel]
    return upd


def _polish_multistart(m: np.ndarray, Y: np.ndarray, W: np.ndarray, s0: np.ndarray, k: int,
                       nss: bool, sr: _Search) -> _PolishOut:
    """Polish ``k`` starts per problem (``s0`` is (d*k, q), grouped by problem); keep the best.

    A few LM iterations on every start are enough to tell the basins apart (the global basin
    drops by orders of magnitude within ~5 steps); only the best two per problem are then
    iterated to convergence. Last, the mirror image ``(tau2, tau1)`` of the winner is tried:
    the two humps are interchangeable up to the slope term, and on some days the search
    settles in the mirrored basin of the right answer.
    """
    d = len(Y)
    rep = np.repeat(np.arange(d), k)
    if k > _KEEP and sr.screen_iter > 0:
        pre = _varpro_lm(m, Y[rep], W[rep], s0, nss, sr.bounds, sr.ridge,
                         max_iter=sr.screen_iter)
        keep = np.argsort(pre.rss.reshape(d, k), axis=1)[:, :_KEEP]
        s0 = pre.s.reshape(d, k, -1)[np.arange(d)[:, None], keep].reshape(d * _KEEP, -1)
        k = _KEEP
        rep = np.repeat(np.arange(d), k)
    out = _varpro_lm(m, Y[rep], W[rep], s0, nss, sr.bounds, sr.ridge, max_iter=sr.max_iter)
    pick = np.arange(d) * k + np.argmin(out.rss.reshape(d, k), axis=1)
    best = _PolishOut(out.s[pick], out.beta[pick], out.rss[pick], out.converged[pick],
                      out.n_iter[pick])
    if nss:
        _try_starts(m, Y, W, np.arange(d), best.s[:, ::-1].copy(), best, nss, sr)
    return best


def _fit_zero_batch(m: np.ndarray, Y: np.ndarray, M: np.ndarray, nss: bool,
                    sr: _Search) -> _ZeroFit:
    """Grid search + polish for days ``Y`` (d, n) with observed-mask ``M``; shared maturities.

    ``sr.bases`` caches the grid QR per missingness pattern across calls.
    """
    d, n = Y.shape
    W = M.astype(float)
    Y0 = np.where(M, Y, 0.0)
    k = min(sr.n_starts, len(sr.S))
    starts = np.empty((d, k), dtype=int)
    patterns, inverse = np.unique(M, axis=0, return_inverse=True)
    for pi, pat in enumerate(patterns):
        rows = np.flatnonzero(inverse.ravel() == pi)
        key = pat.tobytes()
        if key not in sr.bases:
            sr.bases[key] = _grid_bases(m[pat], sr.S, nss, sr.ridge)
        Q, valid = sr.bases[key]
        yp = Y[np.ix_(rows, np.flatnonzero(pat))]
        Yc = yp - yp.mean(axis=1, keepdims=True)
        starts[rows] = sr.pick(_grid_rss(Yc, Q, valid))
    out = _polish_multistart(m, Y0, W, sr.S[starts.ravel()], k, nss, sr)
    return _finish_zero(m, W, out, nss)


def _neighbour_sweeps(m: np.ndarray, Y0: np.ndarray, W: np.ndarray, fit: _PolishOut,
                      nss: bool, sr: _Search, todo: np.ndarray | None = None,
                      max_sweeps: int = 200) -> np.ndarray:
    """Warm starts from adjacent days, repeated until no day improves (panel only).

    Yield curves move little from one day to the next, so the previous and next day's decays
    are natural starts (GSW's own day-by-day estimation starts from the previous day). The first
    sweep tries both neighbours of every day; later sweeps only revisit the neighbours of days
    that improved, so a good basin found on one day propagates along a run of days where the
    grid search missed it. Updates ``fit`` in place; returns the mask of days that changed.
    """
    d = len(Y0)
    changed = np.zeros(d, bool)
    todo = np.arange(d) if todo is None else todo
    for _ in range(max_sweeps):
        if todo.size == 0 or d < 2:
            break
        day = np.r_[todo[todo > 0], todo[todo < d - 1]]
        src = np.r_[todo[todo > 0] - 1, todo[todo < d - 1] + 1]
        upd = _try_starts(m, Y0, W, day, fit.s[src].copy(), fit, nss, sr)
        if upd.size == 0:
            break
        changed[upd] = True
        nb = np.r_[upd - 1, upd + 1]
        todo = np.unique(nb[(nb >= 0) & (nb < d)])
    return changed


#: A day is re-fitted with the exhaustive search when its residual sum of squares exceeds this
#: multiple of the median over the surrounding days (see :func:`_rescue`).
_RESCUE_FACTOR = 2.0


def _rounding_variance(Y0: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Per day, the variance ``q^2 / 12`` of rounding the observed yields to their quantum.

    ``q`` is the largest power of ten (1 down to 1e-8 percent) of which every observed yield is
    an integer multiple; 0 when the day carries more digits than that. A fit cannot be expected
    to beat this.
    """
    var = np.zeros(len(Y0))
    undecided = np.ones(len(Y0), dtype=bool)
    for k in range(0, 9):
        q = 10.0**-k
        on_grid = np.all((np.abs(Y0 / q - np.round(Y0 / q)) < 1e-6) | (W == 0), axis=1)
        hit = undecided & on_grid
        var[hit] = q * q / 12.0
        undecided &= ~on_grid
    return var


def _rescue(m: np.ndarray, Y0: np.ndarray, W: np.ndarray, fit: _PolishOut, nss: bool,
            sr_strong: _Search, window: int = 10) -> np.ndarray:
    """Re-fit outlying days with the exhaustive search; update ``fit`` in place.

    A day is an outlier when its mean squared residual exceeds ``_RESCUE_FACTOR`` times both
    the median over the ``2 window + 1`` surrounding days and the variance of the day's own
    rounding (see :func:`_rounding_variance`): the data's precision is locally constant, so a
    fit far worse than its neighbours' and than its rounding is most likely a missed basin, not
    a harder curve. Those few days get the exhaustive search (``_RESCUE_*``: a finer grid and
    many valley-floor starts). Returns the indices of the days that improved.
    """
    mse = fit.rss / np.maximum(W.sum(axis=1), 1.0)
    med = pd.Series(mse).rolling(2 * window + 1, center=True, min_periods=1).median().to_numpy()
    floor = np.maximum(med, _rounding_variance(Y0, W))
    bad = np.flatnonzero((mse > _RESCUE_FACTOR * floor) & (mse > 1e-14))
    if bad.size == 0:
        return bad
    zf = _fit_zero_batch(m, Y0[bad], W[bad] > 0, nss, sr_strong)
    better = zf.rss < fit.rss[bad] * (1 - 1e-8)
    upd = bad[better]
    fit.s[upd], fit.beta[upd], fit.rss[upd] = zf.s[better], zf.beta[better], zf.rss[better]
    fit.converged[upd], fit.n_iter[upd] = zf.converged[better], zf.n_iter[better]
    return upd


def _finish_zero(m: np.ndarray, W: np.ndarray, out: _PolishOut, nss: bool) -> _ZeroFit:
    """Attach the design condition number to the polished solutions.

    The betas from the QR solve stand: rank deficiency is flagged, not "repaired".
    """
    cond = _cond(m, W, out.s, nss)
    return _ZeroFit(out.s, out.beta, out.rss, out.converged, out.n_iter, cond)


# ------------------------------------------------------------------------------- par fitting


def _approx_zero_from_par(m: np.ndarray, par: np.ndarray) -> np.ndarray:
    """Bootstrapped zero yields (percent, continuous) from par yields: the par-fit start.

    Bills are exact (``D = 1/(1 + c m)``); for coupon bonds the par curve is interpolated
    linearly in maturity on the half-year grid (flat beyond the ends) and discount factors are
    bootstrapped half-year by half-year. It is an approximation only through that interpolation.
    """
    order = np.argsort(m)
    ms, cs = m[order], par[order] / 100.0
    z = np.empty_like(ms)
    bill = ms < 0.5
    z[bill] = np.log1p(cs[bill] * ms[bill]) / ms[bill]
    if (~bill).any():
        grid = 0.5 * np.arange(1, int(np.ceil(2 * ms.max() - 1e-9)) + 1)
        c = np.interp(grid, ms, cs)
        D = np.empty_like(grid)
        annuity = 0.0
        for i, ci in enumerate(c):
            D[i] = (1.0 - 0.5 * ci * annuity) / (1.0 + 0.5 * ci)
            annuity += D[i]
        logD = np.interp(ms[~bill], grid, np.log(D))
        z[~bill] = -logD / ms[~bill]
    out = np.empty_like(z)
    out[order] = 100.0 * z
    return out


def _par_model(x: np.ndarray, times: np.ndarray, A: np.ndarray, idx: np.ndarray,
               nss: bool) -> tuple[np.ndarray, np.ndarray]:
    """Par yields (percent) and their Jacobian w.r.t. ``[betas..., log taus...]``."""
    s = x[None, -2:] if nss else x[None, -1:]
    Xt, C1, dC1, dC2 = _design(times, s, nss)
    X, C1, dC1 = Xt[0].T, C1[0], dC1[0]
    beta = x[: X.shape[1]]
    y = X @ beta / 100.0
    D = np.exp(-times * y)
    # dy/dparams at each cash-flow time (decimal units)
    dy = [X[:, j] / 100.0 for j in range(X.shape[1])]
    dy.append((beta[1] * C1 + beta[2] * dC1) / 100.0)
    if nss:
        dy.append(beta[3] * dC2[0] / 100.0)
    dD = -(times * D)[:, None] * np.column_stack(dy)
    num = 1.0 - D[idx]
    den = A @ D
    par = 100.0 * num / den
    jac = 100.0 * (-dD[idx] / den[:, None] - (num / den**2)[:, None] * (A @ dD))
    return par, jac


#: Grid-local minima of the profiled par objective polished by least squares.
_PAR_STARTS = 6
#: Gauss-Newton steps on the betas per grid point when profiling the par objective.
_PAR_GN_STEPS = 4


def _par_grid_objective(m: np.ndarray, par: np.ndarray, z0: np.ndarray, S: np.ndarray,
                        nss: bool, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Par objective on the grid, the betas profiled out by Gauss-Newton. Returns (rss, beta).

    Par yields are a smooth, nearly linear function of the betas at fixed decays (a weighted
    average of forward rates), so the profile approach carries over: start every grid point
    from the least-squares betas of the bootstrapped zero curve ``z0`` and take a few
    Gauss-Newton steps on the par residuals (vectorised over the grid; normal equations with
    the ridge, which is accurate enough to rank grid points).
    """
    G = len(S)
    p = 4 if nss else 3
    times, A, idx = _par_structure(m)
    beta = _solve_profile(m, np.repeat(z0[None], G, 0), np.ones((G, m.size)), S, nss,
                          ridge).beta
    Xt, *_ = _design(times, S, nss)  # (G, p, T)
    reg = ridge * np.diag(np.r_[0.0, np.ones(p - 1)]) + 1e-14 * np.eye(p)

    def model(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = np.einsum("gpt,gp->gt", Xt, b) / 100.0
        D = np.exp(-times * y)
        num = 1.0 - D[:, idx]
        den = D @ A.T
        dD = -(times * D)[:, None, :] * Xt / 100.0  # (G, p, T)
        jac = 100.0 * (-dD[:, :, idx] / den[:, None, :]
                       - (num / den**2)[:, None, :] * (dD @ A.T))  # (G, p, n)
        return 100.0 * num / den, jac

    with np.errstate(all="ignore"):
        for _ in range(_PAR_GN_STEPS):
            fit, jac = model(beta)
            r = par - fit
            lhs = np.matmul(jac, jac.transpose(0, 2, 1)) + reg
            rhs = np.einsum("gpn,gn->gp", jac, r) - (reg @ beta.T).T
            try:
                beta = beta + np.linalg.solve(lhs, rhs[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:  # a singular grid design: leave the betas as they are
                break
        fit, _ = model(beta)
        rss = np.sum((par - fit) ** 2, axis=1) + ridge * np.sum(beta[:, 1:] ** 2, axis=1)
    rss = np.where(np.isfinite(rss), rss, np.inf)
    return rss, beta


def _fit_par(m: np.ndarray, par: np.ndarray, nss: bool,
             sr: _Search) -> tuple[np.ndarray, float, bool, str, int]:
    """Nonlinear least squares on par yields, started from the best basins of the profiled grid.

    Returns ``(x, sse, converged, message, nfev)`` with ``x = [betas..., log taus...]`` and
    ``sse`` the (unpenalised) sum of squared par-yield residuals, percent squared.
    """
    z0 = _approx_zero_from_par(m, par)
    n = m.size
    grid_rss, grid_beta = _par_grid_objective(m, par, z0, sr.S, nss, sr.ridge)
    first = np.unique(_basin_starts(grid_rss[None], sr.nbr, _PAR_STARTS)[0])
    first = first[np.argsort(grid_rss[first])]
    times, A, idx = _par_structure(m)
    nb = 4 if nss else 3
    q = 2 if nss else 1
    lo = np.r_[np.full(nb, -np.inf), np.full(q, np.log(sr.bounds[0]))]
    hi = np.r_[np.full(nb, np.inf), np.full(q, np.log(sr.bounds[1]))]
    sq = np.sqrt(sr.ridge)
    ridge_jac = np.zeros((nb - 1, nb + q))
    ridge_jac[:, 1:nb] = sq * np.eye(nb - 1)

    cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def model(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = x.tobytes()  # least_squares asks for fun and jac at the same point: compute once
        if key not in cache:
            cache.clear()
            cache[key] = _par_model(x, times, A, idx, nss)
        return cache[key]

    def fun(x: np.ndarray) -> np.ndarray:
        return np.r_[model(x)[0] - par, sq * x[1:nb]]

    def jac(x: np.ndarray) -> np.ndarray:
        return np.vstack([model(x)[1], ridge_jac])

    # each start briefly (a loose tolerance tells the basins apart), then the best one tightly
    trials = []
    for j in first:
        if not np.isfinite(grid_rss[j]):
            continue
        x0 = np.r_[grid_beta[j], np.clip(sr.S[j], lo[-q:] + 1e-12, hi[-q:] - 1e-12)]
        res = least_squares(fun, x0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac",
                            ftol=1e-6, xtol=1e-6, gtol=1e-10, max_nfev=20 * (len(x0) + 1))
        if np.isfinite(res.cost):
            trials.append(res)
    if not trials:
        raise ConvergenceError("par fit: no start gave a finite objective")
    x0 = min(trials, key=lambda r: r.cost).x
    res = least_squares(fun, x0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac",
                        ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=100 * (len(x0) + 1))
    data = res.fun[:n]
    return res.x, float(data @ data), bool(res.status > 0), str(res.message), int(res.nfev)


# ------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class NSSFitResult:
    """One day's fitted NSS (or NS) curve.

    Attributes
    ----------
    params
        ``beta0..beta3, tau1, tau2`` (NS: ``beta0..beta2, tau1``), GSW convention (percent, years).
    fitted, residuals
        Model and ``observed - model`` yields (percent) at the observed maturities, on the scale
        that was fitted (zero or par yields); missing tenors are absent.
    rmse_bp
        Root mean squared residual in basis points.
    kind, model
        What was fitted.
    n_obs
        Number of observed maturities used.
    objective
        Sum of squared residuals, percent squared.
    cond
        Condition number of the column-normalised design ``[1, L(tau1), C(tau1), C(tau2)]`` at
        the solution: the betas are uncertain by roughly (data error) x cond.
    rank_deficient
        ``cond > 1e10``: the betas are not identified; the fitted curve is still valid, the
        individual betas are not (only ``ridge=0`` can get there: the default ridge keeps the
        design away from exact collinearity).
    converged
        Whether the polish met its tolerance.
    flags
        Human-readable warnings (rank deficiency, decay at a bound, non-convergence, zero
        degrees of freedom, unidentified ``tau2``).
    """

    params: pd.Series
    fitted: pd.Series
    residuals: pd.Series
    rmse_bp: float
    kind: str
    model: str
    n_obs: int
    objective: float
    cond: float
    rank_deficient: bool
    converged: bool
    flags: tuple[str, ...] = field(default_factory=tuple)
    n_iter: int = 0

    def yield_curve(self, m: Any) -> np.ndarray:
        """Continuously compounded zero yields (percent) at maturities ``m`` (years)."""
        return nss_zero(m, self.params)

    def discount(self, m: Any) -> np.ndarray:
        """Discount factors at maturities ``m`` (years)."""
        return nss_discount(m, self.params)

    def forward(self, m: Any) -> np.ndarray:
        """Instantaneous forward rates (percent, continuous) at maturities ``m`` (years)."""
        return nss_forward(m, self.params)

    def par_yield(self, m: Any) -> np.ndarray:
        """Par yields (percent, bond-equivalent) at maturities ``m``; see :func:`nss_par`."""
        return nss_par(m, self.params)

    def summary(self) -> str:
        """A short text report: parameters, fit quality, diagnostics."""
        lines = [
            f"{self.model.upper()} fit to {self.kind} yields: {self.n_obs} maturities "
            f"({self.fitted.index.min():g}y..{self.fitted.index.max():g}y)",
            "  " + "  ".join(f"{k}={v:.6g}" for k, v in self.params.items()),
            f"  RMSE {self.rmse_bp:.4f} bp, max |residual| "
            f"{1e2 * np.abs(self.residuals).max():.4f} bp, SSE {self.objective:.3e} (%^2)",
            f"  design condition number {self.cond:.3g}; converged={self.converged}, "
            f"iterations={self.n_iter}",
        ]
        lines += [f"  WARNING: {f}" for f in self.flags]
        return "\n".join(lines)


@dataclass(frozen=True)
class NSSPanelResult:
    """Fits of many days at once (:func:`fit_nss_panel`).

    Attributes
    ----------
    params
        One row per day, columns ``beta0..tau2`` (NaN for days that could not be fitted).
    fitted, residuals
        Model yields at every maturity, and ``observed - model`` (NaN where not observed), percent.
    diagnostics
        Per day: ``n_obs``, ``rmse_bp``, ``max_abs_bp``, ``cond``, ``rank_deficient``,
        ``tau_at_bound``, ``converged``, ``n_iter`` and ``status`` (``"ok"``, ``"flagged"`` or
        ``"insufficient"`` for days with fewer observations than parameters).
    kind, model
        What was fitted.
    """

    params: pd.DataFrame
    fitted: pd.DataFrame
    residuals: pd.DataFrame
    diagnostics: pd.DataFrame
    kind: str
    model: str

    @property
    def rmse_bp(self) -> pd.Series:
        """Per-day RMSE in basis points."""
        return self.diagnostics["rmse_bp"]

    def day(self, date: Any) -> pd.Series:
        """Parameters of one day."""
        return self.params.loc[date]


# ---------------------------------------------------------------------------- public fitters


def _validate_bounds(tau_bounds: tuple[float, float] | None) -> tuple[float, float]:
    b = DEFAULT_TAU_BOUNDS if tau_bounds is None else tau_bounds
    arr = check_array(b, name="tau_bounds", shape=(2,))
    if not (0 < arr[0] < arr[1]):
        raise DataValidationError("tau-bounds", f"need 0 < lower < upper, got {tuple(arr)}")
    return float(arr[0]), float(arr[1])


def _validate_ridge(ridge: float) -> float:
    r = float(ridge)
    if not (np.isfinite(r) and r >= 0):
        raise DataValidationError("ridge", f"ridge must be finite and >= 0, got {ridge!r}")
    return r


def _validate_grid(tau_grid: Any, bounds: tuple[float, float]) -> np.ndarray:
    if tau_grid is None:
        return default_tau_grid(bounds)
    g = check_array(tau_grid, name="tau_grid", ndim=1)
    if g.size < 2 or (g <= 0).any():
        raise DataValidationError("tau-grid", "tau_grid needs >= 2 strictly positive decays")
    return np.unique(np.clip(g, *bounds))


def _flags(row: Mapping[str, Any], nss: bool, n_params: int) -> list[str]:
    out = []
    if row["rank_deficient"]:
        out.append(f"rank-deficient design (cond {row['cond']:.2g}): the curve is fitted but "
                   "the betas are not identified (only combinations of them are)")
    elif row["cond"] > _COND_WEAK:
        out.append(f"ill-conditioned design (cond {row['cond']:.2g}): the curve is fine, the "
                   "individual betas are not identified")
    if row["tau_at_bound"]:
        out.append("a decay sits at its bound: widen tau_bounds if the fit is poor")
    if not row["converged"]:
        out.append("polish did not meet its tolerance within max_iter")
    if row["n_obs"] == n_params:
        out.append("as many parameters as observations: the curve interpolates, RMSE is 0")
    if nss and row.get("tau2_unidentified", False):
        out.append("beta3 ~ 0: tau2 is not identified (an NS curve inside the NSS family)")
    return out


def fit_nss(
    maturities: Any,
    yields: Any,
    *,
    kind: Kind = "zero",
    model: Model = "nss",
    tau_grid: Any = None,
    tau_bounds: tuple[float, float] | None = None,
    n_starts: int = _SINGLE_STARTS,
    max_iter: int = 200,
    ridge: float = DEFAULT_RIDGE,
) -> NSSFitResult:
    """Fit a Nelson-Siegel-Svensson (or Nelson-Siegel) curve to one day's yields.

    Parameters
    ----------
    maturities
        Maturities in years, strictly positive, finite.
    yields
        Yields in percent, same length; NaN marks a missing tenor (dropped, not imputed).
        ``kind="zero"``: continuously compounded zero yields (GSW ``SVENY``). ``kind="par"``:
        bond-equivalent par yields of semiannual bonds (bills below 6 months; see
        :func:`nss_par`).
    kind
        ``"zero"`` or ``"par"``.
    model
        ``"nss"`` (6 parameters) or ``"ns"`` (4 parameters).
    tau_grid
        Decays (years) spanning each axis of the search grid; default 60 log-spaced values over
        ``tau_bounds``.
    tau_bounds
        Box for both decays, default :data:`DEFAULT_TAU_BOUNDS`.
    n_starts
        Number of grid points on valley floors (minima along one decay axis; best first) each
        given a few LM steps; the best two are polished to convergence.
    max_iter
        Iteration cap of the polish.
    ridge
        Tikhonov weight on ``beta1..beta3`` (see :data:`DEFAULT_RIDGE`); 0 disables it.

    Returns
    -------
    NSSFitResult

    Raises
    ------
    DataValidationError
        Non-finite or non-positive maturities, infinite yields, mismatched lengths, or fewer
        observed maturities than parameters (``InsufficientDataError``).
    ConvergenceError
        If no start yields a finite objective.

    Notes
    -----
    Zero yields: variable projection (betas by least squares given the decays), a 60 x 60 grid
    search over ``(tau1, tau2)``, ``n_starts`` valley-floor grid points screened by a vectorised
    LM and the best polished to convergence, then the winner's mirror image (see the module
    docstring); about 50-100 ms. Par yields are nonlinear in the betas, so the profile is
    taken by a few Gauss-Newton steps per grid point, started from the least-squares betas of
    the zero curve bootstrapped from the par quotes; the best grid basins are then polished by
    :func:`scipy.optimize.least_squares` on the par residuals (analytic Jacobian). Maturities
    below 6 months are bills on the bond-equivalent simple-yield basis (see :func:`nss_par`).
    A single day cannot borrow its neighbours' solutions: on a handful of the hardest GSW days
    (1 in 170 of the known-hard ones) it stops ~0.01 bp short, which :func:`fit_nss_panel`
    does not.
    """
    _check_kind(kind)
    nss = _check_model(model)
    m = check_array(maturities, name="maturities", ndim=1)
    y = check_array(yields, name="yields", ndim=1, allow_nan=True)
    if m.shape != y.shape:
        raise DataValidationError(
            "shape", f"maturities ({m.size}) and yields ({y.size}) differ in length"
        )
    if (m <= 0).any():
        raise DataValidationError(
            "positive", "maturities must be strictly positive (years)",
            row=int(np.flatnonzero(m <= 0)[0]),
        )
    obs = np.isfinite(y)
    n_params = len(NSS_PARAMS if nss else NS_PARAMS)
    if obs.sum() < n_params:
        raise InsufficientDataError(
            "min-obs", f"{model.upper()} has {n_params} parameters but only {int(obs.sum())} "
            "maturities are observed"
        )
    bounds = _validate_bounds(tau_bounds)
    grid = default_tau_grid(bounds, _SINGLE_GRID) if tau_grid is None else tau_grid
    sr = _make_search(_validate_grid(grid, bounds), nss, bounds, _validate_ridge(ridge),
                      _validate_count(n_starts, "n_starts"), _validate_count(max_iter, "max_iter"),
                      _SINGLE_SCREEN, "valley")
    mo, yo = m[obs], y[obs]
    if kind == "zero":
        zf = _fit_zero_batch(mo, yo[None], np.ones((1, mo.size), bool), nss, sr)
        if not np.isfinite(zf.rss[0]):
            raise ConvergenceError("zero fit: no start gave a finite objective")
        x = np.r_[zf.beta[0], np.exp(zf.s[0])]
        converged, n_iter = bool(zf.converged[0]), int(zf.n_iter[0])
    else:
        xr, _, converged, _, n_iter = _fit_par(mo, yo, nss, sr)
        q = 2 if nss else 1
        x = np.r_[xr[:-q], np.exp(xr[-q:])]
    return _make_result(mo, yo, x, kind, model, converged, n_iter, bounds)


def _validate_count(v: int, name: str) -> int:
    if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
        raise DataValidationError(name, f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _make_result(mo: np.ndarray, yo: np.ndarray, x: np.ndarray, kind: str, model: str,
                 converged: bool, n_iter: int, bounds: tuple[float, float]) -> NSSFitResult:
    """Assemble the result and its diagnostics from the fitted parameter vector ``x``."""
    nss = model == "nss"
    names = NSS_PARAMS if nss else NS_PARAMS
    q = 2 if nss else 1
    cond = float(_cond(mo, np.ones((1, mo.size)), np.log(x[None, -q:]), nss)[0])
    params = pd.Series(x, index=list(names), name="params")
    fit = nss_zero(mo, params) if kind == "zero" else nss_par(mo, params)
    idx = pd.Index(mo, name="maturity")
    fitted = pd.Series(fit, index=idx, name="fitted")
    resid = pd.Series(yo - fit, index=idx, name="residual")
    sse = float(resid @ resid)
    taus = x[-q:]
    row = {
        "rank_deficient": cond > _COND_FLAG, "cond": cond, "converged": converged,
        "tau_at_bound": bool(np.any(np.isclose(taus, bounds[0], rtol=1e-9))
                             or np.any(np.isclose(taus, bounds[1], rtol=1e-9))),
        "n_obs": int(mo.size),
        "tau2_unidentified": nss and _tau2_unidentified(mo, x, resid.to_numpy()),
    }
    return NSSFitResult(
        params=params, fitted=fitted, residuals=resid,
        rmse_bp=100.0 * float(np.sqrt(sse / mo.size)), kind=kind, model=model,
        n_obs=int(mo.size), objective=sse, cond=cond, rank_deficient=row["rank_deficient"],
        converged=converged, flags=tuple(_flags(row, nss, len(names))), n_iter=n_iter,
    )


def _tau2_unidentified(m: np.ndarray, x: np.ndarray, resid: np.ndarray) -> bool:
    """Whether moving ``tau2`` by a factor e changes the curve by less than the residual level."""
    _, _, _, C2 = _shape_terms(m, x[5])
    x2, e2, _, _ = _shape_terms(m, x[5])
    effect = np.abs(x[3] * (C2 - x2 * e2)).max()
    return bool(effect < max(1e-6, 0.1 * np.sqrt(np.mean(resid**2))))


def _panel_maturities(data: pd.DataFrame, maturities: Any) -> np.ndarray:
    if maturities is None:
        m = np.array([tenor_years(c) for c in data.columns])
    else:
        m = check_array(maturities, name="maturities", ndim=1)
    if m.size != data.shape[1]:
        raise DataValidationError(
            "shape", f"{m.size} maturities for {data.shape[1]} yield columns"
        )
    if (m <= 0).any():
        raise DataValidationError("positive", "maturities must be strictly positive (years)")
    return m


def fit_nss_panel(
    data: pd.DataFrame,
    maturities: Any = None,
    *,
    kind: Kind = "zero",
    model: Model = "nss",
    tau_grid: Any = None,
    tau_bounds: tuple[float, float] | None = None,
    n_starts: int = _PANEL_STARTS,
    max_iter: int = 200,
    ridge: float = DEFAULT_RIDGE,
    chunk_days: int = 1000,
    neighbour_starts: bool = True,
    rescue: bool = True,
    progress: bool | Callable[[Iterable[Any]], Iterable[Any]] = False,
) -> NSSPanelResult:
    """Fit NSS (or NS) curves to every day (row) of a yield panel.

    Parameters
    ----------
    data
        Yields in percent, one row per day (increasing, unique index), one column per maturity;
        NaN = not observed that day (dropped for that day, never imputed).
    maturities
        Maturity in years of each column; by default read from the column labels
        (``SVENY05`` -> 5, ``"3 Mo"`` -> 0.25, ``"10 Yr"`` -> 10, see :func:`tenor_years`).
    kind, model, tau_bounds, max_iter, ridge
        As in :func:`fit_nss`.
    tau_grid
        Axis of the search grid; default 40 log-spaced decays over ``tau_bounds`` (the
        per-day search is lighter than :func:`fit_nss`'s: the panel adds warm starts from the
        neighbouring days and a rescue pass instead).
    n_starts
        Grid-local minima per day screened by a few LM steps (the best two are polished).
    chunk_days
        Days per batch (memory: about ``chunk_days x grid size x 4`` doubles at once).
    neighbour_starts
        Also start each day from its neighbours' solutions, sweeping until nothing improves.
    rescue
        Re-fit, with an exhaustive search (finer grid, more starts than :func:`fit_nss`), the
        days whose fit is far worse than that of the surrounding days (zero yields only).
    progress
        ``True`` for a tqdm bar, or a callable wrapping an iterable (e.g. a configured tqdm).

    Returns
    -------
    NSSPanelResult
        Days with fewer observed maturities than parameters get NaN parameters and status
        ``"insufficient"``; no exception is raised for them.

    Notes
    -----
    Zero yields are fully vectorised: per batch of days the grid search is one matrix product
    per missingness pattern (the grid designs' orthonormal bases are computed once per pattern)
    and the polish is one LM loop over all (day, start) problems. Then (i) every day is also
    started from its neighbours' decays, repeatedly, so a basin found on one day propagates
    along a run of days, and (ii) days whose residuals stand out from their neighbours' are
    re-fitted with the exhaustive search. On the GSW file this reproduces every day to within
    its rounding (see ``benchmarks/nss_fit.py``). ``kind="par"`` is a loop over days (par
    yields are nonlinear in the betas; roughly 20-50 ms per day).
    """
    _check_kind(kind)
    nss = _check_model(model)
    df = check_timeseries(data, name="yields", allow_nan=True, datetime_index=False)
    m = _panel_maturities(df, maturities)
    bounds = _validate_bounds(tau_bounds)
    grid = _validate_grid(tau_grid, bounds)
    sr = _make_search(grid, nss, bounds, _validate_ridge(ridge),
                      _validate_count(n_starts, "n_starts"), _validate_count(max_iter, "max_iter"),
                      _PANEL_SCREEN, "basin")
    names = list(NSS_PARAMS if nss else NS_PARAMS)
    n_params = len(names)
    Y = df.to_numpy()
    M = np.isfinite(Y)
    fit_rows = np.flatnonzero(M.sum(axis=1) >= n_params)
    D, n = Y.shape
    params = np.full((D, n_params), np.nan)
    diag = {
        "n_obs": M.sum(axis=1), "cond": np.full(D, np.nan),
        "converged": np.zeros(D, bool), "n_iter": np.zeros(D, int),
    }
    wrap = _progress_wrapper(progress)
    chunks = [fit_rows[i:i + chunk_days] for i in range(0, fit_rows.size, max(chunk_days, 1))]
    fitted = np.full((D, n), np.nan)
    if kind == "zero" and fit_rows.size:
        q = 2 if nss else 1
        s_fit = np.empty((fit_rows.size, q))
        beta_fit = np.empty((fit_rows.size, n_params - q))
        rss_fit = np.empty(fit_rows.size)
        conv_fit = np.empty(fit_rows.size, bool)
        iter_fit = np.empty(fit_rows.size, int)
        for lo in wrap(range(0, fit_rows.size, max(chunk_days, 1))):
            sl = slice(lo, lo + max(chunk_days, 1))
            rows = fit_rows[sl]
            zf = _fit_zero_batch(m, Y[rows], M[rows], nss, sr)
            s_fit[sl], beta_fit[sl], rss_fit[sl] = zf.s, zf.beta, zf.rss
            conv_fit[sl], iter_fit[sl] = zf.converged, zf.n_iter
        Y0 = np.where(M[fit_rows], Y[fit_rows], 0.0)
        W = M[fit_rows].astype(float)
        fit = _PolishOut(s_fit, beta_fit, rss_fit, conv_fit, iter_fit)
        if neighbour_starts:
            _neighbour_sweeps(m, Y0, W, fit, nss, sr)
        if rescue:
            strong = _make_search(default_tau_grid(bounds, _RESCUE_GRID), nss, bounds,
                                  sr.ridge, _RESCUE_STARTS, max_iter, _RESCUE_SCREEN, "valley")
            upd = _rescue(m, Y0, W, fit, nss, strong)
            if neighbour_starts and upd.size:
                nb = np.r_[upd - 1, upd + 1]
                _neighbour_sweeps(m, Y0, W, fit, nss, sr,
                                  todo=np.unique(nb[(nb >= 0) & (nb < len(Y0))]))
        zf = _finish_zero(m, W, fit, nss)
        params[fit_rows] = np.column_stack([zf.beta, np.exp(zf.s)])
        diag["cond"][fit_rows] = zf.cond
        diag["converged"][fit_rows] = zf.converged
        diag["n_iter"][fit_rows] = zf.n_iter
        Xt, *_ = _design(m, zf.s, nss)
        fitted[fit_rows] = np.einsum("pkn,pk->pn", Xt, zf.beta)
    elif kind == "par":
        q = 2 if nss else 1
        for rows in wrap(chunks):
            for r in rows:
                ok = M[r]
                xr, _, conv, _, it = _fit_par(m[ok], Y[r, ok], nss, sr)
                params[r] = np.r_[xr[:-q], np.exp(xr[-q:])]
                diag["cond"][r] = _cond(m[ok], np.ones((1, ok.sum())), xr[None, -q:], nss)[0]
                diag["converged"][r], diag["n_iter"][r] = conv, it
                fitted[r] = nss_par(m, params[r])
    resid = np.where(M, Y - fitted, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = 100.0 * np.sqrt(np.sum(np.where(M, resid, 0.0) ** 2, axis=1) / M.sum(axis=1))
        maxabs = 100.0 * np.max(np.abs(np.where(M, resid, 0.0)), axis=1)
    rmse[diag["n_obs"] < n_params] = np.nan
    maxabs[diag["n_obs"] < n_params] = np.nan
    taus = params[:, -2:] if nss else params[:, -1:]
    at_bound = (np.isclose(taus, bounds[0], rtol=1e-9) | np.isclose(taus, bounds[1], rtol=1e-9))
    rank_def = diag["cond"] > _COND_FLAG
    status = np.where(diag["n_obs"] < n_params, "insufficient",
                      np.where(rank_def | ~diag["converged"], "flagged", "ok"))
    idx = df.index
    diagnostics = pd.DataFrame({
        "n_obs": diag["n_obs"], "rmse_bp": rmse, "max_abs_bp": maxabs, "cond": diag["cond"],
        "rank_deficient": rank_def, "ill_conditioned": diag["cond"] > _COND_WEAK,
        "tau_at_bound": at_bound.any(axis=1), "converged": diag["converged"],
        "n_iter": diag["n_iter"], "status": status,
    }, index=idx)
    return NSSPanelResult(
        params=pd.DataFrame(params, index=idx, columns=names),
        fitted=pd.DataFrame(fitted, index=idx, columns=df.columns),
        residuals=pd.DataFrame(resid, index=idx, columns=df.columns),
        diagnostics=diagnostics, kind=kind, model=model,
    )


def _progress_wrapper(progress: Any) -> Callable[[Iterable[Any]], Iterable[Any]]:
    if callable(progress):
        return progress
    if progress:
        from tqdm.auto import tqdm

        return lambda it: tqdm(it, desc="NSS fit (batches)", unit="batch")
    return lambda it: it
