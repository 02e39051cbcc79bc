"""Forecast distributions shared by classical models and hybrids of a family."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["CurveForecast"]


@dataclass
class CurveForecast:
    """A distribution forecast of a yield curve at several horizons.

    The random walk (``baselines.random_walk_forecast``), Diebold-Li
    (``baselines.DieboldLiResult.forecast``) and the LNN-DNS hybrid all return it the same way:
    ``mean`` is indexed by horizon label (the curve family's ``"1d"``, ``"1w"``, ``"1m"``,
    ``"3m"``, ``"1y"`` by default) with the yield panel's columns (percent); ``maturities`` are
    those columns' maturities in years; ``cov`` maps each label to the (n_maturities x
    n_maturities) forecast covariance (percent^2); ``horizons`` maps each label to trading days
    (float); ``factors`` holds the Nelson-Siegel factor means by horizon (None for the random
    walk); ``origin`` is the date forecast from.
    """

    origin: pd.Timestamp
    maturities: np.ndarray
    mean: pd.DataFrame
    cov: dict[str, np.ndarray] = field(default_factory=dict)
    factors: pd.DataFrame | None = None
    horizons: dict[str, float] = field(default_factory=dict)

    def std(self) -> pd.DataFrame:
        """Forecast standard deviations by horizon and maturity (percent)."""
        return pd.DataFrame(
            {h: np.sqrt(np.diag(c)) for h, c in self.cov.items()}, index=self.mean.columns
        ).T
