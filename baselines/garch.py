r"""Univariate GARCH baselines over :mod:`arch`, and a numpy log-likelihood that equals arch's.

Model
-----
Returns follow :math:`r_t = \mu + \epsilon_t` (``mean="constant"``) or :math:`r_t = \epsilon_t`
(``mean="zero"``), with :math:`\epsilon_t = \sigma_t z_t` and :math:`z_t` i.i.d. with mean 0 and
variance 1 (normal, standardized Student t, or Hansen's standardized skew t). The variance is

* ``vol="garch"`` (GJR when ``o > 0``)

  .. math:: \sigma_t^2 = \omega + \sum_{i=1}^p \alpha_i \epsilon_{t-i}^2
            + \sum_{j=1}^o \gamma_j \epsilon_{t-j}^2 1[\epsilon_{t-j} < 0]
            + \sum_{k=1}^q \beta_k \sigma_{t-k}^2

* ``vol="egarch"``

  .. math:: \ln\sigma_t^2 = \omega + \sum_{i=1}^p \alpha_i (|z_{t-i}| - \sqrt{2/\pi})
            + \sum_{j=1}^o \gamma_j z_{t-j} + \sum_{k=1}^q \beta_k \ln\sigma_{t-k}^2

Parameters are named exactly as arch names them: ``mu``, ``omega``, ``alpha[i]``, ``gamma[j]``,
``beta[k]``, ``nu`` (t) and ``eta``, ``lambda`` (skew t; arch calls the skew-t shape ``eta``).

Backcast (how the recursion starts)
-----------------------------------
Pre-sample terms use a single value :math:`\sigma_0^2`: pre-sample :math:`\epsilon^2` and
:math:`\sigma^2` equal it, pre-sample :math:`\epsilon^2 1[\epsilon<0]` equals half of it, and for
EGARCH pre-sample :math:`\ln\sigma^2 = \ln\sigma_0^2` while pre-sample :math:`z` terms are 0.
This is arch's own convention. The options of ``backcast=`` are

* ``None`` -- arch's default: the exponentially weighted (0.94, first 75 observations) mean of
  the squared residuals *at the starting values* (``r - mean(r)`` for a constant mean). arch
  computes it once before optimising and holds it fixed, so the likelihood maximised is
  conditional on a data-dependent constant.
* ``"sample-variance"`` -- the convention of the published GARCH benchmarks (Fiorentini,
  Calzolari & Panattoni 1996; McCullough & Renfro 1999; TSP's ``h(0) = e(0)**2 = SSR/T``):
  :math:`\sigma_0^2 = T^{-1}\sum_t (r_t - \mu)^2` re-evaluated at the *current* :math:`\mu`.
  arch cannot do this (its ``fit(backcast=)`` fixes the value, and with a constant mean the
  residuals move with :math:`\mu`), so this module maximises its own likelihood (arch's
  recursion, written here as a numpy linear filter for GARCH/GJR; arch's compiled kernel for
  EGARCH) with SLSQP under arch's bounds and constraints, started from arch's fit with the
  backcast frozen at the OLS sample variance and polished by Newton steps (analytic scores for
  GARCH/GJR, numerical for EGARCH). ``arch_result`` is then arch's result evaluated (zero
  optimiser iterations) at these estimates with the backcast fixed at
  :math:`\sigma_0^2(\hat\mu)`; its log-likelihood equals ours. On the DEM/GBP series this
  reproduces the FCP/TSP benchmark to 11 digits (``tests/results/garch_benchmark_dem_gbp.json``).
* a float -- a fixed :math:`\sigma_0^2` (passed to arch's ``fit(backcast=)``).

arch also clips each variance into loose data-based bounds (about ``[v/1e6, v*1e6]`` around an
EWMA variance); :func:`garch_loglik` does not, which makes no difference at any sensible
parameter value (the bounds never bind at arch's estimates).

The Gaussian log-likelihood includes the constant: :math:`-\tfrac12\sum_t(\ln 2\pi +
\ln\sigma_t^2 + \epsilon_t^2/\sigma_t^2)`, as arch and the TSP/FCP benchmark report it.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
from arch.univariate.base import ARCHModelResult
from arch.utility.exceptions import ConvergenceWarning
from scipy import optimize

from baselines.garch_likelihood import (
    MIN_OBS,
    CovKind,
    _dist_loglik_obs,
    _filter,
    _loglik_obs,
    garch_covariance,
    garch_hessian,
    garch_loglik,
    garch_scores,
)
from hybridrisk.checks import check_array, check_min_obs, check_timeseries
from hybridrisk.errors import (
    ConfigError,
    ConvergenceError,
    DataValidationError,
)
from hybridrisk.kernels.distributions import (
    std_dist_ppf,
    std_dist_rvs,
    std_dist_tail_mean,
)
from hybridrisk.kernels.garch import (
    DistKind,
    GARCHSpec,
    MeanKind,
    VolKind,
    ols_resid,
    resolve_backcast,
    simulate_paths,
)
from hybridrisk.results import (
    LEVELS,
    ParameterResults,
    ResultBase,
    Simulation,
    Summary,
    VolatilityForecast,
    format_number,
    horizon_index,
    parameter_table,
)

__all__ = [
    "GARCHSpec",
    "GARCHResult",
    "fit_garch",
    "garch_loglik",
    "std_dist_ppf",
    "std_dist_tail_mean",
    "std_dist_rvs",
    "LEVELS",
    "MIN_OBS",
]


_MEAN_TITLE = {"constant": "Constant Mean", "zero": "Zero Mean"}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
class GARCHResult(ParameterResults, ResultBase):
    """A fitted univariate GARCH model (see :func:`fit_garch`).

    Attributes
    ----------
    spec : GARCHSpec
    params : Series
        Estimates named as arch names them.
    std_errors : Series
        Robust (QML sandwich) standard errors. With arch's backcast (``None`` or a float) they
        are arch's own ``std_err``. With ``"sample-variance"`` they are
        :math:`H^{-1}(\\sum_t s_t s_t')H^{-1}` from this module's analytic scores, the
        convention of the FCP/TSP benchmark (arch instead uses ``np.cov`` of the scores,
        i.e. demeaned and divided by T-1).
    param_cov : DataFrame
        The covariance matrix behind ``std_errors``.
    loglik : float
    nobs : int
    resid, conditional_volatility, std_resid : Series
    backcast : str or float
        ``"arch"``, ``"sample-variance"`` or the fixed value given.
    backcast_value : float
        The pre-sample variance :math:`\\sigma_0^2` used at the estimates.
    arch_result
        arch's result object (see the module docstring for the sample-variance case).
    converged : bool
    active_constraints : list of str
        arch's parameter bounds and linear constraints that hold with equality at the
        estimates (e.g. ``alpha[1] + beta[1] <= 1``); the usual standard errors do not apply
        there.
    """

    def __init__(
        self, *, spec: GARCHSpec, y: pd.Series, params: np.ndarray, param_cov: np.ndarray,
        loglik: float, e: np.ndarray, h: np.ndarray, bc_mode: str, bc_fixed: float | None,
        bc_value: float, backcast: str | float, arch_result: Any, converged: bool,
    ) -> None:
        names = spec.param_names()
        self.spec = spec
        self.params = pd.Series(params, index=names, name="params")
        self.param_cov = pd.DataFrame(param_cov, index=names, columns=names)
        self.std_errors = pd.Series(np.sqrt(np.diag(param_cov)), index=names, name="std_errors")
        self.loglik = float(loglik)
        self.nobs = int(y.shape[0])
        idx = y.index
        self.resid = pd.Series(e, index=idx, name="resid")
        self.conditional_volatility = pd.Series(np.sqrt(h), index=idx, name="cond_vol")
        self.std_resid = pd.Series(e / np.sqrt(h), index=idx, name="std_resid")
        self.backcast = backcast
        self.backcast_value = float(bc_value)
        self.arch_result = arch_result
        self.converged = bool(converged)
        self.active_constraints: list[str] = []
        self.dep_name = str(y.name) if y.name is not None else "returns"
        self._y = np.asarray(y, dtype=float)
        self._bc_mode = bc_mode
        self._bc_fixed = bc_fixed

    # -- information criteria (aic, bic: ResultBase, arch's definitions) -------------------
    @property
    def num_params(self) -> int:
        return self.spec.n_params

    # -- covariance ---------------------------------------------------------------------------
    def covariance(self, kind: CovKind = "robust") -> pd.DataFrame:
        """Parameter covariance computed by hybridrisk under this fit's backcast convention.

        Parameters
        ----------
        kind
            ``"hessian"`` :math:`(-H)^{-1}`, ``"opg"`` :math:`(\\sum s_t s_t')^{-1}`,
            ``"robust"`` (QML sandwich :math:`H^{-1}\\,\\sum s_t s_t'\\,H^{-1}`),
            ``"information"`` (Gaussian information matrix with the mean/variance cross block
            set to zero, as in TSP and FCP) and ``"bollerslev-wooldridge"`` (the sandwich with
            that information matrix as bread). The last two need a Gaussian GARCH/GJR model.
            :math:`H` is the numerical Jacobian of the analytic scores (numerical scores for
            EGARCH).
        """
        cov = garch_covariance(
            self.spec, self.params.to_numpy(), self._y, self._bc_mode, self._bc_fixed, kind
        )
        names = self.spec.param_names()
        return pd.DataFrame(cov, index=names, columns=names)

    # -- text -----------------------------------------------------------------------------------
    def summary(self) -> Summary:
        """arch-style text summary."""
        spec = self.spec
        bc = {"arch": "arch EWMA", "sample-variance": "sample variance"}.get(
            str(self.backcast), "fixed")
        header = [
            ("Dep. Variable", self.dep_name),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Mean Model", _MEAN_TITLE[spec.mean]),
            ("AIC", f"{self.aic:.3f}"),
            ("Vol Model", spec.vol_name),
            ("BIC", f"{self.bic:.3f}"),
            ("Distribution", {"normal": "Normal", "t": "Student's t",
                              "skewt": "Skew Student's t"}[spec.dist]),
            ("No. Observations", str(self.nobs)),
            ("Method", "Maximum Likelihood"),
            ("Backcast", f"{bc} ({format_number(self.backcast_value)})"),
        ]
        table = parameter_table(self.params, self.std_errors)
        mp, vp, dp = (spec.param_names()[:spec.n_mean],
                      spec.param_names()[spec.n_mean:spec.n_mean + spec.n_vol],
                      spec.param_names()[spec.n_mean + spec.n_vol:])
        tables = [(name, table.loc[rows]) for name, rows in
                  (("Mean Model", mp), ("Volatility Model", vp), ("Distribution", dp)) if rows]
        note = ("Covariance estimator: robust (arch)" if self._bc_mode != "sample-variance"
                else "Covariance estimator: robust QML sandwich H^-1 (sum s s') H^-1")
        return Summary(
            title=f"{_MEAN_TITLE[spec.mean]} - {spec.vol_name} Model Results",
            header=header, tables=tables,
            notes=[note] + [f"Active constraint at the estimates (standard errors unreliable): "
                            f"{c}" for c in self.active_constraints],
        )

    def __repr__(self) -> str:
        return (f"GARCHResult({self.spec.describe()}, nobs={self.nobs}, "
                f"loglik={self.loglik:.4f})")

    # -- forecasting and simulation -----------------------------------------------------------
    def forecast(
        self,
        horizon: int = 1,
        *,
        levels: tuple[float, ...] = LEVELS,
        method: Literal["analytic", "simulation"] | None = None,
        simulations: int = 10_000,
        seed: int | None = 0,
    ) -> VolatilityForecast:
        """Forecast mean, variance, VaR and ES for steps 1..``horizon``.

        Parameters
        ----------
        horizon
            Number of steps.
        levels
            VaR/ES confidence levels (e.g. 0.99 for the 99% VaR).
        method
            arch's forecast method; the default is ``"analytic"``, except for EGARCH beyond
            one step where arch needs ``"simulation"``.
        simulations, seed
            Paths and seed for the simulation method (seeded so forecasts are reproducible).
        """
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ConfigError(f"horizon must be a positive integer, got {horizon!r}")
        lv = _check_levels(levels)
        if method is None:
            method = "simulation" if (self.spec.vol == "egarch" and horizon > 1) else "analytic"
        dp = self.spec.split(self.params.to_numpy())[2]
        kw: dict[str, Any] = {}
        if method == "simulation":
            # arch draws simulation innovations from the distribution's own unseeded generator;
            # pass a seeded one so forecasts are reproducible
            gen = np.random.default_rng(seed)
            kw = {"simulations": simulations,
                  "rng": lambda size: std_dist_rvs(self.spec.dist, dp, size, gen)}
        f = self.arch_result.forecast(horizon=int(horizon), reindex=False, method=method, **kw)
        idx = horizon_index(horizon)
        mean = pd.Series(f.mean.iloc[-1].to_numpy(), index=idx, name="mean")
        var = pd.Series(f.variance.iloc[-1].to_numpy(), index=idx, name="variance")
        alphas = 1.0 - np.asarray(lv)
        qz = std_dist_ppf(self.spec.dist, dp, alphas)
        tz = std_dist_tail_mean(self.spec.dist, dp, alphas)
        sd = np.sqrt(var.to_numpy())[:, None]
        cols = pd.Index(lv, name="level")
        value_at_risk = pd.DataFrame(-(mean.to_numpy()[:, None] + sd * qz), index=idx,
                                     columns=cols)
        es = pd.DataFrame(-(mean.to_numpy()[:, None] + sd * tz), index=idx, columns=cols)
        return VolatilityForecast(mean, var, value_at_risk, es, method, self.resid.index[-1],
                                  self.params)

    def simulate(self, n_paths: int, horizon: int, seed: int | None = None) -> Simulation:
        """Simulate ``n_paths`` return paths of length ``horizon`` from the end of the sample.

        Innovations are drawn from the fitted standardized distribution with
        ``numpy.random.default_rng(seed)``; the first step's variance equals the one-step
        forecast (:func:`hybridrisk.kernels.garch.simulate_paths`).
        """
        for name, v in (("n_paths", n_paths), ("horizon", horizon)):
            if not isinstance(v, int | np.integer) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        rets, var = simulate_paths(self.spec, self.params.to_numpy(), self.resid.to_numpy(),
                                   self.conditional_volatility.to_numpy() ** 2, int(n_paths),
                                   int(horizon), np.random.default_rng(seed))
        return Simulation(rets, var, self.resid.index[-1], seed)


def _check_levels(levels: Any) -> list[float]:
    lv = [float(x) for x in np.atleast_1d(levels)]
    if not lv or any(not (0.0 < x < 1.0) for x in lv):
        raise ConfigError(f"levels must lie in (0, 1), got {levels!r}")
    return lv


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------
def _constraint_system(am: Any, resid0: np.ndarray) -> tuple[list[tuple[float, float]],
                                                               np.ndarray, np.ndarray]:
    """arch's bounds and linear constraints ``A x >= b`` for the whole parameter vector."""
    parts = [am.constraints(), am.volatility.constraints(), am.distribution.constraints()]
    sizes = [am.num_params, am.volatility.num_params, am.distribution.num_params]
    rows = sum(c[0].shape[0] for c in parts)
    a = np.zeros((rows, sum(sizes)))
    b = np.zeros(rows)
    r = c0 = 0
    for (ai, bi), k in zip(parts, sizes, strict=True):
        a[r:r + ai.shape[0], c0:c0 + k] = ai
        b[r:r + ai.shape[0]] = bi
        r += ai.shape[0]
        c0 += k
    std0 = resid0 / resid0.std()
    bounds = list(am.bounds()) + am.volatility.bounds(resid0) + am.distribution.bounds(std0)
    return bounds, a, b


def _feasible(x: np.ndarray, bounds: list[tuple[float, float]], a: np.ndarray, b: np.ndarray,
              tol: float = 0.0) -> bool:
    lo = np.array([bd[0] for bd in bounds])
    hi = np.array([bd[1] for bd in bounds])
    return bool(np.all(x >= lo - tol) and np.all(x <= hi + tol)
                and (a.shape[0] == 0 or np.all(a @ x - b >= -tol)))


def _fit_sample_variance(
    spec: GARCHSpec, y: np.ndarray, am: Any, start: np.ndarray
) -> tuple[np.ndarray, bool]:
    """Maximise the likelihood with the backcast re-evaluated at the current mu."""
    T = y.shape[0]
    bounds, a, b = _constraint_system(am, ols_resid(spec.mean, y))
    mode = "sample-variance"

    def nll(x: np.ndarray) -> float:
        ll = _loglik_obs(spec, x, y, mode, None)
        s = float(np.sum(ll))
        return -s / T if np.isfinite(s) else 1e10

    jac = None
    if spec.vol == "garch":
        def jac(x: np.ndarray) -> np.ndarray:  # noqa: F811 - analytic gradient for GARCH/GJR
            g = garch_scores(spec, x, y, mode, None).sum(0)
            return -g / T if np.all(np.isfinite(g)) else np.zeros_like(x)

    cons = {"type": "ineq", "fun": lambda x: a @ x - b, "jac": lambda x: a} if a.size else ()
    res = optimize.minimize(nll, start, jac=jac, method="SLSQP", bounds=bounds,
                            constraints=cons, options={"ftol": 1e-13, "maxiter": 500})
    x = np.clip(res.x, [bd[0] for bd in bounds], [bd[1] for bd in bounds])
    ok = bool(res.success)
    # Newton polish with analytic scores: SLSQP stops at ~1e-7 relative, benchmarks want more.
    # Steps that leave the feasible set (an estimate on a bound or on alpha + beta = 1) are
    # rejected, so a constrained optimum is left where SLSQP put it.
    best = -nll(x)
    for _ in range(10):
        g = garch_scores(spec, x, y, mode, None).sum(0)
        hess = garch_hessian(spec, x, y, mode, None)
        try:
            step = -np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        moved = False
        for shrink in (1.0, 0.5, 0.25):
            cand = x + shrink * step
            if _feasible(cand, bounds, a, b) and -nll(cand) >= best - 1e-15 * abs(best):
                moved = True
                x, best = cand, -nll(cand)
                break
        if not moved or np.max(np.abs(step) / np.maximum(np.abs(x), 1e-4)) < 1e-9:
            ok = ok or moved
            break
    return x, ok


def _returns_series(returns: Any) -> pd.Series:
    """Returns as a float64 Series, from whatever arch accepts: a 1-D array or list, a Series
    or a one-column DataFrame with any index.

    A DatetimeIndex is checked like every dated input (increasing, unique); any other index is
    a label only, and the order of the rows is the order in time.
    """
    if isinstance(returns, pd.DataFrame):
        if returns.shape[1] != 1:
            raise DataValidationError(
                "shape", f"returns must have 1 column, has {returns.shape[1]}")
        returns = returns.iloc[:, 0]
    if isinstance(returns, pd.Series) and isinstance(returns.index, pd.DatetimeIndex):
        return check_timeseries(returns, name="returns", min_obs=MIN_OBS)
    labelled = isinstance(returns, pd.Series)
    y = check_array(returns, name="returns", ndim=1)
    check_min_obs(len(y), MIN_OBS, name="returns")
    return pd.Series(y, index=returns.index.copy() if labelled else None,
                     name=returns.name if labelled else None)


def fit_garch(
    returns: pd.Series | pd.DataFrame,
    *,
    mean: MeanKind = "constant",
    vol: VolKind = "garch",
    p: int = 1,
    o: int = 0,
    q: int = 1,
    dist: DistKind = "normal",
    backcast: None | Literal["sample-variance"] | float = None,
    starting_values: np.ndarray | None = None,
) -> GARCHResult:
    """Fit a univariate GARCH, GJR-GARCH (``o=1``) or EGARCH model by maximum likelihood.

    Parameters
    ----------
    returns
        Percent returns as a Series (or one-column DataFrame) with a DatetimeIndex, validated
        by :func:`hybridrisk.checks.check_timeseries` (at least ``MIN_OBS`` rows, no NaN).
    mean
        ``"constant"`` or ``"zero"``.
    vol
        ``"garch"`` (GJR when ``o > 0``) or ``"egarch"``.
    p, o, q
        Orders of the symmetric, asymmetric and lagged-variance terms.
    dist
        ``"normal"``, ``"t"`` or ``"skewt"`` (Hansen).
    backcast
        ``None`` (arch's default), ``"sample-variance"`` (the benchmark convention) or a fixed
        pre-sample variance. See the module docstring.
    starting_values
        Where the optimiser starts, in the order of ``GARCHSpec.param_names()``; ``None``:
        arch's own starting values. A nested model's estimates (a zero ``gamma[1]`` or
        ``lambda``) give a start whose likelihood the fit can only improve on.

    Returns
    -------
    GARCHResult

    Raises
    ------
    DataValidationError
        For invalid input data.
    ConfigError
        For an unknown option.
    ConvergenceError
        If the optimiser returns non-finite estimates.

    Examples
    --------
    >>> from hybridrisk.datasets import dem_gbp_returns
    >>> res = fit_garch(dem_gbp_returns(), backcast="sample-variance")
    >>> round(res.loglik, 2)
    -1106.61
    """
    spec = GARCHSpec(mean, vol, p, o, q, dist)
    y = _returns_series(returns)
    ya = y.to_numpy()
    if not np.any(ya != ya[0]):
        raise DataValidationError("constant", "returns are constant; no volatility to model")
    mode, fixed = resolve_backcast(spec.mean, ya, backcast)
    am = spec.arch_model(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if mode == "sample-variance":
            # start from arch's fit with the backcast frozen at the OLS sample variance
            r0 = am.fit(disp="off", backcast=float(np.mean(ols_resid(spec.mean, ya) ** 2)),
                        starting_values=starting_values, show_warning=False)
            theta, converged = _fit_sample_variance(spec, ya, am, r0.params.to_numpy())
            e, h, v = _filter(spec, theta, ya, mode, None)
            # arch's own result at our estimates: zero iterations, backcast fixed at s2(mu_hat)
            ares: ARCHModelResult = am.fit(disp="off", starting_values=theta, backcast=v,
                                           options={"maxiter": 0}, show_warning=False)
            if not np.allclose(ares.params.to_numpy(), theta, rtol=0, atol=1e-12):
                warnings.warn("arch rejected the estimates as starting values; arch_result "
                              "holds arch's own estimates", RuntimeWarning, stacklevel=2)
            loglik = float(np.sum(_dist_loglik_obs(dist, spec.split(theta)[2], e, h)))
            cov = garch_covariance(spec, theta, ya, mode, None, "robust")
            bc_label: str | float = "sample-variance"
        else:
            ares = am.fit(disp="off", backcast=fixed if mode == "fixed" else None,
                          starting_values=starting_values, show_warning=False)
            converged = ares.convergence_flag == 0
            theta = ares.params.to_numpy()
            e, h, v = _filter(spec, theta, ya, mode, fixed)
            loglik = float(ares.loglikelihood)
            cov = ares.param_cov.to_numpy()
            bc_label = "arch" if mode == "arch" else float(fixed)  # type: ignore[arg-type]
    if not (np.all(np.isfinite(theta)) and np.isfinite(loglik)):
        raise ConvergenceError(f"GARCH estimation ({spec.describe()}) returned non-finite values")
    if not converged:
        warnings.warn(f"{spec.describe()} optimiser did not report convergence",
                      ConvergenceWarning, stacklevel=2)
    result = GARCHResult(
        spec=spec, y=y, params=theta, param_cov=cov, loglik=loglik, e=e, h=h, bc_mode=mode,
        bc_fixed=fixed, bc_value=v, backcast=bc_label, arch_result=ares, converged=converged,
    )
    result.active_constraints = _active_constraints(spec, am, ya, theta)
    return result


def _active_constraints(spec: GARCHSpec, am: Any, y: np.ndarray, theta: np.ndarray,
                        tol: float = 1e-8) -> list[str]:
    """arch's bounds and linear constraints that bind at ``theta``, as readable strings."""
    bounds, a, b = _constraint_system(am, ols_resid(spec.mean, y))
    names = spec.param_names()
    out = []
    for name, x, (lo, hi) in zip(names, theta, bounds, strict=True):
        if np.isfinite(lo) and abs(x - lo) <= tol * max(1.0, abs(lo)):
            out.append(f"{name} >= {lo:g}")
        if np.isfinite(hi) and abs(x - hi) <= tol * max(1.0, abs(hi)):
            out.append(f"{name} <= {hi:g}")
    for row, rhs in zip(a, b, strict=True):
        if abs(row @ theta - rhs) <= tol and np.count_nonzero(row) > 1:
            # arch writes "A x >= b"; the persistence row reads better as "sum <= 1"
            sign, op = (-1.0, "<=") if np.all(row[row != 0] < 0) else (1.0, ">=")
            lhs = " + ".join(n if sign * c == 1 else f"{sign * c:g}*{n}"
                             for c, n in zip(row, names, strict=True) if c != 0)
            out.append(f"{lhs} {op} {sign * rhs + 0.0:g}")
    return out
