"""LNN-NSS: a liquid network driving the continuous-time dynamics of Nelson-Siegel factors.

The curve
---------
Yields (percent) at maturities ``m`` (years) load on three Nelson-Siegel factors with a fixed
decay ``tau`` (Diebold and Li's 0.0609 per month by default, GSW convention of
:mod:`hybridrisk.kernels.nss` with ``beta3 = 0`` and ``tau1 = tau2 = tau``)::

    y_t(m) = L(m) f_t + e_t(m),   f_t = (level, slope, curvature),

and the factors of day ``t`` are *observed* by least squares on the tenors published that day
only (a day with fewer than three published tenors raises). Nothing is imputed: an unpublished
tenor never enters a factor, an input or a loss term.

The dynamics: Diebold-Li as an Ornstein-Uhlenbeck process
----------------------------------------------------------
Diebold-Li's VAR(1) ``f_{t+1} = a + Phi f_t + u_t`` (one step = one trading day) is written in
homogeneous coordinates as ``[f_{t+1}; 1] = A [f_t; 1]`` with ``A = [[Phi, a], [0, 1]]``. Its
real matrix logarithm ``log A = [[-K, c], [0, 0]]`` (it exists when no eigenvalue of ``Phi`` is
real and non-positive; checked) is the generator of the continuous-time process

    df = (c - K f) dt + Sigma^{1/2} dW,   i.e.   f(t + D) = mu + exp(-K D) (f(t) - mu),
    mu = K^{-1} c,   exp(-K) = Phi,

whose value at every *integer* horizon ``D = h`` trading days is exactly Diebold-Li's iterated
forecast (``A^h``), and which interpolates continuously between trading days. The homogeneous
form never inverts ``I - Phi``, so a near-unit root costs no precision. The AR variant is the
same with diagonal ``Phi`` (then ``K = -log Phi`` elementwise). Forecast covariances follow the
same construction on ``vec`` of the covariance (``[[Phi (x) Phi, vec Q], [0, 1]]``), so at
integer horizons they equal Diebold-Li's ``sum_k Phi^k Q Phi^k'`` too; the cross-sectional
residual variance is added as Diebold-Li does.

The hybrid
----------
A liquid network (CfC, LTC, CTRNN, or a Neural CDE) reads the factor path and optional extra
series and a :class:`~hybridrisk.lnn.heads.ParameterHead` turns its state ``h(t)`` into

    theta(t) = (mu_level, mu_slope, mu_curvature, r_level, r_slope, r_curvature, w, kappa)(t),
    K(t) = diag(r(t)) K,   c(t) = diag(r(t)) (c + K (mu(t) - mu)),
    y_hat(t + D, m) = L(m) f_hat(t + D) + w(t) exp(-kappa(t) D) e_t(m),

a *shifting endpoint* ``mu(t)`` (percent), a per-factor multiplier ``r(t)`` of the speed of mean
reversion, in ``(0, 2)`` by a sigmoid map in the head (never by clipping: the network may slow
Diebold-Li's reversion down to a random walk, as OLS estimates of near-unit-root reversion are
too fast in finite samples, or at most double it), and a *residual carry*: the day's
cross-sectional residual ``e_t(m)`` of a published tenor (0 for an unpublished one) carried
with weight ``w(t)`` and decay ``kappa(t) > 0`` per trading day (Diebold-Li treats it as
white noise: ``w = 0``). The head starts with zero weights and its bias at ``mu = mu_DL``,
``r = 1``, ``w = 0``, so the untrained hybrid *is* Diebold-Li: ``mu(t) - mu`` is exactly 0,
``r`` exactly 1 (``2 sigmoid(0)``) and the carry exactly 0, and its forecasts equal
``baselines.fit_diebold_li(..., dynamics="var").forecast(...)`` to about 1e-12 (tested;
``forecast(..., nested=True)`` evaluates the frozen head through the same code). The innovation
covariance stays Diebold-Li's: the network moves the conditional mean.

Time
----
Continuous time is measured in **trading days** (one Diebold-Li step; 252 a year). Horizons are
floats in trading days, so ``1.5`` lies between the next two trading days and ``252 * 0.25`` is
three months. ``clock`` maps dates to model time: ``"observations"`` (default; every published
curve is one trading day, Diebold-Li's and the walk-forward's convention), ``"business"``
(Monday-Friday days, so a data gap or a holiday counts as elapsed time) or ``"calendar"``
(calendar days times 252 / 365.25). In training, the target ``k`` steps after an origin is
forecast at the elapsed clock time, so irregular dates (per window, per sample) are handled as
they are, and the encoders see the same per-sample gaps.

Training
--------
A multi-horizon loss: for every origin ``t`` in a batch of windows (see
:mod:`hybridrisk.hybrids._training`) and horizons ``h`` (default 1, 5, 21, 63 trading days), the
squared error in basis points of the forecast ``y_hat(t + h | t)`` against the curve
published ``h`` observations later, on published tenors only, averaged per horizon and weighted
by the inverse of Diebold-Li's own mean squared error at that horizon on the training span (so
the horizons count equally and the untrained loss is 1 per horizon). Targets never cross the
train/validation boundary. Adam, gradient clipping, a penalty toward Diebold-Li (head weights and
bias offset), early stopping on the chronological validation block (Diebold-Li itself is the
first candidate, so a fit never ends worse than it on validation), seeded and reproducible.

The network's state at origin ``t`` is computed over a window of at most ``window``
observations ending at or after ``t`` (causal: only observations up to ``t`` enter), with the
encoder started from zero ``burn_in`` to ``window - 1`` observations earlier: the same context
the network was trained with, and a forecast that does not depend on how far back the sample
goes.

Inputs and extra series
-----------------------
Inputs at origin ``t``: the observed factors and their changes over 1, 5 and 21 observations
(standardised with the training span's statistics) and each extra series' value as of date
``t`` (its own calendar, as-of alignment with ``max_staleness``; see
:func:`~hybridrisk.hybrids._training.asof_align`).
With ``encoder="cde"`` (Neural CDE) an extra series enters only at its own publication dates
(NaN in between, which the CDE fills causally), the first step of every window gets its as-of
value, and the CDE integrates through irregular times: the mixed-frequency variant.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla
import torch
from torch import nn

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import (
    ConfigError,
    DataValidationError,
    InsufficientDataError,
    NumericalError,
)
from hybridrisk.forecasts import CurveForecast
from hybridrisk.hybrids._io import (
    data_sha256,
    load_device,
    load_verified,
    net_arrays,
    package_versions,
    restore_net,
    save_bundle,
)
from hybridrisk.hybrids._training import (
    TrainHistory,
    Windows,
    asof_align,
    collect_series,
    count_parameters,
    extend_covariates,
    fit_config,
    fit_network,
    make_encoder,
    make_windows,
    seeded,
    split_index,
)
from hybridrisk.kernels.nss import nss_loadings
from hybridrisk.lnn.heads import Bounded, ParameterHead, Positive, Real
from hybridrisk.seed import torch_generator

__all__ = [
    "LNNNSS",
    "LNNNSSResult",
    "CurveForecast",
    "OUBenchmark",
    "DL_TAU",
    "DEFAULT_HORIZONS",
    "FACTORS",
    "ls_factors",
    "maturities_from_columns",
]

#: Diebold and Li's decay, 0.0609 per month, as tau in years (``baselines.DIEBOLD_LI_TAU``).
DL_TAU = 1.0 / (12 * 0.0609)
#: Forecast horizons in trading days (as ``baselines.curve_dynamics.HORIZONS``).
DEFAULT_HORIZONS: dict[str, float] = {"1d": 1, "1w": 5, "1m": 21, "3m": 63, "1y": 252}
FACTORS = ("level", "slope", "curvature")
THETA_NAMES = (tuple(f"mu_{f}" for f in FACTORS) + tuple(f"speed_{f}" for f in FACTORS)
               + ("carry", "carry_speed"))
#: Initial decay rate of the carried residual (per trading day; irrelevant while carry = 0).
CARRY_SPEED_INIT = 1.0 / 21.0
#: Upper bound of the speed multipliers (mean reversion at most this many times Diebold-Li's).
MAX_SPEED = 2.0
_ENCODERS = ("cfc", "ltc", "ctrnn", "cde")
_CLOCKS = ("observations", "business", "calendar")
_DYNAMICS = ("var", "ar")
_TRAIN_HORIZONS = (1, 5, 21, 63)
#: Factor changes over these numbers of observations are encoder inputs.
CHANGE_LAGS = (1, 5, 21)


# ---------------------------------------------------------------- helpers


def maturities_from_columns(columns: Sequence[Any], maturities: Any = None) -> np.ndarray:
    """Maturities in years: given, or from GSW (``SVENY10``) or US Treasury (``10 Yr``) names."""
    if maturities is None:
        from hybridrisk.datasets import UST_MATURITIES

        out = []
        for c in columns:
            name = str(c)
            if name.upper().startswith("SVENY") and name[5:].isdigit():
                out.append(float(name[5:]))
            elif name in UST_MATURITIES:
                out.append(float(UST_MATURITIES[name]))
            else:
                raise ConfigError(f"cannot infer the maturity of column {name!r}: pass "
                                  "maturities (years), one per column")
        maturities = out
    elif isinstance(maturities, Mapping):
        missing = [c for c in columns if c not in maturities]
        if missing:
            raise ConfigError(f"maturities has no entry for column {missing[0]!r}")
        maturities = [maturities[c] for c in columns]
    m = np.asarray(maturities, dtype=np.float64).reshape(-1)
    if m.shape != (len(columns),):
        raise ConfigError(f"{len(columns)} columns but {m.size} maturities")
    if not np.isfinite(m).all() or (m <= 0).any():
        raise DataValidationError("positive", "maturities must be positive and finite",
                                  column=list(columns)[int(np.argmin(np.nan_to_num(m)))])
    if len(np.unique(m)) != len(m):
        raise DataValidationError("unique", "maturities repeat")
    return m


def ns_loadings_np(maturities: np.ndarray, tau: float) -> np.ndarray:
    """Nelson-Siegel loadings (n, 3) from the torch kernel (level, slope, curvature)."""
    m = torch.as_tensor(np.asarray(maturities, np.float64))
    t = torch.tensor(float(tau), dtype=torch.float64)
    return nss_loadings(m, t, t)[:, :3].numpy()


def ls_factors(
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
        Row labels for error messages.
    min_tenors
        A day with fewer published tenors raises.

    Returns
    -------
    ndarray
        (T, 3) factors.
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


def model_times(dates: pd.DatetimeIndex, clock: str) -> np.ndarray:
    """Model time (trading days, from 0) of each date under ``clock`` (module docstring)."""
    if clock == "observations":
        return np.arange(len(dates), dtype=np.float64)
    days = dates.values.astype("datetime64[D]")
    if clock == "business":
        return np.busday_count(days[0], days).astype(np.float64)
    if clock == "calendar":
        return (days - days[0]).astype(np.float64) * (252.0 / 365.25)
    raise ConfigError(f"clock must be one of {_CLOCKS}, got {clock!r}")


def _real_logm(a: np.ndarray, what: str) -> np.ndarray:
    """Real principal matrix logarithm, with the checks that make it meaningful."""
    n = a.shape[0] - 1
    eig = np.linalg.eigvals(a[:n, :n])
    bad = (np.abs(eig.imag) <= 1e-14 * np.abs(eig).max()) & (eig.real <= 0)
    if bad.any():
        raise NumericalError(
            f"{what}: the transition has a real eigenvalue {eig[bad][0].real:.6g} <= 0, so it "
            "has no real matrix logarithm and no continuous-time (OU) version")
    log = sla.logm(a)
    log = np.asarray(log)
    if np.iscomplexobj(log):
        if np.abs(log.imag).max() > 1e-10 * max(1.0, np.abs(log.real).max()):
            raise NumericalError(f"{what}: the matrix logarithm is not real")
        log = log.real
    back = sla.expm(log)
    if np.abs(back - a).max() > 1e-10 * max(1.0, np.abs(a).max()):
        raise NumericalError(f"{what}: expm(logm(A)) does not reproduce A")
    return log


@dataclass
class OUBenchmark:
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
        Where the values come from (``"DieboldLiResult"`` or ``"OLS on the training span"``).
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
            k = -np.log(d)
            # c = a log(phi) / (phi - 1), its limit a at phi = 1; log1p keeps the digits
            x = d - 1.0
            ratio = np.where(x == 0, 1.0, np.log1p(x) / np.where(x == 0, 1.0, x))
            self.K = np.diag(k)
            self.c = a * ratio
        else:
            hom = np.eye(4)
            hom[:3, :3], hom[:3, 3] = phi, a
            log = _real_logm(hom, "Diebold-Li VAR(1)")
            self.K, self.c = -log[:3, :3], log[:3, 3].copy()
        if np.abs(np.linalg.eigvals(phi)).max() > 1.0:
            warnings.warn("the factor transition is explosive (an eigenvalue above 1 in "
                          "modulus): the OU form still reproduces Diebold-Li exactly, but mu "
                          "is not a long-run mean", RuntimeWarning, stacklevel=3)
        self.mu = np.linalg.solve(self.K, self.c)
        big = np.eye(10)
        big[:9, :9] = np.kron(phi, phi)
        big[:9, 9] = self.innovation_cov.reshape(-1)
        self.diffusion = _real_logm(big, "factor covariance recursion")[:9, 9].copy()

    @classmethod
    def from_init(cls, init: Any, *, dynamics: str, tau: float) -> OUBenchmark:
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
    def ols(cls, factors: np.ndarray, residuals: np.ndarray, *, dynamics: str, tau: float
            ) -> OUBenchmark:
        """Diebold-Li's OLS (statsmodels ``VAR(1)``/``AutoReg(1)`` with a constant) in numpy.

        Innovation covariance with divisor ``n`` (``sigma_u_mle`` / ``AutoReg.sigma2``).
        """
        x, y = factors[:-1], factors[1:]
        n = len(y)
        design = np.column_stack([np.ones(n), x])
        if dynamics == "var":
            coef, *_ = np.linalg.lstsq(design, y, rcond=None)
            a, phi = coef[0], coef[1:].T
            u = y - design @ coef
            q = u.T @ u / n
        else:
            a, d, var = np.empty(3), np.empty(3), np.empty(3)
            for i in range(3):
                ci, *_ = np.linalg.lstsq(design[:, [0, 1 + i]], y[:, i], rcond=None)
                a[i], d[i] = ci
                var[i] = np.mean((y[:, i] - design[:, [0, 1 + i]] @ ci) ** 2)
            phi, q = np.diag(d), np.diag(var)
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
        return {"bench.intercept": self.intercept, "bench.transition": self.transition,
                "bench.innovation_cov": self.innovation_cov}


def _has(obj: Any, key: str) -> bool:
    return key in obj if isinstance(obj, Mapping) else hasattr(obj, key)


def _horizon_map(horizons: Any) -> dict[str, float]:
    if horizons is None:
        horizons = DEFAULT_HORIZONS
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
        out[str(k)] = v
    if not out:
        raise ConfigError("no horizons given")
    return out


def ou_generator(theta: torch.Tensor, K: torch.Tensor, c: torch.Tensor, mu: torch.Tensor
                 ) -> torch.Tensor:
    """Generators (..., 4, 4) ``[[-K(t), c(t)], [0, 0]]`` from theta (..., >= 6) (docstring)."""
    scale = theta[..., 3:6]
    shift = theta[..., :3] - mu  # exactly 0 at the benchmark
    ct = scale * (c + shift @ K.T)
    kt = scale.unsqueeze(-1) * K
    top = torch.cat([-kt, ct.unsqueeze(-1)], dim=-1)
    bottom = torch.zeros(top.shape[:-2] + (1, 4), dtype=top.dtype, device=top.device)
    return torch.cat([top, bottom], dim=-2)


def carried(e0: torch.Tensor, theta: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
    """Carried residual ``carry(t) exp(-carry_speed(t) dt) e_t(m)``: exactly 0 at carry = 0."""
    w = theta[..., 6] * torch.exp(-theta[..., 7] * dt)
    return w.unsqueeze(-1) * e0


def ou_mean(f0: torch.Tensor, gen: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
    """Factor means ``mu + exp(-K dt)(f0 - mu)`` via ``expm(dt * gen)``, broadcasting ``dt``."""
    e = torch.linalg.matrix_exp(dt[..., None, None] * gen)
    return (e[..., :3, :3] @ f0.unsqueeze(-1)).squeeze(-1) + e[..., :3, 3]


# ---------------------------------------------------------------- data


@dataclass
class _Panel:
    """A validated yield panel: values, published mask, clock, factors."""

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


def _panel(yields: Any, maturities: Any, published: Any, tau: float, clock: str,
           *, name: str = "yields", min_obs: int = 2) -> _Panel:
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
    load = ns_loadings_np(m, tau)
    values = np.where(mask, y.to_numpy(), 0.0)
    fac = ls_factors(values, mask, load, index=y.index)
    return _Panel(y, mask, m, load, model_times(y.index, clock), fac, int((~keep).sum()))


class _Inputs:
    """Encoder inputs at each origin (information up to and including that date)."""

    def __init__(self, covariates: list[pd.Series], *, sparse: bool, max_staleness: Any,
                 on_stale: str) -> None:
        self.covariates = covariates
        self.sparse = sparse
        self.max_staleness = max_staleness
        self.on_stale = on_stale
        self.names: list[str] = []
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def raw(self, panel: _Panel) -> tuple[np.ndarray, np.ndarray]:
        """(T, F) as-of inputs and (T, F) sparse inputs (NaN where no new covariate value)."""
        f = panel.factors
        cols, sparse = [f], [f]
        names = list(FACTORS)
        for lag in CHANGE_LAGS:  # changes over 1 day, 1 week, 1 month (momentum and reversal)
            back = np.maximum(np.arange(len(f)) - lag, 0)
            cols.append(f - f[back])
            sparse.append(cols[-1])
            names += [f"d{lag}_{n}" for n in FACTORS]
        dates = panel.index
        for s in self.covariates:
            vals, missing = asof_align(s, dates, max_staleness=self.max_staleness,
                                       on_stale=self.on_stale, skip_first=False)
            cols.append(vals[:, None])
            names.append(str(s.name))
            # values first published in (previous date, date]: the CDE's own calendar
            pos = np.searchsorted(s.index.values, dates.values, side="right")
            prev = np.concatenate([[0], pos[:-1]])
            fresh = (pos > prev) & ~missing
            sparse.append(np.where(fresh, vals, np.nan)[:, None])
            if self.on_stale == "mean":
                ind = missing.astype(np.float64)[:, None]
                cols.append(ind)
                sparse.append(ind)
                names.append(f"{s.name}_missing")
        self.names = names
        return np.hstack(cols), np.hstack(sparse)

    def fit_stats(self, raw: np.ndarray, split: int) -> None:
        mean = np.nanmean(raw[:split], axis=0)
        std = np.nanstd(raw[:split], axis=0)
        for j, nm in enumerate(self.names):
            if nm.endswith("_missing") and j >= 3 * (1 + len(CHANGE_LAGS)):
                mean[j], std[j] = 0.0, 1.0
        bad = ~np.isfinite(mean) | ~np.isfinite(std) | (std <= 0)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise DataValidationError("constant", f"input {self.names[j]!r} is constant or "
                                      "missing over the training span", column=self.names[j])
        self.mean, self.std = mean, std

    def standardise(self, raw: np.ndarray, *, keep_nan: bool = False) -> np.ndarray:
        assert self.mean is not None and self.std is not None
        x = (raw - self.mean) / self.std
        return x if keep_nan else np.where(np.isnan(x), 0.0, x)


# ---------------------------------------------------------------- the network


class _CurveNet(nn.Module):
    """Encoder + head, and a frozen copy of the head at the benchmark (network off)."""

    def __init__(self, encoder: nn.Module, head: ParameterHead, nested: ParameterHead,
                 bench: OUBenchmark, sparse: bool) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.nested = nested.freeze()
        for p in self.nested.parameters():
            p.requires_grad_(False)
        self.sparse = sparse
        self.register_buffer("K", torch.as_tensor(bench.K, dtype=torch.float64))
        self.register_buffer("c", torch.as_tensor(bench.c, dtype=torch.float64))
        self.register_buffer("mu", torch.as_tensor(bench.mu, dtype=torch.float64))

    def theta(self, x: torch.Tensor, times: torch.Tensor, *, nested: bool = False
              ) -> torch.Tensor:
        """theta (batch, length, 8) in :data:`THETA_NAMES` order."""
        if nested:  # a frozen head ignores h
            out = self.nested(x.new_zeros(x.shape[:2] + (self.nested.hidden_size,)))
        else:
            out = self.head(self.encoder(x, times))
        return torch.stack([out[n] for n in THETA_NAMES], dim=-1)

    def trainable(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters()) + list(self.head.parameters())


class _Engine:
    """Tensors of one panel and the window computations shared by fit, filter and forecast."""

    def __init__(self, net: _CurveNet, panel: _Panel, x: np.ndarray, x_sparse: np.ndarray | None,
                 window: int, burn_in: int, device: torch.device) -> None:
        self.net, self.panel, self.device = net, panel, device
        self.window, self.burn_in = window, burn_in
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=device)  # noqa: E731
        self.x = as_t(x)
        self.x_sparse = None if x_sparse is None else as_t(x_sparse)
        self.times = as_t(panel.times)
        self.f = as_t(panel.factors)
        self.e = as_t(panel.residuals)
        self.y = as_t(np.where(panel.published, panel.yields.to_numpy(), 0.0))
        self.pub = torch.as_tensor(panel.published, device=device)
        self.load = as_t(panel.loadings)

    def inputs(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.times[idx]
        t = t - t[:, :1]
        if self.x_sparse is None:
            return self.x[idx], t
        xs = self.x_sparse[idx].clone()
        xs[:, 0] = self.x[idx[:, 0]]  # each window starts from the as-of values (causal)
        return xs, t

    def theta(self, w: Windows, *, nested: bool) -> torch.Tensor:
        x, t = self.inputs(w.index)
        return self.net.theta(x, t, nested=nested)

    def theta_span(self, start: int, stop: int, *, nested: bool) -> torch.Tensor:
        """theta at origins ``start .. stop-1`` (stop - start, 8), each from its own window."""
        w = make_windows(start, stop, self.window, self.burn_in).to(self.device)
        th = self.theta(w, nested=nested)
        out = torch.empty(stop - start, len(THETA_NAMES), dtype=torch.float64,
                          device=self.device)
        sel = w.mask > 0
        out[w.index[sel] - start] = th[sel]
        return out

    def window_errors(self, w: Windows, limit: int, horizons: Sequence[int], *, nested: bool
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sum of squared bp errors and counts per horizon, targets below ``limit`` only."""
        idx = w.index
        th = self.theta(w, nested=nested)
        gen = ou_generator(th, self.net.K, self.net.c, self.net.mu)  # (B, L, 4, 4)
        hz = torch.as_tensor(list(horizons), device=self.device)
        tgt = idx.unsqueeze(-1) + hz  # (B, L, J)
        valid = (tgt < limit) & (w.mask > 0).unsqueeze(-1)
        tgt = tgt.clamp(max=len(self.panel) - 1)
        dt = self.times[tgt] - self.times[idx].unsqueeze(-1)
        fh = ou_mean(self.f[idx].unsqueeze(-2), gen.unsqueeze(-3), dt)  # (B, L, J, 3)
        yh = fh @ self.load.T + carried(self.e[idx].unsqueeze(-2), th.unsqueeze(-2), dt)
        keep = self.pub[tgt] & valid.unsqueeze(-1)
        err = torch.where(keep, 100.0 * (yh - self.y[tgt]), torch.zeros_like(yh))
        return err.square().sum(dim=(0, 1, 3)), keep.sum(dim=(0, 1, 3)).to(torch.float64)


# ---------------------------------------------------------------- LNN-NSS


class LNNNSS:
    """LNN-NSS: a liquid network modulates the continuous-time Diebold-Li factor dynamics.

    Parameters
    ----------
    encoder
        ``"cfc"`` (default), ``"ltc"``, ``"ctrnn"`` or ``"cde"`` (Neural CDE, for irregular and
        mixed-frequency inputs).
    hidden_size
        Size of the encoder state.
    dynamics
        ``"var"`` (nests Diebold-Li VAR(1)) or ``"ar"`` (nests three AR(1)).
    tau
        Fixed Nelson-Siegel decay in years (Diebold-Li's by default).
    horizons
        Training horizons in trading days (observations ahead).
    clock
        ``"observations"``, ``"business"`` or ``"calendar"`` (module docstring).
    device
        Torch device of the network and data.
    max_staleness, on_stale
        As-of alignment of extra series (see ``hybridrisk.hybrids._training.asof_align``).
    head_layers
        Widths of tanh layers inside the head.
    **encoder_kwargs
        Passed to the encoder (for CfC the defaults here are ``backbone_units=32``).

    Examples
    --------
    >>> from hybridrisk import datasets
    >>> y = datasets.gsw_zero_yields().loc["2015":, ["SVENY01", "SVENY05", "SVENY10"]]
    >>> res = LNNNSS(hidden_size=8).fit(y, epochs=5, progress=False)  # doctest: +SKIP
    >>> res.forecast({"1m": 21, "6w": 30.5}).mean  # doctest: +SKIP
    """

    def __init__(
        self,
        encoder: str = "cfc",
        hidden_size: int = 16,
        *,
        dynamics: str = "var",
        tau: float = DL_TAU,
        horizons: Sequence[int] = _TRAIN_HORIZONS,
        clock: str = "observations",
        device: str | torch.device = "cpu",
        max_staleness: Any = None,
        on_stale: str = "raise",
        head_layers: Sequence[int] = (),
        **encoder_kwargs: Any,
    ) -> None:
        if encoder not in _ENCODERS:
            raise ConfigError(f"encoder must be one of {_ENCODERS}, got {encoder!r}")
        if dynamics not in _DYNAMICS:
            raise ConfigError(f"dynamics must be 'var' or 'ar', got {dynamics!r}")
        if clock not in _CLOCKS:
            raise ConfigError(f"clock must be one of {_CLOCKS}, got {clock!r}")
        if on_stale not in ("raise", "mean"):
            raise ConfigError(f"on_stale must be 'raise' or 'mean', got {on_stale!r}")
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool) or hidden_size < 1:
            raise ConfigError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not (isinstance(tau, int | float) and math.isfinite(tau) and tau > 0):
            raise ConfigError(f"tau must be a positive number of years, got {tau!r}")
        hz = tuple(int(h) for h in horizons)
        if not hz or any(h < 1 for h in hz) or any(h != float(v) for h, v in zip(hz, horizons,
                                                                                   strict=True)):
            raise ConfigError(f"training horizons must be positive integers (observations "
                              f"ahead), got {horizons!r}")
        self.encoder = encoder
        self.hidden_size = int(hidden_size)
        self.dynamics = dynamics
        self.tau = float(tau)
        self.horizons = hz
        self.clock = clock
        self.device = torch.device(device)
        self.max_staleness = None if max_staleness is None else str(pd.Timedelta(max_staleness))
        self.on_stale = on_stale
        self.head_layers = tuple(int(w) for w in head_layers)
        if encoder == "cfc":
            encoder_kwargs = {"backbone_units": 32, **encoder_kwargs}
        if encoder == "cde":
            encoder_kwargs = {"width": 32, **encoder_kwargs}
        self.encoder_kwargs = dict(encoder_kwargs)

    def spec(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable), stored with saved models."""
        return {"encoder": self.encoder, "hidden_size": self.hidden_size,
                "dynamics": self.dynamics, "tau": self.tau, "horizons": list(self.horizons),
                "clock": self.clock, "max_staleness": self.max_staleness,
                "on_stale": self.on_stale, "head_layers": list(self.head_layers),
                "encoder_kwargs": self.encoder_kwargs}

    @property
    def name(self) -> str:
        return f"LNN-NSS-{self.dynamics.upper()} ({self.encoder})"

    def _build_net(self, n_inputs: int, bench: OUBenchmark) -> _CurveNet:
        if self.encoder == "cde":
            from hybridrisk.lnn.cde import NeuralCDE

            enc = NeuralCDE(n_inputs, self.hidden_size, **self.encoder_kwargs)
            enc = enc.to(device=self.device, dtype=torch.float64)
        else:
            enc = make_encoder(self.encoder, n_inputs, self.hidden_size, device=self.device,
                               **self.encoder_kwargs)
        spec = {**{f"mu_{f}": Real() for f in FACTORS},
                **{f"speed_{f}": Bounded(0.0, MAX_SPEED) for f in FACTORS},
                "carry": Real(), "carry_speed": Positive()}
        init = {**{f"mu_{f}": float(bench.mu[i]) for i, f in enumerate(FACTORS)},
                **{f"speed_{f}": 1.0 for f in FACTORS}, "carry": 0.0,
                "carry_speed": CARRY_SPEED_INIT}

        def head() -> ParameterHead:
            return ParameterHead(self.hidden_size, spec, init, hidden_layers=self.head_layers,
                                 dtype=torch.float64).to(self.device)

        return _CurveNet(enc, head(), head(), bench, self.encoder == "cde").to(self.device)

    def _inputs(self, covariates: list[pd.Series]) -> _Inputs:
        return _Inputs(covariates, sparse=self.encoder == "cde",
                       max_staleness=self.max_staleness, on_stale=self.on_stale)

    def fit(
        self,
        yields: pd.DataFrame,
        maturities: Any = None,
        *,
        covariates: Any = None,
        init: Any = None,
        published: pd.DataFrame | None = None,
        seed: int = 0,
        epochs: int = 40,
        lr: float = 2e-2,
        window: int = 48,
        burn_in: int = 16,
        val_fraction: float = 0.2,
        patience: int = 8,
        penalty: float = 1e-3,
        batch_size: int | None = 4,
        grad_clip: float | None = 1.0,
        progress: bool = True,
    ) -> LNNNSSResult:
        """Fit the network on a multi-horizon forecast loss, warm-started at Diebold-Li.

        Parameters
        ----------
        yields
            Yields in percent (dates x tenors), DatetimeIndex, NaN where not published. Days
            with no published tenor are dropped (never filled).
        maturities
            Years per column, a mapping column -> years, or None for GSW (``SVENY10``) or
            US Treasury (``10 Yr``) column names.
        covariates
            Extra series on their own calendars (Series, DataFrame, dict or list of Series).
        init
            The benchmark: ``baselines.fit_diebold_li(yields, dynamics=...)`` (its dynamics and
            tau must match) or a mapping with ``intercept``, ``transition``, ``innovation_cov``,
            ``measurement_var``. None estimates Diebold-Li's OLS on the training span (the
            validation block excluded), as statsmodels would.
        published
            Optional boolean mask (same index and columns): False marks a value as not
            published even if present (e.g. a stale quote); it is then never read.
        seed
            Seeds the network initialisation and the shuffling of windows.
        epochs, lr, window, burn_in, val_fraction, patience, penalty, batch_size, grad_clip
            Training settings, see :class:`~hybridrisk.hybrids._training.TrainConfig`.
        progress
            Show a tqdm progress bar.

        Returns
        -------
        LNNNSSResult

        Raises
        ------
        DataValidationError
            Bad yields, maturities or covariates, or a day with fewer than 3 tenors.
        ConfigError
            Bad settings or an ``init`` that does not match the model.
        NumericalError
            No continuous-time version of the benchmark exists, or training failed
            numerically (``err.checkpoint`` holds the last good state).
        """
        config = fit_config(epochs=epochs, lr=lr, window=window, burn_in=burn_in,
                            val_fraction=val_fraction, patience=patience, penalty=penalty,
                            batch_size=batch_size, grad_clip=grad_clip, progress=progress)
        panel = _panel(yields, maturities, published, self.tau, self.clock, min_obs=30)
        covs = collect_series(covariates)
        n = len(panel)
        split = split_index(n, config.val_fraction, min_train=30)
        if init is None:
            resid = np.where(panel.published, panel.yields.to_numpy()
                             - panel.factors @ panel.loadings.T, np.nan)
            bench = OUBenchmark.ols(panel.factors[:split], resid[:split],
                                    dynamics=self.dynamics, tau=self.tau)
        else:
            bench = OUBenchmark.from_init(init, dynamics=self.dynamics, tau=self.tau)
        inputs = self._inputs(covs)
        raw, raw_sparse = inputs.raw(panel)
        inputs.fit_stats(raw, split)
        x = inputs.standardise(raw)
        xs = inputs.standardise(raw_sparse, keep_nan=True) if inputs.sparse else None

        with seeded(seed):  # the seed fixes the weights, privately
            net = self._build_net(x.shape[1], bench)
        gen = torch_generator(int(seed))
        eng = _Engine(net, panel, x, xs, config.window, config.burn_in, self.device)
        train_w = make_windows(0, split, config.window, config.burn_in).to(self.device)
        with torch.no_grad():  # per-horizon weights: the benchmark's own train MSE
            sse, cnt = eng.window_errors(train_w, split, self.horizons, nested=True)
        ok = (cnt > 0) & (sse > 0)
        if not bool(ok.any()):
            raise InsufficientDataError("min-obs", "no training origin has a published target "
                                        f"at any horizon {self.horizons}")
        weights = torch.where(ok, cnt / sse.clamp(min=1e-300), torch.zeros_like(sse))

        def objective(s: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return (weights * s / c.clamp(min=1.0)).sum() / ok.sum()

        def loss_fn(w: Windows) -> torch.Tensor:
            s, c = eng.window_errors(w, split, self.horizons, nested=False)
            return objective(s, c) + config.penalty * net.head.penalty(bias=1.0)

        val_fn = None
        if split < n:
            val_w = make_windows(split, n, config.window, config.burn_in).to(self.device)

            def val_fn() -> float:
                with torch.no_grad():
                    return float(objective(*eng.window_errors(val_w, n, self.horizons,
                                                              nested=False)))

        net.train()
        history = fit_network(self, net, loss_fn, val_fn, train_w, config, generator=gen,
                              desc=self.name)
        return LNNNSSResult(spec=self.spec(), net=net, panel=panel, covariates=covs,
                            inputs=inputs, bench=bench, split=split, history=history,
                            config=config.to_dict(), seed=int(seed), device=self.device,
                            weights=weights.cpu().numpy())


# ---------------------------------------------------------------- the result


class LNNNSSResult:
    """A fitted LNN-NSS: the theta path, curve forecasts at any horizon, save/load.

    Attributes
    ----------
    params
        theta(t) path: observed factors, endpoints ``mu_*`` (percent) and speed multipliers
        ``speed_*``, residual carry and its half-life (trading days) by date.
    benchmark
        The nested Diebold-Li dynamics (:class:`OUBenchmark`).
    history
        Training history.
    """

    def __init__(self, *, spec: dict[str, Any], net: _CurveNet, panel: _Panel,
                 covariates: list[pd.Series], inputs: _Inputs, bench: OUBenchmark, split: int,
                 history: TrainHistory, config: dict[str, Any], seed: int,
                 device: torch.device, weights: np.ndarray) -> None:
        self.spec, self.net, self.panel = spec, net, panel
        self.covariates, self.inputs, self.benchmark = covariates, inputs, bench
        self.split, self.history, self.config, self.seed = split, history, config, seed
        self.device, self.weights = device, np.asarray(weights, np.float64)
        self._cache: dict[bool, np.ndarray] = {}

    # -- evaluation -----------------------------------------------------------------------------

    def _engine(self, panel: _Panel, covariates: list[pd.Series]) -> _Engine:
        inp = _Inputs(covariates, sparse=self.inputs.sparse,
                      max_staleness=self.inputs.max_staleness, on_stale=self.inputs.on_stale)
        raw, raw_sparse = inp.raw(panel)
        inp.names, inp.mean, inp.std = self.inputs.names, self.inputs.mean, self.inputs.std
        x = inp.standardise(raw)
        xs = inp.standardise(raw_sparse, keep_nan=True) if inp.sparse else None
        return _Engine(self.net, panel, x, xs, int(self.config["window"]),
                       int(self.config["burn_in"]), self.device)

    def _theta(self, nested: bool) -> np.ndarray:
        if nested not in self._cache:
            eng = self._engine(self.panel, self.covariates)
            with torch.no_grad():
                self._cache[nested] = eng.theta_span(0, len(self.panel), nested=nested
                                                     ).cpu().numpy()
        return self._cache[nested]

    @property
    def maturities(self) -> np.ndarray:
        return self.panel.maturities

    @property
    def factors(self) -> pd.DataFrame:
        """Factors observed by least squares on each day's published tenors."""
        return pd.DataFrame(self.panel.factors, index=self.panel.index, columns=list(FACTORS))

    @property
    def params(self) -> pd.DataFrame:
        """theta(t) by date: factors, endpoints ``mu_*`` and speed multipliers ``speed_*``."""
        th = self._theta(False)
        df = self.factors
        for i, f in enumerate(FACTORS):
            df[f"mu_{f}"] = th[:, i]
        for i, f in enumerate(FACTORS):
            df[f"speed_{f}"] = th[:, 3 + i]
        df["carry"] = th[:, 6]
        df["carry_halflife"] = math.log(2.0) / th[:, 7]
        return df

    @property
    def benchmark_params(self) -> pd.Series:
        """Diebold-Li's values of the ``params`` columns (speed multipliers 1)."""
        vals = {f"mu_{f}": float(self.benchmark.mu[i]) for i, f in enumerate(FACTORS)}
        vals.update({f"speed_{f}": 1.0 for f in FACTORS})
        vals["carry"] = 0.0
        return pd.Series(vals, name="Diebold-Li")

    @property
    def nobs(self) -> int:
        return len(self.panel)

    @property
    def num_params(self) -> int:
        return count_parameters(self.net.encoder) + count_parameters(self.net.head)

    def _forecast_arrays(self, f0: np.ndarray, theta: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """Factor means (N, J, 3) from factors (N, 3), theta (N, 8), horizons dt (J,)."""
        with torch.no_grad():
            th = torch.tensor(np.asarray(theta, np.float64), device=self.device)
            gen = ou_generator(th, self.net.K, self.net.c, self.net.mu).unsqueeze(-3)
            f = torch.tensor(np.asarray(f0, np.float64), device=self.device).unsqueeze(-2)
            d = torch.as_tensor(np.asarray(dt, np.float64), device=self.device)
            return ou_mean(f, gen, d).cpu().numpy()

    def _curve(self, f0: np.ndarray, e0: np.ndarray, theta: np.ndarray, dt: np.ndarray,
               load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Yield means (N, J, M) and factor means (N, J, 3) from origins' factors/residuals."""
        fh = self._forecast_arrays(f0, theta, dt)
        with torch.no_grad():
            c = carried(torch.tensor(np.asarray(e0, np.float64)).unsqueeze(-2),
                        torch.tensor(np.asarray(theta, np.float64)).unsqueeze(-2),
                        torch.tensor(np.asarray(dt, np.float64))).numpy()
        return fh @ load.T + c, fh

    def forecast(self, horizons: Any = None, *, nested: bool = False) -> CurveForecast:
        """Curve forecast from the last day at any horizons (trading days, floats allowed).

        Parameters
        ----------
        horizons
            Mapping label -> trading days, or a sequence of trading days;
            :data:`DEFAULT_HORIZONS` (1d, 1w, 1m, 3m, 1y) by default.
        nested
            Network off: Diebold-Li's forecast (equal to ``fit_diebold_li(...).forecast``).

        Returns
        -------
        CurveForecast
            Means (percent) by horizon and maturity, covariances (percent^2), factor means.
        """
        hz = _horizon_map(horizons)
        th = self._theta(nested)[-1]
        load = self.panel.loadings
        yh, fh = self._curve(self.panel.factors[-1:], self.panel.residuals[-1:], th[None],
                             np.array(list(hz.values())), load)
        yh, fh = yh[0], fh[0]
        scale = th[3:6]
        k = scale[:, None] * self.benchmark.K
        cov = {}
        for lab, h in hz.items():
            v = self.benchmark.covariance(h, k)
            cov[lab] = load @ v @ load.T + self.benchmark.measurement_var * np.eye(len(load))
        cols = list(self.panel.yields.columns)
        mean = pd.DataFrame(yh, index=list(hz), columns=cols)
        fac = pd.DataFrame(fh, index=list(hz), columns=list(FACTORS))
        return CurveForecast(self.panel.index[-1], self.maturities, mean, cov, fac, hz)

    def filter(
        self,
        new_yields: pd.DataFrame,
        new_covariates: Any = None,
        *,
        horizons: Any = None,
        nested: bool = False,
        with_params: bool = False,
    ) -> pd.DataFrame:
        """Forecasts through an out-of-sample block without refitting.

        Row ``t`` of the result holds the forecasts made at the previous observation (the fit
        sample's last day for the first new date), using information up to then only.

        Parameters
        ----------
        new_yields
            Yields dated after the fit sample, same columns (NaN where unpublished).
        new_covariates
            The same extra series (by name) over the new period.
        horizons
            As in :meth:`forecast`.
        nested
            Network off (Diebold-Li).
        with_params
            Add ``theta_<name>`` columns (theta at the origin) and ``factor_<name>`` columns.

        Returns
        -------
        DataFrame
            Indexed by the new dates; columns ``"<label>|<column>"`` (percent).
        """
        hz = _horizon_map(horizons)
        new = check_timeseries(new_yields, name="new_yields", min_obs=1, allow_nan=True)
        if list(new.columns) != list(self.panel.yields.columns):
            raise DataValidationError("columns", "new_yields must have the fit's columns "
                                      f"{list(self.panel.yields.columns)}")
        last = self.panel.index[-1]
        if new.index[0] <= last:
            raise DataValidationError("sorted-index", "new_yields must start after the fit "
                                      f"sample's last date {last.isoformat()}",
                                      row=new.index[0].isoformat())
        full = pd.concat([self.panel.yields, new])
        panel = _panel(full, self.maturities, None, self.spec["tau"], self.spec["clock"],
                       name="yields + new_yields")
        covs = extend_covariates(self.covariates, new_covariates)
        n_fit = len(self.panel)
        n_all = len(panel)
        if n_all == n_fit:
            raise DataValidationError("min-obs", "new_yields holds no published curve")
        eng = self._engine(panel, covs)
        with torch.no_grad():
            th = eng.theta_span(n_fit - 1, n_all - 1, nested=nested).cpu().numpy()
        f0 = panel.factors[n_fit - 1: n_all - 1]
        e0 = panel.residuals[n_fit - 1: n_all - 1]
        yh, _ = self._curve(f0, e0, th, np.array(list(hz.values())), panel.loadings)
        cols = list(panel.yields.columns)
        out = {f"{lab}|{c}": yh[:, j, i] for j, lab in enumerate(hz) for i, c in enumerate(cols)}
        if with_params:
            for i, f in enumerate(FACTORS):
                out[f"factor_{f}"] = f0[:, i]
            for i, f in enumerate(FACTORS):
                out[f"theta_mu_{f}"] = th[:, i]
            for i, f in enumerate(FACTORS):
                out[f"theta_speed_{f}"] = th[:, 3 + i]
            out["theta_carry"] = th[:, 6]
        res = pd.DataFrame(out, index=panel.index[n_fit:])
        return res.reindex(new.index)  # a new day with no published curve gets NaN

    def fitted_forecasts(self, horizons: Any = None, *, nested: bool = False) -> pd.DataFrame:
        """In-sample forecasts from every origin of the fit sample (columns as :meth:`filter`)."""
        hz = _horizon_map(horizons)
        yh, _ = self._curve(self.panel.factors, self.panel.residuals, self._theta(nested),
                            np.array(list(hz.values())), self.panel.loadings)
        cols = list(self.panel.yields.columns)
        return pd.DataFrame({f"{lab}|{c}": yh[:, j, i] for j, lab in enumerate(hz)
                             for i, c in enumerate(cols)}, index=self.panel.index)

    def rmse(self, *, nested: bool = False) -> pd.DataFrame:
        """In-sample RMSE (bp) by training horizon, over the training span and validation block.

        Targets ``h`` observations after each origin, on published tenors only.
        """
        hz = {f"{h}": float(h) for h in self.spec["horizons"]}
        eng = self._engine(self.panel, self.covariates)
        rows = {}
        n = len(self.panel)
        spans = {"train": (0, self.split), "validation": (self.split, n)}
        for name, (a, b) in spans.items():
            if a >= b:
                continue
            w = make_windows(a, b, eng.window, eng.burn_in).to(self.device)
            with torch.no_grad():
                s, c = eng.window_errors(w, b, [int(v) for v in hz.values()], nested=nested)
            rows[name] = np.sqrt(s.cpu().numpy() / np.maximum(c.cpu().numpy(), 1))
            rows[name][c.cpu().numpy() == 0] = np.nan
        return pd.DataFrame(rows, index=[f"h={k}" for k in hz]).T

    def simulate(self, n_paths: int, horizon: int, seed: int | None = None, *,
                 nested: bool = False) -> np.ndarray:
        """Simulated yield paths (n_paths, horizon, n_maturities), one step per trading day.

        The exact OU transition over one trading day with theta held at its last value (future
        inputs are unknown); the measurement noise of the curve is added to each day's yields.
        """
        if int(n_paths) < 1 or int(horizon) < 1:
            raise ConfigError("n_paths and horizon must be >= 1")
        th = self._theta(nested)[-1]
        k = th[3:6][:, None] * self.benchmark.K
        step = self._forecast_arrays(np.zeros((1, 3)), th[None], np.array([1.0]))[0, 0]
        e1 = self._forecast_arrays(np.eye(3), np.repeat(th[None], 3, 0), np.array([1.0]))
        phi = (e1[:, 0, :] - step).T  # columns: responses to unit factors
        chol = np.linalg.cholesky(self.benchmark.covariance(1.0, k) + 1e-18 * np.eye(3))
        rng = np.random.default_rng(seed)
        f = np.repeat(self.panel.factors[-1][None], int(n_paths), 0)
        load = self.panel.loadings
        out = np.empty((int(n_paths), int(horizon), len(load)))
        sd = math.sqrt(max(self.benchmark.measurement_var, 0.0))
        e0 = self.panel.residuals[-1]
        for h in range(int(horizon)):
            f = step + f @ phi.T + rng.standard_normal((int(n_paths), 3)) @ chol.T
            carry = th[6] * math.exp(-th[7] * (h + 1)) * e0
            out[:, h] = f @ load.T + carry + sd * rng.standard_normal((int(n_paths), len(load)))
        return out

    # -- reporting ------------------------------------------------------------------------------

    def summary(self) -> str:
        """Text summary: model, sample, benchmark dynamics, theta path and in-sample RMSE."""
        w = 78
        b = self.benchmark
        h = self.history
        idx = self.panel.index
        lines = ["LNN-NSS Model Results".center(w).rstrip(), "=" * w,
                 f"{'Model:':<24}{LNNNSS(**_ctor(self.spec)).name}",
                 f"{'Benchmark:':<24}Diebold-Li {b.dynamics.upper()}(1) as an OU process "
                 f"({b.source})",
                 f"{'Decay tau:':<24}{b.tau:.4f} years; clock = {self.spec['clock']}",
                 f"{'Sample:':<24}{idx[0]:%Y-%m-%d} .. {idx[-1]:%Y-%m-%d} ({len(idx)} days, "
                 f"{self.panel.dropped_days} without a published curve dropped)",
                 f"{'Train / validation:':<24}{self.split} / {len(idx) - self.split}",
                 f"{'Network parameters:':<24}{self.num_params}",
                 f"{'Epochs (best / run):':<24}{h.best_epoch} / {h.epochs_run}"
                 f"{' (stopped early)' if h.stopped_early else ''}",
                 f"{'Validation loss:':<24}{h.best_val_loss:.4f} (benchmark "
                 f"{h.initial_val_loss:.4f}; 1 = Diebold-Li's train MSE per horizon)",
                 "=" * w, "theta(t)".center(w).rstrip(), "=" * w,
                 f"{'':<18}{'benchmark':>11}{'mean':>11}{'std':>11}{'min':>11}{'max':>11}",
                 "-" * w]
        p = self.params
        ref = self.benchmark_params
        for c in ref.index:
            col = p[c]
            lines.append(f"{c:<18}{ref[c]:>11.4g}{col.mean():>11.4g}{col.std():>11.4g}"
                         f"{col.min():>11.4g}{col.max():>11.4g}")
        lines += ["-" * w, "Diebold-Li mean-reversion speeds K (per year):"]
        for i, f in enumerate(FACTORS):
            lines.append(f"  {f:<12}" + "".join(f"{252 * v:>11.4f}" for v in b.K[i]))
        rm = self.rmse()
        rn = self.rmse(nested=True)
        lines += ["=" * w, "In-sample RMSE (bp) by horizon (trading days): hybrid / benchmark"]
        for span in rm.index:
            cells = "  ".join(f"{c}: {rm.loc[span, c]:.2f}/{rn.loc[span, c]:.2f}"
                              for c in rm.columns)
            lines.append(f"  {span:<11}{cells}")
        lines += ["=" * w, "Network parameters have no standard errors. Forecast covariances "
                  "use Diebold-Li's", "innovation covariance with the hybrid's speeds."]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<LNNNSSResult {self.spec['dynamics']} {self.spec['encoder']} nobs={self.nobs} "
                f"best_val={self.history.best_val_loss:.4f}>")

    # -- persistence ----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save to a directory: ``model.safetensors`` (weights, data) and ``config.json``."""
        tensors = net_arrays(self.net)
        y = self.panel.yields
        tensors["data.yields"] = np.where(self.panel.published, y.to_numpy(), 0.0)
        tensors["data.published"] = self.panel.published.astype(np.uint8)
        tensors["data.index"] = y.index.values.astype("datetime64[ns]").astype(np.int64)
        tensors["data.maturities"] = self.maturities
        for i, s in enumerate(self.covariates):
            tensors[f"data.cov{i}.values"] = s.to_numpy(np.float64)
            tensors[f"data.cov{i}.index"] = s.index.values.astype("datetime64[ns]").astype(
                np.int64)
        tensors["inputs.mean"] = np.asarray(self.inputs.mean)
        tensors["inputs.std"] = np.asarray(self.inputs.std)
        tensors["train.weights"] = self.weights
        tensors.update(self.benchmark.to_arrays())
        meta = {
            "kind": "LNNNSSResult", "spec": self.spec, "split": self.split,
            "history": self.history.to_dict(), "config": self.config, "seed": self.seed,
            "columns": [str(c) for c in y.columns],
            "covariate_names": [str(s.name) for s in self.covariates],
            "input_names": self.inputs.names,
            "benchmark": {"dynamics": self.benchmark.dynamics, "tau": self.benchmark.tau,
                          "measurement_var": self.benchmark.measurement_var,
                          "source": self.benchmark.source},
            "versions": package_versions(),
            "data_sha256": data_sha256(tensors),
        }
        return save_bundle(path, tensors, meta)

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None
             ) -> LNNNSSResult:
        """Load a result written by :meth:`save` (checks the data hash)."""
        tensors, meta = load_verified(path, kind="LNNNSSResult")
        spec = meta["spec"]
        dev = load_device(device)
        model = LNNNSS(**_ctor(spec), device=dev)
        idx = pd.DatetimeIndex(tensors["data.index"].astype("datetime64[ns]"), name="date")
        pub = tensors["data.published"].astype(bool)
        y = pd.DataFrame(np.where(pub, tensors["data.yields"], np.nan), index=idx,
                         columns=meta["columns"])
        panel = _panel(y, tensors["data.maturities"], None, spec["tau"], spec["clock"])
        covs = []
        for i, nm in enumerate(meta["covariate_names"]):
            ci = pd.DatetimeIndex(tensors[f"data.cov{i}.index"].astype("datetime64[ns]"))
            covs.append(pd.Series(tensors[f"data.cov{i}.values"], index=ci, name=nm))
        inputs = model._inputs(covs)
        inputs.names = list(meta["input_names"])
        inputs.mean, inputs.std = tensors["inputs.mean"], tensors["inputs.std"]
        bm = meta["benchmark"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bench = OUBenchmark(bm["dynamics"], bm["tau"], tensors["bench.intercept"],
                                tensors["bench.transition"], tensors["bench.innovation_cov"],
                                bm["measurement_var"], source=bm["source"])
        net = model._build_net(len(inputs.names), bench)
        restore_net(net, tensors)
        return cls(spec=spec, net=net, panel=panel, covariates=covs, inputs=inputs, bench=bench,
                   split=int(meta["split"]), history=TrainHistory.from_dict(meta["history"]),
                   config=meta["config"], seed=int(meta["seed"]), device=dev,
                   weights=tensors["train.weights"])


def _ctor(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor keyword arguments from a stored spec."""
    kw = {k: spec[k] for k in ("encoder", "hidden_size", "dynamics", "tau", "horizons", "clock",
                               "max_staleness", "on_stale", "head_layers")}
    return {**kw, **spec.get("encoder_kwargs", {})}
