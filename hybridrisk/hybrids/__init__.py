"""Hybrids: liquid networks driving the time-varying parameters of classical models.

One module per family; each hybrid nests its classical benchmark (network off = benchmark).
"""

from hybridrisk.forecasts import CurveForecast
from hybridrisk.hybrids.curve import LNNNSS, LNNNSSResult
from hybridrisk.hybrids.volatility import (
    LNNDCC,
    LNNGARCH,
    CorrelationForecast,
    LNNDCCResult,
    LNNGARCHResult,
    VolatilityForecast,
    VolatilitySimulation,
)

__all__ = [
    "LNNGARCH",
    "LNNGARCHResult",
    "LNNDCC",
    "LNNDCCResult",
    "LNNNSS",
    "LNNNSSResult",
    "CorrelationForecast",
    "CurveForecast",
    "VolatilityForecast",
    "VolatilitySimulation",
]
