"""Model families the harness can validate; each plugs in data, tasks and scoring.

A family is what changes between volatility, curves, smiles and copulas: which datasets it
knows, which models (classical champions and hybrid challengers) it runs as walk-forward tasks,
how forecasts are scored, and which report sections it writes. The harness core
(:mod:`validation.harness`) is the same for all of them.
"""

from __future__ import annotations

from validation.families.base import Family, FamilyScores
from validation.families.curve import CurveFamily
from validation.families.dependence import DependenceFamily
from validation.families.portfolio import PortfolioFamily
from validation.families.smile import SmileFamily
from validation.families.volatility import VolatilityFamily

FAMILIES: dict[str, Family] = {"volatility": VolatilityFamily(), "curve": CurveFamily(),
                               "dependence": DependenceFamily(), "smile": SmileFamily(),
                               "portfolio": PortfolioFamily()}

__all__ = ["FAMILIES", "Family", "FamilyScores"]
