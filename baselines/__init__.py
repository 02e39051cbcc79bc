"""Classical counterparts of every hybrid, thin over the established libraries."""

from baselines.copula_dynamics import CopulaPathSimulation, DynamicCopulaResult
from baselines.copula_gas import fit_gas_copula, gas_copula_filter, simulate_gas_copula
from baselines.copula_multivariate import (
    EllipticalCopulaResult,
    VineResult,
    fit_gaussian_copula,
    fit_student_copula,
    fit_vine,
    vine_loglik,
)
from baselines.copula_patton import (
    fit_patton_copula,
    patton_copula_filter,
    simulate_patton_copula,
)
from baselines.copulas import (
    FIT_BOUNDS,
    CopulaResult,
    CopulaSelection,
    fit_copula,
    select_copula,
)
from baselines.dcc import (
    DCCResult,
    dcc_correlations,
    dcc_loglik,
    fit_dcc,
    simulate_dcc,
)
from baselines.dns import DieboldLiResult, diebold_li_factors, fit_diebold_li
from baselines.garch import (
    GARCHResult,
    GARCHSpec,
    fit_garch,
    garch_loglik,
    std_dist_ppf,
    std_dist_tail_mean,
)
from baselines.garch_constrained import constraint_slack, refit_inside_constraints
from baselines.har import HARResult, fit_har, parkinson_variance
from baselines.margins import check_pits, garch_pits, rank_pits
from baselines.nss import (
    NSSFitResult,
    NSSPanelResult,
    fit_nss,
    fit_nss_panel,
    nss_discount,
    nss_forward,
    nss_par,
    nss_zero,
)
from baselines.random_walk import random_walk_forecast
from baselines.realized_garch import (
    RealizedGARCHResult,
    fit_realized_garch,
    simulate_realized_garch,
)
from baselines.sabr import (
    SABRResult,
    equity_smile_frame,
    fit_sabr,
    fit_sabr_quantlib,
    fit_sabr_surface,
    smile_rmse_bp,
)
from baselines.var import (
    ewma_var_es,
    filtered_historical_var_es,
    fit_student_t,
    historical_var_es,
    normal_var_es,
    parametric_var_es,
    student_t_var_es,
    var_es,
)
from hybridrisk.results import Summary

__all__ = [
    "CopulaPathSimulation",
    "DynamicCopulaResult",
    "fit_gas_copula",
    "fit_patton_copula",
    "gas_copula_filter",
    "patton_copula_filter",
    "simulate_gas_copula",
    "simulate_patton_copula",
    "SABRResult",
    "equity_smile_frame",
    "fit_sabr",
    "fit_sabr_quantlib",
    "fit_sabr_surface",
    "smile_rmse_bp",
    "FIT_BOUNDS",
    "CopulaResult",
    "CopulaSelection",
    "EllipticalCopulaResult",
    "VineResult",
    "check_pits",
    "fit_copula",
    "fit_gaussian_copula",
    "fit_student_copula",
    "fit_vine",
    "garch_pits",
    "rank_pits",
    "select_copula",
    "vine_loglik",
    "DCCResult",
    "DieboldLiResult",
    "GARCHResult",
    "GARCHSpec",
    "NSSFitResult",
    "NSSPanelResult",
    "Summary",
    "dcc_correlations",
    "dcc_loglik",
    "diebold_li_factors",
    "ewma_var_es",
    "filtered_historical_var_es",
    "fit_dcc",
    "fit_diebold_li",
    "fit_garch",
    "fit_nss",
    "fit_nss_panel",
    "fit_student_t",
    "garch_loglik",
    "constraint_slack",
    "refit_inside_constraints",
    "historical_var_es",
    "normal_var_es",
    "nss_discount",
    "nss_forward",
    "nss_par",
    "nss_zero",
    "parametric_var_es",
    "random_walk_forecast",
    "simulate_dcc",
    "std_dist_ppf",
    "std_dist_tail_mean",
    "student_t_var_es",
    "var_es",
    "HARResult",
    "fit_har",
    "parkinson_variance",
    "RealizedGARCHResult",
    "fit_realized_garch",
    "simulate_realized_garch",
]
