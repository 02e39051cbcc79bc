"""Classical counterparts of every hybrid, thin over the established libraries."""

from baselines.curve_dynamics import (
    DieboldLiResult,
    diebold_li_factors,
    fit_diebold_li,
    random_walk_forecast,
)

__all__ = [
    "DieboldLiResult",
    "diebold_li_factors",
    "fit_diebold_li",
    "random_walk_forecast",
]
