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

    .venv/bin/python -m validation.regimes --seed 7
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hybridrisk import datasets
from hybridrisk.errors import DataValidationError
from hybridrisk.portfolio.risk_measures import var_es
from monitor.regime import MarkovRegime
from monitor.regime_lnn import (
    HORIZON,
    LNNRegimeClassifier,
    high_vol_labels,
    markov_high_vol_probability,
    regime_features,
)
from validation.backtests import kupiec_pof
from validation.compare import diebold_mariano

__all__ = ["RegimeComparison", "brier_score", "log_score", "historical_var",
           "compare_regimes"]


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


def main() -> None:
    """Print the comparison's tables (Markdown)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--train", default="2000-01-03:2007-12-31")
    ap.add_argument("--test-end", default="2018-12-31")
    args = ap.parse_args()
    a, b = args.train.split(":")
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
