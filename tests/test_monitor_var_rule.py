"""The headline VaR rule: max, a method, a blend or a regime-scaled rule, read from the limits
YAML, computed from the methods' numbers with every input kept and shown."""

from __future__ import annotations

import asyncio

import pytest

from hybridrisk.errors import ConfigError
from monitor.engine import EngineConfig
from monitor.limits import read_limits
from monitor.runner import build_monitor
from monitor.var_rule import VarRule, read_var_rule

METHODS = {"historical": {"var_95": 10.0, "var_99": 20.0, "es_95": 15.0},
           "normal": {"var_95": 12.0, "var_99": 16.0, "es_95": 14.0},
           "ewma": {"var_95": 8.0, "var_99": 25.0, "es_95": 18.0}}


def test_max_method_and_blend_by_hand():
    head, rec = VarRule("max").combine(METHODS)
    assert head == {"var_95": 12.0, "var_99": 25.0, "es_95": 18.0}
    assert rec == {"rule": "max", "base_values": head}
    head, _ = VarRule("normal").combine(METHODS)
    assert head == {"var_95": 12.0, "var_99": 16.0, "es_95": 14.0}
    w = {"historical": 0.5, "normal": 0.25, "ewma": 0.25}
    head, rec = VarRule("blend", weights=w).combine(METHODS)
    assert head["var_99"] == pytest.approx(0.5 * 20 + 0.25 * 16 + 0.25 * 25)
    assert rec["weights"] == w


def test_regime_scaling_is_probability_weighted_and_keeps_its_inputs():
    rule = VarRule("regime_scaled", base="max", scale_by_regime={"calm": 1.0, "turbulent": 1.5})
    probs = {"calm": 0.2, "turbulent": 0.8}
    head, rec = rule.combine(METHODS, probs)
    scale = 0.2 * 1.0 + 0.8 * 1.5
    assert rec["scale"] == pytest.approx(scale)
    assert rec["base_values"] == {"var_95": 12.0, "var_99": 25.0, "es_95": 18.0}
    assert rec["regime_probabilities"] == probs and rec["rule"] == "regime_scaled(max)"
    assert head["var_99"] == pytest.approx(25.0 * scale)


def test_a_rule_without_its_inputs_gives_no_number_rather_than_a_wrong_one():
    w = {"historical": 0.5, "normal": 0.5}
    head, _ = VarRule("blend", weights=w).combine({"historical": METHODS["historical"]})
    assert head == {"var_95": None, "var_99": None, "es_95": None}
    rule = VarRule("regime_scaled", scale_by_regime={"calm": 1.0, "turbulent": 1.2})
    head, rec = rule.combine(METHODS, {})
    assert head["var_99"] is None and rec["scale"] is None


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "blend", "weights": {"historical": 0.5, "normal": 0.4}}, "sum to 1"),
    ({"method": "blend", "weights": {"historical": 1.5, "normal": -0.5}}, ">= 0"),
    ({"method": "blend"}, "needs 'weights'"),
    ({"method": "max", "weights": {"historical": 1.0}}, "only read by blend"),
    ({"method": "regime_scaled"}, "needs 'scale_by_regime'"),
    ({"method": "regime_scaled", "scale_by_regime": {"calm": 0.0, "turbulent": 1.0}}, "> 0"),
    ({"method": "max", "scale_by_regime": {"calm": 1.0}}, "only read by method"),
])
def test_bad_rules_are_refused_with_the_reason(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        VarRule(**kwargs)


def test_the_rule_must_name_the_engines_methods_and_regimes():
    with pytest.raises(ConfigError, match="neither a rule"):
        EngineConfig(methods=("historical",), var_rule=VarRule("ewma"))
    with pytest.raises(ConfigError, match="weights name"):
        EngineConfig(methods=("historical",), var_rule=VarRule(
            "blend", weights={"historical": 0.5, "normal": 0.5}))
    rule = VarRule("regime_scaled", scale_by_regime={"calm": 1.0, "stress": 1.2})
    with pytest.raises(ConfigError, match="for each regime"):
        rule.check(("historical",), ("calm", "turbulent"))
    with pytest.raises(ConfigError, match="either 'headline' or 'var_rule'"):
        EngineConfig(headline="normal", var_rule=VarRule("max"))
    assert EngineConfig(headline="normal").var_rule == VarRule("normal")


def test_the_rule_is_read_from_the_limits_yaml(tmp_path):
    path = tmp_path / "limits.yaml"
    path.write_text("limits:\n  - {name: v, metric: var_99, limit: 1}\n"
                    "var_rule: {method: blend, weights: {historical: 0.7, normal: 0.3}}\n")
    assert read_var_rule(path) == VarRule("blend", weights={"historical": 0.7, "normal": 0.3})
    assert [lim.name for lim in read_limits(path)] == ["v"]
    path.write_text("limits:\n  - {name: v, metric: var_99, limit: 1}\n")
    assert read_var_rule(path) is None
    path.write_text("limits: []\nvar_rule: {method: max, colour: red}\n")
    with pytest.raises(ConfigError, match="unknown keys"):
        read_var_rule(path)
    assert read_var_rule() is not None  # the packaged sample limits name their rule


def test_the_engine_applies_the_yaml_rule_and_shows_every_input(tmp_path):
    path = tmp_path / "limits.yaml"
    path.write_text("limits:\n  - {name: v, metric: var_99, limit: 1.0e+12}\n"
                    "var_rule:\n  method: regime_scaled\n  base: max\n"
                    "  scale_by_regime: {calm: 1.0, turbulent: 1.3}\n")
    setup = build_monitor(limits=path, replay="2008-09-10:2008-09-16", speed=0,
                          log_alerts=False)
    asyncio.run(setup.monitor.run(setup.feed))
    m = setup.monitor.latest
    rec = m.var_rule
    assert m.headline == "regime_scaled(max)"
    assert rec["base_values"]["var_99"] == max(v["var_99"] for v in m.var_methods.values())
    assert rec["regime_probabilities"] == m.regime_probabilities
    scale = sum(p * {"calm": 1.0, "turbulent": 1.3}[k] for k, p in
                m.regime_probabilities.items())
    assert rec["scale"] == pytest.approx(scale)
    assert m.var_99 == pytest.approx(rec["base_values"]["var_99"] * scale)
    assert m.lvar_99 == pytest.approx(m.var_99 + m.liquidity_cost)
    stored = setup.monitor.store.recent["assessments"][-1]
    assert stored["var_rule"]["scale"] == pytest.approx(scale)  # kept with the history
    setup.monitor.store.close()
