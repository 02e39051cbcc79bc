"""Report sections of the portfolio family: stress table, Euler contributions, reference checks.

- Stress: the named historical windows inside the campaign's history replayed through the book
  (full revaluation of the window's total factor move beside the delta-gamma prediction) and the
  hypothetical shocks of :func:`hybridrisk.portfolio.hypothetical_shocks`, static shifts.
- Euler contributions: the next-day FHS scenarios at the end of the history (GJR-GARCH fitted
  on the last 1000 days), fully revalued by position; the contributions of each position and
  each factor to the P&L volatility, the 99% VaR and the 97.5% ES sum to the totals.
- Generators: the Neural SDE next to FHS against the history they imitate
  (:mod:`validation.families.portfolio_generators`).
- Hedging: the hedge-effectiveness backtest over the out-of-sample span
  (:mod:`validation.families.portfolio_hedging`).
- Reference checks: the torch revaluation against QuantLib (base state and historical
  scenarios), the autograd gradient against QuantLib bump-and-reprice, the GARCH filter
  against ``arch`` and the hybrid with its network off against ``arch``'s GJR-GARCH-t.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.portfolio import (
    WINDOWS,
    apply_shocks,
    delta_gamma_pnl,
    euler_contributions,
    factor_pnl,
    hypothetical_shocks,
    replay,
)
from validation.families.base import FamilyScores, check_row, data_integrity_row
from validation.families.portfolio_generators import generator_table
from validation.families.portfolio_scenarios import factor_scale, fit_filtered_historical
from validation.families.portfolio_tasks import book_pnl, torch_book

__all__ = ["stress_table", "euler_tables", "generators", "add_book_sections", "reference_checks",
           "describe"]

EULER_WINDOW = 1000
GENERATOR_WINDOW = 1000


def _derivatives(spec: str) -> tuple[np.ndarray, np.ndarray]:
    tb, _ = torch_book(spec)
    g, h = tb.derivatives()
    return g.numpy(), h.numpy()


def stress_table(spec: str, changes: pd.DataFrame) -> pd.DataFrame:
    """Replayed windows inside ``changes`` and the hypothetical shocks: full revaluation and
    delta-gamma P&L (USD), and the factors' delta-gamma pieces summed by kind."""
    g, h = _derivatives(spec)
    revalue = functools.partial(book_pnl, spec)
    first, last = changes.index[0], changes.index[-1]
    inside = {k: v for k, v in WINDOWS.items()
              if pd.Timestamp(v[0]) >= first and pd.Timestamp(v[1]) <= last}
    names = list(changes.columns)
    rows = []
    if inside:
        rep = replay(revalue, g, h, changes, inside)
        for name, r in rep.iterrows():
            rows.append({"scenario": name, "kind": "historical replay", "days": int(r["days"]),
                         "full revaluation": r["full"], "delta-gamma": r["delta_gamma"],
                         **_by_kind(r[names])})
    shocks = hypothetical_shocks(names)
    full = apply_shocks(revalue, shocks)
    x = shocks.to_numpy()
    split = factor_pnl(g, h, x, full.to_numpy(), names)
    for i, name in enumerate(shocks.index):
        rows.append({"scenario": name, "kind": "hypothetical (static)", "days": 1,
                     "full revaluation": float(full.iloc[i]),
                     "delta-gamma": float(delta_gamma_pnl(g, h, x[i]).sum()),
                     **_by_kind(split.iloc[i][names])})
    return pd.DataFrame(rows).set_index("scenario")


def _by_kind(pieces: pd.Series) -> dict[str, float]:
    kinds = pieces.groupby([n.split(":")[0] for n in pieces.index]).sum()
    return {f"delta-gamma {k}": float(v) for k, v in kinds.items()}


def euler_tables(spec: str, changes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Euler contributions by position and by factor under the next-day FHS scenarios at the
    end of ``changes`` (see the module docstring); USD."""
    tb, _ = torch_book(spec)
    fhs = fit_filtered_historical(changes, window=EULER_WINDOW)
    s = factor_scale(fhs.names).to_numpy()
    p = fhs.params
    scen = (p["mu"].to_numpy() + np.sqrt(fhs.sigma2_next) * fhs.std_resid.to_numpy()) / s
    base = tb.values(np.zeros((1, len(fhs.names)))).numpy()
    by_pos = pd.DataFrame(tb.values(scen).numpy() - base, columns=tb.reference.book.ids)
    q = [pos.quantity for pos in tb.reference.book]
    out = []
    for comp, quant in ((by_pos, q), (None, None)):
        if comp is None:
            g, h = _derivatives(spec)
            comp = factor_pnl(g, h, scen, by_pos.sum(axis=1).to_numpy(), fhs.names)
        v99 = euler_contributions(comp, 0.99, quant)
        e975 = euler_contributions(comp, 0.975)
        tab = pd.DataFrame({"vol": v99["vol"], "VaR 99%": v99["VaR"], "ES 97.5%": e975["ES"]})
        if quant is not None:
            tab["marginal VaR 99%"] = v99["marginal_VaR"]
        out.append(tab)
    return out[0], out[1]


def generators(changes: pd.DataFrame, *, seed: int, quick: bool) -> pd.DataFrame:
    """The Neural SDE and FHS, each fitted on the last :data:`GENERATOR_WINDOW` days of
    ``changes``, against those days (:func:`~validation.families.portfolio_generators.\
generator_table`): 10 simulated paths as long as the window."""
    from hybridrisk.portfolio import NeuralSDEGenerator

    days = changes.iloc[-(GENERATOR_WINDOW // 2 if quick else GENERATOR_WINDOW):]
    fhs = fit_filtered_historical(days)
    nsde = NeuralSDEGenerator(days, steps=30 if quick else 200, seed=seed)
    sims = {g: gen.generate(10, len(days), seed=seed) for g, gen in
            (("FHS", fhs), ("Neural SDE", nsde))}
    return generator_table(days, sims, seed=seed, n_perm=99 if quick else 199)


def add_book_sections(sc: FamilyScores, spec: str, data: pd.DataFrame, *, seed: int,
                      quick: bool = False, test_index: pd.DatetimeIndex | None = None) -> None:
    """Add the stress, Euler and generator tables to a family's scores, and the hedge
    backtest over ``test_index`` when given."""
    changes = data.drop(columns="pnl")
    sc.tables["stress"] = stress_table(spec, changes)
    sc.tables["euler_positions"], sc.tables["euler_factors"] = euler_tables(spec, changes)
    sc.tables["generators"] = generators(changes, seed=seed, quick=quick)
    sc.captions["generators"] = (
        "Scenario generators against the history they imitate (the last "
        f"{GENERATOR_WINDOW // 2 if quick else GENERATOR_WINDOW} days): marginal quantile "
        "errors, autocorrelation of absolute changes, correlation error, equity tail "
        "dependence, and the energy distance of standardised daily vectors with its "
        "permutation p-value (10 simulated paths per generator)")
    sc.placement["generators"] = "sensitivity"
    if test_index is not None:
        from validation.families.portfolio_hedging import hedging_table

        sc.tables["hedging"], sc.tables["hedging_tests"] = hedging_table(
            test_index, seed=seed, quick=quick)
        sc.captions["hedging"] = (
            "Hedge effectiveness: a short one-month at-the-money S&P 500 call, rolled, marked "
            "at the implied vol and delta-hedged daily at each model's vol, with SABR "
            "deltas (Hagan, Bartlett; smile shape of the Andreasen-Huge S&P 500 surface, level "
            "of the day's implied vol), or with a GARCH model's minimum-variance delta (MV: "
            "the implied vol moved with the model's average variance over the option's life, "
            "the delta the regression slope of the revalued option on the index over the "
            "model's next-day return distribution) (cost 1 bp of traded notional); daily "
            "hedged P&L in index points, its attribution summed over the span")
        sc.captions["hedging_tests"] = (
            "Does the hybrid's minimum-variance hedge leave less variance than each classical "
            "hedge? Variance ratio and a one-sided Diebold-Mariano test on squared deviations "
            "of the hedged P&L from its mean (Bartlett kernel, 5 lags, HLN correction)")
        for name in ("hedging", "hedging_tests"):
            sc.placement[name] = "outcomes"
            sc.formats[name] = {c: "{:,.2f}" for c in sc.tables[name].columns}
        sc.formats["hedging_tests"]["p-value"] = "{:.3g}"
    money = "{:,.0f}"
    sc.captions.update({
        "stress": "Stress P&L of the book (USD): named windows of the history replayed (the "
                  "window's total factor move, full revaluation beside delta-gamma, its factor "
                  "pieces by kind) and hypothetical static shocks",
        "euler_positions": "Euler contributions of each position to the one-day P&L "
                           "volatility, 99% VaR and 97.5% ES (USD; FHS scenarios at the end of "
                           "the history; the total row is the book's own)",
        "euler_factors": "Euler contributions of each risk factor (delta-gamma pieces; the "
                         "residual is full revaluation minus delta-gamma), USD",
    })
    sc.placement.update({"stress": "sensitivity", "euler_positions": "outcomes",
                         "euler_factors": "outcomes"})
    for name in ("stress", "euler_positions", "euler_factors"):
        sc.formats[name] = {c: money for c in sc.tables[name].columns
                            if c not in ("kind", "days")}


def reference_checks(spec: str, data: pd.DataFrame) -> pd.DataFrame:
    """Live reference checks for the report (one row each, see the module docstring)."""
    import baselines
    from hybridrisk.hybrids import LNNGARCH
    from hybridrisk.portfolio import FilteredHistorical

    rows = []
    rows.append(data_integrity_row())
    tb, v0 = torch_book(spec)
    ql = tb.reference
    k = len(tb.factors)
    rows.append(check_row("book value at the base state (torch)", "QuantLib engines", v0,
                          float(ql.values(np.zeros((1, k))).sum()), 1e-10))
    changes = data.drop(columns="pnl")
    sample = changes.iloc[np.linspace(0, len(changes) - 1, 25).astype(int)].to_numpy()
    ours, ref = tb.values(sample).numpy().sum(axis=1), ql.values(sample).sum(axis=1)
    worst = int(np.argmax(np.abs(ours - ref)))
    rows.append(check_row("book value on 25 historical days' moves, worst day (torch)",
                          "QuantLib engines", float(ours[worst]), float(ref[worst]), 1e-10))
    g = tb.derivatives()[0].numpy().sum(axis=0)
    gq = ql.bumped_derivatives()[0].sum(axis=0)
    for j, name in enumerate(tb.factors):
        rows.append(check_row(f"book delta to {name} (autograd, USD per unit change)",
                              "QuantLib bump-and-reprice (Richardson)", float(g[j]),
                              float(gq[j]), 1e-6))
    col = "equity:SP500"
    y = changes[col].iloc[-EULER_WINDOW:] * 100.0
    fit = baselines.fit_garch(y, o=1)
    pa = fit.params
    garch = pd.DataFrame({"mu": pa["mu"], "omega": pa["omega"], "alpha": pa["alpha[1]"],
                          "gamma": pa["gamma[1]"], "beta": pa["beta[1]"]}, index=[col])
    fhs = FilteredHistorical(changes[[col]].iloc[-EULER_WINDOW:], garch)
    s2 = fit.arch_result.conditional_volatility.to_numpy() ** 2
    worst = int(np.argmax(np.abs(fhs.sigma2[col].to_numpy() - s2)))
    rows.append(check_row("FHS filter variance of the S&P 500 factor, worst day",
                          "arch GJR-GARCH(1,1) conditional variance",
                          float(fhs.sigma2[col].iloc[worst]), float(s2[worst]), 1e-10))
    gjr = baselines.fit_garch(y, o=1, dist="t")
    hyb = LNNGARCH("cfc", 8, vol="gjr", dist="t").fit(y, init=gjr, epochs=1, seed=0,
                                                       progress=False)
    rows.append(check_row("LNN-GARCH-t of the S&P 500 factor, network off: log-likelihood",
                          "arch GJR-GARCH(1,1,1)-t loglikelihood", hyb.nested_loglik(),
                          float(gjr.loglik), 1e-10))
    return pd.DataFrame(rows)


def describe(book_path: str, stand_ins: pd.DataFrame | None) -> dict[str, Any]:
    """Scope, equations, constraints and limitations of the portfolio family."""
    stand = ""
    if stand_ins is not None and len(stand_ins):
        r = stand_ins.iloc[0]
        stand = (f" Before the VIX starts ({r['from']}..{r['to']}) the implied-vol factor is a "
                 f"stand-in, {r['stand_in']} (fit over {r['fit_period']}, R2 = {r['r2']:.3f}).")
    return {
        "scope": (
            f"One-day VaR and ES (95, 97.5, 99%) of the book {book_path}, in USD, for "
            "market-risk measurement. Champions: historical simulation, GJR-GARCH filtered "
            "historical simulation, normal and Student-t Monte Carlo, delta-normal. "
            "Challengers: Monte Carlos whose factor variances (and t tails) are LNN-GARCH-t "
            "paths theta(t) from information known at t-1, the margins joined by a Gaussian "
            "copula (Hybrid MC), by an LNN-DCC copula correlation moving daily (Hybrid DCC "
            "MC) or the hybrids' standardised residual vectors bootstrapped by whole days "
            "(Hybrid FHS); and the Neural SDE Monte Carlo (one-day transitions of a Neural "
            "SDE trained on the standardised factor changes, from day t-1's state)."),
        "equations": [
            r"\mathrm{PnL}_t = V(x_t) - V(0),\quad x_t = \mathrm{factor\ changes\ of\ day}\ t",
            r"x_{j,t} = \mu_j + \sigma_{j,t}\sqrt{(\nu_{j,t}-2)/\nu_{j,t}}\;"
            r"T^{-1}_{\nu_{j,t}}(\Phi(g_j)),\quad g \sim N(0, R)",
            r"\sigma_{j,t}^2 = \omega_t + (\alpha_t + \gamma_t 1[\varepsilon_{t-1}<0])"
            r"\varepsilon_{t-1}^2 + \beta_t\sigma_{j,t-1}^2",
            r"\mathrm{VaR}_\alpha = L_{(m)},\ \mathrm{ES}_\alpha = \frac{1}{m}\sum_{i\leq m}"
            r"L_{(i)},\ m = \lceil n(1-\alpha)\rceil",
        ],
        "constraints": [
            "LNN-GARCH heads: omega(t) > 0 by softplus, alpha + gamma/2 + beta < 1 by a simplex "
            "map, nu(t) > 2; the untrained hybrid is the GJR-GARCH-t it starts from.",
            "The static copula correlation is a sample correlation of normal scores (positive "
            "semi-definite by construction); the LNN-DCC one is a normalised Q_t of the DCC "
            "recursion with a, b >= 0, a + b < 1 (positive definite).",
        ],
        "limitations": [
            "The backtested P&L is the book's hypothetical P&L with its base-date terms: each "
            "day's factor changes applied to the book at its base state (no ageing of the "
            "instruments, no trading).",
            "Factors are read as of each NYSE date; a rate or FX level carried over a holiday "
            "gives a zero change on that date." + stand,
            "Hybrid MC and Hybrid FHS hold the dependence static within each refit block (a "
            "Gaussian copula without tail dependence, or the residuals' empirical "
            "cross-section); Hybrid DCC MC lets an LNN-DCC move the copula correlation daily "
            "(a, b held at their one-step values through the block). The bivariate LNN-Copula "
            "is not used: the book has 12 factors.",
            "Where arch's GJR-GARCH-t benchmark of a factor lies on the stationarity boundary "
            "the hybrid starts 1e-4 inside it (column moved_benchmarks of its forecasts counts "
            "those factors per window).",
            "The hedge backtest compares flat-vol, GJR-GARCH-t and LNN-GARCH-t deltas (and the "
            "implied vol's own) with SABR deltas (Hagan's and Bartlett's, beta = 1). The "
            "bundled data have no smile history for the index: rho and nu come from the one "
            "Andreasen-Huge S&P 500 smile (its expiry nearest one month) and are held over the "
            "history, alpha follows the day's implied vol (at-the-money SABR vol = VIX).",
            "The bundled equity history ends on 2018-12-31: the 2020 and 2022 stress windows "
            "lie outside the campaign's history and are not replayed in this report.",
        ],
    }
