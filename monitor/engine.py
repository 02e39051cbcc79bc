"""``RiskEngine.assess(portfolio, market) -> RiskMetrics``: the risk of the book, components
run concurrently.

The engine values the book with the portfolio engine (:mod:`hybridrisk.portfolio`): a
:class:`~hybridrisk.portfolio.quantlib_book.QuantLibBook` and its torch twin
:class:`~hybridrisk.portfolio.revaluation.TorchBook`, built once on the base date. The market
at a later time is the vector ``x`` of factor changes from the base (log changes of index
levels, implied vol and FX, changes of the key zero yields, which move the base curve by
tents); the valuation date stays the base date (no time decay over the monitored window).

Each assessment runs these components, the model work in worker threads
(:func:`asyncio.to_thread`) so the event loop stays free:

``revaluation``
    values at ``x`` and at ``x + s`` for each historical scenario ``s`` (the last ``window``
    daily factor changes): position values and the scenario P&L matrix;
``var:<method>``
    VaR 95/99 and ES 95/99 of the book's scenario P&L by each configured method
    (:func:`monitor.measures.var_by_method`), concurrently; the hybrid method ``lnn-garch``
    revalues the book under the scenarios rescaled by the LNN-GARCH of each equity factor
    (:mod:`monitor.hybrid_var`, fitted when the engine is built);
``volatility``, ``concentration``, ``liquidity``
    Euler volatility contributions (the portfolio engine's
    :func:`~hybridrisk.portfolio.allocation.euler_contributions`), shares, days to liquidate
    and the liquidity cost;
``stress``
    full revaluation under the replayed windows and hypothetical shocks of the portfolio
    engine, scheduled by :mod:`monitor.stress`;
``regime``
    one Hamilton-filter step per new S&P 500 return (:mod:`monitor.regime`), concurrently
    with the revaluation.

A component that raises keeps its last good numbers, which the metrics list as ``stale``,
and the engine queues a critical alert (and an ``info`` one when it recovers); the
assessment itself always completes.
"""

from __future__ import annotations

import asyncio
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.portfolio.allocation import euler_contributions
from hybridrisk.portfolio.factors import market_state
from hybridrisk.portfolio.quantlib_book import QuantLibBook
from hybridrisk.portfolio.revaluation import TorchBook
from monitor.alerts import Alert
from monitor.book import MonitorBook
from monitor.feed import MarketHistory
from monitor.hybrid_var import HybridVolatility
from monitor.market import MarketView, change
from monitor.measures import METHODS, bangia_cost, concentration, liquidity, var_by_method
from monitor.metrics import RiskMetrics
from monitor.regime import MarkovRegime
from monitor.stress import default_windows, stress_pnl
from monitor.var_rule import VarRule

__all__ = ["EngineConfig", "RiskEngine", "HYBRID_METHODS"]

#: VaR methods that revalue the book under scenarios rescaled by a hybrid model
HYBRID_METHODS: tuple[str, ...] = ("lnn-garch",)


@dataclass(frozen=True)
class EngineConfig:
    """What the engine computes and how.

    Attributes
    ----------
    methods
        VaR methods (:data:`monitor.measures.METHODS` and :data:`HYBRID_METHODS`), each kept
        and shown.
    headline
        ``"max"`` (the headline VaR/ES is the largest over the methods) or one method's name:
        shorthand for ``var_rule=VarRule(method=headline)``.
    var_rule
        The rule that makes the headline VaR/ES from the methods' numbers
        (:class:`monitor.var_rule.VarRule`: max, a method, a blend, or either scaled by the
        regime probabilities); default from ``headline``.
    participation
        Share of the average daily volume the book may trade (days to liquidate).
    spread_tail
        Bangia's factor ``a`` on the spread volatility.
    regime_fit_days
        S&P 500 returns before the base date on which the regime model is estimated.
    windows
        Stress windows replayed once they have ended (default
        :func:`monitor.stress.default_windows`).
    hypothetical
        Static shocks, rows over the factors; default the portfolio engine's
        :func:`~hybridrisk.portfolio.stress.hypothetical_shocks`.
    hybrid_days, hybrid_seed, hybrid_train
        The ``lnn-garch`` method's fit: days of returns before the base date, the seed, and
        training settings for :meth:`~hybridrisk.hybrids.LNNGARCH.fit` (e.g. ``epochs``).
    """

    methods: tuple[str, ...] = ("historical", "filtered-historical", "normal", "ewma")
    headline: str = "max"
    participation: float = 0.1
    spread_tail: float = 3.0
    regime_fit_days: int = 1500
    windows: Mapping[str, tuple[str, str]] = field(default_factory=default_windows)
    hypothetical: pd.DataFrame | None = None
    hybrid_days: int = 1500
    hybrid_seed: int = 7
    hybrid_train: Mapping[str, Any] = field(default_factory=dict)
    var_rule: VarRule | None = None

    def __post_init__(self) -> None:
        known = METHODS + HYBRID_METHODS
        bad = [m for m in self.methods if m not in known]
        if bad or not self.methods:
            raise ConfigError(f"unknown VaR method {bad[:1]}; known: {known}")
        if self.headline != "max" and self.headline not in self.methods:
            raise ConfigError(f"headline must be 'max' or one of {self.methods}, got "
                              f"{self.headline!r}")
        if self.var_rule is None:
            object.__setattr__(self, "var_rule", VarRule(method=self.headline))
        elif self.headline != "max":
            raise ConfigError("give either 'headline' or 'var_rule', not both")
        self.var_rule.check(self.methods)


class RiskEngine:
    """Assesses a book against a market view (see the module docstring).

    Parameters
    ----------
    book
        The monitored book (its positions fix the instruments; quantities may change later).
    history
        The bundled history (factor levels and volumes).
    base_date
        The date the instruments are valued off (the day before a replay starts).
    config
        What to compute.
    regime
        A fitted regime model; default: fitted on the ``regime_fit_days`` S&P 500 returns up
        to ``base_date``.
    """

    def __init__(self, book: MonitorBook, history: MarketHistory, base_date: pd.Timestamp,
                 config: EngineConfig | None = None, *, regime: MarkovRegime | None = None,
                 ) -> None:
        self.config = config or EngineConfig()
        self.book = book
        self.factors = list(history.levels.columns)
        self.state = market_state(history.factors, base_date)
        self.base_levels = history.levels.loc[self.state.date].astype(float)
        self.reference = QuantLibBook(book.book, self.state, self.factors)
        self.torch_book = TorchBook(self.reference)
        self.changes = history.factors.changes
        if regime is None:
            r = 100.0 * self.changes["equity:SP500"].loc[:self.state.date].dropna()
            regime = MarkovRegime.fit(r.iloc[-self.config.regime_fit_days:])
        self.regime = regime
        self.config.var_rule.check(self.config.methods, regime.labels)
        self.hybrid: HybridVolatility | None = None
        if "lnn-garch" in self.config.methods:
            self.hybrid = HybridVolatility.fit(
                self.changes[self.factors], self.state.date, days=self.config.hybrid_days,
                seed=self.config.hybrid_seed, **self.config.hybrid_train)
        self._regime_prob: np.ndarray | None = None
        self._regime_date = self.state.date
        self._last: dict[str, dict[str, Any]] = {}
        self._failing: set[str] = set()
        self._prev_units: np.ndarray | None = None
        self._prev_q: np.ndarray | None = None
        self.alerts: list[Alert] = []
        #: tests and fault drills replace a component here to make it fail
        self.faults: dict[str, Callable[[], None]] = {}

    # ------------------------------------------------------------------ the state
    def x(self, market: MarketView) -> np.ndarray:
        """The market's factor changes from the base state, in the engine's factor order."""
        lv = market.levels
        return np.array([change(f, float(lv[f]), float(self.base_levels[f]))
                         for f in self.factors])

    def unit_values(self, x: np.ndarray) -> np.ndarray:
        """Value of one unit of each position in each scenario row of ``x``."""
        with torch.no_grad():
            return self.torch_book.unit_values(torch.as_tensor(np.atleast_2d(x))).numpy()

    # ------------------------------------------------------------------ components
    def _revaluation(self, q: np.ndarray, market: MarketView) -> dict[str, Any]:
        x0 = self.x(market)
        sc = market.scenarios[self.factors].to_numpy(float)
        u = self.unit_values(np.vstack([x0, x0 + sc]))
        units = u[0].copy()
        pnl = u[1:]  # the P&L matrix overwrites the unit values: no second 20 MB block
        pnl -= units
        pnl *= q
        return {"x": x0, "units": units, "values": q * units, "pnl": pnl,
                "dates": market.scenarios.index}

    def _var(self, method: str, rv: dict[str, Any], q: np.ndarray, market: MarketView
             ) -> dict[str, Any]:
        if method == "lnn-garch":
            if self.hybrid is None:
                raise ConfigError("the engine was built without the lnn-garch method")
            sc = self.hybrid.scenarios(market.scenarios[self.factors], self.state.date)
            u = self.unit_values(rv["x"] + sc.to_numpy(float))
            u -= rv["units"]
            pnl = u @ q
            return var_by_method(pd.Series(pnl, index=sc.index), "historical")
        return var_by_method(pd.Series(rv["pnl"].sum(axis=1), index=rv["dates"]), method)

    def _volatility(self, rv: dict[str, Any]) -> dict[str, Any]:
        euler = euler_contributions(rv["pnl"], 0.99)["vol"].to_numpy()
        sigma, c = float(euler[-1]), euler[:-1]
        ids, sectors = self.book.ids, self.book.sectors
        by_sector = pd.Series(c).groupby(np.asarray(sectors, dtype=object)).sum()
        return {"volatility": sigma, "contributions": dict(zip(ids, c.tolist(), strict=True)),
                "sector_contributions": {str(k): float(v) for k, v in by_sector.items()}}

    def _concentration(self, rv: dict[str, Any]) -> dict[str, Any]:
        c = concentration(rv["values"], self.book.sectors)
        ids = self.book.ids
        return {"largest_position": ids[c["largest_position"]],
                "largest_position_share": c["largest_share"], "herfindahl": c["herfindahl"],
                "sector_shares": c["sector_shares"],
                "position_shares": dict(zip(ids, c["shares"].tolist(), strict=True))}

    def _liquidity(self, q: np.ndarray, rv: dict[str, Any], market: MarketView,
                   book: MonitorBook) -> dict[str, Any]:
        adv = book.adv.copy()
        for i, p in enumerate(book.book):
            if not np.isfinite(adv[i]) and p.instrument == "equity_index":
                adv[i] = market.adv.get(f"equity:{p['underlying']}", np.nan)
        fallback = np.array([p.liquidity_days for p in book.book], float)
        liq = liquidity(rv["values"], q, adv, fallback, self.config.participation)
        cost = bangia_cost(rv["values"], book.spread, book.spread_vol, self.config.spread_tail)
        return {"liquidity_score": liq["score"], "max_days_to_liquidate": liq["max_days"],
                "days_to_liquidate": dict(zip(book.ids, liq["days"].tolist(), strict=True)),
                "liquidity_cost": cost}

    def _stress(self, q: np.ndarray, market: MarketView) -> dict[str, Any]:
        x0 = self.x(market)
        u0 = self.unit_values(x0)[0]

        def book_pnl(x: np.ndarray) -> np.ndarray:
            return (self.unit_values(x0 + np.atleast_2d(x)) - u0) @ q

        return {"stress": stress_pnl(book_pnl, self.changes[self.factors], market.time,
                                     self.config.windows, self.config.hypothetical)}

    def _regime(self, market: MarketView) -> dict[str, Any]:
        r = 100.0 * market.scenarios["equity:SP500"]
        new = r[r.index > self._regime_date]
        prob = self._regime_prob
        for value in new.to_numpy(float):
            prob = self.regime.update(prob, value)
        if prob is None:  # nothing new since the base date: filter the fit window
            past = 100.0 * self.changes["equity:SP500"].loc[:self._regime_date].dropna()
            prob = self.regime.filter(past.iloc[-self.config.regime_fit_days:]).iloc[
                -1].to_numpy()
        self._regime_prob = prob
        if len(new):
            self._regime_date = new.index[-1]
        labels = self.regime.labels
        return {"regime": labels[int(np.argmax(prob))],
                "regime_probabilities": dict(zip(labels, prob.tolist(), strict=True))}

    # ------------------------------------------------------------------ running them
    async def _run(self, name: str, fn: Callable[..., dict[str, Any]], *args: Any,
                   when: str, timings: dict[str, float]) -> dict[str, Any] | None:
        t0 = _time.perf_counter()
        try:
            if name in self.faults or name.split(":")[0] in self.faults:
                fault = self.faults.get(name) or self.faults[name.split(":")[0]]
                fault()
            out = await asyncio.to_thread(fn, *args)
        except Exception as exc:  # a failing component must not stop the loop
            timings[name] = 1e3 * (_time.perf_counter() - t0)
            if name not in self._failing:
                self._failing.add(name)
                self.alerts.append(Alert(
                    time=when, severity="critical", kind="component", source=name,
                    state="raised", wall_time=_time.time(),
                    message=f"component {name} failed ({type(exc).__name__}: {exc}); "
                            "showing its last good values, marked stale"))
            return None
        timings[name] = 1e3 * (_time.perf_counter() - t0)
        if name in self._failing:
            self._failing.discard(name)
            self.alerts.append(Alert(time=when, severity="info", kind="component",
                                     source=name, state="cleared", wall_time=_time.time(),
                                     message=f"component {name} recovered"))
        self._last[name] = out
        return out

    def _value_or_last(self, name: str, out: dict[str, Any] | None,
                       stale: list[str]) -> dict[str, Any]:
        if out is not None:
            return out
        stale.append(name)
        return self._last.get(name, {})

    async def assess(self, portfolio: MonitorBook, market: MarketView) -> RiskMetrics:
        """Assess ``portfolio`` (same positions as the engine's book) in ``market``."""
        if portfolio.ids != self.book.ids:
            raise DataValidationError("positions", "the portfolio's positions differ from "
                                      "the engine's book", column="id")
        t0 = _time.perf_counter()
        when = str(market.time)
        q = portfolio.quantities.copy()
        ms: dict[str, float] = {}
        regime_task = asyncio.ensure_future(
            self._run("regime", self._regime, market, when=when, timings=ms))
        stress_task = asyncio.ensure_future(
            self._run("stress", self._stress, q, market, when=when, timings=ms))
        rv = await self._run("revaluation", self._revaluation, q, market, when=when,
                             timings=ms)
        stale: list[str] = []
        parts: dict[str, dict[str, Any]] = {}
        names = [f"var:{m}" for m in self.config.methods] + ["volatility", "concentration",
                                                             "liquidity"]
        if rv is None:
            stale.append("revaluation")
            for n in names:
                parts[n] = self._value_or_last(n, None, stale)
        else:
            jobs = [self._run(f"var:{m}", self._var, m, rv, q, market, when=when, timings=ms)
                    for m in self.config.methods]
            jobs += [self._run("volatility", self._volatility, rv, when=when, timings=ms),
                     self._run("concentration", self._concentration, rv, when=when,
                               timings=ms),
                     self._run("liquidity", self._liquidity, q, rv, market, portfolio,
                               when=when, timings=ms)]
            for n, out in zip(names, await asyncio.gather(*jobs), strict=True):
                parts[n] = self._value_or_last(n, out, stale)
        parts["stress"] = self._value_or_last("stress", await stress_task, stale)
        parts["regime"] = self._value_or_last("regime", await regime_task, stale)
        return self._assemble(when, q, rv, parts, stale, ms, t0, market)

    def _assemble(self, when: str, q: np.ndarray, rv: dict[str, Any] | None,
                  parts: dict[str, dict[str, Any]], stale: list[str], ms: dict[str, float],
                  t0: float, market: MarketView) -> RiskMetrics:
        methods = {m: parts[f"var:{m}"] for m in self.config.methods if parts[f"var:{m}"]}
        fields: dict[str, Any] = {}
        for n in ("volatility", "concentration", "liquidity", "stress", "regime"):
            fields.update(parts[n])
        rule = self.config.var_rule
        head, record = rule.combine(methods, fields.get("regime_probabilities"))
        value = gross = pnl = None
        if rv is not None:
            value, gross = float(rv["values"].sum()), float(np.abs(rv["values"]).sum())
            if self._prev_units is not None:
                pnl = float(self._prev_q @ (rv["units"] - self._prev_units))
            self._prev_units, self._prev_q = rv["units"], q
        cost = fields.get("liquidity_cost")
        lvar = None if head["var_99"] is None or cost is None else head["var_99"] + cost
        return RiskMetrics(
            time=when, value=value, gross=gross, pnl=pnl, headline=rule.name,
            var_methods=methods, var_rule=record, lvar_99=lvar, stale=tuple(stale),
            stale_factors=market.stale_factors,
            latency_ms=1e3 * (_time.perf_counter() - t0), component_ms=ms, **head, **fields)

    def prime(self, portfolio: MonitorBook, market: MarketView) -> None:
        """Take ``market`` as the previous assessment's state (for the next P&L) without
        assessing it: what a restarted monitor does with the last stored day."""
        q = portfolio.quantities.copy()
        self._prev_units, self._prev_q = self._revaluation(q, market)["units"], q

    def drain_alerts(self) -> list[Alert]:
        """The component alerts queued since the last call."""
        out, self.alerts = self.alerts, []
        return out
