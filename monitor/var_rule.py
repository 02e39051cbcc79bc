r"""The headline VaR: a documented, configurable rule over the methods' numbers.

Every VaR method the engine runs keeps its own VaR 95/99 and ES 95/99
(:attr:`RiskMetrics.var_methods`); the headline ``var_95``, ``var_99`` and ``es_95`` come
from one :class:`VarRule`, and every input the rule used is kept next to them
(:attr:`RiskMetrics.var_rule`), so the headline can always be recomputed from what is shown.

The rule is read from the ``var_rule`` entry of the monitor's limits YAML
(:func:`read_var_rule`)::

    var_rule:
      method: regime_scaled          # max | blend | regime_scaled | a method's name
      base: max                      # regime_scaled only: max | blend | a method's name
      weights: {historical: 0.5, filtered-historical: 0.5}   # blend (or base: blend) only
      scale_by_regime: {calm: 1.0, turbulent: 1.25}          # regime_scaled only

The rules, for each of ``var_95``, ``var_99`` and ``es_95`` separately:

``max``
    the largest over the methods that have a number;
``<method>``
    that method's number;
``blend``
    :math:`\sum_m w_m x_m` with the configured weights (non-negative, summing to 1); when a
    weighted method has no number the blend has none either (``None``, never a blend of the
    rest);
``regime_scaled``
    the ``base`` rule's number times the regime scale
    :math:`s = \sum_k p_k\, c_k`, the regime probabilities :math:`p_k` of the assessment
    (the Markov-switching filter of :mod:`monitor.regime`) weighting the configured factors
    :math:`c_k`; probability weighting moves the scale smoothly instead of jumping when the
    most likely regime flips. Without regime probabilities the headline is ``None``.

Left out, the rule is ``max`` (the engine's behaviour before rules were configurable). The
rule's backtest on the bundled history, next to each single method, is
:func:`validation.regimes.backtest_var_rules`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hybridrisk.errors import ConfigError

__all__ = ["HEADLINE_FIELDS", "RULES", "VarRule", "read_var_rule"]

#: the headline numbers a rule gives
HEADLINE_FIELDS: tuple[str, ...] = ("var_95", "var_99", "es_95")
#: the rules besides a single method's name
RULES: tuple[str, ...] = ("max", "blend", "regime_scaled")


@dataclass(frozen=True)
class VarRule:
    """How the headline VaR/ES is made from the methods' numbers (module docstring).

    Attributes
    ----------
    method
        ``max``, ``blend``, ``regime_scaled`` or a VaR method's name.
    base
        For ``regime_scaled``: the rule scaled (``max``, ``blend`` or a method's name).
    weights
        For ``blend`` (or ``base: blend``): method -> weight, non-negative, summing to 1.
    scale_by_regime
        For ``regime_scaled``: regime label -> factor (> 0), one for each regime label.
    """

    method: str = "max"
    base: str = "max"
    weights: Mapping[str, float] = field(default_factory=dict)
    scale_by_regime: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not self.method:
            raise ConfigError(f"var_rule: 'method' must be one of {RULES} or a VaR method's "
                              f"name, got {self.method!r}")
        if self.method == "regime_scaled":
            if self.base == "regime_scaled":
                raise ConfigError("var_rule: 'base' of regime_scaled cannot be regime_scaled")
            if not self.scale_by_regime:
                raise ConfigError("var_rule: regime_scaled needs 'scale_by_regime', e.g. "
                                  "{calm: 1.0, turbulent: 1.25}")
            for k, c in self.scale_by_regime.items():
                if not (isinstance(c, int | float) and math.isfinite(c) and c > 0):
                    raise ConfigError(f"var_rule: scale_by_regime[{k!r}] must be a finite "
                                      f"number > 0, got {c!r}")
        elif self.scale_by_regime:
            raise ConfigError("var_rule: 'scale_by_regime' is only read by method "
                              "regime_scaled")
        if self.combiner == "blend":
            w = self.weights
            if not w:
                raise ConfigError("var_rule: blend needs 'weights', method -> weight")
            bad = {k: v for k, v in w.items()
                   if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0)}
            if bad:
                raise ConfigError(f"var_rule: weights must be finite and >= 0, got {bad}")
            if abs(sum(w.values()) - 1.0) > 1e-9:
                raise ConfigError(f"var_rule: weights must sum to 1, they sum to "
                                  f"{sum(w.values()):.12g}")
        elif self.weights:
            raise ConfigError("var_rule: 'weights' are only read by blend")

    @property
    def combiner(self) -> str:
        """The rule applied to the methods' numbers before any regime scaling."""
        return self.base if self.method == "regime_scaled" else self.method

    @property
    def name(self) -> str:
        """Short name shown as the metrics' ``headline``, e.g. ``regime_scaled(max)``."""
        return f"regime_scaled({self.base})" if self.method == "regime_scaled" else self.method

    def check(self, methods: Iterable[str], regimes: Iterable[str] | None = None) -> None:
        """Refuse a rule naming a method the engine does not run or missing a regime."""
        methods = tuple(methods)
        c = self.combiner
        if c not in ("max", "blend") and c not in methods:
            raise ConfigError(f"var_rule: {c!r} is neither a rule {RULES} nor one of the "
                              f"engine's methods {methods}")
        unknown = [m for m in self.weights if m not in methods]
        if unknown:
            raise ConfigError(f"var_rule: weights name {unknown}, not among the engine's "
                              f"methods {methods}")
        if regimes is not None and self.method == "regime_scaled":
            regimes = tuple(regimes)
            if set(self.scale_by_regime) != set(regimes):
                raise ConfigError(f"var_rule: scale_by_regime must give a factor for each "
                                  f"regime {regimes}, got {sorted(self.scale_by_regime)}")

    def combine(self, methods: Mapping[str, Mapping[str, float]],
                regime_probabilities: Mapping[str, float] | None = None,
                ) -> tuple[dict[str, float | None], dict[str, Any]]:
        """The headline numbers and the record of every input used.

        Parameters
        ----------
        methods
            Method -> ``{var_95, var_99, es_95, ...}`` (the methods with a number).
        regime_probabilities
            Regime label -> probability (``regime_scaled`` only).

        Returns
        -------
        headline, record
            ``{var_95, var_99, es_95}`` (``None`` where the rule has no number) and the
            record kept with the metrics: ``rule``, ``base_values`` (the numbers before
            scaling), ``weights``, ``scale``, ``scale_by_regime`` and
            ``regime_probabilities`` where they apply.
        """
        base: dict[str, float | None] = {}
        c = self.combiner
        for k in HEADLINE_FIELDS:
            have = {m: v[k] for m, v in methods.items() if v.get(k) is not None}
            if c == "max":
                base[k] = max(have.values()) if have else None
            elif c == "blend":
                base[k] = (float(sum(w * have[m] for m, w in self.weights.items()))
                           if all(m in have for m in self.weights) else None)
            else:
                base[k] = have.get(c)
        record: dict[str, Any] = {"rule": self.name, "base_values": dict(base)}
        if c == "blend":
            record["weights"] = dict(self.weights)
        if self.method != "regime_scaled":
            return base, record
        probs = dict(regime_probabilities or {})
        scale = None
        if probs and set(probs) <= set(self.scale_by_regime):
            scale = float(sum(p * self.scale_by_regime[k] for k, p in probs.items()))
        record.update(scale=scale, scale_by_regime=dict(self.scale_by_regime),
                      regime_probabilities=probs)
        head = {k: None if v is None or scale is None else v * scale for k, v in base.items()}
        return head, record

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "var_rule") -> VarRule:
        """A rule from the YAML entry's mapping."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
        extra = set(data) - set(cls.__dataclass_fields__)
        if extra:
            raise ConfigError(f"{where}: unknown keys {sorted(extra)}; known: "
                              f"{sorted(cls.__dataclass_fields__)}")
        if "method" not in data:
            raise ConfigError(f"{where}: needs 'method' ({' | '.join(RULES)} | a method)")
        return cls(**{k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()})


def read_var_rule(source: str | Path | None = None) -> VarRule | None:
    """The ``var_rule`` entry of a limits YAML file (default: the packaged sample limits);
    ``None`` when the file has none."""
    from monitor.limits import sample_limits_path

    path = sample_limits_path() if source is None else Path(source)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML ({exc})") from None
    if not isinstance(data, dict) or data.get("var_rule") is None:
        return None
    return VarRule.from_mapping(data["var_rule"], where=f"{path}: var_rule")
