"""Classical counterparts of every hybrid, thin over the established libraries."""

from baselines.curve_dynamics import (
    DieboldLiResult,
    diebold_li_factors,
    fit_diebold_li,
    random_walk_forecast,
)
from baselines.dcc import (
    DCCForecast,
    DCCResult,
    DCCSimulation,
    dcc_correlations,
    dcc_loglik,
    fit_dcc,
    simulate_dcc,
)
from baselines.garch import (
    GARCHForecast,
    GARCHResult,
    GARCHSimulation,
    GARCHSpec,
    fit_garch,
    garch_loglik,
    std_dist_ppf,
    std_dist_tail_mean,
)
from baselines.results import Summary
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

__all__ = [
    "DCCForecast",
    "DCCResult",
    "DCCSimulation",
    "DieboldLiResult",
    "GARCHForecast",
    "GARCHResult",
    "GARCHSimulation",
    "GARCHSpec",
    "Summary",
    "dcc_correlations",
    "dcc_loglik",
    "diebold_li_factors",
    "ewma_var_es",
    "filtered_historical_var_es",
    "fit_dcc",
    "fit_diebold_li",
    "fit_garch",
    "fit_student_t",
    "garch_loglik",
    "historical_var_es",
    "normal_var_es",
    "parametric_var_es",
    "random_walk_forecast",
    "simulate_dcc",
    "std_dist_ppf",
    "std_dist_tail_mean",
    "student_t_var_es",
    "var_es",
]
