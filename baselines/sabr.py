"""Classical SABR calibration per expiry, independent of any starting guess.

:func:`fit_sabr` calibrates one smile in three steps:

1. the at-the-money vol is read off the quotes (a quadratic through the three quotes nearest the
   forward, in log-moneyness for lognormal vols and in ``K - F`` for normal vols);
2. on a grid of ``(rho, nu)`` (and of ``beta`` when it is free) ``alpha`` is the smallest
   positive root of the ATM cubic, so every grid point reprices the ATM vol exactly; the grid
   point with the least weighted squared error wins;
3. the best few grid points are polished by :func:`scipy.optimize.least_squares` on all free
   parameters, with the Jacobian from the torch kernel's autograd.

:func:`fit_sabr_surface` runs it on every expiry of a long-format surface.
:func:`fit_sabr_quantlib` is QuantLib's ``SABRInterpolation`` on the same smile, for comparison.
The vols are :func:`hybridrisk.kernels.sabr.implied_vol`, equal to QuantLib's to 1e-12.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from scipy.optimize import least_squares

from hybridrisk.checks import check_array, check_min_obs
from hybridrisk.errors import (
    ConfigError,
    ConvergenceError,
    DataValidationError,
    ParameterDomainError,
)
from hybridrisk.kernels.sabr import PARAM_NAMES, implied_vol
from hybridrisk.results import ParameterResults, Summary, format_number, parameter_table

__all__ = [
    "SABRResult",
    "fit_sabr",
    "fit_sabr_surface",
    "fit_sabr_quantlib",
    "equity_smile_frame",
    "smile_rmse_bp",
]

VolType = Literal["lognormal", "normal"]
_RHO_MAX = 1.0 - 1e-9  # the polish may approach |rho| = 1 but the kernel's domain is open
_BETA_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


# ---------------------------------------------------------------------------- result


@dataclass
class SABRResult(ParameterResults):
    """One calibrated smile.

    Attributes
    ----------
    params
        ``alpha, beta, rho, nu`` (a Series named by parameter).
    std_errors
        Nonlinear least-squares standard errors ``s^2 (J'WJ)^-1`` (NaN for a fixed ``beta``).
    rmse_bp
        Weighted root mean squared vol error ``sqrt(sum w r^2 / sum w)``, in basis points of vol
        (1 bp = 0.0001 vol; for normal vols the unit is a basis point of the normal vol).
    residuals
        Model minus market vol in bp, indexed by strike.
    nobs
        Number of quotes.
    """

    params: pd.Series
    std_errors: pd.Series
    rmse_bp: float
    residuals: pd.Series
    nobs: int
    forward: float
    expiry: float
    vol_type: str
    shift: float
    approx: str
    beta_fixed: bool
    strikes: np.ndarray = field(repr=False)
    vols: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    method: str = "grid + least_squares"
    grid_rmse_bp: float = float("nan")
    nfev: int = 0
    message: str = ""

    @property
    def num_params(self) -> int:
        """Number of calibrated parameters (3 with ``beta`` fixed, else 4)."""
        return 3 if self.beta_fixed else 4

    @property
    def max_abs_error_bp(self) -> float:
        """Largest absolute vol error over the quotes, in bp."""
        return float(np.abs(self.residuals.to_numpy()).max())

    def implied_vol(self, strikes: Any) -> np.ndarray:
        """The calibrated smile at ``strikes`` (numpy, float64)."""
        p = self.params
        k = torch.tensor(np.asarray(strikes, dtype=np.float64))
        return implied_vol(self.forward, k, self.expiry, p["alpha"], p["beta"], p["rho"],
                           p["nu"], self.vol_type, self.shift, self.approx).numpy()

    def summary(self) -> Summary:
        """A fixed-width summary: the fit's set-up, the parameters and the error."""
        header = [
            ("Model", "SABR"), ("Method", self.method),
            ("Vol type", self.vol_type), ("Approximation", self.approx),
            ("Forward", format_number(self.forward)), ("Expiry (y)", format_number(self.expiry)),
            ("Shift", format_number(self.shift)), ("No. quotes", str(self.nobs)),
            ("RMSE (vol bp)", format_number(self.rmse_bp)),
            ("Max |err| (vol bp)", format_number(self.max_abs_error_bp)),
            ("Beta", "fixed" if self.beta_fixed else "free"),
            ("Func. evals", str(self.nfev)),
        ]
        notes = ["Standard errors: nonlinear least squares, s^2 (J'WJ)^-1 on the vol residuals."]
        if self.beta_fixed:
            notes.append("beta was held fixed; its standard error is not defined.")
        return Summary("SABR Calibration Results", header,
                       [("Parameters", parameter_table(self.params, self.std_errors))], notes)


# ---------------------------------------------------------------------------- inputs


def _check_inputs(strikes: Any, vols: Any, forward: float, expiry: float, shift: float,
                  weights: Any, n_free: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = check_array(strikes, name="strikes", ndim=1)
    v = check_array(vols, name="vols", ndim=1)
    if k.shape != v.shape:
        raise DataValidationError(
            "shape", f"strikes ({k.size}) and vols ({v.size}) must have the same length")
    w = np.ones_like(k) if weights is None else check_array(weights, name="weights", ndim=1)
    if w.shape != k.shape:
        raise DataValidationError(
            "shape", f"weights ({w.size}) and strikes ({k.size}) must have the same length")
    for name, x in (("forward", forward), ("expiry", expiry), ("shift", shift)):
        if not np.isfinite(x):
            raise ParameterDomainError(name, x, "finite")
    if expiry <= 0:
        raise ParameterDomainError("expiry", expiry, "expiry > 0")
    if forward + shift <= 0:
        raise ParameterDomainError("forward", forward,
                                   f"forward + shift > 0 (shift = {shift}); use a larger shift")
    for name, x, ok, rule, text in (
        ("strikes", k, k + shift > 0, "positive-shifted-strike",
         f"strike + shift > 0 (shift = {shift}); use a larger shift"),
        ("vols", v, v > 0, "positive", "vol > 0"),
        ("weights", w, w >= 0, "non-negative", "weight >= 0"),
    ):
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise DataValidationError(rule, f"{name}[{i}] = {x[i]!r} breaks {text}",
                                      column=name, row=i)
    check_min_obs(int(np.count_nonzero(w)), n_free, name="positively weighted quotes")
    return k, v, w


def _atm_quote(k: np.ndarray, v: np.ndarray, forward: float, shift: float, normal: bool) -> float:
    """The ATM vol read off the quotes: a quadratic through the three quotes nearest the forward."""
    x = k - forward if normal else np.log((k + shift) / (forward + shift))
    near = np.argsort(np.abs(x), kind="stable")
    _, first = np.unique(x[near], return_index=True)  # distinct strikes only
    near = near[np.sort(first)][:3]
    if near.size < 3 or not (x[near].min() <= 0.0 <= x[near].max()):
        return float(v[near[0]])
    xs, vs = x[near], v[near]
    out = 0.0
    for i in range(3):  # Lagrange basis at x = 0
        others = [j for j in range(3) if j != i]
        out += vs[i] * np.prod([xs[j] / (xs[j] - xs[i]) for j in others])
    return float(out) if out > 0 else float(v[near[0]])


def _atm_alpha(sigma: float, f: float, t: float, beta: np.ndarray, rho: np.ndarray,
               nu: np.ndarray, normal: bool) -> np.ndarray:
    """Smallest positive root in ``alpha`` of the ATM equation (a cubic), NaN where none.

    Lognormal: ``sigma f^(1-b) = alpha [1 + T((1-b)^2 alpha^2/(24 f^(2-2b))
    + rho b nu alpha/(4 f^(1-b)) + (2 - 3 rho^2) nu^2/24)]``; normal: ``sigma f^-b`` on the
    left and ``-b(2-b)`` in place of ``(1-b)^2``.
    """
    omb = 1.0 - beta
    g = f ** omb
    quad = (-beta * (2.0 - beta)) if normal else omb * omb
    c3 = t * quad / (24.0 * g * g)
    c2 = t * rho * beta * nu / (4.0 * g)
    c1 = 1.0 + t * (2.0 - 3.0 * rho * rho) * nu * nu / 24.0
    c0 = -sigma * (f ** -beta if normal else g) * np.ones_like(c1)
    return _smallest_positive_root(*np.broadcast_arrays(c3, c2, c1, c0))


def _smallest_positive_root(c3: np.ndarray, c2: np.ndarray, c1: np.ndarray,
                            c0: np.ndarray) -> np.ndarray:
    """Vectorised smallest positive real root of ``c3 a^3 + c2 a^2 + c1 a + c0`` (NaN if none)."""
    n = c1.size
    roots = np.full((n, 3), np.nan, dtype=complex)
    cub = c3 != 0
    if cub.any():  # eigenvalues of the companion matrix, as numpy.roots
        m = np.zeros((int(cub.sum()), 3, 3))
        lead = c3[cub]
        m[:, 0, 0], m[:, 0, 1], m[:, 0, 2] = -c2[cub] / lead, -c1[cub] / lead, -c0[cub] / lead
        m[:, 1, 0] = m[:, 2, 1] = 1.0
        roots[cub] = np.linalg.eigvals(m)
    quad = ~cub & (c2 != 0)
    if quad.any():
        disc = np.sqrt((c1[quad] ** 2 - 4.0 * c2[quad] * c0[quad]).astype(complex))
        roots[quad, 0] = (-c1[quad] + disc) / (2.0 * c2[quad])
        roots[quad, 1] = (-c1[quad] - disc) / (2.0 * c2[quad])
    lin = ~cub & ~quad
    roots[lin, 0] = -c0[lin] / c1[lin]
    real = np.abs(roots.imag) <= 1e-9 * np.abs(roots)
    cand = np.where(real & (roots.real > 0), roots.real, np.inf)
    a = cand.min(axis=1)
    a = np.where(np.isfinite(a), a, np.nan)
    for _ in range(2):  # Newton steps restore full precision lost in the eigenvalues
        p = ((c3 * a + c2) * a + c1) * a + c0
        dp = (3.0 * c3 * a + 2.0 * c2) * a + c1
        step = np.where(dp != 0, p / dp, 0.0)
        a = np.where(np.abs(step) < 1e-3 * a, a - step, a)
    return a


# ---------------------------------------------------------------------------- fit


def _model(p: torch.Tensor, k: torch.Tensor, f: float, t: float, beta: float | None,
           vol_type: str, shift: float, approx: str) -> torch.Tensor:
    b = p[3] if beta is None else beta
    return implied_vol(f, k, t, p[0], b, p[1], p[2], vol_type, shift, approx, validate=False)


def _polish(x0: np.ndarray, k: np.ndarray, v: np.ndarray, w: np.ndarray, f: float, t: float,
            beta: float | None, vol_type: str, shift: float, approx: str) -> Any:
    kt, vt, sw = (torch.as_tensor(a) for a in (k, v, np.sqrt(w)))

    def resid_t(p: torch.Tensor) -> torch.Tensor:
        return sw * (_model(p, kt, f, t, beta, vol_type, shift, approx) - vt)

    def fun(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            r = resid_t(torch.as_tensor(x)).numpy()
        return np.where(np.isfinite(r), r, 1e3)  # off the formula's domain: a large residual

    def jac(x: np.ndarray) -> np.ndarray:  # reverse mode, the rows batched in one pass
        jm = torch.autograd.functional.jacobian(resid_t, torch.as_tensor(x),
                                                vectorize=True).numpy()
        return np.where(np.isfinite(jm), jm, 0.0)

    lo = [1e-12 * x0[0], -_RHO_MAX, 0.0] + ([] if beta is not None else [0.0])
    hi = [np.inf, _RHO_MAX, np.inf] + ([] if beta is not None else [1.0])
    return least_squares(fun, x0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac",
                         ftol=1e-15, xtol=1e-15, gtol=1e-15, max_nfev=400)


def fit_sabr(strikes: Any, vols: Any, forward: float, expiry: float, *,
             beta: float | None = 0.5, vol_type: VolType = "lognormal", shift: float = 0.0,
             weights: Any = None, approx: Literal["hagan", "floch_kennedy"] = "hagan",
             n_rho: int = 41, n_nu: int = 40, n_starts: int = 3) -> SABRResult:
    """Calibrate SABR to one smile without a starting guess.

    Parameters
    ----------
    strikes, vols
        Quoted strikes and implied vols (decimals; normal vols in absolute rate units).
    forward, expiry
        The smile's forward and time to expiry in years.
    beta
        Fixed CEV exponent in ``[0, 1]``, or ``None`` to calibrate it too.
    vol_type, shift, approx
        As in :func:`hybridrisk.kernels.sabr.implied_vol`.
    weights
        Non-negative weights of the squared vol errors (default: equal).
    n_rho, n_nu, n_starts
        Grid sizes of the global search and the number of grid points polished.

    Returns
    -------
    SABRResult

    Raises
    ------
    DataValidationError
        NaN/inf or non-positive vols, strikes at or below ``-shift``, mismatched lengths.
    InsufficientDataError
        Fewer (positively weighted) quotes than free parameters.
    ParameterDomainError
        ``beta`` outside ``[0, 1]``, a non-positive expiry or shifted forward.
    ConfigError
        Unknown ``vol_type`` or ``approx``.
    ConvergenceError
        No grid point or polish gives a finite error.
    """
    if vol_type not in ("lognormal", "normal"):
        raise ConfigError(f"vol_type must be 'lognormal' or 'normal', got {vol_type!r}")
    if beta is not None and not (0.0 <= beta <= 1.0):
        raise ParameterDomainError("beta", beta, "0 <= beta <= 1")
    forward, expiry, shift = float(forward), float(expiry), float(shift)
    n_free = 3 if beta is not None else 4
    k, v, w = _check_inputs(strikes, vols, forward, expiry, shift, weights, n_free)
    normal = vol_type == "normal"
    f_s = forward + shift

    # global search: alpha from the ATM vol on a (beta, rho, nu) grid
    sigma_atm = _atm_quote(k, v, forward, shift, normal)
    rho_g = 0.995 * np.sin(0.5 * np.pi * np.linspace(-1.0, 1.0, n_rho))  # denser near +-1
    nu_g = np.geomspace(1e-3, 5.0, n_nu) / np.sqrt(expiry)  # nu^2 T is what the smile sees
    betas = np.array([beta] if beta is not None else _BETA_GRID)
    bb, rr, nn = (a.ravel() for a in np.meshgrid(betas, rho_g, nu_g, indexing="ij"))
    aa = _atm_alpha(sigma_atm, f_s, expiry, bb, rr, nn, normal)
    ok = np.isfinite(aa)
    if not ok.any():
        raise ConvergenceError("no grid point solves the ATM equation for a positive alpha")
    bb, rr, nn, aa = bb[ok], rr[ok], nn[ok], aa[ok]
    with torch.no_grad():
        model = implied_vol(forward, torch.as_tensor(k)[None, :], expiry, aa[:, None],
                            bb[:, None], rr[:, None], nn[:, None], vol_type, shift, approx,
                            validate=False).numpy()
    sse = np.sum(w * (model - v) ** 2, axis=1)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    order = np.argsort(sse, kind="stable")[:n_starts]
    if not np.isfinite(sse[order[0]]):
        raise ConvergenceError("every grid point gives a non-finite vol on the quotes")

    best = None
    for i in order:
        x0 = np.array([aa[i], rr[i], nn[i]] + ([] if beta is not None else [bb[i]]))
        sol = _polish(x0, k, v, w, forward, expiry, beta, vol_type, shift, approx)
        if best is None or sol.cost < best.cost:
            best = sol
    x = best.x
    b_hat = float(x[3]) if beta is None else float(beta)
    params = pd.Series([x[0], b_hat, x[1], x[2]], index=list(PARAM_NAMES), name="params")
    with torch.no_grad():
        fitted = _model(torch.as_tensor(x), torch.as_tensor(k), forward, expiry, beta, vol_type,
                        shift, approx).numpy()
    if not np.all(np.isfinite(fitted)):
        raise ConvergenceError("the calibrated smile is not finite at every quote")
    resid = fitted - v
    wsum = w.sum()
    rmse = float(np.sqrt(np.sum(w * resid**2) / wsum)) * 1e4
    return SABRResult(
        params=params, std_errors=_std_errors(best, w, n_free, beta), rmse_bp=rmse,
        residuals=pd.Series(resid * 1e4, index=pd.Index(k, name="strike"), name="residual_bp"),
        nobs=int(k.size), forward=forward, expiry=expiry, vol_type=vol_type, shift=shift,
        approx=approx, beta_fixed=beta is not None, strikes=k, vols=v, weights=w,
        grid_rmse_bp=float(np.sqrt(sse[order[0]] / wsum)) * 1e4, nfev=int(best.nfev),
        message=str(best.message))


def _std_errors(sol: Any, w: np.ndarray, n_free: int, beta: float | None) -> pd.Series:
    dof = int(np.count_nonzero(w)) - n_free
    se = np.full(4, np.nan)
    if dof > 0:
        s2 = 2.0 * sol.cost / dof
        try:
            cov = s2 * np.linalg.inv(sol.jac.T @ sol.jac)
            d = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        except np.linalg.LinAlgError:
            d = np.full(n_free, np.nan)
        se[[0, 2, 3]] = d[:3]  # free order alpha, rho, nu[, beta] -> alpha, beta, rho, nu
        if beta is None:
            se[1] = d[3]
    return pd.Series(se, index=list(PARAM_NAMES), name="std_errors")


def smile_rmse_bp(params: pd.Series | dict[str, float], strikes: Any, vols: Any, forward: float,
                  expiry: float, *, vol_type: VolType = "lognormal", shift: float = 0.0,
                  approx: str = "hagan", weights: Any = None) -> float:
    """Weighted vol RMSE in bp of any SABR parameters on a smile, with this library's kernel.

    Used to compare calibrations (ours, QuantLib's) on one footing: QuantLib's own formula
    loses digits where ``z`` is small but nonzero (see ``tests/test_sabr_kernel.py``).
    """
    k = np.asarray(strikes, dtype=float)
    v = np.asarray(vols, dtype=float)
    w = np.ones_like(k) if weights is None else np.asarray(weights, dtype=float)
    p = dict(params)
    with torch.no_grad():
        model = implied_vol(float(forward), torch.tensor(k), float(expiry), p["alpha"],
                            p["beta"], p["rho"], p["nu"], vol_type, shift, approx).numpy()
    return float(np.sqrt(np.sum(w * (model - v) ** 2) / w.sum())) * 1e4


# ---------------------------------------------------------------------------- surfaces


def fit_sabr_surface(frame: pd.DataFrame, *, expiry: str = "expiry", strike: str = "strike",
                     vol: str = "vol", forward: str | float = "forward",
                     weight: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """Calibrate :func:`fit_sabr` on every expiry of a long-format surface.

    Parameters
    ----------
    frame
        One row per quote.
    expiry, strike, vol
        Column names of the expiry (years), strike and implied vol.
    forward
        Column name of the forward (constant within an expiry) or one number for all.
    weight
        Optional column name of the weights.
    **kwargs
        Passed to :func:`fit_sabr` (``beta``, ``vol_type``, ``shift``, ``approx``, ...).

    Returns
    -------
    DataFrame
        Indexed by expiry: ``forward, alpha, beta, rho, nu, rmse_bp, max_abs_error_bp, nobs``.
    """
    missing = [c for c in (expiry, strike, vol) + ((forward,) if isinstance(forward, str) else ())
               + ((weight,) if weight else ()) if c not in frame.columns]
    if missing:
        raise DataValidationError("columns", f"surface frame lacks columns {missing}")
    rows = []
    for t, g in frame.groupby(expiry, sort=True):
        if isinstance(forward, str):
            fw = g[forward].to_numpy(dtype=float)
            if not np.allclose(fw, fw[0], rtol=1e-12, atol=0.0):
                raise DataValidationError("constant-forward", "forward differs within an expiry",
                                          column=forward, row=t)
            fwd = float(fw[0])
        else:
            fwd = float(forward)
        res = fit_sabr(g[strike], g[vol], fwd, float(t),
                       weights=None if weight is None else g[weight], **kwargs)
        rows.append({expiry: t, "forward": fwd, **res.params.to_dict(), "rmse_bp": res.rmse_bp,
                     "max_abs_error_bp": res.max_abs_error_bp, "nobs": res.nobs})
    return pd.DataFrame(rows).set_index(expiry)


def equity_smile_frame(name: Literal["andreasen_huge", "dax"]) -> pd.DataFrame:
    """A bundled equity surface as ``expiry, strike, vol, forward`` (one row per quote).

    Andreasen-Huge: rates and dividends are zero in the source, so the forward is the spot
    (2772.7) at every expiry. DAX: the forward is ``S exp(r T)`` with the file's zero rate
    (act/365, continuous) and no dividend yield (the DAX is a performance index);
    ``T = days / 365``.
    """
    from hybridrisk import datasets

    if name == "andreasen_huge":
        d = datasets.andreasen_huge_vols()
        t = d["maturity_years"].to_numpy(float)
        fwd = d["spot"].to_numpy(float)
    elif name == "dax":
        d = datasets.dax_vol_surface()
        t = d["days_to_maturity"].to_numpy(float) / 365.0
        fwd = d["spot"].to_numpy(float) * np.exp(d["zero_rate_act365"].to_numpy(float) * t)
    else:
        raise ConfigError(f"unknown equity surface {name!r}: use 'andreasen_huge' or 'dax'")
    out = pd.DataFrame({"expiry": t, "strike": d["strike"].to_numpy(float),
                        "vol": d["black_implied_vol"].to_numpy(float), "forward": fwd})
    return out.sort_values(["expiry", "strike"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------- QuantLib


def fit_sabr_quantlib(strikes: Any, vols: Any, forward: float, expiry: float, *,
                      beta: float = 0.5, vol_type: VolType = "lognormal",
                      shift: float = 0.0, max_guesses: int = 50) -> SABRResult:
    """QuantLib's ``SABRInterpolation`` on one smile (equal weights, ``beta`` fixed).

    The start is QuantLib's own ``sabrGuess`` from the quotes nearest the forward and its two
    neighbours, and QuantLib retries up to ``max_guesses`` random starts when the error exceeds
    its ``errorAccept``. The RMSE is computed from QuantLib's vols at the quotes.
    """
    import QuantLib as ql

    k, v, w = _check_inputs(strikes, vols, float(forward), float(expiry), float(shift), None, 3)
    order = np.argsort(k)
    k, v = k[order], v[order]
    vt = ql.Normal if vol_type == "normal" else ql.ShiftedLognormal
    i = int(np.clip(np.searchsorted(k, forward), 1, k.size - 2))
    a0, _, n0, r0 = ql.sabrGuess(k[i - 1], v[i - 1], k[i], v[i], k[i + 1], v[i + 1],
                                 float(forward), float(expiry), float(beta), float(shift), vt)
    if not (np.isfinite([a0, n0, r0]).all() and a0 > 0 and n0 > 0 and abs(r0) < 1):
        f_s = forward + shift
        a0 = _atm_quote(k, v, forward, shift, vol_type == "normal") * (
            f_s ** -beta if vol_type == "normal" else f_s ** (1 - beta))
        n0, r0 = 0.5, 0.0
    interp = ql.SABRInterpolation(
        ql.Array(list(k)), ql.Array(list(v)), float(expiry), float(forward), float(a0),
        float(beta), float(n0), float(r0), False, True, False, False, False, None, None, 0.0020,
        False, max_guesses, float(shift), vt)  # QuantLib's default end criteria and optimiser
    p = pd.Series([interp.alpha(), interp.beta(), interp.rho(), interp.nu()],
                  index=list(PARAM_NAMES), name="params")
    fitted = np.array([ql.shiftedSabrVolatility(float(x), float(forward), float(expiry),
                                                p["alpha"], p["beta"], p["nu"], p["rho"],
                                                float(shift), vt) for x in k])
    resid = fitted - v
    return SABRResult(
        params=p, std_errors=pd.Series(np.nan, index=list(PARAM_NAMES), name="std_errors"),
        rmse_bp=float(np.sqrt(np.mean(resid**2))) * 1e4,
        residuals=pd.Series(resid * 1e4, index=pd.Index(k, name="strike"), name="residual_bp"),
        nobs=int(k.size), forward=float(forward), expiry=float(expiry), vol_type=vol_type,
        shift=float(shift), approx="hagan", beta_fixed=True, strikes=k, vols=v, weights=w,
        method="QuantLib SABRInterpolation")
