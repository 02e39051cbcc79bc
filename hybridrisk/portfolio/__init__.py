"""Portfolio risk: positions on the bundled market data, scenarios, full revaluation, VaR/ES,
Euler allocation, stress tests, greeks and hedges.

- :mod:`~hybridrisk.portfolio.book`: positions read from a DataFrame, CSV or YAML and checked;
- :mod:`~hybridrisk.portfolio.factors`: the risk factors on one calendar, the base market
  state and the position-to-factor map;
- :mod:`~hybridrisk.portfolio.quantlib_book` and :mod:`~hybridrisk.portfolio.revaluation`: the
  book in QuantLib (the reference) and in torch (batched over scenarios, differentiable);
- :mod:`~hybridrisk.portfolio.scenarios`: historical, filtered historical, normal and Student-t
  generators behind ``generate(n, horizon, seed)``, and
  :mod:`~hybridrisk.portfolio.neural_sde`, a Neural SDE generator, and
  :mod:`~hybridrisk.portfolio.hybrid_scenarios`, LNN-GARCH-t margins with LNN-DCC dependence
  simulated jointly, behind the same interface;
- :mod:`~hybridrisk.portfolio.risk_measures` and :mod:`~hybridrisk.portfolio.allocation`: VaR,
  ES, delta-gamma P&L and Euler contributions;
- :mod:`~hybridrisk.portfolio.stress`: replayed windows, hypothetical shocks, reverse stress;
- :mod:`~hybridrisk.portfolio.greeks`: greeks by autograd and by QuantLib, hedge ratios and a
  minimum-variance hedge.

:func:`sample_book_path` is the multi-asset book shipped with the package.
"""

from importlib import resources
from pathlib import Path

from hybridrisk.portfolio.allocation import (
    delta_normal_contributions,
    euler_contributions,
    factor_pnl,
)
from hybridrisk.portfolio.book import INSTRUMENTS, Book, Position, read_book
from hybridrisk.portfolio.factors import (
    KEY_TENORS,
    FactorHistory,
    MarketState,
    factor_history,
    factor_map,
    market_state,
)
from hybridrisk.portfolio.greeks import (
    hedge_ratios,
    min_variance_hedge,
    position_greeks,
    quantlib_greeks,
)
from hybridrisk.portfolio.hybrid_scenarios import HybridGenerator
from hybridrisk.portfolio.neural_sde import NeuralSDEGenerator
from hybridrisk.portfolio.quantlib_book import QuantLibBook
from hybridrisk.portfolio.revaluation import TorchBook
from hybridrisk.portfolio.risk_measures import LEVELS, delta_gamma_pnl, risk_table, var_es
from hybridrisk.portfolio.scenarios import (
    FilteredHistorical,
    HistoricalSimulation,
    ParametricNormal,
    ParametricStudentT,
    ScenarioGenerator,
    horizon_change,
)
from hybridrisk.portfolio.stress import (
    WINDOWS,
    apply_shocks,
    hypothetical_shocks,
    replay,
    reverse_stress,
)


def sample_book_path() -> Path:
    """Path of the sample multi-asset book (YAML) shipped with the package."""
    return Path(str(resources.files(__name__).joinpath("data", "sample_book.yaml")))


__all__ = [
    "INSTRUMENTS",
    "KEY_TENORS",
    "LEVELS",
    "WINDOWS",
    "Book",
    "FactorHistory",
    "FilteredHistorical",
    "HistoricalSimulation",
    "HybridGenerator",
    "MarketState",
    "NeuralSDEGenerator",
    "ParametricNormal",
    "ParametricStudentT",
    "Position",
    "QuantLibBook",
    "ScenarioGenerator",
    "TorchBook",
    "apply_shocks",
    "delta_gamma_pnl",
    "delta_normal_contributions",
    "euler_contributions",
    "factor_history",
    "factor_map",
    "factor_pnl",
    "hedge_ratios",
    "horizon_change",
    "hypothetical_shocks",
    "market_state",
    "min_variance_hedge",
    "position_greeks",
    "quantlib_greeks",
    "read_book",
    "replay",
    "reverse_stress",
    "risk_table",
    "sample_book_path",
    "var_es",
]
