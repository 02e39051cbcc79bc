"""Range-based champions of the volatility family: HAR on the range and Realized GARCH.

Both use the day's Parkinson range (the family data's ``range`` column, a volatility in
percent; its square is the range variance) as a realised measure of the day's variance, known
at the close. Each walk-forward task fits on the training span and forecasts every day of the
block from data up to the day before, with the parameters fixed.

VaR and ES: both models give a variance; the innovations are taken as a standardised Student t
whose degrees of freedom are fitted by maximum likelihood to the training span's standardised
residuals (the same quantile and tail-mean functions as the GARCH champions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError
from hybridrisk.results import LEVELS, es_column, var_column
from validation.families.base import check_row
from validation.walkforward import Window, split_window

__all__ = ["HARTask", "RealizedGARCHTask", "RANGE_KINDS", "range_checks",
           "t_forecast_columns"]

#: Model kinds that need the ``range`` column.
RANGE_KINDS = ("har", "realized-garch")


def _range_variance(data: pd.DataFrame, model: str) -> pd.Series:
    if "range" not in data.columns:
        raise ConfigError(f"{model} needs the daily range (a 'range' column of Parkinson "
                          "volatilities in percent, as in the bundled sp500 and nasdaq data)")
    return data["range"] ** 2


def t_forecast_columns(mean: float, var: np.ndarray, z: np.ndarray, index: pd.Index
                       ) -> pd.DataFrame:
    """Forecast columns, the innovations a standardised t fitted to ``z``."""
    from baselines.var import fit_student_t
    from hybridrisk.kernels.distributions import std_dist_ppf, std_dist_tail_mean

    nu = fit_student_t(z[np.isfinite(z)])[2]
    cols: dict[str, Any] = {"mean": np.full(len(index), mean), "variance": var}
    sd = np.sqrt(var)
    for lev in LEVELS:
        a = 1.0 - lev
        q = float(np.asarray(std_dist_ppf("t", [nu], a)).reshape(-1)[0])
        tm = float(np.asarray(std_dist_tail_mean("t", [nu], a)).reshape(-1)[0])
        cols[var_column(lev)] = -(mean + sd * q)
        cols[es_column(lev)] = -(mean + sd * tm)
    cols["nu"] = np.full(len(index), nu)
    return pd.DataFrame(cols, index=index)


@dataclass(frozen=True)
class HARTask:
    """HAR (Corsi 2009) on the range variance, scaled to the return variance.

    The forecast of day t is ``scale * HAR forecast of RV_t`` from RV up to t-1, with
    ``scale`` the training span's mean squared return over its mean range variance.
    """

    log: bool = False
    nw_lags: int = 22

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        from baselines.har import fit_har

        rv = _range_variance(data, "HAR")
        train, block = split_window(data, window)
        res = fit_har(rv.loc[train.index], log=self.log, nw_lags=self.nw_lags,
                      returns=train["returns"])
        fc = res.scale * res.filter(rv)
        var = fc.loc[block.index].to_numpy()
        if not np.all(var > 0):
            raise ConfigError("the HAR forecast of the range variance is not positive: use "
                              "log=True")
        mean = float(train["returns"].mean())
        fit_in = fc.reindex(train.index).dropna()
        z = ((train["returns"].loc[fit_in.index] - mean) / np.sqrt(fit_in.clip(lower=1e-12))
             ).to_numpy()
        return t_forecast_columns(mean, var, z, block.index)


@dataclass(frozen=True)
class RealizedGARCHTask:
    """Log-linear Realized GARCH(1,1) (Hansen, Huang & Shek 2012) with the range variance."""

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        from baselines.realized_garch import fit_realized_garch

        rv = _range_variance(data, "Realized GARCH")
        train, block = split_window(data, window)
        res = fit_realized_garch(train["returns"], rv.loc[train.index])
        h = res.filter(data["returns"], rv)
        mu = float(res.params["mu"])
        z = ((train["returns"] - mu) / np.sqrt(res.conditional_variance)).to_numpy()
        return t_forecast_columns(mu, h.loc[block.index].to_numpy(), z, block.index)


def range_checks(data: pd.DataFrame) -> list[dict]:
    """Reference checks of the range-based champions on the campaign data.

    HAR against statsmodels OLS (coefficients), Realized GARCH's vectorised likelihood against
    the plain loop at the estimates.
    """
    import statsmodels.api as sm

    from baselines.har import MONTH, fit_har, har_design
    from baselines.realized_garch import fit_realized_garch, realized_garch_loglik_loop

    rv = _range_variance(data, "the range checks")
    rows = []
    har = fit_har(rv)
    ols = sm.OLS(rv.to_numpy()[MONTH:], har_design(rv.to_numpy())[:-1]).fit()
    for k, name in enumerate(har.params.index):
        rows.append(check_row(f"HAR on the range variance: {name}", "statsmodels OLS",
                              float(har.params[name]), float(ols.params[k]), 1e-10))
    rg = fit_realized_garch(data["returns"], rv)
    loop = realized_garch_loglik_loop(rg.params.to_numpy(), data["returns"].to_numpy(),
                                      rv.to_numpy(), rg.logh0)
    rows.append(check_row("Realized GARCH log-likelihood at its estimates",
                          "plain-loop implementation", rg.loglik, loop, 1e-10))
    return rows
