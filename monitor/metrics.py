""":class:`RiskMetrics`: everything one assessment says about the book.

VaR, ES and the liquidity-adjusted VaR are positive loss numbers in USD over one day. Each VaR
method's numbers are kept in :attr:`RiskMetrics.var_methods`; the headline ``var_95``,
``var_99`` and ``es_95`` follow the engine's documented rule (:mod:`monitor.var_rule`), named in
:attr:`RiskMetrics.headline`, with every input it used in :attr:`RiskMetrics.var_rule`.
A component that failed shows its last good value and is listed in :attr:`RiskMetrics.stale`;
a value never computed is ``None``, never a made-up number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["RiskMetrics"]


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


@dataclass(frozen=True)
class RiskMetrics:
    """One assessment of the book (USD, one-day horizon).

    Attributes
    ----------
    time
        Market time of the state assessed (ISO 8601).
    value, gross
        Net and gross (sum of absolute) position values.
    pnl
        P&L since the previous assessment, at the previous quantities.
    var_95, var_99, es_95
        Headline VaR and ES (see ``headline``).
    headline
        The rule that made the headline (:class:`monitor.var_rule.VarRule`), e.g. ``max``
        (the largest over the methods), a method's name, ``blend`` or
        ``regime_scaled(max)``.
    var_methods
        Method -> ``{var_95, var_99, es_95, es_99}``.
    var_rule
        Every input of the headline rule: ``rule``, ``base_values`` (before any regime
        scaling), and ``weights``, ``scale``, ``scale_by_regime`` and
        ``regime_probabilities`` where the rule reads them.
    volatility
        Standard deviation of the book's one-day P&L over the scenarios.
    contributions, sector_contributions
        Euler contributions to ``volatility`` by position and by sector (each sums to it).
    largest_position, largest_position_share, herfindahl, sector_shares, position_shares
        Concentration in shares of gross value.
    liquidity_score
        Share of gross value that can be sold within one day.
    days_to_liquidate, max_days_to_liquidate
        Per position and the largest.
    liquidity_cost, lvar_99
        Bangia et al. (1999) exogenous liquidity cost and ``var_99 + liquidity_cost``.
    stress
        Scenario name -> P&L of the book under it.
    regime, regime_probabilities
        Most likely regime's label and the filtered probability of each.
    stale
        Components whose numbers come from an earlier assessment (they failed this time).
    stale_factors
        Market factors that kept an earlier level (no good tick in the latest batch).
    latency_ms, component_ms
        Wall time of the assessment and of each component.
    """

    time: str
    value: float | None = None
    gross: float | None = None
    pnl: float | None = None
    var_95: float | None = None
    var_99: float | None = None
    es_95: float | None = None
    headline: str = ""
    var_methods: dict[str, dict[str, float]] = field(default_factory=dict)
    var_rule: dict[str, Any] = field(default_factory=dict)
    volatility: float | None = None
    contributions: dict[str, float] = field(default_factory=dict)
    sector_contributions: dict[str, float] = field(default_factory=dict)
    largest_position: str = ""
    largest_position_share: float | None = None
    herfindahl: float | None = None
    sector_shares: dict[str, float] = field(default_factory=dict)
    position_shares: dict[str, float] = field(default_factory=dict)
    liquidity_score: float | None = None
    days_to_liquidate: dict[str, float] = field(default_factory=dict)
    max_days_to_liquidate: float | None = None
    liquidity_cost: float | None = None
    lvar_99: float | None = None
    stress: dict[str, float] = field(default_factory=dict)
    regime: str = ""
    regime_probabilities: dict[str, float] = field(default_factory=dict)
    stale: tuple[str, ...] = ()
    stale_factors: tuple[str, ...] = ()
    latency_ms: float | None = None
    component_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self, detail: int | None = None) -> dict[str, Any]:
        """A JSON-ready dict. With ``detail``, the per-position maps keep only the ``detail``
        largest entries (by absolute value) and ``positions_kept`` says how many there were."""
        out = _clean(asdict(self))
        if detail is not None:
            for name in ("contributions", "position_shares", "days_to_liquidate"):
                full = out[name]
                if len(full) > detail:
                    top = sorted(full, key=lambda k: -abs(full[k] or 0.0))[:detail]
                    out[name] = {k: full[k] for k in top}
            out["positions_total"] = len(self.contributions)
        return out
