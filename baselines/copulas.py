r"""Static copula baselines: bivariate MLE, family selection, Gaussian/t copulas, vines.

Bivariate fits (:func:`fit_copula`) maximise the likelihood of the differentiable kernel
:mod:`hybridrisk.kernels.copulas` -- the same equations the dynamic and hybrid copulas use --
with L-BFGS-B from a Kendall's-tau start, polished by Newton steps on the numerical Hessian.
The search space is pyvinecopulib's (``Bicop.parameters_lower_bounds`` /
``parameters_upper_bounds``), so on the same data the estimates equal pyvinecopulib's
``Bicop.fit`` with ``parametric_method="mle"`` up to that library's optimiser tolerance; an
estimate on a bound is reported in ``at_bounds`` (its standard error is then NaN).

Higher dimension: the Gaussian and Student-t copulas (:func:`fit_gaussian_copula`,
:func:`fit_student_copula`; correlation matrix by maximum likelihood over a Cholesky
parametrisation, or by Kendall's tau inversion) and, as the classical reference, a D- or
R-vine selected and fitted by pyvinecopulib (:func:`fit_vine`), whose log-likelihood is
re-evaluated with this package's kernel (:func:`vine_loglik`).

All fits take pseudo-observations strictly inside (0, 1) (see :mod:`baselines.margins`);
standard errors come from the observed information (inverse numerical Hessian) and ignore the
estimation error of the margins (two-step IFM), as in pyvinecopulib.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from scipy import optimize, stats

from baselines.margins import check_pits
from hybridrisk.errors import (
    ConfigError,
    ConvergenceError,
)
from hybridrisk.kernels import copulas as K
from hybridrisk.results import ParameterResults, ResultBase, Summary, parameter_table

__all__ = [
    "FIT_BOUNDS",
    "CopulaResult",
    "CopulaSelection",
    "fit_copula",
    "select_copula",
]

#: Search bounds of the bivariate MLE, pyvinecopulib's parameter bounds (|rho| < 1 made
#: strict, since the kernel's domain is open there).
FIT_BOUNDS: dict[str, list[tuple[float, float]]] = {
    "gaussian": [(-1 + 1e-10, 1 - 1e-10)],
    "student": [(-1 + 1e-10, 1 - 1e-10), (2.0, 50.0)],
    "clayton": [(1e-10, 28.0)],
    "gumbel": [(1.0, 50.0)],
    "frank": [(-35.0, 35.0)],
}
_TITLES = {"gaussian": "Gaussian", "student": "Student-t", "clayton": "Clayton",
           "gumbel": "Gumbel", "frank": "Frank"}


def _pv() -> Any:
    import pyvinecopulib as pv

    return pv


# ---------------------------------------------------------------- shared numerics


def _kendall(u: np.ndarray) -> float:
    return float(stats.kendalltau(u[:, 0], u[:, 1]).statistic)


def _numeric_hessian(grad: Any, x: np.ndarray, bounds: Sequence[tuple[float, float]]
                     ) -> np.ndarray:
    """Central differences of an analytic gradient (one-sided next to a bound)."""
    k = x.shape[0]
    h = np.empty((k, k))
    for j in range(k):
        step = 1e-5 * max(1.0, abs(x[j]))
        lo, hi = bounds[j]
        up, dn = x.copy(), x.copy()
        up[j] = min(x[j] + step, hi)
        dn[j] = max(x[j] - step, lo)
        h[:, j] = (grad(up) - grad(dn)) / (up[j] - dn[j])
    return 0.5 * (h + h.T)


def _maximise(
    fun: Any, x0: np.ndarray, bounds: list[tuple[float, float]], nobs: int
) -> tuple[np.ndarray, float, bool, np.ndarray]:
    """Maximise ``fun(x) -> (loglik, grad)``: L-BFGS-B, then Newton steps in the interior.

    L-BFGS-B alone stops a few digits short of the optimum; Newton on the numerical Hessian
    (differences of the analytic gradient) converges quadratically from there. Returns the
    estimate, its log-likelihood, whether it converged and the Hessian.
    """

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        ll, g = fun(x)
        if not np.isfinite(ll):
            return 1e300, np.zeros_like(x)
        return -ll / nobs, -g / nobs

    res = optimize.minimize(neg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 1000})
    x = np.asarray(res.x, dtype=float)
    ll, g = fun(x)
    lo, hi = np.array(bounds).T

    def grad(z: np.ndarray) -> np.ndarray:
        return fun(z)[1]

    hess = _numeric_hessian(grad, x, bounds)
    converged = bool(res.success)
    for _ in range(10):
        if not (np.all((x > lo) & (x < hi)) and np.all(np.linalg.eigvalsh(hess) < 0)):
            break  # on a bound, or not concave here: keep L-BFGS-B's answer
        step = -np.linalg.solve(hess, g)
        t = 1.0
        while t > 1e-3:
            cand = x + t * step
            if np.all((cand > lo) & (cand < hi)):
                ll_c, g_c = fun(cand)
                if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * abs(ll):
                    break
            t /= 2
        else:
            break
        small = np.all(np.abs(cand - x) <= 1e-10 * np.maximum(1.0, np.abs(x)))
        x, ll, g = cand, ll_c, g_c
        if small:
            converged = True
            break
        hess = _numeric_hessian(grad, x, bounds)
    return x, float(ll), converged, hess


def _std_errors(hess: np.ndarray, x: np.ndarray, bounds: list[tuple[float, float]]
                ) -> np.ndarray:
    lo, hi = np.array(bounds).T
    cov = np.full((len(x), len(x)), np.nan)
    if np.all((x > lo) & (x < hi)):
        with np.errstate(all="ignore"):
            try:
                cov = np.linalg.inv(-hess)
            except np.linalg.LinAlgError:
                pass
    return cov


# ---------------------------------------------------------------- bivariate results


class CopulaResult(ParameterResults, ResultBase):
    """A bivariate copula fitted by maximum likelihood (see :func:`fit_copula`).

    Attributes
    ----------
    family, rotation : str, int
    params : Series
        ``rho``; ``rho, nu``; or ``theta``.
    std_errors : Series
        From the observed information (NaN for a parameter on its search bound).
    param_cov : DataFrame
    loglik : float
    nobs, num_params : int
    aic, bic : float
    columns : list
        Names of the two series.
    converged : bool
    at_bounds : list of str
        Parameters on a bound of the search (``bounds``).
    bounds : list of (float, float)
        The search bounds: :data:`FIT_BOUNDS` (pyvinecopulib's), or its Kendall's-tau window.
    start : Series
        The Kendall's-tau start of the optimiser.
    """

    def __init__(self, *, family: str, rotation: int, x: np.ndarray, cov: np.ndarray,
                 loglik: float, nobs: int, columns: list[Any], converged: bool,
                 at_bounds: list[str], start: np.ndarray, sample_tau: float,
                 bounds: list[tuple[float, float]]) -> None:
        names = list(K.PARAM_NAMES[family])
        self.family = family
        self.rotation = int(rotation)
        self.params = pd.Series(x, index=names, name="params")
        self.param_cov = pd.DataFrame(cov, index=names, columns=names)
        self.std_errors = pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_errors")
        self.loglik = float(loglik)
        self.nobs = int(nobs)
        self.num_params = len(names)
        self.columns = list(columns)
        self.converged = bool(converged)
        self.at_bounds = list(at_bounds)
        self.start = pd.Series(start, index=names, name="start")
        self.sample_tau = float(sample_tau)
        self.bounds = list(bounds)

    @property
    def theta(self) -> list[float] | float:
        """The parameters as the kernel takes them."""
        x = self.params.to_list()
        return x if len(x) > 1 else x[0]

    @property
    def tau(self) -> float:
        """Kendall's tau implied by the estimates."""
        return float(K.kendall_tau(self.family, self.theta, self.rotation))

    @property
    def tail_dependence(self) -> pd.Series:
        """Lower and upper tail-dependence coefficients implied by the estimates."""
        lo, up = K.tail_dependence(self.family, self.theta, self.rotation)
        return pd.Series({"lower": float(lo), "upper": float(up)}, name="tail_dependence")

    def log_density(self, u: Any) -> np.ndarray:
        """Log density of the fitted copula at ``u`` (n x 2 PITs)."""
        vals, _, _ = check_pits(u, ncols=2, min_obs=1)
        return K.log_density(self.family, torch.from_numpy(vals), self.theta,
                             self.rotation).numpy()

    def simulate(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` draws from the fitted copula (seeded: the same seed gives the same draws)."""
        draws = K.simulate(self.family, self.theta, n, rotation=self.rotation, seed=seed)
        return pd.DataFrame(draws.numpy(), columns=self.columns)

    def to_pyvinecopulib(self) -> Any:
        """The same copula as a ``pyvinecopulib.Bicop``."""
        pv = _pv()
        return pv.Bicop(family=getattr(pv.BicopFamily, self.family), rotation=self.rotation,
                        parameters=np.array(self.params, dtype=float).reshape(-1, 1))

    def summary(self) -> Summary:
        """arch-style text summary."""
        td = self.tail_dependence
        header = [
            ("Dep. Variables", ", ".join(map(str, self.columns))),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Copula", _TITLES[self.family]),
            ("AIC", f"{self.aic:.3f}"),
            ("Rotation", str(self.rotation)),
            ("BIC", f"{self.bic:.3f}"),
            ("Kendall's tau", f"{self.tau:.4f}"),
            ("No. Observations", str(self.nobs)),
            ("Sample tau", f"{self.sample_tau:.4f}"),
            ("Method", "Maximum Likelihood"),
            ("Lower tail dep.", f"{td['lower']:.4f}"),
            ("Upper tail dep.", f"{td['upper']:.4f}"),
        ]
        table = parameter_table(self.params, self.std_errors)
        notes = ["Standard errors: inverse observed information (numerical Hessian); the "
                 "margins' estimation error is ignored (two-step IFM)."]
        notes += [f"{p} is on its search bound {self.bounds[i]}: its standard error is not "
                  "reported."
                  for i, p in enumerate(self.params.index) if p in self.at_bounds]
        if not self.converged:
            notes.append("The optimiser did not report convergence.")
        return Summary(title=f"{_TITLES[self.family]} Copula Results", header=header,
                       tables=[("Copula Parameters", table)], notes=notes)

    def __repr__(self) -> str:
        par = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return (f"CopulaResult({self.family}, rotation={self.rotation}, {par}, "
                f"loglik={self.loglik:.4f}, nobs={self.nobs})")


def _start(family: str, rotation: int, tau: float, u: torch.Tensor) -> np.ndarray:
    """Kendall's-tau start (winsorised to 0.01 <= |tau| <= 0.9 as pyvinecopulib does)."""
    sign = -1.0 if rotation in (90, 270) else 1.0
    if family in K.ROTATABLE and sign * tau < 0.01:
        tau = 0.01 * sign  # the wrong sign for this rotation: start near independence
    t = float(np.sign(tau) or 1.0) * min(max(abs(tau), 0.01), 0.9)
    p0 = float(K.tau_to_parameter(family, t, rotation))
    lo, hi = zip(*FIT_BOUNDS[family], strict=True)
    p0 = float(np.clip(p0, lo[0], hi[0]))  # a start value only
    if family != "student":
        return np.array([p0])
    grid = [2.5, 4.0, 6.0, 10.0, 20.0, 40.0]
    lls = [float(K.loglik("student", u, [p0, nu])) for nu in grid]
    return np.array([p0, grid[int(np.argmax(lls))]])


def _tau_window(family: str, rotation: int, tau: float) -> list[tuple[float, float]]:
    """pyvinecopulib's search interval for one-parameter families: sample tau +- 0.1."""
    if family in K.ROTATABLE:
        sign = -1.0 if rotation in (90, 270) else 1.0
        t_lo, t_hi = max(abs(tau) - 0.1, 1e-10), min(abs(tau) + 0.1, 0.95)
        lo = float(K.tau_to_parameter(family, sign * t_lo, rotation))
        hi = float(K.tau_to_parameter(family, sign * t_hi, rotation))
    else:
        lo = float(K.tau_to_parameter(family, max(tau - 0.1, -0.99), rotation))
        hi = float(K.tau_to_parameter(family, min(tau + 0.1, 0.99), rotation))
    (blo, bhi), = FIT_BOUNDS[family]
    return [(max(lo, blo), min(hi, bhi))]


def fit_copula(
    u: Any, family: str = "gaussian", rotation: int = 0, *, tau_window: bool = False
) -> CopulaResult:
    """Fit a bivariate copula by maximum likelihood.

    Parameters
    ----------
    u
        Pseudo-observations, shape (n, 2): a DataFrame (columns name the series), an array or a
        tensor, strictly inside (0, 1).
    family
        ``"gaussian"``, ``"student"``, ``"clayton"``, ``"gumbel"`` or ``"frank"``.
    rotation
        0, 90, 180 or 270 (Clayton and Gumbel).
    tau_window
        Reproduce pyvinecopulib's search for one-parameter families: the parameters whose
        Kendall's tau is within 0.1 of the sample tau (refitting over the full bounds when the
        log-likelihood there is below -0.1). Off by default: that window can exclude the
        maximum (the estimate then sits on the window's edge, see ``at_bounds``).

    Returns
    -------
    CopulaResult

    Raises
    ------
    DataValidationError
        For invalid pseudo-observations (wrong shape, NaN, values outside (0, 1)).
    ConfigError
        For an unknown family or rotation.
    ConvergenceError
        If the likelihood is not finite at the estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from hybridrisk.kernels.copulas import simulate
    >>> u = simulate("clayton", 2.0, 2000, seed=1).numpy()
    >>> round(fit_copula(u, "clayton").params["theta"], 1)
    2.0
    """
    K.check_family(family, rotation)
    vals, columns, _ = check_pits(u, ncols=2, min_obs=2)
    ut = torch.from_numpy(vals)
    tau = _kendall(vals)
    x0 = _start(family, rotation, tau, ut)
    bounds = FIT_BOUNDS[family]
    if tau_window and family != "student":
        bounds = _tau_window(family, rotation, tau)
        x0 = np.clip(x0, *np.array(bounds).T)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        th = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        arg = th if family == "student" else th[0]
        ll = K.loglik(family, ut, arg, rotation)
        (g,) = torch.autograd.grad(ll, th)
        return ll.item(), g.numpy()

    x, ll, converged, hess = _maximise(fun, x0, bounds, vals.shape[0])
    if tau_window and ll < -0.1 and bounds != FIT_BOUNDS[family]:
        bounds = FIT_BOUNDS[family]
        x, ll, converged, hess = _maximise(fun, x0, bounds, vals.shape[0])
    if not np.isfinite(ll):
        raise ConvergenceError(f"{family} copula log-likelihood is not finite at {x}")
    lo, hi = np.array(bounds).T
    names = K.PARAM_NAMES[family]
    at = [names[i] for i in range(len(x)) if x[i] <= lo[i] or x[i] >= hi[i]]
    return CopulaResult(family=family, rotation=rotation, x=x, cov=_std_errors(hess, x, bounds),
                        loglik=ll, nobs=vals.shape[0], columns=columns, converged=converged,
                        at_bounds=at, start=x0, sample_tau=tau, bounds=bounds)


# ---------------------------------------------------------------- selection


@dataclass
class CopulaSelection:
    """Candidate fits ranked by an information criterion (see :func:`select_copula`)."""

    table: pd.DataFrame
    results: dict[str, CopulaResult]
    criterion: str

    @property
    def best(self) -> CopulaResult:
        """The fit with the smallest criterion."""
        return self.results[self.table.index[0]]

    def __repr__(self) -> str:
        return f"CopulaSelection(best={self.table.index[0]!r}, criterion={self.criterion!r})"


def select_copula(
    u: Any,
    families: Sequence[str] = K.FAMILIES,
    criterion: Literal["aic", "bic"] = "aic",
    rotations: bool = True,
) -> CopulaSelection:
    """Fit several families and rank them by AIC or BIC.

    Parameters
    ----------
    u
        Pseudo-observations, shape (n, 2).
    families
        Families to try.
    criterion
        ``"aic"`` or ``"bic"``.
    rotations
        Also try rotations of Clayton and Gumbel: 0 and 180 when the sample Kendall's tau is
        positive, 90 and 270 when negative (pyvinecopulib's preselection).

    Returns
    -------
    CopulaSelection
        ``table`` (one row per candidate, best first: family, rotation, loglik, aic, bic,
        parameters, tau), ``results`` (the fits, keyed as the table's index) and ``best``.
    """
    if criterion not in ("aic", "bic"):
        raise ConfigError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    if not families:
        raise ConfigError("families is empty")
    vals, columns, index = check_pits(u, ncols=2, min_obs=2)
    data = pd.DataFrame(vals, columns=columns, index=index)
    tau = _kendall(vals)
    results: dict[str, CopulaResult] = {}
    for fam in families:
        K.check_family(fam)
        rots = [0]
        if rotations and fam in K.ROTATABLE:
            rots = [0, 180] if tau >= 0 else [90, 270]
        for rot in rots:
            results[f"{fam} {rot}" if fam in K.ROTATABLE else fam] = fit_copula(data, fam, rot)
    rows = [{"family": r.family, "rotation": r.rotation, "loglik": r.loglik, "aic": r.aic,
             "bic": r.bic, "params": ", ".join(f"{k}={v:.4g}" for k, v in r.params.items()),
             "tau": r.tau} for r in results.values()]
    table = pd.DataFrame(rows, index=list(results)).sort_values(criterion, kind="stable")
    return CopulaSelection(table=table, results=results, criterion=criterion)
