"""Copulas in more than two dimensions: the Gaussian and Student-t copulas and vines.

The multivariate Gaussian and t copulas are estimated by maximum likelihood (or Kendall's tau
inversion, ``method="itau"``); a D- or R-vine through pyvinecopulib is the classical reference
in higher dimension, with its log-likelihood recomputed through our bivariate kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from scipy import optimize, special, stats

from baselines.copulas import _TITLES, FIT_BOUNDS, _numeric_hessian, _pv
from baselines.margins import check_pits
from hybridrisk.errors import (
    ConfigError,
    NotPositiveDefiniteError,
)
from hybridrisk.kernels import copulas as K
from hybridrisk.results import ParameterResults, ResultBase, Summary, parameter_table

__all__ = ["EllipticalCopulaResult", "VineResult", "fit_gaussian_copula", "fit_student_copula",
           "fit_vine", "vine_loglik"]


# ---------------------------------------------------------------- Gaussian and t copulas


def _corr_from_free(x: torch.Tensor, d: int) -> torch.Tensor:
    """Correlation matrix from d(d-1)/2 free numbers: unit-diagonal lower-triangular M,
    rows normalised to unit length (a Cholesky factor), R = L L'."""
    m = torch.eye(d, dtype=torch.float64)
    idx = torch.tril_indices(d, d, -1)
    m = m.index_put((idx[0], idx[1]), x)
    chol = m / m.norm(dim=1, keepdim=True)
    return chol @ chol.T


def _free_from_corr(r: np.ndarray) -> np.ndarray:
    chol = np.linalg.cholesky(r)
    m = chol / np.diag(chol)[:, None]
    return m[np.tril_indices(r.shape[0], -1)]


def _mvt_copula_loglik(x: torch.Tensor, r: torch.Tensor, nu: torch.Tensor | None
                       ) -> torch.Tensor:
    """Log-likelihood of the Gaussian (nu None) or t copula at quantile scores x (n x d)."""
    n, d = x.shape
    chol = torch.linalg.cholesky(r)
    logdet = 2 * torch.log(torch.diagonal(chol)).sum()
    w = torch.linalg.solve_triangular(chol, x.T, upper=False)  # L^-1 x
    q = (w * w).sum(0)
    if nu is None:
        return -0.5 * n * logdet - 0.5 * (q - (x * x).sum(1)).sum()
    const = (torch.lgamma((nu + d) / 2) + (d - 1) * torch.lgamma(nu / 2)
             - d * torch.lgamma((nu + 1) / 2))
    return (n * (const - 0.5 * logdet) - (nu + d) / 2 * torch.log1p(q / nu).sum()
            + (nu + 1) / 2 * torch.log1p(x * x / nu).sum())


class EllipticalCopulaResult(ParameterResults, ResultBase):
    """A d-dimensional Gaussian or Student-t copula (see :func:`fit_gaussian_copula`).

    Attributes
    ----------
    family : str
        ``"gaussian"`` or ``"student"``.
    corr : DataFrame
        The correlation matrix.
    nu : float or None
    params, std_errors : Series
        ``rho[a,b]`` for each pair (and ``nu``); standard errors from the observed information
        in these parameters (NaN for the Kendall's-tau method).
    loglik, aic, bic : float
    nobs, num_params : int
    method : str
    """

    def __init__(self, *, family: str, corr: np.ndarray, nu: float | None, loglik: float,
                 nobs: int, columns: list[Any], method: str, cov: np.ndarray | None,
                 converged: bool) -> None:
        d = corr.shape[0]
        self.family = family
        self.corr = pd.DataFrame(corr, index=columns, columns=columns)
        self.nu = None if nu is None else float(nu)
        i, j = np.tril_indices(d, -1)
        names = [f"rho[{columns[b]},{columns[a]}]" for a, b in zip(i, j, strict=True)]
        vals = list(corr[i, j])
        if nu is not None:
            names.append("nu")
            vals.append(float(nu))
        self.params = pd.Series(vals, index=names, name="params")
        k = len(names)
        cov = np.full((k, k), np.nan) if cov is None else cov
        self.param_cov = pd.DataFrame(cov, index=names, columns=names)
        self.std_errors = pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_errors")
        self.loglik = float(loglik)
        self.nobs = int(nobs)
        self.num_params = k
        self.columns = list(columns)
        self.method = method
        self.converged = bool(converged)

    def simulate(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` draws of the copula (seeded)."""
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((int(n), len(self.columns))) @ np.linalg.cholesky(
            self.corr.to_numpy()).T
        if self.nu is None:
            return pd.DataFrame(special.ndtr(z), columns=self.columns)
        w = np.sqrt(rng.chisquare(self.nu, size=(int(n), 1)) / self.nu)
        return pd.DataFrame(special.stdtr(self.nu, z / w), columns=self.columns)

    def summary(self) -> Summary:
        """arch-style text summary."""
        header = [
            ("Dep. Variables", ", ".join(map(str, self.columns))),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Copula", _TITLES[self.family]),
            ("AIC", f"{self.aic:.3f}"),
            ("Method", {"mle": "Maximum Likelihood",
                        "itau": "Kendall's tau inversion"}[self.method]),
            ("BIC", f"{self.bic:.3f}"),
            ("Dimension", str(len(self.columns))),
            ("No. Observations", str(self.nobs)),
        ]
        notes = ["Standard errors: inverse observed information (numerical Hessian)."
                 if self.method == "mle" else
                 "Correlations by Kendall's tau inversion: no standard errors reported."]
        return Summary(title=f"{_TITLES[self.family]} Copula Results", header=header,
                       tables=[("Copula Parameters",
                                parameter_table(self.params, self.std_errors))], notes=notes)

    def __repr__(self) -> str:
        nu = "" if self.nu is None else f", nu={self.nu:.4g}"
        return (f"EllipticalCopulaResult({self.family}, d={len(self.columns)}{nu}, "
                f"loglik={self.loglik:.4f}, nobs={self.nobs})")


def _itau_corr(vals: np.ndarray) -> np.ndarray:
    d = vals.shape[1]
    r = np.eye(d)
    for a in range(d):
        for b in range(a):
            r[a, b] = r[b, a] = math.sin(math.pi / 2 * stats.kendalltau(
                vals[:, a], vals[:, b]).statistic)
    if np.linalg.eigvalsh(r)[0] <= 0:
        raise NotPositiveDefiniteError(
            "psd", "the Kendall's-tau correlation matrix is not positive definite; use "
            "method='mle'")
    return r


def _params_hessian(fun: Any, corr: np.ndarray, nu: float | None) -> np.ndarray:
    """Observed information in (rho_ab..., nu) by differences of autograd gradients."""
    d = corr.shape[0]
    i, j = np.tril_indices(d, -1)
    x = np.r_[corr[i, j], [] if nu is None else [nu]]

    def grad(z: np.ndarray) -> np.ndarray:
        t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        r = torch.eye(d, dtype=torch.float64)
        r = r.index_put((torch.as_tensor(i), torch.as_tensor(j)), t[: len(i)])
        r = r.index_put((torch.as_tensor(j), torch.as_tensor(i)), t[: len(i)])
        ll = fun(r, t[-1] if nu is not None else None)
        (g,) = torch.autograd.grad(ll, t)
        return g.numpy()

    bounds = [(-1.0, 1.0)] * len(i) + ([] if nu is None else [FIT_BOUNDS["student"][1]])
    return _numeric_hessian(grad, x, bounds)


def _fit_elliptical(u: Any, family: str, method: str) -> EllipticalCopulaResult:
    if method not in ("mle", "itau"):
        raise ConfigError(f"method must be 'mle' or 'itau', got {method!r}")
    vals, columns, _ = check_pits(u, min_obs=3)
    n, d = vals.shape
    if d < 2:
        raise ConfigError("a copula needs at least two columns")
    ut = torch.from_numpy(vals)
    nu_lo, nu_hi = FIT_BOUNDS["student"][1]

    def scores(nu: torch.Tensor | None) -> torch.Tensor:
        return torch.special.ndtri(ut) if nu is None else K.student_ppf(ut, nu)

    def fun(r: torch.Tensor, nu: torch.Tensor | None) -> torch.Tensor:
        return _mvt_copula_loglik(scores(nu), r, nu)

    if method == "itau":
        corr = _itau_corr(vals)
        rt = torch.from_numpy(corr)
        nu = None
        if family == "student":  # profile likelihood in nu
            res = optimize.minimize_scalar(
                lambda v: -float(fun(rt, torch.tensor(v, dtype=torch.float64))),
                bounds=(nu_lo, nu_hi), method="bounded", options={"xatol": 1e-8})
            nu = float(res.x)
        ll = float(fun(rt, None if nu is None else torch.tensor(nu, dtype=torch.float64)))
        return EllipticalCopulaResult(family=family, corr=corr, nu=nu, loglik=ll, nobs=n,
                                      columns=columns, method=method, cov=None, converged=True)

    z = special.ndtri(vals)
    r0 = np.corrcoef(z, rowvar=False)  # normal scores: the Gaussian MLE's near neighbour
    x0 = _free_from_corr(r0)
    k = len(x0)
    bounds = [(None, None)] * k
    if family == "student":
        t0 = torch.from_numpy(r0)
        grid = [2.5, 4.0, 6.0, 10.0, 20.0, 40.0]
        lls = [float(fun(t0, torch.tensor(g, dtype=torch.float64))) for g in grid]
        x0 = np.r_[x0, grid[int(np.argmax(lls))]]
        bounds = bounds + [(nu_lo, nu_hi)]

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        r = _corr_from_free(t[:k], d)
        ll = fun(r, t[k] if family == "student" else None)
        (g,) = torch.autograd.grad(ll, t)
        return -ll.item() / n, -g.numpy() / n

    res = optimize.minimize(neg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000})
    x = res.x
    corr = _corr_from_free(torch.from_numpy(x[:k]), d).numpy()
    corr = 0.5 * (corr + corr.T)
    np.fill_diagonal(corr, 1.0)
    nu = float(x[k]) if family == "student" else None
    nu_t = None if nu is None else torch.tensor(nu, dtype=torch.float64)
    ll = float(fun(torch.from_numpy(corr), nu_t))
    hess = _params_hessian(fun, corr, nu)
    cov = None
    interior = nu is None or nu_lo < nu < nu_hi
    if interior:
        with np.errstate(all="ignore"):
            try:
                cov = np.linalg.inv(-hess)
            except np.linalg.LinAlgError:
                cov = None
    return EllipticalCopulaResult(family=family, corr=corr, nu=nu, loglik=ll, nobs=n,
                                  columns=columns, method=method, cov=cov,
                                  converged=bool(res.success))


def fit_gaussian_copula(u: Any, method: Literal["mle", "itau"] = "mle"
                        ) -> EllipticalCopulaResult:
    """Fit the d-dimensional Gaussian copula.

    Parameters
    ----------
    u
        Pseudo-observations, shape (n, d) with d >= 2, strictly inside (0, 1).
    method
        ``"mle"``: maximum likelihood over all correlation matrices (Cholesky parametrisation,
        started at the normal-scores correlation). ``"itau"``: ``sin(pi tau / 2)`` pairwise.

    Returns
    -------
    EllipticalCopulaResult
    """
    return _fit_elliptical(u, "gaussian", method)


def fit_student_copula(u: Any, method: Literal["mle", "itau"] = "mle"
                       ) -> EllipticalCopulaResult:
    """Fit the d-dimensional Student-t copula: correlation matrix and degrees of freedom.

    Parameters
    ----------
    u
        Pseudo-observations, shape (n, d) with d >= 2.
    method
        ``"mle"``: joint maximum likelihood of the correlations and ``nu``. ``"itau"``:
        correlations by Kendall's tau inversion, then ``nu`` by profile likelihood.
        ``nu`` is searched in pyvinecopulib's bounds ``[2, 50]`` (as in :func:`fit_copula`, so
        with two columns both fits agree).

    Returns
    -------
    EllipticalCopulaResult
    """
    return _fit_elliptical(u, "student", method)


# ---------------------------------------------------------------- vines


@dataclass
class VineResult:
    """A vine copula selected and fitted by pyvinecopulib (see :func:`fit_vine`).

    Attributes
    ----------
    vine
        The ``pyvinecopulib.Vinecop``.
    loglik, aic, bic : float
        pyvinecopulib's, on the fitted data.
    nobs : int
    num_params : float
    structure : str
        ``"dvine"`` or ``"rvine"``.
    pair_copulas : DataFrame
        One row per edge: tree, edge, family, rotation, parameters, tau.
    columns : list
    """

    vine: Any
    loglik: float
    aic: float
    bic: float
    nobs: int
    num_params: float
    structure: str
    pair_copulas: pd.DataFrame
    columns: list[Any] = field(default_factory=list)

    @property
    def families(self) -> list[list[str]]:
        """Family and rotation of each pair copula, tree by tree."""
        pc = self.pair_copulas
        return [[f"{f} {r}" if r else f for f, r in zip(grp["family"], grp["rotation"],
                                                         strict=True)]
                for _, grp in pc.groupby("tree", sort=True)]

    def __repr__(self) -> str:
        return (f"VineResult({self.structure}, d={len(self.columns)}, loglik={self.loglik:.4f}, "
                f"aic={self.aic:.4f})")


def fit_vine(
    u: Any,
    structure: Literal["dvine", "rvine"] = "rvine",
    families: Sequence[str] = K.FAMILIES,
    criterion: Literal["aic", "bic"] = "aic",
    order: Sequence[int] | None = None,
    trunc_lvl: int | None = None,
    num_threads: int = 1,
) -> VineResult:
    """Select and fit a D- or R-vine with pyvinecopulib (the higher-dimension reference).

    Parameters
    ----------
    u
        Pseudo-observations, shape (n, d) with d >= 2.
    structure
        ``"dvine"`` (path order ``order``, default the column order) or ``"rvine"``
        (Dissmann's maximum-spanning-tree selection on Kendall's tau).
    families
        Pair-copula families (this package's five and ``"indep"``); rotations are allowed.
    criterion
        ``"aic"`` or ``"bic"`` for the pair-copula families.
    order
        D-vine order as 1-based column numbers.
    trunc_lvl
        Truncation level (all trees by default).
    num_threads
        pyvinecopulib's threads.

    Returns
    -------
    VineResult
    """
    pv = _pv()
    if structure not in ("dvine", "rvine"):
        raise ConfigError(f"structure must be 'dvine' or 'rvine', got {structure!r}")
    if criterion not in ("aic", "bic"):
        raise ConfigError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    fams = []
    for f in families:
        if f != "indep":
            K.check_family(f)
        fams.append(getattr(pv.BicopFamily, f))
    vals, columns, _ = check_pits(u, min_obs=3)
    d = vals.shape[1]
    if d < 2:
        raise ConfigError("a vine needs at least two columns")
    kw: dict[str, Any] = {"family_set": fams, "parametric_method": "mle",
                          "selection_criterion": criterion, "num_threads": num_threads}
    if trunc_lvl is not None:
        kw["trunc_lvl"] = int(trunc_lvl)
    controls = pv.FitControlsVinecop(**kw)
    if structure == "dvine":
        ordr = list(range(1, d + 1)) if order is None else [int(o) for o in order]
        if sorted(ordr) != list(range(1, d + 1)):
            raise ConfigError(f"order must be a permutation of 1..{d}, got {ordr}")
        vine = pv.Vinecop.from_data(vals, controls=controls,
                                    structure=pv.DVineStructure(order=ordr))
    else:
        vine = pv.Vinecop.from_data(vals, controls=controls)
    rows = []
    for t, tree in enumerate(vine.pair_copulas):
        for e, bc in enumerate(tree):
            fam = bc.family.name
            rows.append({"tree": t, "edge": e, "family": fam, "rotation": int(bc.rotation),
                         "params": bc.parameters.ravel().tolist(),
                         "tau": float(bc.tau) if fam != "indep" else 0.0})
    n = vals.shape[0]
    ll = float(vine.loglik(vals))
    return VineResult(vine=vine, loglik=ll, aic=float(vine.aic(vals)), bic=float(vine.bic(vals)),
                      nobs=n, num_params=float(vine.npars), structure=structure,
                      pair_copulas=pd.DataFrame(rows), columns=columns)


def vine_loglik(vine: Any, u: Any, *, pyvinecopulib_trim: bool = False) -> float:
    """Log-likelihood of a ``pyvinecopulib.Vinecop`` evaluated with this package's kernel.

    The R-vine recursion of vinecopulib's ``Vinecop::pdf``: observations in the structure's
    natural order, each edge's pair copula evaluated at two h-function columns from the
    previous tree, its h-functions carried forward where a later tree needs them. Pair
    copulas must be of this package's families or independence.

    Parameters
    ----------
    vine
        A fitted ``pyvinecopulib.Vinecop``.
    u
        Pseudo-observations, shape (n, d).
    pyvinecopulib_trim
        Move every pair copula's arguments into ``[1e-10, 1 - 1e-10]`` first, as
        pyvinecopulib's ``Bicop`` silently does, to reproduce its number exactly. Off by
        default: the kernel evaluates the data where they are.
    """
    vals, _, _ = check_pits(u, min_obs=1)
    s = vine.structure
    d = vals.shape[1]
    order = list(s.order)
    h2 = torch.from_numpy(vals[:, [o - 1 for o in order]].copy())
    h1 = torch.zeros_like(h2)
    total = torch.zeros((), dtype=torch.float64)
    for tree in range(min(int(s.trunc_lvl), d - 1)):
        for edge in range(d - tree - 1):
            bc = vine.get_pair_copula(tree, edge)
            m = int(s.min_array(tree, edge))
            col1 = h2[:, m - 1] if m == int(s.struct_array(tree, edge, True)) else h1[:, m - 1]
            ue = torch.stack([h2[:, edge], col1], dim=1)
            if pyvinecopulib_trim:
                ue = ue.clamp(1e-10, 1 - 1e-10)  # reproduces pyvinecopulib, see docstring
            fam, rot = bc.family.name, int(bc.rotation)
            if fam == "indep":
                g1, g2 = ue[:, 1], ue[:, 0]
            else:
                theta = bc.parameters.ravel().tolist()
                theta = theta if fam == "student" else theta[0]
                total = total + K.loglik(fam, ue, theta, rot)
                g1 = K.hfunc1(fam, ue, theta, rot) if s.needed_hfunc1(tree, edge) else None
                g2 = K.hfunc2(fam, ue, theta, rot) if s.needed_hfunc2(tree, edge) else None
            if s.needed_hfunc1(tree, edge):
                h1[:, edge] = g1
            if s.needed_hfunc2(tree, edge):
                h2[:, edge] = g2
    return float(total)

