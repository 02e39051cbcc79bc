"""The public NSS fitters: :func:`fit_nss` (one day) and :func:`fit_nss_panel` (a panel)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from baselines.nss.par import _fit_par
from baselines.nss.results import NSSFitResult, NSSPanelResult
from baselines.nss.search import (
    _PANEL_SCREEN,
    _PANEL_STARTS,
    _RESCUE_GRID,
    _RESCUE_SCREEN,
    _RESCUE_STARTS,
    _SINGLE_GRID,
    _SINGLE_SCREEN,
    _SINGLE_STARTS,
    DEFAULT_TAU_BOUNDS,
    _make_search,
    default_tau_grid,
)
from baselines.nss.varpro import _cond, _design, _PolishOut
from baselines.nss.zero import _finish_zero, _fit_zero_batch, _neighbour_sweeps, _rescue
from hybridrisk.checks import check_array, check_timeseries
from hybridrisk.errors import (
    ConfigError,
    ConvergenceError,
    DataValidationError,
    InsufficientDataError,
)
from hybridrisk.kernels.nss import (
    NS_PARAMS,
    PARAM_NAMES,
    maturities_from_columns,
    nss_par,
    nss_zero,
    shape_terms,
)

__all__ = ["fit_nss", "fit_nss_panel", "DEFAULT_RIDGE"]


#: Tikhonov weight on ``beta1..beta3`` added to the sum of squared residuals (percent^2). When
#: the best fit is the confluent limit ``tau2 -> tau1`` (beta2 = -beta3 -> infinity, the two
#: humps merging into a hump's derivative), the unpenalised objective is flat to rounding along
#: that valley and the betas are not determined; this tiny ridge picks a point of the valley
#: with betas of a few hundred. It costs the confluent GSW days < 1e-4 bp of RMSE, and on an
#: exactly-NSS curve with ``beta2 = -300, beta3 = 302`` it biases the betas by ~4e-5 relative.
#: ``ridge=0`` disables it (exact recovery, but divergent betas on confluent days).
DEFAULT_RIDGE: float = 1e-16


#: Condition number (column-normalised design) above which a day is flagged rank deficient: the
#: betas are then determined only up to (rounding error) x cond, i.e. not at all.
_COND_FLAG = 1e10
#: Above this condition number the individual betas are flagged as weakly identified: with the
#: GSW rounding (~3e-5 percent RMS) they are uncertain by more than ~1 percent point.
_COND_WEAK = 1e6

Kind = Literal["zero", "par"]
Model = Literal["nss", "ns"]


def _check_model(model: str) -> bool:
    if model not in ("nss", "ns"):
        raise ConfigError(f"model must be 'nss' or 'ns', got {model!r}")
    return model == "nss"


def _check_kind(kind: str) -> None:
    if kind not in ("zero", "par"):
        raise ConfigError(f"kind must be 'zero' or 'par', got {kind!r}")


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
    n_params = len(PARAM_NAMES if nss else NS_PARAMS)
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
    names = PARAM_NAMES if nss else NS_PARAMS
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
    _, _, _, C2 = shape_terms(m, x[5])
    x2, e2, _, _ = shape_terms(m, x[5])
    effect = np.abs(x[3] * (C2 - x2 * e2)).max()
    return bool(effect < max(1e-6, 0.1 * np.sqrt(np.mean(resid**2))))


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
        (``SVENY05`` -> 5, ``"3 Mo"`` -> 0.25, ``"10 Yr"`` -> 10; see
        :func:`~hybridrisk.kernels.nss.tenor_years`).
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
    m = maturities_from_columns(df.columns, maturities)
    bounds = _validate_bounds(tau_bounds)
    grid = _validate_grid(tau_grid, bounds)
    sr = _make_search(grid, nss, bounds, _validate_ridge(ridge),
                      _validate_count(n_starts, "n_starts"), _validate_count(max_iter, "max_iter"),
                      _PANEL_SCREEN, "basin")
    names = list(PARAM_NAMES if nss else NS_PARAMS)
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
