"""Par-yield fits: par yields are nonlinear in the betas, so the profile is Gauss-Newton.

The grid objective profiles the betas out by a few Gauss-Newton steps from the bootstrapped
zero curve's least-squares betas; the best grid basins are polished by
:func:`scipy.optimize.least_squares` on the par residuals with the analytic Jacobian.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from baselines.nss.search import _basin_starts, _Search
from baselines.nss.varpro import _design, _solve_profile
from hybridrisk.errors import ConvergenceError
from hybridrisk.kernels.nss import par_structure


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
    times, A, idx = par_structure(m)
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
    times, A, idx = par_structure(m)
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
