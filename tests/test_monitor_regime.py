"""Regime models: the stated regime definition, the Markov-switching forecast against
statsmodels, the LNN classifier (seeded, learning), and the out-of-sample comparison's scores,
DM tests and VaR coverage by regime recomputed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hybridrisk import datasets
from monitor.regime import MarkovRegime
from monitor.regime_lnn import (
    LNNRegimeClassifier,
    forward_volatility,
    high_vol_labels,
    markov_high_vol_probability,
    regime_features,
)
from validation.compare import diebold_mariano
from validation.regimes import compare_regimes

TRAIN = ("2003-01-02", "2006-12-29")
TEST_END = "2009-12-31"


@pytest.fixture(scope="module")
def comparison():
    return compare_regimes(TRAIN, TEST_END, seed=3,
                           classifier=LNNRegimeClassifier(epochs=15, hidden_size=4))


def test_forward_volatility_and_labels_follow_the_definition():
    r = datasets.sp500_returns().loc["2004":"2006"]
    rv = forward_volatility(r, 20)
    want = np.sqrt((r ** 2).rolling(20).mean().shift(-20))
    pd.testing.assert_series_equal(rv, want, check_names=False, rtol=1e-12)
    y, threshold = high_vol_labels(r, pd.Timestamp("2005-12-30"))
    train = rv.loc[:"2005-12-30"].iloc[:-20]  # windows ending in the training span
    assert threshold == pytest.approx(np.quantile(train, 0.8), rel=1e-15)
    assert y.iloc[-20:].isna().all() and y.dropna().isin([0.0, 1.0]).all()
    assert y.loc[:"2005-12-30"].dropna().mean() == pytest.approx(0.2, abs=0.01)


def test_markov_forecast_one_day_ahead_is_statsmodels_predicted_probability():
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    r = datasets.sp500_returns().loc["2004":"2008"]
    model = MarkovRegime.fit(r.loc[:"2007-12-31"])
    mine = markov_high_vol_probability(model, r, horizon=1)
    sm = MarkovRegression(r.to_numpy(), k_regimes=2, trend="c", switching_variance=True)
    values = {"p[0->0]": model.transition[0, 0], "p[1->0]": model.transition[1, 0],
              "const[0]": model.mean[0], "const[1]": model.mean[1],
              "sigma2[0]": model.variance[0], "sigma2[1]": model.variance[1]}
    res = sm.filter(np.array([values[n] for n in sm.param_names]))
    predicted = np.asarray(res.predicted_marginal_probabilities)[1:, 1]
    np.testing.assert_allclose(mine.to_numpy()[:-1], predicted, rtol=0, atol=1e-10)
    two = markov_high_vol_probability(model, r, horizon=2).to_numpy()
    filt = model.filter(r).to_numpy()
    p = model.transition
    np.testing.assert_allclose(two, 0.5 * (filt @ p + filt @ p @ p)[:, 1], atol=1e-14)


def test_the_classifier_is_seeded_and_learns():
    r = datasets.sp500_returns().loc["2003":"2006"]
    feats = regime_features(r, datasets.sp500_range())
    y, _ = high_vol_labels(r, r.index[-1])
    runs = [LNNRegimeClassifier(hidden_size=4, epochs=12).fit(feats, y, seed=s)
            for s in (5, 5, 6)]
    p = [c.predict_proba(feats) for c in runs]
    pd.testing.assert_series_equal(p[0], p[1])
    assert not np.allclose(p[0], p[2])
    assert runs[0].losses[-1] < runs[0].losses[0]
    assert ((p[0] > 0) & (p[0] < 1)).all()


def test_scores_and_dm_recomputed_by_hand(comparison):
    prob = comparison.probabilities.dropna()
    y = prob["high_vol"].to_numpy()
    assert prob.index[0] > pd.Timestamp(TRAIN[1])  # out of sample only
    for m in ("markov", "lnn"):
        p = prob[m].to_numpy()
        assert comparison.scores.loc[m, "brier"] == pytest.approx(np.mean((p - y) ** 2))
        log = -stats.bernoulli.logpmf(y.astype(int), p).mean()
        assert comparison.scores.loc[m, "log"] == pytest.approx(log, rel=1e-10)
    d = ((prob["lnn"] - y) ** 2 - (prob["markov"] - y) ** 2).to_numpy()
    n, h = len(d), 20
    dc = d - d.mean()
    gam = [dc @ dc / n] + [dc[k:] @ dc[:-k] / n for k in range(1, h)]
    v = (gam[0] + 2 * sum((1 - k / h) * gam[k] for k in range(1, h))) / n
    hln = np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    assert comparison.dm.loc["brier", "statistic"] == pytest.approx(
        hln * d.mean() / np.sqrt(v), rel=1e-10)
    ref = diebold_mariano((prob["lnn"] - y) ** 2, (prob["markov"] - y) ** 2, h=20,
                          kernel="bartlett")
    assert comparison.dm.loc["brier", "pvalue"] == pytest.approx(ref.pvalue)


def test_var_coverage_by_regime_recomputed_by_hand(comparison):
    r = datasets.sp500_returns().loc[:TEST_END]
    cov = comparison.coverage
    test_days = r.index[r.index > pd.Timestamp(TRAIN[1])][1:]
    for m in ("markov", "lnn"):
        rows = cov[cov["model"] == m].set_index("regime")
        assert rows["days"].sum() == len(test_days)
        call = comparison.probabilities[m].shift(1).loc[test_days] > 0.5
        hits = {"calm": 0, "high": 0}
        for day, high in call.items():
            t = r.index.get_loc(day)
            var = -np.quantile(r.iloc[t - 500:t], 0.01, method="inverted_cdf")
            hits["high" if high else "calm"] += bool(-r.iloc[t] > var)
        for regime, row in rows.iterrows():
            assert row["exceptions"] == hits[regime], (m, regime)
            x, n = row["exceptions"], row["days"]
            lr = -2 * (stats.binom.logpmf(x, n, 0.01) - stats.binom.logpmf(x, n, x / n))
            assert row["kupiec_lr"] == pytest.approx(lr, rel=1e-9, abs=1e-12)
