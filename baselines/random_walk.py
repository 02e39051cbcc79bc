"""The random-walk (no-change) yield-curve forecast, the curve family's first champion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from hybridrisk.checks import check_timeseries
from hybridrisk.forecasts import CurveForecast
from hybridrisk.kernels.dns import horizon_map
from hybridrisk.kernels.nss import maturities_from_columns

__all__ = ["random_walk_forecast"]


def random_walk_forecast(
    yields: pd.DataFrame,
    horizons: Mapping[str, float] | Sequence[float] | None = None,
    maturities: Sequence[float] | Mapping | None = None,
) -> CurveForecast:
    """The last published curve at every horizon.

    The covariance at horizon ``h`` is ``h`` times the sample covariance of daily yield changes
    (pairwise over published days), the random walk's own forecast error.

    Parameters
    ----------
    yields
        Yields in percent (dates x tenors), NaN where unpublished; days with nothing published
        are dropped.
    horizons
        Label -> trading days, or a sequence of trading days;
        :data:`hybridrisk.kernels.dns.HORIZONS` by default.
    maturities
        Years per column; read from the column labels when omitted.
    """
    hz = horizon_map(horizons)
    y = check_timeseries(yields, name="yields", min_obs=2, allow_nan=True)
    y = y.loc[~y.isna().all(axis=1)]
    m = maturities_from_columns(y.columns, maturities)
    last = y.iloc[-1]
    mean = pd.DataFrame([last.to_numpy()] * len(hz), index=list(hz), columns=y.columns)
    dcov = y.diff().cov().to_numpy()
    cov = {k: h * dcov for k, h in hz.items()}
    return CurveForecast(y.index[-1], m, mean, cov, None, hz)
