"""Classical counterparts of every hybrid, thin over the established libraries."""

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
]
