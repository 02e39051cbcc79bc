"""A GARCH fit re-maximised inside arch's own constraints.

arch maximises the likelihood with SLSQP under bounds and linear constraints (persistence
``alpha + gamma/2 + beta <= 1``, ``alpha + gamma >= 0``, ``nu > 2.05``, ...), but its estimates
can end outside them: on EUR/CHF, whose likelihood wants persistence at 1, 45 of 64 fits over the
last 1000 days break a constraint by more than ``TOL``, the worst by 2e-3
(``benchmarks/margin_convergence.py``). A
fit outside the constraint set is not the constrained maximum, and it can rank above a model
that nests it -- a GARCH-t at persistence 1.002 scored above the GJR-t kept at 1 -- which
misleads any choice by likelihood or information criterion.

:func:`refit_inside_constraints` re-maximises such a fit with this package's likelihood (the
same recursion and backcast as the fit: ``baselines.garch_likelihood``, analytic scores for
GARCH/GJR) by SLSQP under the same constraints, from the fit's estimates pulled into the
constraint set and from any further starts given (e.g. a nested model's estimates), and keeps
the highest likelihood among the feasible candidates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from arch.utility.exceptions import ConvergenceWarning, StartingValueWarning
from scipy import optimize

from baselines.garch import GARCHResult, _active_constraints, _constraint_system, ols_resid
from baselines.garch_likelihood import _filter, _loglik_obs, garch_scores

__all__ = ["constraint_slack", "refit_inside_constraints"]

#: a constraint broken by more than this counts as broken (SLSQP's own feasibility tolerance
#: leaves violations of about 1e-9 at a boundary)
TOL = 1e-8
_INSIDE = 1e-6  # how far inside the constraints a pulled-in start sits


def _slack(x: np.ndarray, bounds: list[tuple[float, float]], a: np.ndarray,
           b: np.ndarray) -> float:
    """The smallest slack of the bounds and of ``A x >= b`` at ``x`` (< 0: broken)."""
    lo = np.array([bd[0] for bd in bounds])
    hi = np.array([bd[1] for bd in bounds])
    parts = [x - lo, hi - x] + ([a @ x - b] if a.size else [])
    return float(np.min(np.concatenate(parts)))


def constraint_slack(result: GARCHResult) -> float:
    """The smallest slack of arch's bounds and constraints at the estimates (< 0: broken)."""
    y = result._y
    bounds, a, b = _constraint_system(result.spec.arch_model(y), ols_resid(result.spec.mean, y))
    return _slack(result.params.to_numpy(), bounds, a, b)


def _pull_inside(x0: np.ndarray, bounds: list[tuple[float, float]], a: np.ndarray,
                 b: np.ndarray) -> np.ndarray:
    """The point nearest ``x0`` (Euclidean) that meets every constraint with a margin."""
    lo = np.array([bd[0] for bd in bounds])
    hi = np.array([bd[1] for bd in bounds])
    inner = [(lo_ + _INSIDE if np.isfinite(lo_) else lo_, hi_ - _INSIDE if np.isfinite(hi_)
              else hi_) for lo_, hi_ in bounds]
    cons = ({"type": "ineq", "fun": lambda x: a @ x - b - _INSIDE, "jac": lambda x: a}
            if a.size else ())
    res = optimize.minimize(lambda x: 0.5 * np.sum((x - x0) ** 2), np.clip(x0, lo, hi),
                            jac=lambda x: x - x0, method="SLSQP", bounds=inner,
                            constraints=cons, options={"ftol": 1e-15, "maxiter": 200})
    return np.clip(res.x, lo, hi)


def refit_inside_constraints(result: GARCHResult, *, starts: Sequence[np.ndarray] = (),
                             always: bool = False) -> GARCHResult:
    """``result`` re-maximised inside arch's constraints, or ``result`` itself.

    Parameters
    ----------
    result
        A :func:`baselines.garch.fit_garch` fit with arch's backcast or a fixed one (the
        ``"sample-variance"`` fit already keeps to the constraints).
    starts
        Further starting points, in the order of ``result.params`` (e.g. a nested model's
        estimates with the extra parameters at 0).
    always
        Re-maximise even when ``result`` keeps to the constraints (e.g. arch did not report
        convergence, or it ended below a model it nests).

    Returns
    -------
    GARCHResult
        ``result`` when it keeps to the constraints (slack >= -``TOL``) and ``always`` is
        False, or when no feasible candidate beats it; otherwise the best candidate, with
        ``arch_result`` arch's result evaluated at it (zero optimiser iterations, same
        backcast) and ``converged`` SLSQP's report.

    Raises
    ------
    ValueError
        A ``"sample-variance"`` fit.
    """
    if result._bc_mode == "sample-variance":
        raise ValueError("a sample-variance fit is maximised inside the constraints already")
    feasible = constraint_slack(result) >= -TOL
    if feasible and not always:
        return result
    spec, y, v = result.spec, result._y, result.backcast_value
    ys = pd.Series(y, index=result.resid.index, name=result.dep_name)
    am = spec.arch_model(ys)
    bounds, a, b = _constraint_system(am, ols_resid(spec.mean, y))
    lo = np.array([bd[0] for bd in bounds])
    hi = np.array([bd[1] for bd in bounds])
    n = y.shape[0]

    def nll(x: np.ndarray) -> float:
        s = float(np.sum(_loglik_obs(spec, x, y, "fixed", v)))
        return -s / n if np.isfinite(s) else 1e10

    def jac(x: np.ndarray) -> np.ndarray:
        g = garch_scores(spec, x, y, "fixed", v).sum(0)
        return -g / n if np.all(np.isfinite(g)) else np.zeros_like(x)

    cons = {"type": "ineq", "fun": lambda x: a @ x - b, "jac": lambda x: a} if a.size else ()
    best_x, best_ll, best_ok = None, -np.inf, False
    for x0 in [result.params.to_numpy(), *map(np.asarray, starts)]:
        res = optimize.minimize(nll, _pull_inside(np.asarray(x0, float), bounds, a, b),
                                jac=jac, method="SLSQP", bounds=bounds, constraints=cons,
                                options={"ftol": 1e-14, "maxiter": 1000})
        x = np.clip(res.x, lo, hi)
        if _slack(x, bounds, a, b) < -TOL:
            continue
        ll = -nll(x) * n
        if ll > best_ll:
            best_x, best_ll, best_ok = x, ll, bool(res.success)
    if best_x is None:
        warnings.warn(f"{spec.describe()}: the estimates break arch's constraints (slack "
                      f"{constraint_slack(result):.3g}) and no start led to a fit inside them; "
                      "kept as they are", ConvergenceWarning, stacklevel=2)
        return result
    if feasible and best_ll <= result.loglik:
        return result
    with warnings.catch_warnings():
        # arch tests its constraints without tolerance and warns at a slack of -1e-16, yet
        # starts from the values given; the check below makes sure it did
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", StartingValueWarning)
        ares = am.fit(disp="off", starting_values=best_x, backcast=v, options={"maxiter": 0},
                      show_warning=False)
    if not np.allclose(ares.params.to_numpy(), best_x, rtol=0, atol=1e-12):
        raise RuntimeError("arch moved the re-maximised estimates at zero iterations")
    e, h, _ = _filter(spec, best_x, y, "fixed", v)
    out = GARCHResult(spec=spec, y=ys, params=best_x, param_cov=ares.param_cov.to_numpy(),
                      loglik=float(ares.loglikelihood), e=e, h=h, bc_mode=result._bc_mode,
                      bc_fixed=result._bc_fixed, bc_value=v, backcast=result.backcast,
                      arch_result=ares, converged=best_ok)
    out.active_constraints = _active_constraints(spec, am, y, best_x)
    return out

