"""Classical scenario generators for the portfolio family, fitted with the baselines.

:func:`fit_filtered_historical` fits a constant-mean GJR-GARCH(1,1) (normal QML, ``arch``
through :func:`baselines.fit_garch`) to each factor's daily changes in percent and hands the
parameters to :class:`hybridrisk.portfolio.FilteredHistorical` as a plain argument. Log changes
are scaled to percent and yield changes to basis points, where arch's optimiser works well.
"""

from __future__ import annotations

import pandas as pd

import baselines
from hybridrisk.portfolio import FilteredHistorical

__all__ = ["factor_scale", "garch_parameters", "fit_filtered_historical"]


def factor_scale(names: list[str]) -> pd.Series:
    """1e4 for yield changes (basis points), 100 for log changes (percent)."""
    return pd.Series({n: 1e4 if n.startswith("rate:") else 100.0 for n in names})


def garch_parameters(changes: pd.DataFrame) -> pd.DataFrame:
    """GJR-GARCH(1,1) parameters per factor (rows), columns ``mu, omega, alpha, gamma, beta``,
    for the changes scaled by :func:`factor_scale`."""
    rows = {}
    scale = factor_scale(list(changes.columns))
    for name in changes.columns:
        p = baselines.fit_garch(changes[name] * scale[name], o=1).params
        rows[name] = {"mu": p["mu"], "omega": p["omega"], "alpha": p["alpha[1]"],
                      "gamma": p["gamma[1]"], "beta": p["beta[1]"]}
    return pd.DataFrame(rows).T


def fit_filtered_historical(changes: pd.DataFrame, *, window: int | None = None
                            ) -> FilteredHistorical:
    """A filtered-historical generator on ``changes`` (the last ``window`` days if given)."""
    data = changes if window is None else changes.iloc[-window:]
    return FilteredHistorical(data, garch_parameters(data),
                              scale=factor_scale(list(data.columns)))
