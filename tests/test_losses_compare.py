"""Tests of validation.losses and validation.compare.

No published numeric worked example of the Diebold-Mariano test with its input data was found
(R's forecast::dm.test examples print results of model fits, not reproducible inputs), so the
test is checked against (i) a hand computation on a six-point sequence and (ii) an independent
NumPy transcription of the dm.test source formula (robjhyndman/forecast, R/DM2.R), written here
separately from the library. Loss functions are checked against hand-computed values and against
their defining property (the expected loss is minimised by the true functional).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from arch.bootstrap import MCS
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hybridrisk.errors import DataValidationError
from validation import (
    Loss,
    diebold_mariano,
    fz0,
    model_confidence_set,
    mse,
    pinball,
    qlike,
)

# ------------------------------------------------------------------------------------------
# Losses: hand-computed values
# ------------------------------------------------------------------------------------------


def test_qlike_and_mse_hand_values() -> None:
    res = qlike([2.0, 1.0, 3.0], [1.0, 2.0, 3.0])
    expect = [2 - math.log(2) - 1, 0.5 + math.log(2) - 1, 0.0]
    np.testing.assert_allclose(res.values, expect, rtol=1e-14, atol=1e-15)
    assert res.mean == pytest.approx(sum(expect) / 3)
    assert isinstance(res, Loss) and len(res) == 3 and res.name == "QLIKE"
    m = mse([2.0, 1.0, 3.0], [1.0, 2.0, 3.5])
    np.testing.assert_allclose(m.values, [1.0, 1.0, 0.25])
    # QLIKE differences equal those of the log f + r / f form (same DM tests and rankings).
    rng = np.random.default_rng(0)
    r, f1, f2 = rng.uniform(0.1, 2, (3, 50))
    diff = qlike(r, f1).values - qlike(r, f2).values
    alt = (np.log(f1) + r / f1) - (np.log(f2) + r / f2)
    np.testing.assert_allclose(diff, alt, atol=1e-12)


def test_pinball_hand_values() -> None:
    res = pinball([-3.0, 1.0, -2.0], [-2.0, -2.0, -2.0], 0.05)
    np.testing.assert_allclose(res.values, [0.95, 0.15, 0.0])


def test_fz0_hand_values() -> None:
    # var = 2, es = 2.5, p = 0.05: exceedance y = -3 and a quiet day y = 1.
    res = fz0([-3.0, 1.0], [2.0, 2.0], [2.5, 2.5], 0.05)
    base = 2 / 2.5 + math.log(2.5) - 1
    np.testing.assert_allclose(res.values, [1 / (0.05 * 2.5) + base, base], rtol=1e-14)
    # Same number in the paper's sign convention v = -var, e = -es.
    v, e, y, a = -2.0, -2.5, -3.0, 0.05
    paper = -1 / (a * e) * (v - y) + v / e + math.log(-e) - 1
    assert res.values[0] == pytest.approx(paper)


# ------------------------------------------------------------------------------------------
# Losses: strict consistency (expected loss minimised by the true functional)
# ------------------------------------------------------------------------------------------

GRID = stats.norm.ppf((np.arange(200_000) + 0.5) / 200_000)  # deterministic N(0,1) sample


def test_fz0_minimised_by_true_var_es() -> None:
    p = 0.025
    z = stats.norm.ppf(1 - p)
    var0, es0 = z, stats.norm.pdf(z) / p
    n = GRID.size

    def expected(var: float, es: float) -> float:
        return fz0(GRID, np.full(n, var), np.full(n, es), p).mean

    best = expected(var0, es0)
    for dv, de in [(0.1, 0), (-0.1, 0), (0, 0.1), (0, -0.1), (0.1, 0.1), (-0.1, -0.1)]:
        assert expected(var0 + dv, es0 + de) > best


def test_pinball_and_qlike_minimised_by_truth() -> None:
    p = 0.05
    q0 = stats.norm.ppf(p)
    n = GRID.size

    def pin(q: float) -> float:
        return pinball(GRID, np.full(n, q), p).mean

    assert pin(q0) < min(pin(q0 - 0.05), pin(q0 + 0.05))
    realised = 2.0 * GRID**2  # unbiased proxy of a variance of 2

    def ql(f: float) -> float:
        return qlike(realised + 1e-300, np.full(n, f)).mean

    assert ql(2.0) < min(ql(1.8), ql(2.2))


def test_loss_object_behaviour() -> None:
    idx = pd.date_range("2021-01-01", periods=3)
    r = pd.Series([1.0, 2.0, 3.0], index=idx)
    res = mse(r, [1.0, 1.0, 1.0])
    pd.testing.assert_index_equal(res.index, idx)
    s = res.to_series()
    assert list(s) == [0.0, 1.0, 4.0] and s.index.equals(idx)
    arr = np.asarray(res)
    arr[0] = 99.0  # a copy: the loss is unaffected
    assert res.values[0] == 0.0
    with pytest.raises(ValueError):
        res.values[0] = 1.0
    assert "MSE" in repr(res)


@pytest.mark.parametrize(
    "call,rule,column",
    [
        (lambda: qlike([1.0, 0.0], [1.0, 1.0]), "positive", "realised"),
        (lambda: qlike([1.0, 1.0], [1.0, -1.0]), "positive", "forecast"),
        (lambda: qlike([1.0, np.nan], [1.0, 1.0]), "finite", "realised"),
        (lambda: mse([1.0, 2.0], [1.0]), "length", "forecast"),
        (lambda: pinball([1.0], [0.0], 1.0), "domain", "p"),
        (lambda: pinball(["x"], [0.0], 0.1), "dtype", "returns"),
        (lambda: fz0([1.0], [1.0], [0.0], 0.1), "positive", "es"),
        (lambda: fz0([1.0], [np.inf], [1.0], 0.1), "finite", "var"),
        (lambda: mse([], []), "empty", "realised"),
        (lambda: mse([[1.0, 2.0]], [[1.0, 2.0]]), "shape", "realised"),
    ],
)
def test_loss_bad_inputs(call, rule: str, column: str) -> None:  # noqa: ANN001
    with pytest.raises(DataValidationError) as info:
        call()
    assert info.value.rule == rule and info.value.column == column


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**16),
       p=st.floats(0.001, 0.999))
def test_property_losses_finite_and_inputs_untouched(n: int, seed: int, p: float) -> None:
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(n)
    var = rng.uniform(0.1, 3.0, n)
    es = var * rng.uniform(1.0, 1.5, n)
    keep = (r.copy(), var.copy(), es.copy())
    for loss in (qlike(r**2 + 1e-12, var), mse(r**2, var), pinball(r, -var, p),
                 fz0(r, var, es, p)):
        assert np.isfinite(loss.values).all() and math.isfinite(loss.mean)
    assert (pinball(r, -var, p).values >= 0).all() and (qlike(var, es).values >= 0).all()
    for a, b in zip((r, var, es), keep, strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------
# Diebold-Mariano
# ------------------------------------------------------------------------------------------


def test_dm_hand_computation_h1_and_h2() -> None:
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    b = [2.0, 1.0, 1.0, 2.0, 3.0, 1.0]
    d = [x - y for x, y in zip(a, b, strict=True)]  # -1, 1, 2, 2, 2, 5
    n = 6
    m = sum(d) / n
    g0 = sum((x - m) ** 2 for x in d) / n
    g1 = sum((d[t] - m) * (d[t - 1] - m) for t in range(1, n)) / n

    dm1 = m / math.sqrt(g0 / n) * math.sqrt((n + 1 - 2) / n)
    res1 = diebold_mariano(a, b)
    assert res1.statistic == pytest.approx(dm1, rel=1e-12)
    assert res1.pvalue == pytest.approx(2 * stats.t.sf(abs(dm1), n - 1), rel=1e-12)
    assert res1.mean_difference == pytest.approx(m) and res1.n == 6 and res1.df == 5

    dm2 = m / math.sqrt((g0 + 2 * g1) / n) * math.sqrt((n + 1 - 4 + 2 * 1 / n) / n)
    res2 = diebold_mariano(a, b, h=2)
    assert res2.statistic == pytest.approx(dm2, rel=1e-12)
    assert res2.h_used == 2

    plain = diebold_mariano(a, b, hln=False)
    assert plain.statistic == pytest.approx(m / math.sqrt(g0 / n))
    assert plain.pvalue == pytest.approx(2 * stats.norm.sf(m / math.sqrt(g0 / n)))
    assert plain.df is None

    bart = diebold_mariano(a, b, h=2, kernel="bartlett", hln=False)
    assert bart.statistic == pytest.approx(m / math.sqrt((g0 + 2 * 0.5 * g1) / n))


def r_dm_test(e1: np.ndarray, e2: np.ndarray, h: int, alternative: str, power: int = 2
              ) -> tuple[float, float]:
    """NumPy transcription of forecast::dm.test (R/DM2.R), kept apart from the library."""
    d = np.abs(e1) ** power - np.abs(e2) ** power
    n = len(d)
    dbar = d.mean()
    acov = np.array([np.sum((d[k:] - dbar) * (d[: n - k] - dbar)) / n for k in range(h)])
    d_var = (acov[0] + 2 * acov[1:].sum()) / n
    stat = d.mean() / np.sqrt(d_var)
    stat *= np.sqrt((n + 1 - 2 * h + (h / n) * (h - 1)) / n)
    if alternative == "two.sided":
        pval = 2 * stats.t.cdf(-abs(stat), df=n - 1)
    elif alternative == "less":
        pval = stats.t.cdf(stat, df=n - 1)
    else:
        pval = stats.t.sf(stat, df=n - 1)
    return float(stat), float(pval)


@pytest.mark.parametrize("h", [1, 2, 3, 5])
@pytest.mark.parametrize("alternative", ["two.sided", "less", "greater"])
def test_dm_matches_r_formula(h: int, alternative: str) -> None:
    rng = np.random.default_rng(100 + h)
    n = 120
    shock = rng.standard_normal(n + h)
    e1 = np.convolve(shock, np.ones(h), "valid")[:n]  # MA(h-1) errors as for h-step forecasts
    e2 = 1.1 * np.convolve(rng.standard_normal(n + h), np.ones(h), "valid")[:n]
    stat, pval = r_dm_test(e1, e2, h, alternative)
    res = diebold_mariano(e1**2, e2**2, h=h, alternative=alternative)
    assert res.statistic == pytest.approx(stat, rel=1e-10)
    assert res.pvalue == pytest.approx(pval, rel=1e-10)


def test_dm_alternatives_are_consistent() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.uniform(0, 1, (2, 80))
    two = diebold_mariano(a, b)
    less = diebold_mariano(a, b, alternative="less")
    greater = diebold_mariano(a, b, alternative="greater")
    assert less.pvalue + greater.pvalue == pytest.approx(1.0)
    assert two.pvalue == pytest.approx(2 * min(less.pvalue, greater.pvalue))
    # Clearly better A: "less" rejects, "greater" does not.
    better = diebold_mariano(a * 0.5, b, alternative="less")
    assert better.reject(0.01) and better.statistic < 0


def test_dm_negative_variance_falls_back_to_h1() -> None:
    n = 50
    d = np.where(np.arange(n) % 2 == 0, 1.0, -1.0) + 0.3  # strong negative lag-1 covariance
    b = np.full(n, 2.0)
    a = b + d
    with pytest.warns(RuntimeWarning, match="h=1"):
        res = diebold_mariano(a, b, h=2)
    ref = diebold_mariano(a, b, h=1)
    assert res.h_used == 1 and res.h == 2
    assert res.statistic == pytest.approx(ref.statistic) and res.pvalue == ref.pvalue


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_dm_zero_variance_raises(shift: float) -> None:
    a = np.linspace(0.1, 1.0, 30)
    with pytest.raises(DataValidationError) as info:
        diebold_mariano(a + shift, a)
    assert info.value.rule == "zero-variance"
    # Float noise from a mean of identical values does not slip through as "variance".
    with pytest.raises(DataValidationError):
        diebold_mariano(np.full(10, 0.3), np.full(10, 0.2))


@pytest.mark.parametrize(
    "kwargs,column",
    [
        ({"loss_b": np.ones(9)}, "loss_b"),
        ({"h": 0}, "h"),
        ({"h": 10}, "h"),
        ({"h": 1.5}, "h"),
        ({"alternative": "bigger"}, "alternative"),
        ({"kernel": "parzen"}, "kernel"),
        ({"hln": "yes"}, "hln"),
        ({"loss_a": np.r_[np.ones(9), np.nan]}, "loss_a"),
    ],
)
def test_dm_bad_inputs(kwargs: dict, column: str) -> None:
    args = {"loss_a": np.arange(10.0), "loss_b": np.ones(10)}
    args.update(kwargs)
    with pytest.raises(DataValidationError) as info:
        diebold_mariano(**args)
    assert info.value.column == column


def test_dm_accepts_loss_objects_and_keeps_inputs() -> None:
    rng = np.random.default_rng(9)
    r = rng.standard_normal(200) ** 2
    f1, f2 = rng.uniform(0.5, 1.5, (2, 200))
    keep = (r.copy(), f1.copy(), f2.copy())
    res = diebold_mariano(qlike(r + 1e-9, f1), qlike(r + 1e-9, f2))
    ref = diebold_mariano(qlike(r + 1e-9, f1).values, qlike(r + 1e-9, f2).values)
    assert res == ref
    for x, y in zip((r, f1, f2), keep, strict=True):
        np.testing.assert_array_equal(x, y)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 80), h=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_property_dm_finite(n: int, h: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((2, n)) ** 2
    h = min(h, n - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for alt in ("two-sided", "less", "greater"):
            res = diebold_mariano(a, b, h=h, alternative=alt)
            assert math.isfinite(res.statistic) and 0 <= res.pvalue <= 1


# ------------------------------------------------------------------------------------------
# Model confidence set
# ------------------------------------------------------------------------------------------


def _loss_frame(seed: int = 0, t_obs: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(t_obs) ** 2
    return pd.DataFrame({
        "good": base + 0.05 * rng.standard_normal(t_obs),
        "also_good": base + 0.05 * rng.standard_normal(t_obs) + 0.005,
        "bad": base + 0.6 + 0.05 * rng.standard_normal(t_obs),
        "worse": base + 1.0 + 0.05 * rng.standard_normal(t_obs),
    })


def test_mcs_excludes_bad_models_and_is_reproducible() -> None:
    frame = _loss_frame()
    keep = frame.copy()
    res = model_confidence_set(frame, size=0.10, reps=300, block_size=10, seed=42)
    assert set(res.excluded) == {"bad", "worse"}
    assert "good" in res.included
    assert set(res.included) | set(res.excluded) == set(frame.columns)
    assert list(res.pvalues.index) == list(frame.columns)
    assert res.pvalues.between(0, 1).all() and res.pvalues.max() == 1.0
    assert res.elimination_order[-1] in res.included
    again = model_confidence_set(frame, size=0.10, reps=300, block_size=10, seed=42)
    pd.testing.assert_series_equal(res.pvalues, again.pvalues)
    assert res.included == again.included
    pd.testing.assert_frame_equal(frame, keep)
    assert "good" in res.summary() and "MCSResult" in repr(res)


def test_mcs_matches_arch_directly() -> None:
    frame = _loss_frame(seed=1, t_obs=300)
    res = model_confidence_set(frame, size=0.2, reps=200, block_size=8, seed=7)
    direct = MCS(frame, size=0.2, reps=200, block_size=8, seed=7)
    direct.compute()
    for model in frame.columns:
        assert res.pvalues[model] == pytest.approx(direct.pvalues.loc[model, "Pvalue"])
    assert sorted(res.included) == sorted(direct.included)


def test_mcs_with_identical_models_equals_arch_on_the_distinct_ones() -> None:
    """A model whose losses equal another's day by day (arch's MCS fails on the zero-variance
    difference) shares its twin's p-value; the others' p-values are arch's on the distinct
    models."""
    frame = _loss_frame(seed=3, t_obs=300)
    frame.insert(1, "good_twin", frame["good"])
    frame["worse_twin"] = frame["worse"]
    res = model_confidence_set(frame, size=0.2, reps=200, block_size=8, seed=7)
    distinct = frame[["good", "also_good", "bad", "worse"]]
    direct = MCS(distinct, size=0.2, reps=200, block_size=8, seed=7)
    direct.compute()
    for model in distinct.columns:
        assert res.pvalues[model] == pytest.approx(direct.pvalues.loc[model, "Pvalue"])
    assert res.pvalues["good_twin"] == res.pvalues["good"]
    assert res.pvalues["worse_twin"] == res.pvalues["worse"]
    assert list(res.pvalues.index) == list(frame.columns)
    assert sorted(res.elimination_order) == sorted(frame.columns)
    assert ("good" in res.included) == ("good_twin" in res.included)
    one = model_confidence_set(frame[["good", "good_twin"]], reps=50, seed=0)
    assert one.pvalues.tolist() == [1.0, 1.0] and one.excluded == ()
    # the same losses by another route (a few ulps apart) are twins too; a real difference
    # of one part in 1e12 is not
    ulps = frame[["good"]].assign(route=frame["good"] * (1 + 4 * np.finfo(float).eps))
    assert model_confidence_set(ulps, reps=50, seed=0).pvalues.tolist() == [1.0, 1.0]
    from validation.compare import _identical_columns

    apart = frame[["good"]].assign(near=frame["good"] * (1 + 1e-12))
    assert _identical_columns(apart) == {"good": "good", "near": "near"}
    assert _identical_columns(ulps) == {"good": "good", "route": "good"}


def test_mcs_accepts_array() -> None:
    res = model_confidence_set(_loss_frame(seed=2).to_numpy(), reps=100, seed=0)
    assert set(res.included) | set(res.excluded) == {0, 1, 2, 3}
    assert res.block_size == math.ceil(math.sqrt(400))


@pytest.mark.parametrize(
    "mutate,kwargs",
    [
        (lambda f: f.iloc[:, :1], {}),
        (lambda f: f.assign(good=np.r_[np.nan, f["good"].to_numpy()[1:]]), {}),
        (lambda f: f, {"size": 1.0}),
        (lambda f: f, {"reps": 0}),
        (lambda f: f, {"block_size": 10_000}),
        (lambda f: f, {"seed": -1}),
        (lambda f: f, {"method": "T"}),
        (lambda f: f.set_axis(["a", "a", "b", "c"], axis=1), {}),
        (lambda f: f.iloc[:1], {}),
        (lambda f: np.ones(5), {}),
    ],
)
def test_mcs_bad_inputs(mutate, kwargs: dict) -> None:  # noqa: ANN001
    args = {"reps": 10, "seed": 0, **kwargs}
    with pytest.raises(DataValidationError):
        model_confidence_set(mutate(_loss_frame(t_obs=50)), **args)


def test_qlike_log_form_allows_zero_and_ranks_like_the_normalised_form():
    rng = np.random.default_rng(5)
    r = rng.chisquare(1, 300) * 0.8
    f1, f2 = rng.uniform(0.5, 1.5, 300), rng.uniform(0.5, 1.5, 300)
    a, b = qlike(r, f1), qlike(r, f2)
    la, lb = qlike(r, f1, form="log"), qlike(r, f2, form="log")
    np.testing.assert_allclose(la.values - a.values, np.log(r) + 1.0, rtol=1e-12)
    np.testing.assert_allclose(la.values - lb.values, a.values - b.values, atol=1e-12)
    r[7] = 0.0
    z = qlike(r, f1, form="log")
    assert z.values[7] == pytest.approx(np.log(f1[7]))
    with pytest.raises(DataValidationError):
        qlike(r, f1)
    with pytest.raises(DataValidationError, match="form"):
        qlike(r, f1, form="bogus")
