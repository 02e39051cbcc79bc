r"""DCC-GARCH(1,1) of Engle (2002), estimated by two-stage QML with two-step standard errors.

Model
-----
Each return series :math:`r_{it} = \mu_i + \sigma_{it} z_{it}` follows a univariate GARCH model
(stage 1, :func:`~baselines.garch.fit_garch`; by default a constant-mean Gaussian GARCH(1,1) with
arch's backcast). The standardized residuals :math:`z_t` have conditional correlation

.. math::
    Q_t = (1 - a - b)\bar Q + a z_{t-1} z_{t-1}' + b Q_{t-1}, \qquad Q_1 = \bar Q,\qquad
    R_t = \mathrm{diag}(Q_t)^{-1/2} Q_t \,\mathrm{diag}(Q_t)^{-1/2},

with correlation targeting :math:`\bar Q = T^{-1}\sum_t z_t z_t'`, :math:`a, b \ge 0` and
:math:`a + b < 1` (enforced as :math:`a + b \le 1 - 10^{-6}`).

Likelihood conventions
----------------------
Stage 2 maximises :math:`\sum_t \ln g(z_t; R_t, \theta)` over :math:`(a, b)` (and :math:`\nu`),
where :math:`g` is the density of the standardized residuals:

* ``dist="normal"``: :math:`\ln g = -\tfrac12 (N\ln 2\pi + \ln|R_t| + z_t'R_t^{-1}z_t)`;
* ``dist="t"``: the multivariate Student t scaled to covariance :math:`R_t`,
  :math:`\ln g = \ln\Gamma(\tfrac{\nu+N}{2}) - \ln\Gamma(\tfrac\nu2) - \tfrac N2\ln(\pi(\nu-2))
  - \tfrac12\ln|R_t| - \tfrac{\nu+N}{2}\ln(1 + z_t'R_t^{-1}z_t/(\nu-2))`, with :math:`\nu > 2`
  estimated in stage 2 (the stage-1 univariate fits stay Gaussian QML unless ``univariate``
  says otherwise).

:func:`dcc_loglik` returns exactly this sum. The result reports

* ``loglik`` -- the joint log density of the returns under the fitted model,
  :math:`\sum_t [\ln g(z_t; R_t, \hat\theta) - \sum_i \ln\hat\sigma_{it}]`;
* ``loglik_correlation`` -- ``loglik`` minus the sum of the univariate log-likelihoods, i.e.
  :math:`\sum_t [\ln g(z_t; R_t) - \sum_i \ln f_i(z_{it})]` with :math:`f_i` the fitted
  standardized univariate densities. For Gaussian margins and ``dist="normal"`` this is
  Engle's (2002) correlation component
  :math:`-\tfrac12\sum_t(\ln|R_t| + z_t'R_t^{-1}z_t - z_t'z_t)`, so
  ``loglik = sum(univariate loglik) + loglik_correlation`` holds exactly.

Standard errors
---------------
Two-step (Engle & Sheppard 2001; Newey & McFadden 1994, Thm 6.1) sandwich for the stacked
moment conditions :math:`g_t = (s_{1t}(\phi), \mathrm{vech}(z_t z_t') - \bar q,
s_{2t}(\psi; \phi, \bar q))`: the univariate scores, the correlation-targeting moments and the
stage-2 scores. With :math:`G = \partial \bar g / \partial\theta'` (block lower-triangular) and
:math:`S = T^{-1}\sum_t g_t g_t'`, :math:`\mathrm{Var}(\hat\theta) = G^{-1} S G^{-\prime} / T`;
the :math:`(a, b, \nu)` block therefore accounts for the estimation error of the univariate
parameters and of :math:`\bar Q`. Univariate scores are analytic (GARCH/GJR) and their
Jacobian numerical; stage-2 scores and every cross derivative are central finite differences.

Forecasts
---------
:math:`Q_{T+1}` is known at :math:`T`. Beyond it the standard approximation of Engle &
Sheppard (2001) takes :math:`E_T[z z'] \approx E_T[Q]`, which gives
:math:`E_T[Q_{T+k}] = \bar Q + (a + b)^{k-1}(Q_{T+1} - \bar Q)` and
:math:`R_{T+k} \approx \mathrm{diag}(E_T Q_{T+k})^{-1/2} E_T Q_{T+k}\,
\mathrm{diag}(E_T Q_{T+k})^{-1/2}`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.signal import lfilter
from scipy.special import gammaln

from baselines.garch import GARCHResult, fit_garch
from baselines.garch_likelihood import MIN_OBS as GARCH_MIN_OBS
from baselines.garch_likelihood import (
    _dist_loglik_obs,
    _filter,
    garch_hessian,
    garch_scores,
)
from hybridrisk.checks import check_array, check_psd, check_timeseries
from hybridrisk.errors import (
    ConfigError,
    ConvergenceError,
    DataValidationError,
    NumericalError,
    ParameterDomainError,
)
from hybridrisk.kernels.garch import VarianceUpdater
from hybridrisk.results import (
    CorrelationForecast,
    ParameterResults,
    ResultBase,
    Simulation,
    Summary,
    horizon_index,
    parameter_table,
)

__all__ = [
    "DCCResult",
    "fit_dcc",
    "dcc_loglik",
    "dcc_correlations",
    "simulate_dcc",
]

DCCDist = Literal["normal", "t"]

#: a + b is kept at or below this value, so a + b < 1 strictly.
AB_MAX = 1.0 - 1e-6
_NU_BOUNDS = (2.05, 500.0)  # as arch bounds the univariate t


# --------------------------------------------------------------------------------------------
# Recursion and likelihood (vectorised: the Q recursion is a linear filter per element)
# --------------------------------------------------------------------------------------------
def _q_vech(a: float, b: float, z: np.ndarray, qbar: np.ndarray) -> np.ndarray:
    """Upper-triangular elements of Q_t, shape (T, N(N+1)/2), ordered as ``np.triu_indices``."""
    iu, ju = np.triu_indices(z.shape[1])
    qb = qbar[iu, ju]
    u = np.empty((z.shape[0], iu.shape[0]))
    u[0] = qb  # Q_1 = Qbar: with a zero filter state the first output equals the input
    u[1:] = (1.0 - a - b) * qb + a * (z[:-1, iu] * z[:-1, ju])
    return lfilter([1.0], [1.0, -b], u, axis=0)


def _full(qv: np.ndarray, n: int) -> np.ndarray:
    iu, ju = np.triu_indices(n)
    out = np.empty((qv.shape[0], n, n))
    out[:, iu, ju] = qv
    out[:, ju, iu] = qv
    return out


def _corr_from_q(q: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diagonal(q, axis1=-2, axis2=-1))
    return q / (d[..., :, None] * d[..., None, :])


def _logdet_quad(a: float, b: float, z: np.ndarray, qbar: np.ndarray) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Per-observation ln|R_t| and z_t' R_t^{-1} z_t."""
    n = z.shape[1]
    qv = _q_vech(a, b, z, qbar)
    if n == 2:  # closed form, the common case and the fast one
        rho = qv[:, 1] / np.sqrt(qv[:, 0] * qv[:, 2])
        one = 1.0 - rho * rho
        quad = (z[:, 0] ** 2 - 2.0 * rho * z[:, 0] * z[:, 1] + z[:, 1] ** 2) / one
        return np.log(one), quad
    r = _corr_from_q(_full(qv, n))
    chol = np.linalg.cholesky(r)
    w = np.linalg.solve(chol, z[:, :, None])[..., 0]
    return 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1), (w * w).sum(1)


def _dcc_llf_obs(
    a: float, b: float, nu: float | None, z: np.ndarray, qbar: np.ndarray, dist: str
) -> np.ndarray:
    """Per-observation ln g(z_t; R_t), without domain checks (used inside derivatives)."""
    n = z.shape[1]
    logdet, quad = _logdet_quad(a, b, z, qbar)
    if dist == "normal":
        return -0.5 * (n * np.log(2.0 * np.pi) + logdet + quad)
    assert nu is not None
    const = gammaln((nu + n) / 2) - gammaln(nu / 2) - 0.5 * n * np.log(np.pi * (nu - 2))
    return const - 0.5 * logdet - 0.5 * (nu + n) * np.log1p(quad / (nu - 2))


def _check_ab(a: float, b: float) -> None:
    if not (np.isfinite(a) and a >= 0):
        raise ParameterDomainError("a", a, "a >= 0")
    if not (np.isfinite(b) and b >= 0):
        raise ParameterDomainError("b", b, "b >= 0")
    if not a + b < 1.0:
        raise ParameterDomainError("a + b", a + b, "a + b < 1")


def _check_z(z: Any, qbar: Any) -> tuple[np.ndarray, np.ndarray]:
    zz = np.asarray(z.to_numpy() if isinstance(z, pd.DataFrame) else z)
    zz = check_array(zz, name="z", ndim=2)
    if zz.shape[1] < 2:
        raise DataValidationError("shape", f"z needs at least 2 columns, has {zz.shape[1]}")
    if zz.shape[0] < 2:
        raise DataValidationError("min-obs", "z needs at least 2 observations")
    qb = zz.T @ zz / zz.shape[0] if qbar is None else check_psd(qbar, name="qbar")
    if qb.shape != (zz.shape[1], zz.shape[1]):
        raise DataValidationError("shape", f"qbar must be {zz.shape[1]}x{zz.shape[1]}")
    return zz, qb


def dcc_loglik(
    a: float,
    b: float,
    z: Any,
    *,
    dist: DCCDist = "normal",
    nu: float | None = None,
    qbar: Any = None,
    individual: bool = False,
) -> float | np.ndarray:
    """Stage-2 DCC log-likelihood :math:`\\sum_t \\ln g(z_t; R_t)` in numpy.

    Parameters
    ----------
    a, b
        DCC parameters, :math:`a, b \\ge 0`, :math:`a + b < 1`.
    z
        Standardized residuals, shape (T, N) with N >= 2 (array or DataFrame).
    dist
        ``"normal"`` or ``"t"`` (multivariate t with covariance :math:`R_t`).
    nu
        Degrees of freedom for ``dist="t"`` (> 2).
    qbar
        Intercept target :math:`\\bar Q`; default :math:`T^{-1} z'z`.
    individual
        Return the per-observation terms.

    Returns
    -------
    float or ndarray
        Log density of ``z`` including all constants (see the module docstring).
    """
    _check_ab(float(a), float(b))
    if dist not in ("normal", "t"):
        raise ConfigError(f"dist must be 'normal' or 't', got {dist!r}")
    if dist == "t" and (nu is None or not nu > 2):
        raise ParameterDomainError("nu", nu, "nu > 2")
    zz, qb = _check_z(z, qbar)
    ll = _dcc_llf_obs(float(a), float(b), None if nu is None else float(nu), zz, qb, dist)
    return ll if individual else float(np.sum(ll))


def dcc_correlations(a: float, b: float, z: Any, *, qbar: Any = None) -> np.ndarray:
    """Conditional correlation matrices :math:`R_t`, shape (T, N, N)."""
    _check_ab(float(a), float(b))
    zz, qb = _check_z(z, qbar)
    return _corr_from_q(_full(_q_vech(float(a), float(b), zz, qb), zz.shape[1]))


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
class DCCResult(ParameterResults, ResultBase):
    """A fitted DCC-GARCH(1,1) model (see :func:`fit_dcc`).

    Attributes
    ----------
    params, std_errors : Series
        ``a``, ``b`` (and ``nu``) with two-step standard errors.
    param_cov : DataFrame
        Their two-step covariance.
    two_step_cov : DataFrame
        Covariance of every estimated quantity: univariate parameters (``"<series>:<name>"``),
        the targeted :math:`\\bar Q` elements (``"Qbar[i,j]"``) and the DCC parameters.
    loglik, loglik_correlation : float
        See the module docstring.
    nobs : int
    univariate : dict of GARCHResult
        Stage-1 fits, keyed by column.
    std_resid : DataFrame
        Standardized residuals :math:`z_t`.
    qbar : DataFrame
        :math:`\\bar Q`.
    correlations : ndarray, (T, N, N)
        Conditional correlations :math:`R_t`.
    dist : str
    converged : bool
    """

    def __init__(
        self, *, params: pd.Series, two_step_cov: pd.DataFrame, loglik: float,
        loglik_correlation: float, univariate: dict[Any, GARCHResult], z: pd.DataFrame,
        qbar: np.ndarray, q_last: np.ndarray, dist: str, converged: bool,
    ) -> None:
        names = list(params.index)
        self.params = params
        self.two_step_cov = two_step_cov
        self.param_cov = two_step_cov.loc[names, names]
        self.std_errors = pd.Series(np.sqrt(np.diag(self.param_cov.to_numpy())), index=names,
                                    name="std_errors")
        self.loglik = float(loglik)
        self.loglik_correlation = float(loglik_correlation)
        self.univariate = univariate
        self.std_resid = z
        self.columns = list(z.columns)
        self.qbar = pd.DataFrame(qbar, index=self.columns, columns=self.columns)
        self.nobs = int(z.shape[0])
        self.dist = dist
        self.converged = bool(converged)
        a, b = float(params["a"]), float(params["b"])
        self.correlations = dcc_correlations(a, b, z.to_numpy(), qbar=qbar)
        self._q_last = q_last

    @property
    def num_params(self) -> int:
        """Univariate parameters + off-diagonal targeted correlations + DCC parameters."""
        n = len(self.columns)
        return (sum(r.num_params for r in self.univariate.values()) + n * (n - 1) // 2
                + len(self.params))

    def correlation(self, first: Any, second: Any) -> pd.Series:
        """Conditional correlation of two series as a Series over the sample dates."""
        i, j = self.columns.index(first), self.columns.index(second)
        return pd.Series(self.correlations[:, i, j], index=self.std_resid.index,
                         name=f"corr({first},{second})")

    def summary(self) -> Summary:
        """arch-style text summary: univariate stages and the DCC parameters."""
        header = [
            ("Series", ", ".join(map(str, self.columns))),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Model", "DCC(1,1)-GARCH"),
            ("Corr. Log-Lik.", f"{self.loglik_correlation:.3f}"),
            ("Distribution", {"normal": "Multivariate normal",
                              "t": "Multivariate t"}[self.dist]),
            ("AIC", f"{self.aic:.3f}"),
            ("Method", "Two-stage QML"),
            ("No. Observations", str(self.nobs)),
        ]
        tables = [(f"{c}: {r.spec.describe()}", parameter_table(r.params, r.std_errors))
                  for c, r in self.univariate.items()]
        tables.append(("DCC(1,1) correlation", parameter_table(self.params, self.std_errors)))
        return Summary(
            title="DCC-GARCH Model Results", header=header, tables=tables,
            notes=["Univariate standard errors: each stage-1 fit's own (robust).",
                   "DCC standard errors: two-step sandwich including stage-1 and Qbar "
                   "estimation error (Engle & Sheppard 2001)."],
        )

    def __repr__(self) -> str:
        return (f"DCCResult(series={self.columns}, dist={self.dist!r}, "
                f"a={self.params['a']:.4f}, b={self.params['b']:.4f}, loglik={self.loglik:.4f})")

    def _q_next(self) -> np.ndarray:
        a, b = float(self.params["a"]), float(self.params["b"])
        z_t = self.std_resid.to_numpy()[-1]
        return (1 - a - b) * self.qbar.to_numpy() + a * np.outer(z_t, z_t) + b * self._q_last

    def forecast(self, horizon: int = 1) -> CorrelationForecast:
        """Correlation, variance and covariance forecasts for steps 1..``horizon``.

        See the module docstring for the :math:`E_T[Q_{T+k}]` approximation.
        """
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ConfigError(f"horizon must be a positive integer, got {horizon!r}")
        a, b = float(self.params["a"]), float(self.params["b"])
        qbar = self.qbar.to_numpy()
        decay = (a + b) ** np.arange(horizon)
        eq = qbar + decay[:, None, None] * (self._q_next() - qbar)
        corr = _corr_from_q(eq)
        var = pd.DataFrame(
            {c: r.forecast(horizon).variance.to_numpy() for c, r in self.univariate.items()},
            index=horizon_index(horizon),
        )
        sd = np.sqrt(var.to_numpy())
        cov = corr * sd[:, :, None] * sd[:, None, :]
        return CorrelationForecast(corr, list(self.columns), self.std_resid.index[-1], var, cov,
                                   self.params)

    def simulate(self, n_paths: int, horizon: int, seed: int | None = None) -> Simulation:
        """Simulate ``n_paths`` return paths of length ``horizon`` after the last observation.

        Innovations are :math:`z = L_t\\varepsilon` with :math:`L_t L_t' = R_t` and
        :math:`\\varepsilon` i.i.d. standard normal or standardized multivariate t (``dist``);
        each series' variance follows its fitted univariate recursion.
        """
        for name, v in (("n_paths", n_paths), ("horizon", horizon)):
            if not isinstance(v, int | np.integer) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        rng = np.random.default_rng(seed)
        a, b = float(self.params["a"]), float(self.params["b"])
        nu = float(self.params["nu"]) if self.dist == "t" else None
        n = len(self.columns)
        res = list(self.univariate.values())
        upd = [VarianceUpdater(r.spec, r.params.to_numpy(), r.resid.to_numpy(),
                               r.conditional_volatility.to_numpy() ** 2, n_paths) for r in res]
        mu = np.array([float(r.params["mu"]) if r.spec.n_mean else 0.0 for r in res])
        qbar = self.qbar.to_numpy()
        q = np.broadcast_to(self._q_next(), (n_paths, n, n)).copy()
        rets = np.empty((n_paths, horizon, n))
        var = np.empty((n_paths, horizon, n))
        corr = np.empty((n_paths, horizon, n, n))
        for k in range(horizon):
            h = np.column_stack([u.next_variance() for u in upd])
            r_k = _corr_from_q(q)
            z = _draw(rng, np.linalg.cholesky(r_k), self.dist, nu)
            e = np.sqrt(h) * z
            for i, u in enumerate(upd):
                u.push(e[:, i], h[:, i])
            rets[:, k], var[:, k], corr[:, k] = mu + e, h, r_k
            q = (1 - a - b) * qbar + a * z[:, :, None] * z[:, None, :] + b * q
        return Simulation(rets, var, self.std_resid.index[-1], seed, list(self.columns), corr)


def _draw(rng: np.random.Generator, chol: np.ndarray, dist: str, nu: float | None) -> np.ndarray:
    """Correlated standardized innovations, one row per Cholesky factor in ``chol``."""
    m, n = chol.shape[0], chol.shape[-1]
    eps = rng.standard_normal((m, n))
    if dist == "t":
        assert nu is not None
        eps *= np.sqrt((nu - 2.0) / rng.chisquare(nu, m))[:, None]
    return np.einsum("kij,kj->ki", chol, eps)


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------
def _stage2(z: np.ndarray, qbar: np.ndarray, dist: str) -> tuple[np.ndarray, bool]:
    """Maximise the stage-2 log-likelihood over (a, b[, nu]) with SLSQP."""
    T = z.shape[0]

    def nll(x: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            try:
                v = float(np.sum(_dcc_llf_obs(x[0], x[1], x[2] if dist == "t" else None,
                                              z, qbar, dist)))
            except np.linalg.LinAlgError:
                return 1e10
        return -v / T if np.isfinite(v) else 1e10

    def jac(x: np.ndarray) -> np.ndarray:
        g = np.empty_like(x)
        for j in range(x.shape[0]):
            st = 1e-7 * max(abs(x[j]), 1.0)
            up, dn = x.copy(), x.copy()
            up[j] += st
            dn[j] -= st
            g[j] = (nll(up) - nll(dn)) / (2 * st)
        return g

    # coarse grid for the start, as arch does for GARCH
    best, start = np.inf, None
    nu0 = [8.0] if dist == "t" else []
    for a0 in (0.01, 0.03, 0.05, 0.1):
        for b0 in (0.5, 0.8, 0.9, 0.95, 0.98):
            if a0 + b0 < AB_MAX:
                x0 = np.array([a0, b0, *nu0])
                v = nll(x0)
                if v < best:
                    best, start = v, x0
    bounds = [(0.0, AB_MAX), (0.0, AB_MAX)] + ([_NU_BOUNDS] if dist == "t" else [])
    amat = np.zeros((1, len(bounds)))
    amat[0, :2] = -1.0
    cons = {"type": "ineq", "fun": lambda x: AB_MAX + amat @ x, "jac": lambda x: amat}
    res = optimize.minimize(nll, start, jac=jac, method="SLSQP", bounds=bounds,
                            constraints=cons, options={"ftol": 1e-12, "maxiter": 500})
    x = np.clip(res.x, [bd[0] for bd in bounds], [bd[1] for bd in bounds])
    if x[0] + x[1] > AB_MAX:  # SLSQP may overshoot the constraint by ~1e-10
        x[:2] *= AB_MAX / (x[0] + x[1])
    return x, bool(res.success)


def _uni_state(r: GARCHResult) -> tuple[Any, np.ndarray, np.ndarray, str, float | None]:
    return r.spec, r.params.to_numpy(), r._y, r._bc_mode, r._bc_fixed


def _z_column(r: GARCHResult, phi: np.ndarray) -> np.ndarray:
    spec, _, y, mode, fixed = _uni_state(r)
    e, h, _ = _filter(spec, phi, y, mode, fixed)
    return e / np.sqrt(h)


def _two_step_cov(
    uni: list[GARCHResult], z: np.ndarray, qbar: np.ndarray, psi: np.ndarray, dist: str
) -> np.ndarray:
    """Covariance of (phi_1..phi_N, vech(Qbar), psi) from the stacked-moment sandwich."""
    T, n = z.shape
    iu, ju = np.triu_indices(n)
    m = iu.shape[0]
    ks = [r.spec.n_params for r in uni]
    k1 = sum(ks)
    kp = psi.shape[0]
    K = k1 + m + kp
    offs = np.concatenate([[0], np.cumsum(ks)])

    def qmat(qv: np.ndarray) -> np.ndarray:
        out = np.empty((n, n))
        out[iu, ju] = qv
        out[ju, iu] = qv
        return out

    def llf(p: np.ndarray, zz: np.ndarray, qb: np.ndarray) -> np.ndarray:
        return _dcc_llf_obs(p[0], p[1], p[2] if dist == "t" else None, zz, qb, dist)

    def step_of(x: float) -> float:
        return 1e-4 * max(abs(x), 0.1)

    def s2_obs(zz: np.ndarray, qb: np.ndarray) -> np.ndarray:
        out = np.empty((T, kp))
        for j in range(kp):
            st = step_of(psi[j])
            up, dn = psi.copy(), psi.copy()
            up[j] += st
            dn[j] -= st
            out[:, j] = (llf(up, zz, qb) - llf(dn, zz, qb)) / (2 * st)
        return out

    qv_hat = qbar[iu, ju]
    # per-observation moment conditions at the estimates
    s1 = [garch_scores(*_uni_state(r)) for r in uni]
    mom = z[:, iu] * z[:, ju] - qv_hat
    s2 = s2_obs(z, qbar)
    g = np.column_stack([*s1, mom, s2])
    S = g.T @ g / T

    G = np.zeros((K, K))
    for i, r in enumerate(uni):
        sl = slice(offs[i], offs[i + 1])
        G[sl, sl] = garch_hessian(*_uni_state(r)) / T
        phi = r.params.to_numpy()
        for j in range(ks[i]):
            st = step_of(phi[j])
            zs = []
            for sign in (1.0, -1.0):
                ph = phi.copy()
                ph[j] += sign * st
                zc = z.copy()
                zc[:, i] = _z_column(r, ph)
                zs.append(zc)
            col = offs[i] + j
            # targeting moments and stage-2 scores respond to phi only through z
            G[k1:k1 + m, col] = ((zs[0][:, iu] * zs[0][:, ju]).mean(0)
                                 - (zs[1][:, iu] * zs[1][:, ju]).mean(0)) / (2 * st)
            G[k1 + m:, col] = (s2_obs(zs[0], qbar).mean(0) - s2_obs(zs[1], qbar).mean(0)) / (
                2 * st)
    G[k1:k1 + m, k1:k1 + m] = -np.eye(m)
    for j in range(m):
        st = step_of(qv_hat[j])
        up, dn = qv_hat.copy(), qv_hat.copy()
        up[j] += st
        dn[j] -= st
        G[k1 + m:, k1 + j] = (s2_obs(z, qmat(up)).mean(0) - s2_obs(z, qmat(dn)).mean(0)) / (
            2 * st)
    # stage-2 Hessian in psi by central second differences of the mean log-likelihood
    f0 = llf(psi, z, qbar).mean()
    for j in range(kp):
        for k in range(j, kp):
            sj, sk = step_of(psi[j]), step_of(psi[k])
            if j == k:
                up, dn = psi.copy(), psi.copy()
                up[j] += sj
                dn[j] -= sj
                val = (llf(up, z, qbar).mean() - 2 * f0 + llf(dn, z, qbar).mean()) / sj**2
            else:
                val = 0.0
                for a_, b_, w in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                    p = psi.copy()
                    p[j] += a_ * sj
                    p[k] += b_ * sk
                    val += w * llf(p, z, qbar).mean()
                val /= 4 * sj * sk
            G[k1 + m + j, k1 + m + k] = G[k1 + m + k, k1 + m + j] = val
    ginv = np.linalg.inv(G)
    return ginv @ S @ ginv.T / T


def _univariate_kwargs(univariate: Any, columns: Sequence[Any]) -> dict[Any, dict[str, Any]]:
    if univariate is None:
        return {c: {} for c in columns}
    if not isinstance(univariate, Mapping):
        raise ConfigError("univariate must be a dict of fit_garch keyword arguments, or a dict "
                          "mapping each column to such a dict")
    per_series = len(univariate) > 0 and all(
        k in columns and isinstance(v, Mapping) for k, v in univariate.items())
    if per_series:
        return {c: dict(univariate.get(c, {})) for c in columns}
    return {c: dict(univariate) for c in columns}


def _given_stage1(stage1: Mapping[str, Any], x: pd.DataFrame) -> dict[str, Any]:
    """The stage-1 fits given, checked to be one per column and fitted on that column."""
    if set(stage1) != set(x.columns):
        raise ConfigError(f"stage1 must hold one fit per column {list(x.columns)}, got "
                          f"{list(stage1)}")
    for c in x.columns:
        fit = stage1[c]
        if not (fit.resid.index.equals(x.index)
                and np.allclose(fit.resid.to_numpy() + float(fit.params.get("mu", 0.0)),
                                x[c].to_numpy(), rtol=0.0, atol=1e-10)):
            raise DataValidationError("stage1", "the stage-1 fit was not made on these "
                                      "returns", column=str(c))
    return {c: stage1[c] for c in x.columns}


def fit_dcc(
    returns: pd.DataFrame,
    *,
    dist: DCCDist = "normal",
    univariate: Mapping[str, Any] | None = None,
    stage1: Mapping[str, Any] | None = None,
) -> DCCResult:
    """Fit a DCC(1,1)-GARCH model by two-stage quasi maximum likelihood.

    Parameters
    ----------
    returns
        Percent returns, one column per series (at least 2), DatetimeIndex, no missing values.
    dist
        Stage-2 distribution of the standardized residuals: ``"normal"`` or ``"t"``
        (multivariate Student t with estimated ``nu``).
    univariate
        Keyword arguments of :func:`~baselines.garch.fit_garch` for the stage-1 fits, either one
        dict for every series or a dict mapping column names to dicts. Default: constant-mean
        Gaussian GARCH(1,1) with arch's backcast.
    stage1
        Stage-1 fits already made (:class:`~baselines.garch.GARCHResult`, one per column,
        each on exactly that column of ``returns``), e.g. re-maximised inside arch's
        constraints (:func:`~baselines.garch_constrained.refit_inside_constraints`); used
        instead of fitting with ``univariate``.

    Returns
    -------
    DCCResult

    Raises
    ------
    DataValidationError
        Non-DataFrame input, fewer than 2 columns, missing values (e.g. from mismatched
        indices), unsorted or duplicate dates.
    ConvergenceError
        If stage 2 returns non-finite estimates.
    """
    if not isinstance(returns, pd.DataFrame):
        raise DataValidationError(
            "type", f"returns must be a pandas DataFrame with one column per series, got "
                    f"{type(returns).__name__}")
    x = check_timeseries(returns, name="returns", min_obs=GARCH_MIN_OBS)
    if x.shape[1] < 2:
        raise DataValidationError("shape", f"returns must have at least 2 columns, has "
                                           f"{x.shape[1]}")
    if dist not in ("normal", "t"):
        raise ConfigError(f"dist must be 'normal' or 't', got {dist!r}")
    if stage1 is None:
        kwargs = _univariate_kwargs(univariate, list(x.columns))
        uni = {c: fit_garch(x[c], **kwargs[c]) for c in x.columns}
    else:
        uni = _given_stage1(stage1, x)
    res = list(uni.values())
    z = np.column_stack([r.std_resid.to_numpy() for r in res])
    T = z.shape[0]
    qbar = z.T @ z / T
    psi, converged = _stage2(z, qbar, dist)
    if not np.all(np.isfinite(psi)):
        raise ConvergenceError("DCC stage 2 returned non-finite estimates")
    if not converged:
        warnings.warn("DCC stage-2 optimiser did not report convergence", RuntimeWarning,
                      stacklevel=2)
    nu = float(psi[2]) if dist == "t" else None
    ll_z = _dcc_llf_obs(psi[0], psi[1], nu, z, qbar, dist)
    if not np.all(np.isfinite(ll_z)):
        raise NumericalError("DCC log-likelihood is not finite at the estimates")
    log_sigma = sum(float(np.sum(np.log(r.conditional_volatility.to_numpy()))) for r in res)
    loglik = float(np.sum(ll_z)) - log_sigma
    # f_i: each margin's fitted standardized density, evaluated at z (variance 1)
    ll_margins = sum(
        float(np.sum(_dist_loglik_obs(r.spec.dist, r.spec.split(r.params.to_numpy())[2],
                                      z[:, i], np.ones(T))))
        for i, r in enumerate(res))
    loglik_corr = float(np.sum(ll_z)) - ll_margins
    cov = _two_step_cov(res, z, qbar, psi, dist)
    n = z.shape[1]
    names_p = ["a", "b"] + (["nu"] if dist == "t" else [])
    cols = list(x.columns)
    labels = [f"{c}:{p}" for c, r in uni.items() for p in r.spec.param_names()]
    labels += [f"Qbar[{cols[i]},{cols[j]}]" for i, j in zip(*np.triu_indices(n), strict=True)]
    labels += names_p
    qv = _q_vech(psi[0], psi[1], z, qbar)[-1]
    q_last = np.empty((n, n))
    iu, ju = np.triu_indices(n)
    q_last[iu, ju] = qv
    q_last[ju, iu] = qv
    return DCCResult(
        params=pd.Series(psi, index=names_p, name="params"),
        two_step_cov=pd.DataFrame(cov, index=labels, columns=labels),
        loglik=loglik, loglik_correlation=loglik_corr, univariate=uni,
        z=pd.DataFrame(z, index=x.index, columns=x.columns), qbar=qbar, q_last=q_last,
        dist=dist, converged=converged,
    )


# --------------------------------------------------------------------------------------------
# Simulation with a known truth
# --------------------------------------------------------------------------------------------
def simulate_dcc(
    nobs: int,
    *,
    a: float,
    b: float,
    correlation: Any,
    garch: Sequence[Sequence[float]],
    mu: float | Sequence[float] = 0.0,
    dist: DCCDist = "normal",
    nu: float | None = None,
    seed: int | None = None,
    burn: int = 500,
    start: str = "2000-01-03",
) -> tuple[pd.DataFrame, np.ndarray]:
    """Simulate returns from a DCC(1,1) model with GARCH(1,1) margins.

    Parameters
    ----------
    nobs
        Number of observations kept after ``burn``.
    a, b
        DCC parameters (:math:`a + b < 1`).
    correlation
        :math:`\\bar Q`, an N x N correlation matrix.
    garch
        ``(omega, alpha, beta)`` for each series (Gaussian-scale GARCH(1,1)).
    mu
        Constant mean(s).
    dist, nu
        Distribution of the standardized residuals (as in :func:`fit_dcc`).
    seed
        Seed of ``numpy.random.default_rng``.
    burn
        Discarded initial observations.
    start
        First business day of the returned index.

    Returns
    -------
    returns : DataFrame
        (nobs, N) with a business-day DatetimeIndex and columns ``s0, s1, ...``.
    correlations : ndarray
        The true :math:`R_t`, shape (nobs, N, N).
    """
    _check_ab(float(a), float(b))
    c = check_psd(correlation, name="correlation")
    n = c.shape[0]
    gp = check_array(garch, name="garch", ndim=2, shape=(n, 3))
    if np.any(gp[:, 0] <= 0) or np.any(gp[:, 1:] < 0) or np.any(gp[:, 1] + gp[:, 2] >= 1):
        raise ParameterDomainError("garch", gp.tolist(), "omega > 0, alpha, beta >= 0, "
                                                         "alpha + beta < 1")
    if dist == "t" and (nu is None or not nu > 2):
        raise ParameterDomainError("nu", nu, "nu > 2")
    rng = np.random.default_rng(seed)
    mus = np.broadcast_to(np.asarray(mu, dtype=float), (n,))
    total = nobs + burn
    h = gp[:, 0] / (1 - gp[:, 1] - gp[:, 2])
    q = c.copy()
    out = np.empty((total, n))
    corr = np.empty((total, n, n))
    for t in range(total):
        r_t = _corr_from_q(q)
        z = _draw(rng, np.linalg.cholesky(r_t)[None], dist, nu)[0]
        e = np.sqrt(h) * z
        out[t], corr[t] = mus + e, r_t
        h = gp[:, 0] + gp[:, 1] * e * e + gp[:, 2] * h
        q = (1 - a - b) * c + a * np.outer(z, z) + b * q
    idx = pd.bdate_range(start, periods=nobs)
    return (pd.DataFrame(out[burn:], index=idx, columns=[f"s{i}" for i in range(n)]),
            corr[burn:])
