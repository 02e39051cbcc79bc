"""The backtest of the headline VaR rules (validation.regimes.backtest_var_rules), recomputed
by hand on a short span: each rule's VaR from the methods' numbers, the coverage tests, the
split by regime and the training-span choice of the turbulent factor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor.measures import var_by_method
from monitor.var_rule import VarRule
from validation.backtests import christoffersen_cc, kupiec_pof
from validation.regimes import SCALE_GRID, backtest_var_rules

METHODS = ("historical", "normal", "ewma")


@pytest.fixture(scope="module")
def bt():
    return backtest_var_rules(("2004-01-02", "2006-12-29"), "2007-06-29", methods=METHODS)


def test_the_methods_numbers_are_the_engines_on_the_last_500_returns(bt):
    from hybridrisk import datasets

    r = datasets.sp500_returns()
    day = bt.var.index[10]
    past = r.loc[:day].iloc[:-1].iloc[-500:]
    for m in METHODS:
        assert bt.var.loc[day, f"{m}:var_99"] == pytest.approx(var_by_method(past, m)["var_99"])
    assert bt.var.loc[day, "r"] == r.loc[day]


def test_each_rule_is_its_formula_over_the_methods(bt):
    v = bt.var
    m99 = v[[f"{m}:var_99" for m in METHODS]]
    assert np.allclose(v["max:var_99"], m99.max(axis=1))
    assert np.allclose(v["blend:var_99"], m99.mean(axis=1))
    rule = bt.rules["regime_scaled(blend)"]
    c = rule.scale_by_regime["turbulent"]
    scale = 1.0 + (c - 1.0) * v["p_turbulent"]
    assert np.allclose(v["regime_scaled(blend):var_99"], m99.mean(axis=1) * scale)


def test_coverage_tests_and_the_regime_split_recomputed(bt):
    v = bt.var
    for name, row in bt.table.iterrows():
        hit = (-v["r"] > v[f"{name}:var_99"]).to_numpy()
        assert row["exceptions_99"] == hit.sum()
        assert row["kupiec_p_99"] == pytest.approx(kupiec_pof(hit, 0.01).pvalue)
        assert row["cc_p_99"] == pytest.approx(christoffersen_cc(hit, 0.01).pvalue)
        split = bt.by_regime[bt.by_regime["name"] == name]
        assert split["days"].sum() == len(v) and split["exceptions"].sum() == hit.sum()
        for _, s in split.iterrows():
            d = (v["regime"] == s["regime"]).to_numpy()
            assert s["exceptions"] == hit[d].sum()


def test_the_turbulent_factor_is_chosen_on_the_training_span_only(bt):
    cal = bt.calibration
    assert list(cal.index) == list(SCALE_GRID)
    best = cal["kupiec_p"].idxmax()
    assert bt.rules["regime_scaled(blend)"].scale_by_regime == {"calm": 1.0, "turbulent": best}
    assert bt.var.index.min() > pd.Timestamp("2006-12-29")


def test_given_rules_are_backtested_as_given(bt):
    rules = {"fhs-like": VarRule("ewma"), "scaled": VarRule(
        "regime_scaled", base="historical", scale_by_regime={"calm": 1.0, "turbulent": 2.0})}
    out = backtest_var_rules(("2004-01-02", "2006-12-29"), "2007-02-28", methods=METHODS,
                             rules=rules)
    assert out.calibration.empty and set(out.rules) == set(rules)
    assert np.allclose(out.var["fhs-like:var_99"], out.var["ewma:var_99"])
