r"""Dynamic bivariate copulas: estimation, inference, filtering and simulation.

What Patton's (2006) model (:mod:`baselines.copula_patton`) and the score-driven GAS model of
Creal, Koopman & Lucas (2013) (:mod:`baselines.copula_gas`) share. Both keep the copula family
fixed and let its first parameter move (``rho`` for the Gaussian and t copulas, whose ``nu``
is constant and estimated; ``theta`` for Clayton and Gumbel -- the base copula's parameter
under pyvinecopulib's rotations). Observations are ``t = 1..T``; ``theta_t`` uses the data up
to ``t - 1`` only, and the log-likelihood is :math:`\sum_{t=1}^T \log c(u_t; \theta_t)` with
the densities of :mod:`hybridrisk.kernels.copulas`. The equations of one step (links, scores,
Patton's maps and forcing terms) are those of :mod:`hybridrisk.kernels.copula_dynamics`; the
recursions run on Python floats, one observation at a time.

Estimation: maximum likelihood by L-BFGS-B over an unconstrained parametrisation (``nu``
within pyvinecopulib's ``[2, 50]``) with central-difference gradients, from the best few points
of a grid of starting values built around the static fit, polished by Newton steps on the
numerical Hessian. Standard errors: the robust sandwich :math:`H^{-1}(\sum_t g_t g_t')H^{-1}`
with :math:`g_t` the central-difference scores of each observation's log density (through
the whole recursion) and :math:`H` the second-difference Hessian of the log-likelihood, both in
the reported parameters; the estimation error of the margins is ignored (two-step IFM). A
Hessian that is not negative definite (a flat ridge, as Patton's model can have when
``|beta|`` is large) gives NaN standard errors and ``converged = False``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import optimize, stats

from baselines.copulas import FIT_BOUNDS, CopulaResult, fit_copula
from baselines.margins import check_pits
from hybridrisk.errors import ConfigError, ConvergenceError, ParameterDomainError
from hybridrisk.kernels import copulas as K
from hybridrisk.results import (
    ParameterResults,
    ResultBase,
    Summary,
    horizon_index,
    parameter_table,
)

__all__ = ["MIN_OBS", "CopulaPathSimulation", "DynamicCopulaResult"]

#: Fewest observations a dynamic copula fit accepts.
MIN_OBS = 50

_TITLES = {"gaussian": "Gaussian", "student": "Student-t", "clayton": "Clayton",
           "gumbel": "Gumbel"}
NU_BOUNDS = FIT_BOUNDS["student"][1]


class Invalid(Exception):
    """A parameter value at which the recursion or the density leaves its domain."""


# ---------------------------------------------------------------- model interface


class Dynamics:
    """One dynamic model of one family: what estimation, filtering and simulation need.

    Subclasses set ``model``, ``title`` and ``dyn_names`` and implement :meth:`inputs`,
    :meth:`path`, :meth:`starts` and :meth:`stepper`.
    """

    model = ""
    title = ""
    dyn_names: tuple[str, str, str] = ("omega", "", "")

    def __init__(self, family: str, rotation: int) -> None:
        self.family = family
        self.rotation = int(rotation)

    @property
    def names(self) -> list[str]:
        return list(self.dyn_names) + (["nu"] if self.family == "student" else [])

    def nu(self, p: np.ndarray) -> float | None:
        return float(p[3]) if self.family == "student" else None

    def describe(self) -> str:
        raise NotImplementedError

    def notes(self) -> list[str]:
        return []

    def inputs(self, u: torch.Tensor, nu: float | None) -> Any:
        """Per-observation inputs of the recursion (cached by ``nu``)."""
        raise NotImplementedError

    def path(self, p: np.ndarray, data: Data) -> np.ndarray:
        """The copula's first parameter for ``t = 1..T+1``; raises :class:`Invalid`."""
        raise NotImplementedError

    def starts(self, static: CopulaResult, data: Data) -> list[np.ndarray]:
        raise NotImplementedError

    def stepper(self, p: np.ndarray, data: Data | None) -> Stepper:
        """The recursion from its start (``data=None``) or after the sample."""
        raise NotImplementedError

    def to_free(self, p: np.ndarray) -> np.ndarray:
        return p.copy()

    def from_free(self, z: np.ndarray) -> np.ndarray:
        return z.copy()

    def check(self, p: np.ndarray) -> None:
        """Raise :class:`ParameterDomainError` for parameters the model does not allow."""
        if self.family == "student" and not p[3] > 0:
            raise ParameterDomainError("nu", float(p[3]), "nu > 0")

    def admissible(self, p: np.ndarray) -> bool:
        """Inside the search space (``nu`` within its bounds)."""
        try:
            self.check(p)
        except ParameterDomainError:
            return False
        return self.family != "student" or NU_BOUNDS[0] <= p[3] <= NU_BOUNDS[1]

    def steps(self, p: np.ndarray, scale: float) -> np.ndarray:
        """Difference steps in the reported parametrisation."""
        return scale * np.maximum(1.0, np.abs(p))

    def forecast(self, p: np.ndarray, data: Data, horizon: int) -> np.ndarray:
        if horizon > 1:
            raise ConfigError(f"the {self.title} recursion has no closed-form multi-step "
                              "forecast; use simulate()")
        return self.path(p, data)[-1:]


class Data:
    """PITs with the per-observation inputs of a model's recursion, cached by ``nu``."""

    def __init__(self, dyn: Dynamics, vals: np.ndarray) -> None:
        self.dyn = dyn
        self.u = torch.from_numpy(np.array(vals, dtype=np.float64))
        self.n = vals.shape[0]
        self._cache: dict[float | None, Any] = {}

    def inputs(self, nu: float | None) -> Any:
        key = None if nu is None else float(nu)
        if key not in self._cache:
            if len(self._cache) > 16:
                self._cache.clear()
            self._cache[key] = self.dyn.inputs(self.u, key)
        return self._cache[key]


class Stepper:
    """A recursion advanced one observation at a time (for simulation).

    Subclasses keep ``theta`` (the parameter for the next draw) and implement :meth:`update`.
    """

    def __init__(self, dyn: Dynamics, p: np.ndarray, theta: float) -> None:
        self.dyn, self.p, self.theta = dyn, p, float(theta)
        self.nu = dyn.nu(p)

    def update(self, row: torch.Tensor) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------- likelihood


def kernel_theta(dyn: Dynamics, theta: np.ndarray, nu: float | None) -> Any:
    t = torch.from_numpy(np.ascontiguousarray(theta, dtype=np.float64))
    return (t, torch.tensor(nu, dtype=torch.float64)) if dyn.family == "student" else t


def loglik_obs(dyn: Dynamics, p: np.ndarray, data: Data) -> np.ndarray:
    """Per-observation log densities; raises :class:`Invalid` outside the domain."""
    nu = dyn.nu(p)
    if nu is not None and not nu > 0:
        raise Invalid
    th = dyn.path(p, data)[: data.n]
    try:
        ll = K.log_density(dyn.family, data.u, kernel_theta(dyn, th, nu), dyn.rotation)
    except ParameterDomainError as exc:
        raise Invalid from exc
    out = ll.numpy()
    if not np.all(np.isfinite(out)):
        raise Invalid
    return out


def _total(dyn: Dynamics, p: np.ndarray, data: Data) -> float:
    try:
        return float(loglik_obs(dyn, p, data).sum())
    except Invalid:
        return -math.inf


# ---------------------------------------------------------------- estimation


def _lbfgs(dyn: Dynamics, z0: np.ndarray, data: Data) -> tuple[np.ndarray, bool, str]:
    bounds = [(None, None)] * 3 + ([NU_BOUNDS] if dyn.family == "student" else [])
    n = data.n

    def value(z: np.ndarray) -> float:
        return _total(dyn, dyn.from_free(z), data) / n

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        v0 = value(z)
        if not math.isfinite(v0):
            return 1e10, np.zeros_like(z)
        g = np.zeros_like(z)
        for j in range(z.shape[0]):
            # forward differences (the Newton polish that follows uses central ones); backward
            # where the forward neighbour leaves the domain or passes a bound
            h = 1e-7 * max(1.0, abs(z[j]))
            lo, hi = bounds[j]
            up, dn = z.copy(), z.copy()
            if hi is None or z[j] + h <= hi:
                up[j] = z[j] + h
                vu = value(up)
                if math.isfinite(vu):
                    g[j] = (vu - v0) / h
                    continue
            dn[j] = z[j] - h
            if lo is None or dn[j] >= lo:
                vd = value(dn)
                if math.isfinite(vd):
                    g[j] = (v0 - vd) / h
        return -v0, -g

    res = optimize.minimize(fun, z0, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-13, "gtol": 1e-8, "maxiter": 500})
    return np.asarray(res.x, dtype=float), bool(res.success), str(res.message)


def _hessian(dyn: Dynamics, p: np.ndarray, data: Data, free: list[int]) -> np.ndarray:
    """Second differences of the log-likelihood over the parameters ``free``.

    Steps of 1e-5 (relative): Patton's recursion can be locally expansive (``|beta|`` large),
    which makes the likelihood rough on the scale of 1e-3; rounding stays far below the
    curvature at 1e-5.
    """
    h = dyn.steps(p, 1e-5)

    def f(d: dict[int, float]) -> float:
        q = p.copy()
        for j, s in d.items():
            q[j] += s * h[j]
        return _total(dyn, q, data)

    f0 = f({})
    k = len(free)
    out = np.empty((k, k))
    for a, i in enumerate(free):
        out[a, a] = (f({i: 1}) - 2 * f0 + f({i: -1})) / h[i] ** 2
        for b in range(a):
            j = free[b]
            out[a, b] = out[b, a] = (f({i: 1, j: 1}) - f({i: 1, j: -1}) - f({i: -1, j: 1})
                                     + f({i: -1, j: -1})) / (4 * h[i] * h[j])
    return out


def _scores(dyn: Dynamics, p: np.ndarray, data: Data, free: list[int]) -> np.ndarray:
    """Central-difference scores of each observation, shape (T, len(free))."""
    h = dyn.steps(p, 1e-5)
    out = np.empty((data.n, len(free)))
    for a, j in enumerate(free):
        up, dn = p.copy(), p.copy()
        up[j] += h[j]
        dn[j] -= h[j]
        out[:, a] = (loglik_obs(dyn, up, data) - loglik_obs(dyn, dn, data)) / (2 * h[j])
    return out


def _interior(dyn: Dynamics, p: np.ndarray) -> list[int]:
    """Parameters off their search bounds (``nu`` on a bound gets no standard error)."""
    free = [0, 1, 2]
    if dyn.family == "student" and NU_BOUNDS[0] + 1e-6 < p[3] < NU_BOUNDS[1] - 1e-6:
        free.append(3)
    return free


Derivs = tuple[np.ndarray, np.ndarray]


def _polish(dyn: Dynamics, p: np.ndarray, data: Data
            ) -> tuple[np.ndarray, float, bool, Derivs | None]:
    """Newton steps on the numerical Hessian from the L-BFGS-B answer.

    Returns the estimate, its log-likelihood, whether Newton converged and, when it did, the
    Hessian and per-observation scores at the last point (reused for the standard errors: the
    final step is below 1e-9 relative).
    """
    ll = _total(dyn, p, data)
    for _ in range(6):
        free = _interior(dyn, p)
        hess = _hessian(dyn, p, data, free)
        if not np.all(np.isfinite(hess)) or np.any(np.linalg.eigvalsh(hess) >= 0):
            return p, ll, False, None
        scores = _scores(dyn, p, data, free)
        step = np.zeros_like(p)
        step[free] = -np.linalg.solve(hess, scores.sum(axis=0))
        t = 1.0
        while t > 1e-3:
            cand = p + t * step
            ll_c = _total(dyn, cand, data) if dyn.admissible(cand) else -math.inf
            if ll_c >= ll - 1e-10 * abs(ll):
                break
            t /= 2
        else:
            return p, ll, False, None
        if np.all(np.abs(cand - p) <= 1e-9 * np.maximum(1.0, np.abs(p))):
            same = _interior(dyn, cand) == free
            return cand, ll_c, True, (hess, scores) if same else None
        p, ll = cand, ll_c
    return p, ll, False, None


def fit_dynamic(make: Callable[[CopulaResult], Dynamics], u: Any, family: str,
                rotation: int, n_starts: int) -> DynamicCopulaResult:
    """Fit the model ``make(static_fit)`` to the PITs ``u`` (see the module docstring)."""
    vals, columns, index = check_pits(u, ncols=2, min_obs=MIN_OBS)
    if not isinstance(n_starts, int | np.integer) or n_starts < 1:
        raise ConfigError(f"n_starts must be a positive integer, got {n_starts!r}")
    static = fit_copula(vals, family, rotation)
    dyn = make(static)
    data = Data(dyn, vals)
    starts = dyn.starts(static, data)
    lls = [_total(dyn, p, data) for p in starts]
    order = [i for i in np.argsort(lls)[::-1] if math.isfinite(lls[i])][:n_starts]
    if not order:
        raise ConvergenceError(f"no starting value gives a finite {dyn.title} {family} "
                               "likelihood")
    best: tuple[float, np.ndarray, bool, str] = (-math.inf, starts[order[0]], False, "")
    for i in order:
        z, ok, msg = _lbfgs(dyn, dyn.to_free(starts[i]), data)
        p = dyn.from_free(z)
        ll = _total(dyn, p, data)
        if ll > best[0]:
            best = (ll, p, ok, msg)
    _, p, ok, msg = best
    p, ll, newton, derivs = _polish(dyn, p, data)
    if not math.isfinite(ll):
        raise ConvergenceError(f"{dyn.title} {family} copula: likelihood not finite at {p}")
    return DynamicCopulaResult(dyn=dyn, params=p, data=data, columns=columns, index=index,
                               static=static, converged=ok or newton, message=msg,
                               derivs=derivs)


# ---------------------------------------------------------------- filtering


def params_array(dyn: Dynamics, params: Any) -> np.ndarray:
    """Parameters by name (Series, dict) or in order, validated."""
    names = dyn.names
    if isinstance(params, pd.Series | dict):
        missing = [k for k in names if k not in params]
        if missing:
            raise ConfigError(f"params lacks {missing}; expected {names}")
        params = [params[k] for k in names]
    p = np.asarray(params, dtype=float).ravel()
    if p.shape[0] != len(names) or not np.all(np.isfinite(p)):
        raise ConfigError(f"params must be {len(names)} finite values {names}, got {params!r}")
    dyn.check(p)
    return p


def path_frame(dyn: Dynamics, theta: np.ndarray, nu: float | None, index: Any
               ) -> pd.DataFrame:
    """Parameter, Kendall's tau and tail-dependence paths."""
    kt = kernel_theta(dyn, theta, nu)
    lower, upper = K.tail_dependence(dyn.family, kt, dyn.rotation)
    out = {K.PARAM_NAMES[dyn.family][0]: theta}
    if nu is not None:
        out["nu"] = np.full(theta.shape, nu)
    out["tau"] = K.kendall_tau(dyn.family, kt, dyn.rotation).numpy()
    out["lower_tail"] = np.broadcast_to(lower.numpy(), theta.shape).copy()
    out["upper_tail"] = np.broadcast_to(upper.numpy(), theta.shape).copy()
    return pd.DataFrame(out, index=index)


def filter_frame(dyn: Dynamics, p: np.ndarray, vals: np.ndarray, index: Any
                 ) -> pd.DataFrame:
    """:func:`path_frame` of the filtered path with each observation's ``loglik``."""
    data = Data(dyn, vals)
    try:
        theta = dyn.path(p, data)[: data.n]
        ll = loglik_obs(dyn, p, data)
    except Invalid as exc:
        raise ParameterDomainError("params", p.tolist(), "a path inside the copula's "
                                   "domain") from exc
    out = path_frame(dyn, theta, dyn.nu(p), index)
    out["loglik"] = ll
    return out


# ---------------------------------------------------------------- simulation


@dataclass(frozen=True)
class CopulaPathSimulation:
    """One simulated path of a dynamic copula.

    Attributes
    ----------
    u : DataFrame
        The draws, one row per step (index ``1..n`` named ``"step"``).
    params : DataFrame
        The parameter each draw used, with Kendall's tau and the tail coefficients.
    seed : int or None
    """

    u: pd.DataFrame
    params: pd.DataFrame
    seed: int | None


def simulate_path(stepper: Stepper, n: int, seed: int | None, columns: list[Any]
                  ) -> CopulaPathSimulation:
    """Draw ``n`` steps: ``u1 = w1``, ``u2 = hinv1(w1, w2; theta_t)`` with ``w`` uniform from
    ``numpy.random.default_rng(seed)``, the recursion updated after each draw."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"n must be a positive integer, got {n!r}")
    dyn = stepper.dyn
    w = np.random.default_rng(seed).random((int(n), 2))
    w[w == 0.0] = 2.0 ** -54  # random() is in [0, 1)
    out = np.empty((int(n), 2))
    theta = np.empty(int(n))
    for t in range(int(n)):
        theta[t] = stepper.theta
        kt = [stepper.theta, stepper.nu] if dyn.family == "student" else stepper.theta
        row = torch.from_numpy(w[t: t + 1].copy())
        u2 = float(K.hinv1(dyn.family, row, kt, dyn.rotation)[0])
        # the h-inverse can round onto the boundary (a probability-zero event in exact
        # arithmetic): the nearest representable interior value keeps the path usable
        row[0, 1] = min(max(u2, 2.0 ** -1074), 1.0 - 2.0 ** -53)
        out[t] = row[0].numpy()
        stepper.update(row)
    idx = pd.RangeIndex(1, int(n) + 1, name="step")
    return CopulaPathSimulation(pd.DataFrame(out, index=idx, columns=columns),
                                path_frame(dyn, theta, stepper.nu, idx), seed)


# ---------------------------------------------------------------- results


class DynamicCopulaResult(ParameterResults, ResultBase):
    """A Patton or GAS copula fitted by maximum likelihood.

    Attributes
    ----------
    model : str
        ``"patton"`` or ``"gas"``.
    family : str
    rotation : int
    scaling : str or None
        GAS score scaling.
    initial : float or None
        Patton's ``theta_1``.
    params, std_errors : Series
        ``omega, A, B`` (GAS) or ``omega, alpha, beta`` (Patton), and ``nu`` for the t;
        robust sandwich standard errors (NaN for ``nu`` on a search bound, and for all when the
        Hessian is not negative definite).
    param_cov, param_cov_hessian : DataFrame
        Robust and inverse-Hessian covariances.
    loglik : float
    nobs, num_params : int
    aic, bic : float
    filtered : DataFrame
        Indexed like the data: the parameter path (``rho``/``theta``, ``nu``), ``tau``,
        ``lower_tail``, ``upper_tail`` and each observation's ``loglik``.
    static : CopulaResult
        The static copula on the same data (starting values and likelihood-ratio benchmark).
    converged : bool
        The optimiser (or Newton) converged and the Hessian is negative definite.
    hessian_definite : bool
    columns : list
    """

    def __init__(self, *, dyn: Dynamics, params: np.ndarray, data: Data, columns: list[Any],
                 index: Any, static: CopulaResult, converged: bool, message: str,
                 derivs: Derivs | None = None) -> None:
        self._dyn = dyn
        self.model = dyn.model
        self.family = dyn.family
        self.rotation = dyn.rotation
        self.scaling: str | None = getattr(dyn, "scaling", None)
        self.initial: float | None = getattr(dyn, "initial", None)
        names = dyn.names
        self.params = pd.Series(params, index=names, name="params")
        self.nobs = data.n
        self.num_params = len(names)
        self.columns = list(columns)
        self.static = static
        self.message = message
        self._data = data
        self._vals = data.u.numpy()
        self._index = index if index is not None else pd.RangeIndex(data.n)
        self.filtered = filter_frame(dyn, params, self._vals, self._index)
        self.loglik = float(self.filtered["loglik"].sum())
        free = _interior(dyn, params)
        if derivs is None:
            derivs = (_hessian(dyn, params, data, free), _scores(dyn, params, data, free))
        hess, g = derivs
        self.hessian_definite = bool(np.all(np.isfinite(hess))
                                     and np.all(np.linalg.eigvalsh(hess) < 0))
        k = len(names)
        cov, cov_h = np.full((k, k), np.nan), np.full((k, k), np.nan)
        if self.hessian_definite:
            hinv = np.linalg.inv(hess)
            cov[np.ix_(free, free)] = hinv @ (g.T @ g) @ hinv
            cov_h[np.ix_(free, free)] = -hinv
        self.converged = bool(converged) and self.hessian_definite
        self.param_cov = pd.DataFrame(cov, index=names, columns=names)
        self.param_cov_hessian = pd.DataFrame(cov_h, index=names, columns=names)
        self.std_errors = pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_errors")

    def likelihood_ratio(self) -> pd.Series:
        """LR statistic against the static copula, ``2 (loglik - static.loglik)``.

        The p-value is the naive chi-square with the difference in the number of parameters as
        degrees of freedom; under the null a dynamic parameter is not identified (``B`` when
        ``A = 0``; ``omega`` trades off with ``alpha, beta``), so it is indicative only.
        """
        stat = 2.0 * (self.loglik - self.static.loglik)
        df = self.num_params - self.static.num_params
        return pd.Series({"statistic": stat, "df": float(df),
                          "pvalue": float(stats.chi2.sf(stat, df))}, name="likelihood_ratio")

    def forecast(self, horizon: int = 1) -> pd.DataFrame:
        """The copula parameter for ``T + 1`` (known at ``T``), with tau and tail coefficients.

        Beyond one step only the GAS model has a forecast (see
        :mod:`baselines.copula_gas`).

        Returns
        -------
        DataFrame
            Indexed by :func:`~hybridrisk.results.horizon_index`; columns as ``filtered``
            without ``loglik``.
        """
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ConfigError(f"horizon must be a positive integer, got {horizon!r}")
        p = self.params.to_numpy()
        theta = self._dyn.forecast(p, self._data, int(horizon))
        return path_frame(self._dyn, theta, self._dyn.nu(p), horizon_index(int(horizon)))

    def filter(self, new_u: Any) -> pd.DataFrame:
        """One-step-ahead parameters and log scores over new data, parameters held fixed.

        The recursion runs over the fit sample followed by ``new_u``; row ``t`` holds the
        parameter predicted from the data up to ``t - 1`` and the log density of ``u_t``.

        Returns
        -------
        DataFrame
            Indexed like ``new_u``: columns as ``filtered`` (``loglik`` is the log score).
        """
        new, _, index = check_pits(new_u, name="new_u", ncols=2, min_obs=1)
        out = filter_frame(self._dyn, self.params.to_numpy(), np.vstack([self._vals, new]),
                           None).iloc[self.nobs:]
        out.index = (index if index is not None
                     else pd.RangeIndex(self.nobs, self.nobs + new.shape[0]))
        return out

    def simulate(self, n: int, seed: int | None = None) -> CopulaPathSimulation:
        """Simulate ``n`` steps after the sample, from the state at ``T + 1``.

        Seeded through ``numpy.random.default_rng(seed)``; draws by the kernel's inverse
        h-function (:func:`simulate_path`).
        """
        stepper = self._dyn.stepper(self.params.to_numpy(), self._data)
        return simulate_path(stepper, n, seed, self.columns)

    def summary(self) -> Summary:
        """arch-style text summary."""
        lr = self.likelihood_ratio()
        tau = self.filtered["tau"]
        header = [
            ("Dep. Variables", ", ".join(map(str, self.columns))),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Copula", _TITLES[self.family]),
            ("AIC", f"{self.aic:.3f}"),
            ("Rotation", str(self.rotation)),
            ("BIC", f"{self.bic:.3f}"),
            ("Dynamics", self._dyn.title),
            ("No. Observations", str(self.nobs)),
            ("Static LL", f"{self.static.loglik:.3f}"),
            ("LR vs static", f"{lr['statistic']:.2f}"),
            ("Tau (min/max)", f"{tau.min():.3f}/{tau.max():.3f}"),
            ("Method", "Maximum Likelihood"),
        ]
        notes = [self._dyn.describe() + ".",
                 "Standard errors: robust sandwich from numerical scores and Hessian; the "
                 "margins' estimation error is ignored (two-step IFM).", *self._dyn.notes()]
        if self.family == "student" and self.hessian_definite and np.isnan(
                self.std_errors["nu"]):
            notes.append(f"nu is on its search bound {NU_BOUNDS}: no standard error.")
        if not self.hessian_definite:
            notes.append("The numerical Hessian is not negative definite at the estimates: "
                          "no standard errors reported.")
        elif not self.converged:
            notes.append(f"The optimiser did not report convergence: {self.message}")
        return Summary(title=f"{self._dyn.title} {_TITLES[self.family]} Copula Results",
                       header=header,
                       tables=[("Dynamics", parameter_table(self.params, self.std_errors))],
                       notes=notes)

    def __repr__(self) -> str:
        par = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return (f"DynamicCopulaResult({self.model}, {self.family}, rotation={self.rotation}, "
                f"{par}, loglik={self.loglik:.4f}, nobs={self.nobs})")
