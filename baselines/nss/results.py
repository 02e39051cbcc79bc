"""Results of the NSS fitters: one day (:class:`NSSFitResult`) or a panel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.kernels.nss import nss_discount, nss_forward, nss_par, nss_zero
from hybridrisk.results import Summary

__all__ = ["NSSFitResult", "NSSPanelResult"]


@dataclass(frozen=True)
class NSSFitResult:
    """One day's fitted NSS (or NS) curve.

    Attributes
    ----------
    params
        ``beta0..beta3, tau1, tau2`` (NS: ``beta0..beta2, tau1``), GSW convention (percent, years).
    fitted, residuals
        Model and ``observed - model`` yields (percent) at the observed maturities, on the scale
        that was fitted (zero or par yields); missing tenors are absent.
    rmse_bp
        Root mean squared residual in basis points.
    kind, model
        What was fitted.
    n_obs
        Number of observed maturities used.
    objective
        Sum of squared residuals, percent squared.
    cond
        Condition number of the column-normalised design ``[1, L(tau1), C(tau1), C(tau2)]`` at
        the solution: the betas are uncertain by roughly (data error) x cond.
    rank_deficient
        ``cond > 1e10``: the betas are not identified; the fitted curve is still valid, the
        individual betas are not (only ``ridge=0`` can get there: the default ridge keeps the
        design away from exact collinearity).
    converged
        Whether the polish met its tolerance.
    flags
        Human-readable warnings (rank deficiency, decay at a bound, non-convergence, zero
        degrees of freedom, unidentified ``tau2``).
    """

    params: pd.Series
    fitted: pd.Series
    residuals: pd.Series
    rmse_bp: float
    kind: str
    model: str
    n_obs: int
    objective: float
    cond: float
    rank_deficient: bool
    converged: bool
    flags: tuple[str, ...] = field(default_factory=tuple)
    n_iter: int = 0

    def yield_curve(self, m: Any) -> np.ndarray:
        """Continuously compounded zero yields (percent) at maturities ``m`` (years)."""
        return nss_zero(m, self.params)

    def discount(self, m: Any) -> np.ndarray:
        """Discount factors at maturities ``m`` (years)."""
        return nss_discount(m, self.params)

    def forward(self, m: Any) -> np.ndarray:
        """Instantaneous forward rates (percent, continuous) at maturities ``m`` (years)."""
        return nss_forward(m, self.params)

    def par_yield(self, m: Any) -> np.ndarray:
        """Par yields (percent, bond-equivalent) at maturities ``m``; see :func:`nss_par`."""
        return nss_par(m, self.params)

    def summary(self) -> Summary:
        """Parameters, fit quality and diagnostics (flags as warnings)."""
        header = [
            ("Model", f"{self.model.upper()}, {self.kind} yields"),
            ("Maturities", f"{self.n_obs} ({self.fitted.index.min():g}y.."
                           f"{self.fitted.index.max():g}y)"),
            *((str(k), f"{v:.6g}") for k, v in self.params.items()),
            ("RMSE", f"{self.rmse_bp:.4f} bp"),
            ("Max |residual|", f"{1e2 * np.abs(self.residuals).max():.4f} bp"),
            ("SSE", f"{self.objective:.3e} %^2"), ("Condition number", f"{self.cond:.3g}"),
            ("Converged", str(self.converged)), ("Iterations", str(self.n_iter)),
        ]
        return Summary(f"{self.model.upper()} curve fit", header,
                       notes=[f"WARNING: {f}" for f in self.flags])


@dataclass(frozen=True)
class NSSPanelResult:
    """Fits of many days at once (:func:`baselines.nss.fit_nss_panel`).

    Attributes
    ----------
    params
        One row per day, columns ``beta0..tau2`` (NaN for days that could not be fitted).
    fitted, residuals
        Model yields at every maturity, and ``observed - model`` (NaN where not observed), percent.
    diagnostics
        Per day: ``n_obs``, ``rmse_bp``, ``max_abs_bp``, ``cond``, ``rank_deficient``,
        ``tau_at_bound``, ``converged``, ``n_iter`` and ``status`` (``"ok"``, ``"flagged"`` or
        ``"insufficient"`` for days with fewer observations than parameters).
    kind, model
        What was fitted.
    """

    params: pd.DataFrame
    fitted: pd.DataFrame
    residuals: pd.DataFrame
    diagnostics: pd.DataFrame
    kind: str
    model: str

    @property
    def rmse_bp(self) -> pd.Series:
        """Per-day RMSE in basis points."""
        return self.diagnostics["rmse_bp"]

    def day(self, date: Any) -> pd.Series:
        """Parameters of one day."""
        return self.params.loc[date]
