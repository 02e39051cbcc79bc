"""Tests of validation.backtests against published numbers, hand computations and properties.

Reference values with their sources live in tests/results/backtests_reference.json. Hand
computations are written out here independently of the library (plain math / scipy.stats).
"""

from __future__ import annotations

import copy
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from hybridrisk.errors import DataValidationError, InsufficientDataError
from validation import (
    BASEL_PLUS_FACTORS,
    TestResult,
    acerbi_szekely,
    basel_traffic_light,
    christoffersen_cc,
    christoffersen_independence,
    dq_test,
    haas_tbf,
    kupiec_pof,
    kupiec_tuff,
    mcneil_frey,
)

REF = json.loads((Path(__file__).parent / "results" / "backtests_reference.json").read_text())
HIT_TESTS = [kupiec_pof, kupiec_tuff, christoffersen_independence, christoffersen_cc, haas_tbf,
             basel_traffic_light]


# ------------------------------------------------------------------------------------------
# Independent reference formulas (hand computations, written without the library)
# ------------------------------------------------------------------------------------------


def ll(count: float, prob: float) -> float:
    """count * log(prob) with 0 * log(0) = 0."""
    return 0.0 if count == 0 else count * math.log(prob)


def ref_pof(n: int, x: int, p: float) -> float:
    return -2 * (ll(n - x, 1 - p) + ll(x, p) - ll(n - x, 1 - x / n) - ll(x, x / n))


def ref_tuff(v: int, p: float) -> float:
    return -2 * (math.log(p) + (v - 1) * math.log(1 - p) + math.log(v) - ll(v - 1, (v - 1) / v))


def normal_var_es(sigma: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    z = stats.norm.ppf(1 - p)
    return sigma * z, sigma * stats.norm.pdf(z) / p


def t_var_es(scale: np.ndarray, nu: float, p: float) -> tuple[np.ndarray, np.ndarray]:
    q = stats.t.ppf(1 - p, nu)
    es_std = stats.t.pdf(q, nu) / p * (nu + q**2) / (nu - 1)
    return scale * q, scale * es_std


def matlab_like_hits() -> np.ndarray:
    """A sequence with MATLAB's published Normal95 counts (see the reference JSON)."""
    ref = REF["matlab_varbacktest_normal95"]
    h = np.zeros(ref["observations"], dtype=bool)
    starts = ref["first_failure"] - 1 + 18 * np.arange(53)  # 53 runs of exceptions
    h[starts] = True
    h[starts[:4] + 1] = True  # four runs of length 2 -> N11 = 4, 57 exceptions
    return h


# ------------------------------------------------------------------------------------------
# Published references
# ------------------------------------------------------------------------------------------


def test_basel_1996_table_reproduced_exactly() -> None:
    ref = REF["basel_1996_traffic_light_table"]
    n, p = ref["n_obs"], ref["p"]
    for x, cum, zone, plus in zip(ref["exceptions"], ref["cumulative_probability_pct"],
                                  ref["zone"], ref["plus_factor"], strict=True):
        hits = np.zeros(n, dtype=bool)
        hits[:x] = True
        res = basel_traffic_light(hits, p)
        assert round(100 * res.cumulative_probability, ref["decimals"]) == pytest.approx(cum)
        assert res.zone == zone
        assert res.plus_factor == pytest.approx(plus)
        assert BASEL_PLUS_FACTORS[x] == pytest.approx(plus)
        assert res.n_exceptions == x
    for x in (11, 15, 250):  # "10 or more" is red
        res = basel_traffic_light(np.arange(250) < x, 0.01)
        assert res.zone == "red" and res.plus_factor == 1.0


def test_matlab_varbacktest_normal95_example() -> None:
    ref = REF["matlab_varbacktest_normal95"]
    h = matlab_like_hits()
    p = ref["p"]
    assert h.sum() == ref["failures"] and np.argmax(h) + 1 == ref["first_failure"]

    pof = kupiec_pof(h, p)
    assert pof.statistic == pytest.approx(ref["LRatioPOF"], abs=5e-6)
    assert pof.pvalue == pytest.approx(ref["PValuePOF"], abs=5e-6)
    assert pof.expected == pytest.approx(ref["expected"])

    tuff = kupiec_tuff(h, p)
    assert tuff.first_failure == ref["first_failure"]
    assert tuff.statistic == pytest.approx(ref["LRatioTUFF"], abs=5e-5)
    assert tuff.pvalue == pytest.approx(ref["PValueTUFF"], abs=5e-6)

    cci = christoffersen_independence(h, p)
    assert (cci.n00, cci.n10, cci.n01, cci.n11) == (ref["N00"], ref["N10"], ref["N01"],
                                                    ref["N11"])
    assert cci.statistic == pytest.approx(ref["LRatioCCI"], abs=5e-6)
    assert cci.pvalue == pytest.approx(ref["PValueCCI"], abs=5e-6)

    cc = christoffersen_cc(h, p)
    assert cc.statistic == pytest.approx(ref["LRatioCC"], abs=5e-6)
    assert cc.pvalue == pytest.approx(ref["PValueCC"], abs=5e-6)

    tl = basel_traffic_light(h, p)
    assert tl.zone == ref["TL"]
    assert tl.cumulative_probability == pytest.approx(ref["Probability"], abs=5e-6)
    assert tl.pvalue == pytest.approx(ref["TypeI"], abs=5e-6)
    assert tl.increase_normal == ref["Increase"]


def test_matlab_tbf_chi2_mapping() -> None:
    # The gaps are not published; check LR -> p-value with x+1 and x df and the LR identity.
    ref = REF["matlab_varbacktest_normal95"]
    x = ref["failures"]
    assert stats.chi2.sf(ref["LRatioTBF"], x + 1) == pytest.approx(ref["PValueTBF"], rel=1e-4)
    assert stats.chi2.sf(ref["LRatioTBFI"], x) == pytest.approx(ref["PValueTBFI"], rel=1e-4)
    assert ref["LRatioPOF"] + ref["LRatioTBFI"] == pytest.approx(ref["LRatioTBF"], abs=1e-3)
    res = haas_tbf(matlab_like_hits(), ref["p"])
    assert res.df == x + 1
    assert res.statistic == pytest.approx(res.lr_pof + res.lr_ind)
    assert res.pvalue == pytest.approx(stats.chi2.sf(res.statistic, x + 1))
    assert res.pvalue_ind == pytest.approx(stats.chi2.sf(res.lr_ind, x))
    assert res.lr_pof == pytest.approx(ref["LRatioPOF"], abs=5e-6)


def test_matlab_traffic_light_var_test_example() -> None:
    ref = REF["matlab_trafficLightVaRTest"]
    res = basel_traffic_light(np.arange(ref["observations"]) < ref["failures"], ref["p"])
    assert res.zone == ref["zone"]


# ------------------------------------------------------------------------------------------
# Edge cases against hand computations
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,p", [(250, 0.01), (20, 0.05), (7, 0.3)])
def test_pof_edges(n: int, p: float) -> None:
    zero = kupiec_pof(np.zeros(n, bool), p)
    assert zero.statistic == pytest.approx(-2 * n * math.log(1 - p))
    assert zero.pvalue == pytest.approx(stats.chi2.sf(-2 * n * math.log(1 - p), 1))
    full = kupiec_pof(np.ones(n, bool), p)
    assert full.statistic == pytest.approx(-2 * n * math.log(p))
    assert np.isfinite(full.pvalue)
    one = kupiec_pof(np.arange(n) == n - 1, p)  # exception on the last day
    assert one.statistic == pytest.approx(ref_pof(n, 1, p))
    assert one.pvalue == pytest.approx(stats.chi2.sf(ref_pof(n, 1, p), 1))


def test_pof_exact_rate_gives_zero() -> None:
    res = kupiec_pof(np.arange(100) % 20 == 0, 0.05)
    assert res.statistic == pytest.approx(0.0, abs=1e-12) and res.pvalue == pytest.approx(1.0)


def test_tuff_first_and_last_day() -> None:
    first = kupiec_tuff([True] + [False] * 99, 0.01)
    assert first.statistic == pytest.approx(-2 * math.log(0.01))
    assert first.first_failure == 1 and not first.censored
    last = kupiec_tuff([False] * 99 + [True], 0.01)
    assert last.statistic == pytest.approx(ref_tuff(100, 0.01))
    assert last.statistic == pytest.approx(0.0, abs=1e-12)  # v = 1/p is the MLE
    mid = kupiec_tuff(np.arange(300) == 57, 0.05)
    assert mid.statistic == pytest.approx(ref_tuff(58, 0.05))
    assert mid.pvalue == pytest.approx(stats.chi2.sf(ref_tuff(58, 0.05), 1))


def test_tuff_no_failure_censored() -> None:
    # N + 1 = 501 > 1/p = 100: LR at v = N + 1 (what MATLAB reports when it rejects).
    res = kupiec_tuff(np.zeros(500, bool), 0.01)
    assert res.censored and res.first_failure is None and res.time_used == 501
    assert res.statistic == pytest.approx(ref_tuff(501, 0.01))
    assert res.reject(0.05)
    # N + 1 = 11 < 1/p = 100: a first failure near day 100 would be perfect -> LR = 0.
    early = kupiec_tuff(np.zeros(10, bool), 0.01)
    assert early.time_used == 100 and early.statistic == pytest.approx(0.0, abs=1e-12)
    assert early.pvalue == pytest.approx(1.0)
    # Non-integer 1/p: minimum over the integers bracketing it.
    odd = kupiec_tuff(np.zeros(5, bool), 0.03)
    expect = min(ref_tuff(33, 0.03), ref_tuff(34, 0.03))
    assert odd.statistic == pytest.approx(expect) and odd.time_used in (33, 34)


def test_christoffersen_no_11_transitions() -> None:
    h = [False, True, False, True, False, False, True, False]
    res = christoffersen_independence(h, 0.05)
    n00, n01, n10, n11 = 1, 3, 3, 0
    assert (res.n00, res.n01, res.n10, res.n11) == (n00, n01, n10, n11)
    pi = 3 / 7
    pi0 = 3 / 4
    expect = -2 * (ll(4, 1 - pi) + ll(3, pi) - ll(1, 1 - pi0) - ll(3, pi0) - ll(3, 1.0))
    assert res.statistic == pytest.approx(expect)
    assert res.pvalue == pytest.approx(stats.chi2.sf(expect, 1))


def test_christoffersen_consecutive_only() -> None:
    h = [False, False, False, True, True, True]  # n00=2, n01=1, n10=0, n11=2
    res = christoffersen_independence(h, 0.1)
    expect = -2 * (2 * math.log(0.4) + 3 * math.log(0.6) - 2 * math.log(2 / 3) - math.log(1 / 3))
    assert res.statistic == pytest.approx(expect)
    cc = christoffersen_cc(h, 0.1)
    assert cc.statistic == pytest.approx(expect + ref_pof(6, 3, 0.1))
    assert cc.pvalue == pytest.approx(stats.chi2.sf(expect + ref_pof(6, 3, 0.1), 2))


@pytest.mark.parametrize("h", [[False] * 10, [True] * 10, [True] + [False] * 9,
                               [False] * 9 + [True], [True], [False]])
def test_christoffersen_degenerate_is_zero(h: list[bool]) -> None:
    # One state only, or a lone exception on the first or the last day: the unrestricted and
    # restricted transition probabilities coincide (an empty row contributes nothing).
    res = christoffersen_independence(h, 0.05)
    assert res.statistic == pytest.approx(0.0, abs=1e-12)
    assert res.pvalue == 1.0
    cc = christoffersen_cc(h, 0.05)
    assert cc.statistic == pytest.approx(ref_pof(len(h), sum(h), 0.05))


def test_haas_tbf_hand_computed() -> None:
    h = np.zeros(40, bool)
    h[[0, 1, 9, 30]] = True  # gaps 1, 1, 8, 21; the 9 days after the last are censored
    res = haas_tbf(h, 0.05)
    assert res.intervals == (1, 1, 8, 21)
    lr_ind = sum(ref_tuff(v, 0.05) for v in (1, 1, 8, 21))
    assert res.lr_ind == pytest.approx(lr_ind)
    assert res.statistic == pytest.approx(lr_ind + ref_pof(40, 4, 0.05))
    assert res.df == 5
    assert res.pvalue == pytest.approx(stats.chi2.sf(lr_ind + ref_pof(40, 4, 0.05), 5))


def test_haas_tbf_first_and_last_day() -> None:
    first = haas_tbf([True] + [False] * 9, 0.05)
    assert first.intervals == (1,)
    assert first.lr_ind == pytest.approx(-2 * math.log(0.05))
    assert first.statistic == pytest.approx(-2 * math.log(0.05) + ref_pof(10, 1, 0.05))
    last = haas_tbf([False] * 9 + [True], 0.05)
    assert last.intervals == (10,)
    assert last.lr_ind == pytest.approx(ref_tuff(10, 0.05))
    assert last.df == 2 and last.pvalue_ind == pytest.approx(stats.chi2.sf(last.lr_ind, 1))


def test_haas_tbf_zero_and_all_failures() -> None:
    zero = haas_tbf(np.zeros(100, bool), 0.01)
    assert zero.lr_ind == 0.0 and zero.df == 1 and zero.pvalue_ind == 1.0
    assert zero.statistic == pytest.approx(-200 * math.log(0.99))
    assert zero.pvalue == pytest.approx(kupiec_pof(np.zeros(100, bool), 0.01).pvalue)
    full = haas_tbf(np.ones(12, bool), 0.1)
    assert full.intervals == (1,) * 12
    assert full.statistic == pytest.approx(-24 * math.log(0.1) * 2)  # 12 gaps + POF
    assert np.isfinite(full.pvalue) and full.df == 13


def test_dq_closed_forms() -> None:
    rng = np.random.default_rng(0)
    var = rng.uniform(1, 2, 60)
    p, lags = 0.05, 4
    zero = dq_test(np.zeros(60, bool), p, var, lags=lags)
    # Hit = -p is constant and lies in the span of the intercept: DQ = T p^2 / (p(1-p)).
    assert zero.statistic == pytest.approx(56 * p / (1 - p))
    assert zero.rank == 2 and zero.df == 2
    full = dq_test(np.ones(60, bool), p, var, lags=lags)
    assert full.statistic == pytest.approx(56 * (1 - p) / p)
    const = dq_test(rng.random(60) < 0.2, p, np.full(60, 0.02), lags=lags)
    assert const.rank == lags + 1  # constant VaR duplicates the intercept


def test_dq_matches_textbook_formula() -> None:
    rng = np.random.default_rng(1)
    n, p, lags = 300, 0.05, 4
    hits = rng.random(n) < 0.07
    var = 0.02 + 0.005 * rng.standard_normal(n)
    hit = hits.astype(float) - p
    y = hit[lags:]
    x = np.column_stack([np.ones(n - lags)] + [hit[lags - j:n - j] for j in range(1, lags + 1)]
                        + [var[lags:]])
    expect = y @ x @ np.linalg.inv(x.T @ x) @ x.T @ y / (p * (1 - p))
    res = dq_test(hits, p, var, lags=lags)
    assert res.statistic == pytest.approx(expect, rel=1e-9)
    assert res.df == lags + 2
    assert res.pvalue == pytest.approx(stats.chi2.sf(expect, lags + 2))
    # The sign convention of VaR does not matter.
    assert dq_test(hits, p, -var, lags=lags).statistic == pytest.approx(expect, rel=1e-9)


def test_dq_too_short() -> None:
    with pytest.raises(InsufficientDataError):
        dq_test([True, False] * 3, 0.05, np.ones(6), lags=4)


def test_traffic_light_generalisation() -> None:
    n, p = 500, 0.01
    prev = -1.0
    for x in range(0, 25):
        res = basel_traffic_light(np.arange(n) < x, p)
        cum = stats.binom.cdf(x, n, p)
        zone = "green" if cum < 0.95 else ("yellow" if cum < 0.9999 else "red")
        assert res.zone == zone
        assert res.cumulative_probability == pytest.approx(cum)
        assert res.pvalue == pytest.approx(stats.binom.sf(x - 1, n, p))
        assert res.plus_factor >= prev  # never decreases with more exceptions
        prev = res.plus_factor
        if zone == "green":
            assert res.plus_factor == 0.0 and res.increase_normal == 0.0
        elif zone == "red":
            assert res.plus_factor == 1.0 and res.increase_normal == 1.0
        else:
            assert res.plus_factor in (0.40, 0.50, 0.65, 0.75, 0.85)
    # MATLAB's normal-quantile increase for 250/99%, 5 exceptions: 3 (z_.99 / z_.98 - 1).
    five = basel_traffic_light(np.arange(250) < 5, 0.01)
    z = stats.norm.ppf
    assert five.increase_normal == pytest.approx(3 * (z(0.99) / z(0.98) - 1))


# ------------------------------------------------------------------------------------------
# Expected-shortfall tests
# ------------------------------------------------------------------------------------------


def test_acerbi_szekely_statistics_hand_computed() -> None:
    returns = np.array([0.5, -2.5, 0.1, -3.0, -0.5])
    var = np.full(5, 2.0)
    es = np.array([2.5, 2.5, 2.5, 2.0, 2.5])
    dist = {"family": "normal", "scale": 1.0}
    z1 = acerbi_szekely(returns, var, es, 0.1, test="Z1", n_sims=50, seed=0, dist=dist)
    assert z1.statistic == pytest.approx((-2.5 / 2.5 - 3.0 / 2.0) / 2 + 1)
    z2 = acerbi_szekely(returns, var, es, 0.1, test="Z2", n_sims=50, seed=0, dist=dist)
    assert z2.statistic == pytest.approx((-2.5 / 2.5 - 3.0 / 2.0) / (5 * 0.1) + 1)
    assert z1.n_exceptions == 2
    none = acerbi_szekely(np.zeros(5), var, es, 0.1, test="Z1", n_sims=50, seed=0, dist=dist)
    assert none.statistic == 0.0  # no exception: Z1 set to 0
    z2none = acerbi_szekely(np.zeros(5), var, es, 0.1, test="Z2", n_sims=50, seed=0, dist=dist)
    assert z2none.statistic == 1.0


@pytest.mark.parametrize("test", ["Z1", "Z2"])
def test_acerbi_szekely_null_calibration(test: str) -> None:
    # With VaR/ES from the same normal model, E[Z] = 0 under the simulation.
    rng = np.random.default_rng(7)
    n, p = 500, 0.025
    sigma = rng.uniform(0.5, 2.0, n)
    var, es = normal_var_es(sigma, p)
    returns = sigma * rng.standard_normal(n)
    res = acerbi_szekely(returns, var, es, p, test=test, n_sims=2000, seed=3,
                         dist={"family": "normal", "scale": sigma})
    assert abs(res.sim_mean) < 0.03
    assert 0 < res.pvalue <= 1 and not res.reject(0.01)
    # Underestimating the scale by 30% is detected.
    bad = acerbi_szekely(returns * 1.6, var, es, p, test=test, n_sims=500, seed=3,
                         dist={"family": "normal", "scale": sigma})
    assert bad.reject(0.01)


def test_acerbi_szekely_student_t_and_sampler() -> None:
    rng = np.random.default_rng(11)
    n, p, nu = 400, 0.025, 5.0
    scale = np.full(n, 0.01)
    var, es = t_var_es(scale, nu, p)
    returns = scale * rng.standard_t(nu, n)
    res = acerbi_szekely(returns, var, es, p, test="Z2", n_sims=2000, seed=5,
                         dist={"family": "t", "df": nu, "scale": scale})
    assert abs(res.sim_mean) < 0.05
    crit = res.critical_values
    assert crit[0.01] <= crit[0.05] <= crit[0.10]

    def sampler(g: np.random.Generator, m: int) -> np.ndarray:
        return scale * g.standard_t(nu, (m, n))

    same = acerbi_szekely(returns, var, es, p, test="Z2", n_sims=2000, seed=5, dist=sampler)
    assert same.pvalue == res.pvalue and same.critical_values == crit
    again = acerbi_szekely(returns, var, es, p, test="Z2", n_sims=2000, seed=5,
                           dist={"family": "t", "df": nu, "scale": scale})
    assert again == res  # seeded: bit-for-bit reproducible


def test_acerbi_szekely_bad_inputs() -> None:
    r, v, e = np.zeros(5), np.ones(5), np.full(5, 1.5)
    with pytest.raises(DataValidationError):
        acerbi_szekely(r, v, e, 0.05, n_sims=10, seed=0)  # no dist
    with pytest.raises(DataValidationError):
        acerbi_szekely(r, v, e, 0.05, test="Z3", n_sims=10, dist={"family": "normal",
                                                                   "scale": 1.0})
    with pytest.raises(DataValidationError):
        acerbi_szekely(r, v, -e, 0.05, n_sims=10, dist={"family": "normal", "scale": 1.0})
    with pytest.raises(DataValidationError):
        acerbi_szekely(r, v, e, 0.05, n_sims=10, dist={"family": "t", "scale": 1.0})
    with pytest.raises(DataValidationError):
        acerbi_szekely(r, v, e, 0.05, n_sims=10, dist={"family": "normal", "scale": [1.0] * 4})
    with pytest.raises(DataValidationError):
        acerbi_szekely(r, v, e, 0.05, n_sims=10, dist=lambda g, m: np.zeros((m, 3)))
    with pytest.raises(DataValidationError):
        acerbi_szekely(r, v, e, 0.05, n_sims=10, seed=-1, dist={"family": "normal",
                                                                 "scale": 1.0})
    with pytest.raises(DataValidationError):
        mcneil_frey(r, v, e, 0.05, seed=1.5)


def test_mcneil_frey_hand_computed_and_degenerate() -> None:
    returns = np.array([-3.0, 0.1, -2.5, 0.2, -4.0, -0.1])
    var = np.full(6, 2.0)
    es = np.full(6, 2.8)
    res = mcneil_frey(returns, var, es, 0.05, n_boot=999, seed=0)
    r = np.array([0.2, -0.3, 1.2])
    t = r.mean() / (r.std(ddof=1) / math.sqrt(3))
    assert res.statistic == pytest.approx(t) and res.n_exceptions == 3
    assert res.mean_residual == pytest.approx(r.mean()) and res.informative
    scaled = mcneil_frey(returns, var, es, 0.05, scale=np.full(6, 2.0), n_boot=99, seed=0)
    assert scaled.mean_residual == pytest.approx(r.mean() / 2)
    assert scaled.statistic == pytest.approx(t)  # studentised mean is scale free
    for rets in (np.zeros(6), np.r_[-3.0, np.zeros(5)], np.r_[-3.0, -3.0, np.zeros(4)]):
        deg = mcneil_frey(rets, var, es, 0.05, n_boot=99, seed=0)
        assert deg.statistic == 0.0 and deg.pvalue == 1.0 and not deg.informative


def test_mcneil_frey_detects_underestimated_es() -> None:
    rng = np.random.default_rng(2)
    n, p = 2000, 0.025
    sigma = np.full(n, 1.0)
    var, es = normal_var_es(sigma, p)
    good = mcneil_frey(rng.standard_normal(n), var, es, p, scale=sigma, n_boot=999, seed=1)
    assert not good.reject(0.01)
    heavy = rng.standard_t(3, n) * 1.3
    bad = mcneil_frey(heavy, var, es, p, scale=sigma, n_boot=999, seed=1)
    assert bad.reject(0.01)
    assert mcneil_frey(heavy, var, es, p, scale=sigma, n_boot=999, seed=1) == bad


# ------------------------------------------------------------------------------------------
# Result object
# ------------------------------------------------------------------------------------------


def test_result_object() -> None:
    res = kupiec_pof(np.arange(250) < 6, 0.01)
    assert isinstance(res, TestResult)
    assert res.reject(0.5) and not res.reject(0.001)
    assert "Kupiec" in repr(res) and "n_exceptions=6" in repr(res)
    text = res.summary()
    assert "null hypothesis" in text and "Kupiec (1995)" in text and "decision" in text
    with pytest.raises(AttributeError):
        res.no_such_field  # noqa: B018
    with pytest.raises((AttributeError, TypeError)):
        res.statistic = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        res.extras["n_obs"] = 1  # type: ignore[index]
    assert pickle.loads(pickle.dumps(res)) == res
    assert copy.deepcopy(res) == res
    with pytest.raises(DataValidationError):
        res.reject(1.5)
    assert "intervals" in haas_tbf(np.arange(300) % 7 == 0, 0.01).summary()


# ------------------------------------------------------------------------------------------
# Malformed inputs and immutability of the caller's data
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("func", HIT_TESTS)
@pytest.mark.parametrize(
    "hits,rule,row",
    [
        ([], "empty", None),
        (np.array([0.0, 1.0, np.nan]), "finite", 2),
        ([True, None, False], "finite", 1),
        (np.array([0, 2, 1]), "binary", 1),
        (["a", "b"], "dtype", None),
        (np.zeros((3, 2), bool), "shape", None),
        (pd.Series([True, pd.NA, False], dtype="boolean"), "finite", 1),
    ],
)
def test_bad_hits_raise(func, hits, rule: str, row) -> None:  # noqa: ANN001
    with pytest.raises(DataValidationError) as info:
        func(hits, 0.01)
    assert info.value.rule == rule and info.value.column == "hits" and info.value.row == row


@pytest.mark.parametrize("func", HIT_TESTS)
@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5, float("nan"), "0.01", None, True])
def test_bad_p_raises(func, p) -> None:  # noqa: ANN001
    with pytest.raises(DataValidationError) as info:
        func([True, False, False], p)
    assert info.value.column == "p"


def test_length_mismatch_and_nan_var() -> None:
    with pytest.raises(DataValidationError) as info:
        dq_test(np.zeros(50, bool), 0.05, np.ones(49))
    assert info.value.rule == "length" and info.value.column == "var"
    var = np.ones(50)
    var[17] = np.nan
    with pytest.raises(DataValidationError) as info:
        dq_test(np.zeros(50, bool), 0.05, var)
    assert info.value.rule == "finite" and info.value.row == 17
    with pytest.raises(DataValidationError):
        mcneil_frey(np.zeros(5), np.ones(5), np.ones(4), 0.05)
    with pytest.raises(DataValidationError):
        dq_test(np.zeros(50, bool), 0.05, var=np.ones(50), lags=-1)


def test_inputs_accepted_and_not_modified() -> None:
    rng = np.random.default_rng(3)
    arr = rng.random(300) < 0.02
    keep = arr.copy()
    series = pd.Series(arr.astype(int), index=pd.date_range("2020-01-01", periods=300))
    keep_s = series.copy()
    as_list = arr.tolist()
    for func in HIT_TESTS:
        a, b, c = func(arr, 0.01), func(series, 0.01), func(as_list, 0.01)
        assert a == b == c
    var = rng.uniform(1, 2, 300)
    keep_var = var.copy()
    dq_test(arr, 0.01, var)
    returns = rng.standard_normal(300)
    keep_ret = returns.copy()
    es = var * 1.2
    keep_es = es.copy()
    acerbi_szekely(returns, var, es, 0.01, n_sims=20, seed=0,
                   dist={"family": "normal", "scale": np.ones(300)})
    mcneil_frey(returns, var, es, 0.01, n_boot=20, seed=0)
    np.testing.assert_array_equal(arr, keep)
    pd.testing.assert_series_equal(series, keep_s)
    np.testing.assert_array_equal(var, keep_var)
    np.testing.assert_array_equal(returns, keep_ret)
    np.testing.assert_array_equal(es, keep_es)


# ------------------------------------------------------------------------------------------
# Property tests
# ------------------------------------------------------------------------------------------

probs = st.floats(min_value=1e-4, max_value=0.999, allow_nan=False, exclude_min=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hits=st.lists(st.booleans(), min_size=1, max_size=400), p=probs)
def test_property_hit_tests_finite(hits: list[bool], p: float) -> None:
    keep = list(hits)
    for func in HIT_TESTS:
        res = func(hits, p)
        assert math.isfinite(res.statistic) and res.statistic >= 0
        assert 0.0 <= res.pvalue <= 1.0
    assert hits == keep


@settings(max_examples=60, deadline=None)
@given(hits=st.lists(st.booleans(), min_size=11, max_size=200), p=probs,
       lags=st.integers(min_value=0, max_value=4), seed=st.integers(0, 2**16))
def test_property_dq_finite(hits: list[bool], p: float, lags: int, seed: int) -> None:
    var = np.random.default_rng(seed).uniform(0.5, 3.0, len(hits))
    res = dq_test(hits, p, var, lags=lags)
    assert math.isfinite(res.statistic) and res.statistic >= 0 and 0 <= res.pvalue <= 1


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=1, max_value=150), seed=st.integers(0, 2**16),
       p=st.floats(min_value=0.005, max_value=0.5), shock=st.floats(0.2, 5.0))
def test_property_es_tests_finite(n: int, seed: int, p: float, shock: float) -> None:
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.5, 2.0, n)
    var, es = normal_var_es(sigma, p)
    returns = shock * sigma * rng.standard_normal(n)
    for test in ("Z1", "Z2"):
        res = acerbi_szekely(returns, var, es, p, test=test, n_sims=30, seed=seed,
                             dist={"family": "normal", "scale": sigma})
        assert math.isfinite(res.statistic) and 0 < res.pvalue <= 1
    mf = mcneil_frey(returns, var, es, p, scale=sigma, n_boot=30, seed=seed)
    assert math.isfinite(mf.statistic) and 0 < mf.pvalue <= 1


@settings(max_examples=40, deadline=None)
@given(bad=st.one_of(
    st.just([]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=5).filter(
        lambda v: any(x not in (0.0, 1.0) for x in v)),
    st.lists(st.text(max_size=2), min_size=1, max_size=3),
    st.lists(st.integers(2, 5), min_size=1, max_size=3),
))
def test_property_malformed_hits_raise(bad: list) -> None:  # noqa: ANN001
    for func in HIT_TESTS:
        with pytest.raises(DataValidationError):
            func(bad, 0.05)
