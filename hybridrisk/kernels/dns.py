"""Dynamic Nelson-Siegel (Diebold and Li 2006): loadings, factors, dynamics and their OU form.

The curve
---------
Yields (percent) at maturities ``m`` (years) load on three Nelson-Siegel factors with a fixed
decay ``tau`` (Diebold and Li's 0.0609 per month by default; :mod:`hybridrisk.kernels.nss`
with ``beta3 = 0`` and ``tau1 = tau2 = tau``)::

    y_t(m) = L(m) f_t + e_t(m),   f_t = (level, slope, curvature),

and the factors of day ``t`` are *observed* by least squares on the tenors published that day
only (:func:`observe_factors`; a day with fewer than three raises). Nothing is imputed.

The dynamics
------------
Diebold-Li's AR(1) per factor or VAR(1), ``f_{t+1} = a + Phi f_t + u_t`` (one step = one
trading day), estimated by statsmodels OLS (:func:`estimate_dynamics`) and iterated to the
horizon (:func:`iterate_forecast`).

The continuous-time (OU) form
-----------------------------
In homogeneous coordinates ``[f_{t+1}; 1] = A [f_t; 1]`` with ``A = [[Phi, a], [0, 1]]``. Its
real matrix logarithm ``log A = [[-K, c], [0, 0]]`` (it exists when no eigenvalue of ``Phi`` is
real and non-positive; checked) is the generator of

    df = (c - K f) dt + Sigma^{1/2} dW,   f(t + D) = mu + exp(-K D) (f(t) - mu),   mu = K^{-1} c,

whose value at every integer horizon ``D = h`` trading days is exactly the iterated forecast
(``A^h``), and which interpolates continuously in between. The homogeneous form never inverts
``I - Phi``, so a near-unit root costs no precision. The AR variant is the same with diagonal
``Phi`` (``K = -log Phi`` elementwise). Forecast covariances follow the same construction on
``vec`` of the covariance (``[[Phi (x) Phi, vec Q], [0, 1]]``), so at integer horizons they
equal ``sum_k Phi^k Q Phi^k'``. :class:`OUDynamics` holds both forms; :func:`ou_generator`,
:func:`ou_mean` and :func:`carried` are the differentiable torch kernel with time-varying
endpoint ``mu(t)``, speed multipliers ``r(t)`` and a carried residual (the LNN-DNS hybrid):

    K(t) = diag(r(t)) K,   c(t) = diag(r(t)) (c + K (mu(t) - mu)),
    y_hat(t + D, m) = L(m) f_hat(t + D) + w(t) exp(-kappa(t) D) e_t(m),

which is the benchmark exactly at ``mu(t) = mu``, ``r = 1``, ``w = 0``. :func:`anchored`
shrinks such a forecast toward the origin's curve ``y_t`` (the random walk),

    y_anchor(t + D, m) = y_t(m) + lambda(t) (1 - exp(-D / eta(t))) (y_hat(t + D, m) - y_t(m)),

which is the random walk exactly at ``lambda = 0`` and ``y_hat`` itself at ``lambda = 1``,
``eta -> 0``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla
import torch

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import (
    ConfigError,
    DataValidationError,
    InsufficientDataError,
    NumericalError,
)
from hybridrisk.kernels.nss import maturities_from_columns, nss_loadings

__all__ = [
    "DIEBOLD_LI_TAU",
    "FACTORS",
    "HORIZONS",
    "DYNAMICS",
    "CLOCKS",
    "model_times",
    "CurvePanel",
    "curve_panel",
    "ns_loadings",
    "observe_factors",
    "horizon_map",
    "estimate_dynamics",
    "iterate_forecast",
    "long_run_mean",
    "real_logm",
    "OUDynamics",
    "ou_generator",
    "ou_mean",
    "carried",
    "origin_curves",
    "anchored",
]

#: Diebold and Li's decay, 0.0609 per month, as tau in years.
DIEBOLD_LI_TAU = 1.0 / (12 * 0.0609)
#: Forecast horizons of the curve family: label -> trading days.
HORIZONS: dict[str, int] = {"1d": 1, "1w": 5, "1m": 21, "3m": 63, "1y": 252}
#: Names of the three Nelson-Siegel factors.
FACTORS = ("level", "slope", "curvature")
#: Factor dynamics: one AR(1) per factor, or a VAR(1).
DYNAMICS = ("ar", "var")
#: How dates map to model time in trading days (:func:`model_times`).
CLOCKS = ("observations", "business", "calendar")


def ns_loadings(maturities: Sequence[float], tau: float = DIEBOLD_LI_TAU) -> np.ndarray:
    """Nelson-Siegel loadings (n_maturities, 3) for level, slope and curvature."""
    m = torch.as_tensor(np.asarray(maturities, np.float64))
    t = torch.tensor(float(tau), dtype=torch.float64)
    return nss_loadings(m, t, t)[:, :3].numpy()


def observe_factors(
    values: np.ndarray, published: np.ndarray, loadings: np.ndarray, *, index: Any = None,
    min_tenors: int = 3,
) -> np.ndarray:
    """Factors by least squares on each day's published tenors only.

    Parameters
    ----------
    values
        (T, M) yields; entries where ``published`` is False are never read.
    published
        (T, M) boolean mask of published tenors.
    loadings
        (M, 3) factor loadings.
    index
        Row labels (timestamps) for error messages.
    min_tenors
        A day with fewer published tenors raises.

    Returns
    -------
    ndarray
        (T, 3) factors.

    Raises
    ------
    DataValidationError
        Rule ``"min-tenors"``, naming the first such day.
    """
    counts = published.sum(axis=1)
    if (counts < min_tenors).any():
        row = int(np.flatnonzero(counts < min_tenors)[0])
        label = index[row].isoformat() if index is not None else row
        raise DataValidationError(
            "min-tenors", f"{int(counts[row])} tenors published, at least {min_tenors} needed "
            "to observe three factors", row=label)
    out = np.empty((values.shape[0], loadings.shape[1]))
    patterns, inverse = np.unique(published, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for k, pattern in enumerate(patterns):  # days sharing a pattern share one solve
        rows = np.flatnonzero(inverse == k)
        coef, *_ = np.linalg.lstsq(loadings[pattern], values[np.ix_(rows, pattern)].T,
                                   rcond=None)
        out[rows] = coef.T
    return out


def horizon_map(horizons: Any = None, *, integer: bool = False) -> dict[str, float]:
    """Forecast horizons as ``label -> trading days``.

    Parameters
    ----------
    horizons
        A mapping label -> trading days, a sequence of trading days (labelled ``f"{h:g}"``),
        or None for :data:`HORIZONS`.
    integer
        Require whole numbers of trading days (a discrete-time model).

    Raises
    ------
    ConfigError
        A horizon that is not a positive number (a whole one with ``integer``), or none.
    """
    if horizons is None:
        horizons = HORIZONS
    if not isinstance(horizons, Mapping):
        horizons = {f"{float(h):g}": h for h in np.atleast_1d(np.asarray(horizons, float))}
    out = {}
    for k, h in horizons.items():
        try:
            v = float(h)
        except (TypeError, ValueError):
            raise ConfigError(f"horizon {k!r} = {h!r} is not a number") from None
        if not (math.isfinite(v) and v > 0):
            raise ConfigError(f"horizon {k!r} = {h!r} must be a positive number of trading days")
        if integer and v != round(v):
            raise ConfigError(f"horizon {k!r} = {h!r} must be a whole number of trading days")
        out[str(k)] = v
    if not out:
        raise ConfigError("no horizons given")
    return out


def estimate_dynamics(
    factors: np.ndarray, dynamics: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Diebold-Li's factor dynamics by statsmodels OLS with a constant.

    Parameters
    ----------
    factors
        (T, 3) observed factors, one row per trading day.
    dynamics
        ``"ar"`` (three ``AutoReg(1)``) or ``"var"`` (one ``VAR(1)``).

    Returns
    -------
    intercept, transition, innovation_cov, models
        ``a`` (3,), ``Phi`` (3, 3), ``Q`` (3, 3) with divisor ``T - 1`` (``sigma_u_mle`` /
        ``AutoReg.sigma2``), and the statsmodels results (a list of three for ``"ar"``).
    """
    from statsmodels.tsa.api import VAR, AutoReg

    if dynamics not in DYNAMICS:
        raise ConfigError(f"dynamics must be 'ar' or 'var', got {dynamics!r}")
    f = np.asarray(factors, np.float64)
    if dynamics == "ar":
        models: Any = [AutoReg(f[:, i], lags=1, trend="c").fit() for i in range(3)]
        intercept = np.array([r.params[0] for r in models])
        transition = np.diag([r.params[1] for r in models])
        innov = np.diag([r.sigma2 for r in models])
    else:
        models = VAR(f).fit(1, trend="c")
        intercept = np.asarray(models.intercept)
        transition = np.asarray(models.coefs[0])
        innov = np.asarray(models.sigma_u_mle)
    return intercept, transition, innov, models


def iterate_forecast(
    intercept: np.ndarray, transition: np.ndarray, states: np.ndarray, steps: Sequence[int],
    innovation_cov: np.ndarray | None = None,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Diebold-Li's iterated forecast ``f <- a + Phi f`` from many origins at once.

    Parameters
    ----------
    intercept, transition
        ``a`` (3,) and ``Phi`` (3, 3).
    states
        (N, 3) factors at the origins.
    steps
        Whole numbers of trading days ahead.
    innovation_cov
        ``Q``; when given the factor forecast covariances ``Phi V Phi' + Q`` are returned too.

    Returns
    -------
    means, covs
        ``steps -> (N, 3)`` factor means and ``steps -> (3, 3)`` covariances (empty without
        ``innovation_cov``).
    """
    want = {int(h) for h in steps}
    state = np.asarray(states, np.float64)
    cov = np.zeros((3, 3))
    means: dict[int, np.ndarray] = {}
    covs: dict[int, np.ndarray] = {}
    for step in range(1, max(want) + 1):
        state = intercept + state @ transition.T
        if innovation_cov is not None:
            cov = transition @ cov @ transition.T + innovation_cov
        if step in want:
            means[step] = state
            if innovation_cov is not None:
                covs[step] = cov
    return means, covs


def long_run_mean(intercept: np.ndarray, transition: np.ndarray) -> np.ndarray:
    """``(I - Phi)^{-1} a``, the mean the iterated forecast tends to."""
    return np.linalg.solve(np.eye(len(intercept)) - transition, intercept)


def real_logm(a: np.ndarray, what: str) -> np.ndarray:
    """Real principal logarithm of a homogeneous transition, with the checks that give it sense.

    Raises
    ------
    NumericalError
        The top-left block has a real eigenvalue <= 0, the logarithm is not real, or
        ``expm(logm(A))`` does not reproduce ``A``.
    """
    n = a.shape[0] - 1
    eig = np.linalg.eigvals(a[:n, :n])
    bad = (np.abs(eig.imag) <= 1e-14 * np.abs(eig).max()) & (eig.real <= 0)
    if bad.any():
        raise NumericalError(
            f"{what}: the transition has a real eigenvalue {eig[bad][0].real:.6g} <= 0, so it "
            "has no real matrix logarithm and no continuous-time (OU) version")
    log = np.asarray(sla.logm(a))
    if np.iscomplexobj(log):
        if np.abs(log.imag).max() > 1e-10 * max(1.0, np.abs(log.real).max()):
            raise NumericalError(f"{what}: the matrix logarithm is not real")
        log = log.real
    back = sla.expm(log)
    if np.abs(back - a).max() > 1e-10 * max(1.0, np.abs(a).max()):
        raise NumericalError(f"{what}: expm(logm(A)) does not reproduce A")
    return log


def _has(obj: Any, key: str) -> bool:
    return key in obj if isinstance(obj, Mapping) else hasattr(obj, key)


@dataclass
class OUDynamics:
    """Diebold-Li factor dynamics and their continuous-time (OU) form.

    Attributes
    ----------
    dynamics
        ``"var"`` or ``"ar"``.
    tau
        Nelson-Siegel decay (years).
    intercept, transition, innovation_cov
        The one-trading-day model ``f_{t+1} = a + Phi f_t + u_t``, ``Var u = Q``.
    measurement_var
        Cross-sectional residual variance (percent^2), added to forecast covariances.
    source
        Where the values come from (``"DieboldLiResult"``, ``"OLS on the training span"``).
    K, c, mu, diffusion
        The OU speed matrix and drift constant (per trading day), the mean ``K^{-1} c`` and
        ``vec`` of the covariance generator's constant.
    """

    dynamics: str
    tau: float
    intercept: np.ndarray
    transition: np.ndarray
    innovation_cov: np.ndarray
    measurement_var: float
    source: str = ""
    K: np.ndarray = field(init=False, repr=False)
    c: np.ndarray = field(init=False, repr=False)
    mu: np.ndarray = field(init=False, repr=False)
    diffusion: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.intercept = np.asarray(self.intercept, np.float64).reshape(3)
        self.transition = np.asarray(self.transition, np.float64).reshape(3, 3)
        self.innovation_cov = np.asarray(self.innovation_cov, np.float64).reshape(3, 3)
        self.measurement_var = float(self.measurement_var)
        phi, a = self.transition, self.intercept
        if not (np.isfinite(phi).all() and np.isfinite(a).all()):
            raise NumericalError("the factor dynamics are not finite")
        if self.dynamics == "ar":
            d = np.diag(phi)
            if (d <= 0).any():
                i = int(np.flatnonzero(d <= 0)[0])
                raise NumericalError(f"AR coefficient of {FACTORS[i]} is {d[i]:.6g} <= 0: no "
                                     "continuous-time (OU) version exists")
            if np.abs(phi - np.diag(d)).max() > 0:
                raise ConfigError("dynamics='ar' needs a diagonal transition")
            # c = a log(phi) / (phi - 1), its limit a at phi = 1; log1p keeps the digits
            x = d - 1.0
            ratio = np.where(x == 0, 1.0, np.log1p(x) / np.where(x == 0, 1.0, x))
            self.K = np.diag(-np.log(d))
            self.c = a * ratio
        else:
            hom = np.eye(4)
            hom[:3, :3], hom[:3, 3] = phi, a
            log = real_logm(hom, "Diebold-Li VAR(1)")
            self.K, self.c = -log[:3, :3], log[:3, 3].copy()
        if np.abs(np.linalg.eigvals(phi)).max() > 1.0:
            warnings.warn("the factor transition is explosive (an eigenvalue above 1 in "
                          "modulus): the OU form still reproduces Diebold-Li exactly, but mu "
                          "is not a long-run mean", RuntimeWarning, stacklevel=3)
        self.mu = np.linalg.solve(self.K, self.c)
        big = np.eye(10)
        big[:9, :9] = np.kron(phi, phi)
        big[:9, 9] = self.innovation_cov.reshape(-1)
        self.diffusion = real_logm(big, "factor covariance recursion")[:9, 9].copy()

    @classmethod
    def from_init(cls, init: Any, *, dynamics: str, tau: float) -> OUDynamics:
        """From a ``baselines.DieboldLiResult`` (or anything with its attributes, or a dict)."""
        get = (lambda k: init[k]) if isinstance(init, Mapping) else (lambda k: getattr(init, k))
        try:
            vals = {k: get(k) for k in ("intercept", "transition", "innovation_cov",
                                        "measurement_var")}
        except (KeyError, AttributeError) as exc:
            raise ConfigError("init must be a Diebold-Li result (baselines.fit_diebold_li) or a "
                              "mapping with intercept, transition, innovation_cov and "
                              f"measurement_var; {exc}") from exc
        init_dyn = get("dynamics") if _has(init, "dynamics") else dynamics
        init_tau = float(get("tau")) if _has(init, "tau") else tau
        if init_dyn != dynamics:
            raise ConfigError(f"init has dynamics {init_dyn!r}, the model {dynamics!r}")
        if abs(init_tau - tau) > 1e-12 * tau:
            raise ConfigError(f"init has tau = {init_tau!r}, the model {tau!r}")
        return cls(dynamics, tau, source=type(init).__name__, **vals)

    @classmethod
    def from_factors(cls, factors: np.ndarray, residuals: np.ndarray, *, dynamics: str,
                     tau: float) -> OUDynamics:
        """Diebold-Li estimated on observed factors (:func:`estimate_dynamics`).

        ``residuals`` are the cross-sectional residuals, NaN where unpublished; their mean
        square is the measurement variance.
        """
        a, phi, q, _ = estimate_dynamics(factors, dynamics)
        return cls(dynamics, tau, a, phi, q, float(np.nanmean(residuals**2)),
                   source="OLS on the training span")

    def covariance(self, horizon: float, K: np.ndarray | None = None) -> np.ndarray:
        """Factor forecast covariance at ``horizon`` trading days (speed ``K``, default DL's)."""
        K = self.K if K is None else K
        eye = np.eye(3)
        gen = np.zeros((10, 10))
        gen[:9, :9] = -(np.kron(K, eye) + np.kron(eye, K))
        gen[:9, 9] = self.diffusion
        v = sla.expm(float(horizon) * gen)[:9, 9].reshape(3, 3)
        return 0.5 * (v + v.T)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The estimated arrays, keyed for a safetensors file."""
        return {"bench.intercept": self.intercept, "bench.transition": self.transition,
                "bench.innovation_cov": self.innovation_cov}

    def to_meta(self) -> dict[str, Any]:
        """The scalar settings, JSON-serialisable (:meth:`from_saved` reads both back)."""
        return {"dynamics": self.dynamics, "tau": self.tau,
                "measurement_var": self.measurement_var, "source": self.source}

    @classmethod
    def from_saved(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
                   ) -> OUDynamics:
        """Rebuild from :meth:`to_arrays` and :meth:`to_meta` (an explosive root stays quiet)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return cls(meta["dynamics"], meta["tau"], arrays["bench.intercept"],
                       arrays["bench.transition"], arrays["bench.innovation_cov"],
                       meta["measurement_var"], source=meta["source"])


# ------------------------------------------------------------------------------ yield panels


def model_times(dates: pd.DatetimeIndex, clock: str) -> np.ndarray:
    """Model time (trading days, from 0) of each date under ``clock``.

    ``"observations"``: every published curve is one trading day (Diebold-Li's step);
    ``"business"``: Monday-Friday days, so a gap or a holiday counts as elapsed time;
    ``"calendar"``: calendar days times 252 / 365.25.
    """
    if clock == "observations":
        return np.arange(len(dates), dtype=np.float64)
    days = dates.values.astype("datetime64[D]")
    if clock == "business":
        return np.busday_count(days[0], days).astype(np.float64)
    if clock == "calendar":
        return (days - days[0]).astype(np.float64) * (252.0 / 365.25)
    raise ConfigError(f"clock must be one of {CLOCKS}, got {clock!r}")


@dataclass
class CurvePanel:
    """A validated yield panel: values, published mask, maturities, loadings, clock, factors."""

    yields: pd.DataFrame
    published: np.ndarray
    maturities: np.ndarray
    loadings: np.ndarray
    times: np.ndarray
    factors: np.ndarray
    dropped_days: int = 0

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.yields.index  # type: ignore[return-value]

    @property
    def residuals(self) -> np.ndarray:
        """Cross-sectional residuals (T, M) on published tenors, 0 where unpublished."""
        fitted = self.factors @ self.loadings.T
        return np.where(self.published, self.yields.to_numpy() - fitted, 0.0)

    def __len__(self) -> int:
        return len(self.yields)


def curve_panel(yields: Any, maturities: Any, published: Any, tau: float, clock: str,
                *, name: str = "yields", min_obs: int = 2) -> CurvePanel:
    """Validate a yield panel and observe its factors; days with nothing published are dropped.

    Parameters
    ----------
    yields
        DataFrame (dates x tenors), percent, NaN where not published.
    maturities
        Years per column (sequence or mapping), or None to read them from the labels.
    published
        Optional boolean DataFrame like ``yields``: False hides a value (never read).
    tau
        Nelson-Siegel decay (years).
    clock
        One of :data:`CLOCKS` (:func:`model_times`).
    name, min_obs
        For error messages; fewer days with a published curve raise.
    """
    if not isinstance(yields, pd.DataFrame):
        raise DataValidationError("type", f"{name} must be a pandas DataFrame (dates x tenors), "
                                  f"got {type(yields).__name__}")
    y = check_timeseries(yields, name=name, min_obs=1, allow_nan=True)
    mask = ~y.isna().to_numpy()
    if published is not None:
        if not isinstance(published, pd.DataFrame) or not published.index.equals(y.index) or \
                list(published.columns) != list(y.columns):
            raise DataValidationError("shape", "published must be a boolean DataFrame with the "
                                      f"index and columns of {name}")
        mask &= published.to_numpy(dtype=bool)
    keep = mask.any(axis=1)  # a day with no published tenor is dropped, never filled
    y = y.loc[keep].where(mask[keep])
    mask = mask[keep]
    if len(y) < min_obs:
        raise InsufficientDataError("min-obs", f"{name} has {len(y)} days with a published "
                                    f"curve, at least {min_obs} needed")
    m = maturities_from_columns(list(y.columns), maturities)
    load = ns_loadings(m, tau)
    fac = observe_factors(np.where(mask, y.to_numpy(), 0.0), mask, load, index=y.index)
    return CurvePanel(y, mask, m, load, model_times(y.index, clock), fac, int((~keep).sum()))


# ------------------------------------------------------------------------------------ torch


def ou_generator(theta: torch.Tensor, K: torch.Tensor, c: torch.Tensor, mu: torch.Tensor
                 ) -> torch.Tensor:
    """Generators (..., 4, 4) ``[[-K(t), c(t)], [0, 0]]`` from theta (..., >= 6).

    ``theta[..., :3]`` is the endpoint ``mu(t)``, ``theta[..., 3:6]`` the speed multipliers.
    """
    scale = theta[..., 3:6]
    shift = theta[..., :3] - mu  # exactly 0 at the benchmark
    ct = scale * (c + shift @ K.T)
    kt = scale.unsqueeze(-1) * K
    top = torch.cat([-kt, ct.unsqueeze(-1)], dim=-1)
    bottom = torch.zeros(top.shape[:-2] + (1, 4), dtype=top.dtype, device=top.device)
    return torch.cat([top, bottom], dim=-2)


def carried(e0: torch.Tensor, theta: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
    """Carried residual ``w(t) exp(-kappa(t) dt) e_t(m)`` (theta[..., 6:8] = w, kappa).

    Exactly 0 at ``w = 0``.
    """
    w = theta[..., 6] * torch.exp(-theta[..., 7] * dt)
    return w.unsqueeze(-1) * e0


def ou_mean(f0: torch.Tensor, gen: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
    """Factor means ``mu + exp(-K dt)(f0 - mu)`` via ``expm(dt * gen)``, broadcasting ``dt``."""
    e = torch.linalg.matrix_exp(dt[..., None, None] * gen)
    return (e[..., :3, :3] @ f0.unsqueeze(-1)).squeeze(-1) + e[..., :3, 3]


def origin_curves(yields: torch.Tensor, published: torch.Tensor, factors: torch.Tensor,
                  loadings: torch.Tensor) -> torch.Tensor:
    """The random-walk curve at each origin: the observed yield where published, else the
    day's Nelson-Siegel fit ``L(m) f_t`` (a tenor the random walk cannot forecast)."""
    return torch.where(published, yields, factors @ loadings.T)


def anchored(y0: torch.Tensor, y_hat: torch.Tensor, theta: torch.Tensor, dt: torch.Tensor
             ) -> torch.Tensor:
    """``y0 + lambda (1 - exp(-dt / eta)) (y_hat - y0)`` (``theta[..., 8:10]`` = lambda, eta).

    ``y0`` and ``y_hat`` are (..., M), ``theta`` (..., >= 10) and ``dt`` (...). Exactly ``y0``
    at ``lambda = 0``; ``y_hat`` at ``lambda = 1`` once ``dt / eta`` exceeds about 37.
    """
    weight = theta[..., 8] * -torch.expm1(-dt / theta[..., 9])
    return y0 + weight.unsqueeze(-1) * (y_hat - y0)
