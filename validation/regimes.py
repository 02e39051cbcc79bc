"""The monitor's two regime models compared out of sample: the Markov-switching model
(statsmodels, :class:`monitor.regime.MarkovRegime`) against the LNN classifier
(:class:`monitor.regime_lnn.LNNRegimeClassifier`).

Both are fitted on the training span of the S&P 500 and give, at each close of the test span,
the probability that the next 20 days are a high-volatility spell (the definition of
:mod:`monitor.regime_lnn`). They are scored by the Brier score ``(p - y)^2`` and the log score
``-(y log p + (1 - y) log(1 - p))`` (lower is better), compared by the Diebold-Mariano test
(HLN correction; ``h = 20`` with Bartlett weights, since the 20-day labels overlap), and each
model's regime call (``p > 0.5``: high) splits the days of a VaR backtest: the 99% historical
VaR of the S&P 500 return over the last 500 days (the portfolio engine's empirical VaR, the
monitor's ``historical`` method), its exceptions on the next day counted per regime and
tested by Kupiec's POF.

The headline VaR rules of :mod:`monitor.var_rule` are backtested on the same history by
:func:`backtest_var_rules`: a one-position book of the S&P 500 (its percent return is the
scenario P&L), each of the engine's VaR methods (:func:`monitor.measures.var_by_method` on the
last 500 returns), the rules ``max``, an equal-weight ``blend`` and ``regime_scaled(blend)``
(the Markov-switching model's filtered probabilities at the previous close, its turbulent
factor chosen on the training span), Kupiec's POF and Christoffersen's conditional coverage
tests at 95% and 99% on the test span, and the 99% exceptions split by the regime called at
the previous close.

    .venv/bin/python -m validation.regimes --seed 7
    .venv/bin/python -m validation.regimes --var-rules
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hybridrisk import datasets
from hybridrisk.errors import DataValidationError
from hybridrisk.portfolio.risk_measures import var_es
from monitor.measures import var_by_method
from monitor.regime import MarkovRegime
from monitor.regime_lnn import (
    HORIZON,
    LNNRegimeClassifier,
    high_vol_labels,
    markov_high_vol_probability,
    regime_features,
)
from monitor.var_rule import VarRule
from validation.backtests import christoffersen_cc, kupiec_pof
from validation.compare import diebold_mariano

__all__ = ["RegimeComparison", "RuleBacktest", "brier_score", "log_score", "historical_var",
           "compare_regimes", "method_var_history", "backtest_var_rules"]


@dataclass(frozen=True)
class RegimeComparison:
    """Result of :func:`compare_regimes`.

    Attributes
    ----------
    probabilities
        Test-span dates: ``markov``, ``lnn`` and the label ``high_vol`` (NaN when unknown).
    scores
        Per model: ``n``, mean ``brier`` and ``log`` score, share of days called high
        (``p > 0.5``) and the share of days that were high.
    dm
        Per score: DM statistic (LNN minus Markov; negative favours the LNN) and p-value.
    coverage
        Per model and regime: days, VaR exceptions, rate, Kupiec LR and p-value.
    threshold
        The training span's 80th percentile of the 20-day realised volatility (percent).
    """

    probabilities: pd.DataFrame
    scores: pd.DataFrame
    dm: pd.DataFrame
    coverage: pd.DataFrame
    threshold: float


def brier_score(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-day Brier score."""
    return (np.asarray(p, float) - np.asarray(y, float)) ** 2


def log_score(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-day negative log-likelihood of the label (lower is better)."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


def historical_var(returns: pd.Series, window: int = 500, level: float = 0.99) -> pd.Series:
    """VaR of the next day's return from the last ``window`` returns (positive, percent),
    dated by the day it is for."""
    r = np.asarray(returns, float)
    out = [var_es(r[t - window:t], level)[0] for t in range(window, len(r))]
    return pd.Series(out, index=returns.index[window:], name="VaR")


def compare_regimes(train: tuple[str, str] = ("2000-01-03", "2007-12-31"),
                    test_end: str = "2018-12-31", *, seed: int = 7,
                    classifier: LNNRegimeClassifier | None = None,
                    returns: pd.Series | None = None, parkinson: pd.Series | None = None,
                    ) -> RegimeComparison:
    """Fit both models on ``train`` and score them on the days after it up to ``test_end``.

    Parameters
    ----------
    train
        First and last day of the training span.
    test_end
        Last day of the test span.
    seed
        Seeds the classifier's initialisation (its training is deterministic given it).
    classifier
        The LNN classifier's settings (default :class:`LNNRegimeClassifier` ``()``).
    returns, parkinson
        S&P 500 percent returns and range (default the bundled ones).
    """
    r = datasets.sp500_returns() if returns is None else returns
    rng = datasets.sp500_range() if parkinson is None else parkinson
    r = r.loc[:test_end]
    start, end = pd.Timestamp(train[0]), pd.Timestamp(train[1])
    labels, threshold = high_vol_labels(r, end)
    feats = regime_features(r, rng)
    fit_days = r.index[(r.index >= start) & (r.index <= end)]
    test_days = r.index[r.index > end]
    if len(test_days) <= HORIZON:
        raise DataValidationError("min-obs", "the test span is shorter than the horizon",
                                  row=str(end))
    markov = MarkovRegime.fit(r.loc[fit_days])
    clf = classifier or LNNRegimeClassifier()
    clf.fit(feats.loc[fit_days], labels.loc[fit_days], seed=seed)
    span = r.index[r.index >= start]
    prob = pd.DataFrame({"markov": markov_high_vol_probability(markov, r.loc[span]),
                         "lnn": clf.predict_proba(feats.loc[span])}).loc[test_days]
    prob["high_vol"] = labels.loc[test_days]
    scored = prob.dropna()
    y = scored["high_vol"].to_numpy()
    loss = {(m, s): f(scored[m].to_numpy(), y) for m in ("markov", "lnn")
            for s, f in (("brier", brier_score), ("log", log_score))}
    scores = pd.DataFrame({m: {"n": len(y), "brier": loss[m, "brier"].mean(),
                               "log": loss[m, "log"].mean(),
                               "share_called_high": float((scored[m] > 0.5).mean()),
                               "share_high": float(y.mean())}
                           for m in ("markov", "lnn")}).T
    dm = pd.DataFrame({s: (lambda t: {"statistic": t.statistic, "pvalue": t.pvalue})(
        diebold_mariano(loss["lnn", s], loss["markov", s], h=HORIZON, kernel="bartlett"))
        for s in ("brier", "log")}).T
    var = historical_var(r)
    rows = []
    for m in ("markov", "lnn"):
        call = (prob[m] > 0.5).shift(1).loc[test_days[1:]]  # the call at the previous close
        hit = (-r.loc[call.index] > var.loc[call.index]).to_numpy()
        for name, days in (("calm", ~call.to_numpy(bool)), ("high", call.to_numpy(bool))):
            if not days.any():
                continue
            t = kupiec_pof(hit[days], 0.01)
            rows.append({"model": m, "regime": name, "days": int(days.sum()),
                         "exceptions": int(hit[days].sum()), "rate": float(hit[days].mean()),
                         "kupiec_lr": t.statistic, "kupiec_p": t.pvalue})
    return RegimeComparison(probabilities=prob, scores=scores, dm=dm,
                            coverage=pd.DataFrame(rows), threshold=threshold)


#: the engine's default VaR methods (:class:`monitor.engine.EngineConfig`)
ENGINE_METHODS: tuple[str, ...] = ("historical", "filtered-historical", "normal", "ewma")
#: turbulent-regime factors tried by :func:`backtest_var_rules` on the training span
SCALE_GRID: tuple[float, ...] = tuple(round(1.0 + 0.05 * i, 2) for i in range(21))


@dataclass(frozen=True)
class RuleBacktest:
    """Result of :func:`backtest_var_rules`.

    Attributes
    ----------
    var
        Test span, dated by the day each VaR is for: columns ``<name>:var_95`` and
        ``<name>:var_99`` for each method and rule, the return ``r``, the turbulent
        probability at the previous close ``p_turbulent`` and its call ``regime``.
    table
        Per method and rule: days, mean VaR 99, exceptions and rate at 95% and 99%, Kupiec
        POF and Christoffersen CC statistics and p-values.
    by_regime
        Per method or rule and regime (called at the previous close): days, 99% exceptions,
        rate, Kupiec LR and p-value.
    rules
        Name -> the :class:`~monitor.var_rule.VarRule` backtested.
    calibration
        The training-span search of the turbulent factor: factor -> days called turbulent,
        exceptions, rate, Kupiec p-value of ``regime_scaled(blend)`` at 99% on those days.
    """

    var: pd.DataFrame
    table: pd.DataFrame
    by_regime: pd.DataFrame
    rules: dict[str, VarRule]
    calibration: pd.DataFrame


def method_var_history(returns: pd.Series, days: pd.DatetimeIndex,
                       methods: tuple[str, ...] = ENGINE_METHODS, window: int = 500,
                       ) -> dict[str, pd.DataFrame]:
    """Each method's VaR/ES of each day in ``days`` from the ``window`` returns before it
    (:func:`monitor.measures.var_by_method`, the engine's numbers for a one-position book)."""
    pos = returns.index.get_indexer(days)
    if (pos < window).any():
        raise DataValidationError("min-obs", f"a day needs {window} returns before it",
                                  row=str(days[int(np.argmax(pos < window))]))
    out: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    for t in pos:
        past = returns.iloc[t - window:t]
        for m in methods:
            out[m].append(var_by_method(past, m))
    return {m: pd.DataFrame(rows, index=days) for m, rows in out.items()}


def _headline(rule: VarRule, by_method: dict[str, pd.DataFrame], probs: pd.DataFrame,
              ) -> pd.DataFrame:
    rows = []
    for i in range(len(probs)):
        values = {m: frame.iloc[i].to_dict() for m, frame in by_method.items()}
        head, _ = rule.combine(values, probs.iloc[i].to_dict())
        rows.append(head)
    return pd.DataFrame(rows, index=probs.index)


def _coverage(hit: np.ndarray, p: float) -> dict[str, float]:
    pof, cc = kupiec_pof(hit, p), christoffersen_cc(hit, p)
    return {"exceptions": int(hit.sum()), "rate": float(hit.mean()),
            "kupiec_lr": pof.statistic, "kupiec_p": pof.pvalue, "cc_lr": cc.statistic,
            "cc_p": cc.pvalue}


def backtest_var_rules(train: tuple[str, str] = ("2000-01-03", "2007-12-31"),
                       test_end: str = "2018-12-31", *,
                       methods: tuple[str, ...] = ENGINE_METHODS, window: int = 500,
                       returns: pd.Series | None = None,
                       rules: dict[str, VarRule] | None = None) -> RuleBacktest:
    """Backtest the headline VaR rules next to each single method (module docstring).

    The Markov-switching model is fitted on ``train`` (as in :func:`compare_regimes`) and
    filtered over the whole span with its parameters held; the probabilities at the close
    before day ``t`` scale day ``t``'s VaR. Unless ``rules`` are given, the rules are
    ``max``, ``blend`` (equal weights over ``methods``) and ``regime_scaled(blend)`` with
    ``calm: 1`` and the turbulent factor from :data:`SCALE_GRID` whose 99% exceptions on the
    training span's days called turbulent (probability > 0.5 at the previous close, days
    after the first ``window``) give the largest Kupiec p-value (the smallest factor among
    ties); the test span never enters that choice.
    """
    r = (datasets.sp500_returns() if returns is None else returns).loc[:test_end].dropna()
    start, end = pd.Timestamp(train[0]), pd.Timestamp(train[1])
    span = r.index[r.index >= start]
    markov = MarkovRegime.fit(r.loc[span[span <= end]])
    filtered = markov.filter(r.loc[span]).shift(1).iloc[1:]  # known at the previous close
    days = filtered.index[r.index.get_indexer(filtered.index) >= window]
    train_days, test_days = days[days <= end], days[days > end]
    by_method = method_var_history(r, days, methods, window)
    probs = filtered.loc[days]
    loss = -r.loc[days]
    if rules is None:
        blend = VarRule("blend", weights={m: 1.0 / len(methods) for m in methods})
        calib = []
        tr = {m: f.loc[train_days] for m, f in by_method.items()}
        for c in SCALE_GRID:
            rule = VarRule("regime_scaled", base="blend", weights=blend.weights,
                           scale_by_regime={"calm": 1.0, "turbulent": c})
            turb = (probs.loc[train_days, markov.labels[-1]] > 0.5).to_numpy()
            hit = (loss.loc[train_days] > _headline(rule, tr, probs.loc[train_days])[
                "var_99"]).to_numpy()[turb]
            t = kupiec_pof(hit, 0.01)
            calib.append({"turbulent_factor": c, "days": len(hit), "exceptions": int(hit.sum()),
                          "rate": float(hit.mean()), "kupiec_p": t.pvalue})
        calibration = pd.DataFrame(calib).set_index("turbulent_factor")
        best = float(calibration["kupiec_p"].idxmax())
        rules = {"max": VarRule("max"), "blend": blend,
                 "regime_scaled(blend)": VarRule("regime_scaled", base="blend",
                                                 weights=blend.weights, scale_by_regime={
                                                     "calm": 1.0, "turbulent": best})}
    else:
        calibration = pd.DataFrame()
    test = {m: f.loc[test_days] for m, f in by_method.items()}
    series = dict(test)
    for name, rule in rules.items():
        series[name] = _headline(rule, test, probs.loc[test_days])
    var = pd.DataFrame({f"{n}:{k}": f[k] for n, f in series.items()
                        for k in ("var_95", "var_99")})
    var["r"] = r.loc[test_days]
    var["p_turbulent"] = probs.loc[test_days, markov.labels[-1]]
    var["regime"] = np.where(var["p_turbulent"] > 0.5, markov.labels[-1], markov.labels[0])
    rows, split = [], []
    for n in series:
        row = {"name": n, "kind": "method" if n in methods else "rule",
               "days": len(test_days), "mean_var_99": float(var[f"{n}:var_99"].mean())}
        for lv, p in (("95", 0.05), ("99", 0.01)):
            hit = (-var["r"] > var[f"{n}:var_{lv}"]).to_numpy()
            row.update({f"{k}_{lv}": v for k, v in _coverage(hit, p).items()})
        rows.append(row)
        hit = (-var["r"] > var[f"{n}:var_99"]).to_numpy()
        for reg in markov.labels:
            d = (var["regime"] == reg).to_numpy()
            if d.any():
                t = kupiec_pof(hit[d], 0.01)
                split.append({"name": n, "regime": reg, "days": int(d.sum()),
                              "exceptions": int(hit[d].sum()), "rate": float(hit[d].mean()),
                              "kupiec_lr": t.statistic, "kupiec_p": t.pvalue})
    return RuleBacktest(var=var, table=pd.DataFrame(rows).set_index("name"),
                        by_regime=pd.DataFrame(split), rules=dict(rules),
                        calibration=calibration)


def main() -> None:
    """Print the comparison's tables (Markdown)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--train", default="2000-01-03:2007-12-31")
    ap.add_argument("--test-end", default="2018-12-31")
    ap.add_argument("--var-rules", action="store_true",
                    help="backtest the headline VaR rules instead (backtest_var_rules)")
    args = ap.parse_args()
    a, b = args.train.split(":")
    if args.var_rules:
        bt = backtest_var_rules((a, b), args.test_end)
        for name, rule in bt.rules.items():
            print(f"{name}: {rule}")
        print()
        cal = bt.calibration
        print(_markdown(cal), "\n")
        cols = ["kind", "days", "mean_var_99", "exceptions_95", "rate_95", "kupiec_p_95",
                "cc_p_95", "exceptions_99", "rate_99", "kupiec_lr_99", "kupiec_p_99",
                "cc_lr_99", "cc_p_99"]
        print(_markdown(bt.table[cols]), "\n")
        reg = bt.by_regime
        print(_markdown(reg.set_index(reg["name"] + " / " + reg["regime"]).drop(
            columns=["name", "regime"])))
        return
    out = compare_regimes((a, b), args.test_end, seed=args.seed)
    print(f"threshold (80th percentile of 20-day RV, training span): {out.threshold:.4f}%\n")
    cov = out.coverage
    cov = cov.set_index(cov["model"] + " / " + cov["regime"]).drop(columns=["model", "regime"])
    for frame in (out.scores, out.dm, cov):
        print(_markdown(frame), "\n")


def _markdown(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    head = ["", *map(str, frame.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([str(i), *map(cell, row)]) + " |"
              for i, row in zip(frame.index, frame.itertuples(index=False), strict=True)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
