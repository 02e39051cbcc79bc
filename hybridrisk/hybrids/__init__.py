"""Hybrids: liquid networks driving the time-varying parameters of classical models.

One module per model on one skeleton (:mod:`hybridrisk.hybrids._skeleton`); each hybrid nests
its classical benchmark: ``result.benchmark`` is the network-off model, equal to it.
"""

from hybridrisk.hybrids.copula import LNNCopula, LNNCopulaResult
from hybridrisk.hybrids.copula_gas import LNNGASCopula, LNNGASCopulaResult
from hybridrisk.hybrids.dcc import LNNDCC, LNNDCCResult
from hybridrisk.hybrids.dns import LNNDNS, LNNDNSResult
from hybridrisk.hybrids.egarch import LNNEGARCH, LNNEGARCHResult
from hybridrisk.hybrids.garch import LNNGARCH, LNNGARCHResult
from hybridrisk.hybrids.realized_garch import LNNRealGARCH, LNNRealGARCHResult
from hybridrisk.hybrids.sabr import LNNSABR, LNNSABRResult
from hybridrisk.hybrids.sabr_calendar import LNNSABRCalendar

__all__ = [
    "LNNGARCH",
    "LNNGARCHResult",
    "LNNEGARCH",
    "LNNEGARCHResult",
    "LNNRealGARCH",
    "LNNRealGARCHResult",
    "LNNDCC",
    "LNNDCCResult",
    "LNNCopula",
    "LNNCopulaResult",
    "LNNGASCopula",
    "LNNGASCopulaResult",
    "LNNDNS",
    "LNNDNSResult",
    "LNNSABR",
    "LNNSABRCalendar",
    "LNNSABRResult",
]
