"""Forecast distributions shared by classical models and hybrids of a family."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["CurveForecast"]


@dataclass
class CurveForecast:
    """A distribution forecast of a yield curve at several horizons.

    ``mean`` is indexed by horizon label with one column per maturity (percent); ``cov`` maps
    each label to the (n_maturities x n_maturities) forecast covariance (percent^2);
    ``factors`` optionally holds the factor means by horizon and ``horizons`` the horizons in
    trading days.
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
