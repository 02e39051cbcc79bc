"""The dependence family's margins (inference functions for margins, Joe 2005).

Every copula model of a campaign sees the same PITs: per series, a constant-mean GARCH(1,1)
filter is fitted on the window's training span (:func:`baselines.garch.fit_garch`) and run
through the training span and the block with its parameters fixed, so the PIT of day ``t``
uses returns up to ``t`` and parameters estimated before the block. The margin model is a
campaign option (``margins``):

=============  ==============================================================
``garch-t``    GARCH(1,1), unit-variance Student t (the default)
``gjr-t``      GJR-GARCH(1,1,1) (Glosten, Jagannathan & Runkle 1993), t
``garch-skewt``  GARCH(1,1), Hansen's (1994) skew t
``gjr-skewt``  GJR-GARCH(1,1,1), Hansen's skew t
``bic``        per series and window, the one of the four above with the smallest BIC on
               the training span (a choice made without the block)
=============  ==============================================================

The one-step distribution of series ``j`` on day ``t`` is ``mu_j + sigma_jt z`` with ``z`` of
the margin's unit-variance distribution (``nu_j``; ``lam_j``, Hansen's lambda, is 0 for the
symmetric t, whose distribution function it then equals).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from arch.utility.exceptions import ConvergenceWarning
from scipy import special

from baselines.garch import fit_garch
from baselines.garch_constrained import refit_inside_constraints
from hybridrisk.errors import ConfigError
from validation.walkforward import Window, split_window

__all__ = ["MARGIN_SPECS", "MARGIN_CHOICES", "Margins", "check_margins", "fit_margin", "margin_fit",
           "fit_margins", "garch_filter", "margin_cdf", "margin_ppf", "std_t_cdf", "std_t_ppf"]

#: ``fit_garch`` options of each margin model.
MARGIN_SPECS: dict[str, dict[str, Any]] = {
    "garch-t": {"o": 0, "dist": "t"},
    "gjr-t": {"o": 1, "dist": "t"},
    "garch-skewt": {"o": 0, "dist": "skewt"},
    "gjr-skewt": {"o": 1, "dist": "skewt"},
}
#: What the ``margins`` option accepts.
MARGIN_CHOICES: tuple[str, ...] = (*MARGIN_SPECS, "bic")


def check_margins(value: Any) -> str:
    """``value`` if it names a margin model, else a ConfigError listing the choices."""
    if value not in MARGIN_CHOICES:
        raise ConfigError(f"margins must be one of {list(MARGIN_CHOICES)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Margins:
    """Margins fitted on a training span and fixed through the block.

    Attributes
    ----------
    u_train, u_block : DataFrame
        PITs over the training span and the block (columns: the data's).
    mu, nu, lam : ndarray, shape (2,)
        Constant mean, degrees of freedom (skew t: ``eta``) and skewness ``lambda`` (0 for the
        symmetric t) of each margin.
    sigma_block : ndarray, shape (n_block, 2)
        One-step conditional volatility of each block day (from returns up to ``t - 1``).
    specs : tuple of str
        The margin model of each series (a key of :data:`MARGIN_SPECS`).
    """

    u_train: pd.DataFrame
    u_block: pd.DataFrame
    mu: np.ndarray
    nu: np.ndarray
    sigma_block: np.ndarray
    lam: np.ndarray
    specs: tuple[str, ...]

    def columns(self) -> dict[str, np.ndarray]:
        """The margin columns of a forecast frame."""
        n = len(self.u_block)
        out: dict[str, np.ndarray] = {}
        for j in (0, 1):
            out[f"u_{j + 1}"] = self.u_block.iloc[:, j].to_numpy()
            out[f"mu_{j + 1}"] = np.full(n, self.mu[j])
            out[f"sigma_{j + 1}"] = self.sigma_block[:, j]
            out[f"nu_{j + 1}"] = np.full(n, self.nu[j])
            out[f"lam_{j + 1}"] = np.full(n, self.lam[j])
            out[f"margin_{j + 1}"] = np.full(n, list(MARGIN_SPECS).index(self.specs[j]))
        return out


def std_t_cdf(z: np.ndarray, nu: Any) -> np.ndarray:
    """Distribution function of the unit-variance Student t (arch's standardised t)."""
    return special.stdtr(nu, z * np.sqrt(nu / (nu - 2.0)))


def std_t_ppf(u: np.ndarray, nu: Any) -> np.ndarray:
    """Quantile function of the unit-variance Student t."""
    nu = np.asarray(nu, dtype=float)
    return special.stdtrit(nu, u) * np.sqrt((nu - 2.0) / nu)


def margin_cdf(z: np.ndarray, nu: Any, lam: Any) -> np.ndarray:
    """PITs of standardized residuals: the t where ``lam == 0``, else Hansen's skew t."""
    from hybridrisk.kernels.distributions import std_dist_cdf

    z = np.asarray(z, dtype=float)
    nu, lam = np.broadcast_to(nu, z.shape), np.broadcast_to(lam, z.shape)
    sym = lam == 0
    out = np.empty_like(z)
    out[sym] = std_t_cdf(z[sym], nu[sym])
    out[~sym] = std_dist_cdf("skewt", [nu[~sym], lam[~sym]], z[~sym])
    return out


def margin_ppf(u: np.ndarray, nu: Any, lam: Any) -> np.ndarray:
    """Inverse of :func:`margin_cdf`, elementwise in ``u``, ``nu`` and ``lam``."""
    from hybridrisk.kernels.distributions import std_dist_ppf

    u = np.asarray(u, dtype=float)
    nu, lam = np.broadcast_to(nu, u.shape), np.broadcast_to(lam, u.shape)
    sym = lam == 0
    out = np.empty_like(u)
    out[sym] = std_t_ppf(u[sym], nu[sym])
    out[~sym] = std_dist_ppf("skewt", [nu[~sym], lam[~sym]], u[~sym])
    return out


def garch_filter(res: Any, returns: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Residuals and conditional variances of a fitted GARCH(1,1) or GJR over ``returns``.

    The recursion starts from the fit's own pre-sample variance (``res.backcast_value``), so
    over the fit sample it reproduces the fit exactly and beyond it uses nothing but the
    fixed parameters and past returns. (arch's ``fix`` would recompute the backcast and the
    variance bounds from all of ``returns``, block included.)
    """
    from hybridrisk.kernels.garch import garch_variance

    p = res.params
    e = returns.to_numpy(dtype=np.float64) - float(p["mu"])
    gamma = float(p["gamma[1]"]) if "gamma[1]" in p.index else None
    h = garch_variance(torch.from_numpy(e.copy()), float(p["omega"]), float(p["alpha[1]"]),
                       float(p["beta[1]"]), gamma, backcast=float(res.backcast_value)).numpy()
    return e, h


#: the margin model each one nests (a zero ``gamma[1]``, or ``lambda``)
NESTED: dict[str, str] = {"gjr-t": "garch-t", "garch-skewt": "garch-t", "gjr-skewt": "gjr-t"}


def _nested_start(base: Any, names: list[str]) -> np.ndarray:
    """A nested fit's estimates as a start for the model with parameters ``names``."""
    p = base.params
    alias = {"eta": "nu"}
    return np.array([float(p[alias.get(n, n)]) if alias.get(n, n) in p.index else 0.0
                     for n in names])


def _fit_spec(train: pd.Series, name: str, cache: dict[str, Any]) -> Any:
    """One margin model's maximum likelihood fit inside arch's constraints.

    arch's fit is re-maximised inside its own constraints
    (:func:`baselines.garch_constrained.refit_inside_constraints`) when its estimates break
    them, when arch reports no convergence, or when it ends below the likelihood of the model
    it nests (:data:`NESTED`), whose estimates are then a further start. On EUR/CHF (the
    January 2015 jump) arch's estimates often end outside the constraints, where a GARCH-t at
    persistence 1.002 outscored the GJR-t that nests it (``benchmarks/margin_convergence.py``);
    inside them a nesting model never ends below its nested one there. A fit that still does,
    or that did not converge, is kept with a ``ConvergenceWarning`` that says so.
    """
    if name in cache:
        return cache[name]
    base = _fit_spec(train, NESTED[name], cache) if name in NESTED else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = fit_garch(train, **MARGIN_SPECS[name])
    below = base is not None and fit.loglik < base.loglik
    starts = [_nested_start(base, list(fit.params.index))] if base is not None else []
    fit = refit_inside_constraints(fit, starts=starts, always=below or not fit.converged)
    if base is not None and fit.loglik < base.loglik:
        warnings.warn(f"{fit.spec.describe()}: log-likelihood {fit.loglik:.4f} below the nested "
                      f"{base.spec.describe()}'s {base.loglik:.4f} from every start; not a "
                      "maximum (BIC will prefer the nested model)", ConvergenceWarning,
                      stacklevel=2)
    elif not fit.converged:
        warnings.warn(f"{fit.spec.describe()}: arch's optimiser did not report convergence, "
                      "and a re-maximisation inside its constraints found no higher "
                      "likelihood; arch's estimates are kept", ConvergenceWarning,
                      stacklevel=2)
    cache[name] = fit
    return fit


def fit_margin(train: pd.Series, margins: str) -> tuple[str, Any]:
    """(model, fit) of one series' margin on its training span; ``"bic"`` picks by BIC.

    Every fit is a maximum inside arch's constraints (see :func:`_fit_spec`). A BIC tie keeps
    the simpler model (the order of :data:`MARGIN_SPECS`).
    """
    names = list(MARGIN_SPECS) if check_margins(margins) == "bic" else [margins]
    cache: dict[str, Any] = {}
    fits = {n: _fit_spec(train, n, cache) for n in names}
    best = min(names, key=lambda n: fits[n].bic)
    return best, fits[best]


def margin_fit(train: pd.Series, spec: str) -> Any:
    """The fit of margin model ``spec`` (a key of :data:`MARGIN_SPECS`) that
    :func:`fit_margin` makes, e.g. for DCC's first stage on a span of its own."""
    if spec not in MARGIN_SPECS:
        raise ConfigError(f"spec must be one of {list(MARGIN_SPECS)}, got {spec!r}")
    return _fit_spec(train, spec, {})


def fit_margins(data: pd.DataFrame, window: Window, margins: str = "garch-t") -> Margins:
    """Margins of one window: fit on the training span, filter through the block.

    Parameters
    ----------
    data : DataFrame
        Two columns of percent returns, the window's slice (training span then block).
    window : Window
        The walk-forward window.
    margins : str
        The margin model, one of :data:`MARGIN_CHOICES`.

    Returns
    -------
    Margins

    Raises
    ------
    DataValidationError
        A PIT that rounds to 0 or 1 (a residual beyond double precision), naming the column
        and the day.
    """
    from baselines.margins import check_pits

    train, block = split_window(data, window)
    u, sig, mu, nu, lam, specs = {}, [], [], [], [], []
    for c in data.columns:
        spec, res = fit_margin(train[c], margins)
        e, h = garch_filter(res, data[c])
        skew = MARGIN_SPECS[spec]["dist"] == "skewt"
        n_u = float(res.params["eta" if skew else "nu"])
        l_u = float(res.params["lambda"]) if skew else 0.0
        u[c] = margin_cdf(e / np.sqrt(h), n_u, l_u)
        sig.append(np.sqrt(h[-len(block):]))
        mu.append(float(res.params["mu"]))
        nu.append(n_u)
        lam.append(l_u)
        specs.append(spec)
    pits = pd.DataFrame(u, index=data.index, columns=data.columns)
    check_pits(pits, name="margin PITs")
    return Margins(pits.iloc[: len(train)], pits.iloc[len(train):], np.array(mu), np.array(nu),
                   np.column_stack(sig), np.array(lam), tuple(specs))
