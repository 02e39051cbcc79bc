"""Limits from a YAML file and the checker that turns metrics into deduplicated alerts.

The file holds a list ``limits``; each entry::

    - name: var-99              # unique; names the alerts
      metric: var_99            # a field of RiskMetrics; "a.b" reads key b of field a
      limit: 400000             # breach at or above this value
      warning: 0.9              # optional: warn at or above warning x limit (default 0.9)
      hysteresis: 0.05          # optional: fall back a level only below (1 - h) x its
                                #   threshold (default 0.05)

When the metric is a mapping (``position_shares``, ``sector_shares``, ``days_to_liquidate``)
every key is checked on its own. The kinds the monitor ships a sample of: VaR and ES
(``var_95``, ``var_99``, ``es_95``, ``lvar_99``), single position (``position_shares``),
sector (``sector_shares``), liquidation days (``days_to_liquidate``) and regime
(``regime_probabilities.turbulent``). All limits are upper limits.

Each (limit, key) has a level: ok, warning or breach. An alert is raised only when the level
changes: ``critical`` on entering breach, ``warning`` on entering warning (from below or from
a breach), ``info`` when clear again. Rising uses the thresholds as they are; falling needs
the value below ``(1 - hysteresis)`` times the threshold, so a value hovering at a limit
raises one alert, not one per assessment.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hybridrisk.errors import ConfigError
from monitor.alerts import Alert
from monitor.metrics import RiskMetrics

__all__ = ["Limit", "LimitChecker", "read_limits", "sample_limits_path"]

_LEVELS = ("ok", "warning", "breach")
_SEVERITY = {0: "info", 1: "warning", 2: "critical"}


def sample_limits_path() -> Path:
    """The packaged sample limits (for the packaged sample book)."""
    return Path(str(resources.files("monitor") / "data" / "sample_limits.yaml"))


@dataclass(frozen=True)
class Limit:
    """One upper limit on a metric (see the module docstring)."""

    name: str
    metric: str
    limit: float
    warning: float = 0.9
    hysteresis: float = 0.05

    def __post_init__(self) -> None:
        where = f"limit {self.name!r}"
        if not (isinstance(self.limit, int | float) and math.isfinite(self.limit)
                and self.limit > 0):
            raise ConfigError(f"{where}: 'limit' must be a finite number > 0, got "
                              f"{self.limit!r}")
        if not 0 < self.warning <= 1:
            raise ConfigError(f"{where}: 'warning' must lie in (0, 1], got {self.warning!r}")
        if not 0 <= self.hysteresis < 1:
            raise ConfigError(f"{where}: 'hysteresis' must lie in [0, 1), got "
                              f"{self.hysteresis!r}")
        field_name = self.metric.split(".")[0]
        if field_name not in RiskMetrics.__dataclass_fields__:
            raise ConfigError(f"{where}: unknown metric {self.metric!r}; a field of "
                              "RiskMetrics, e.g. var_99 or sector_shares")

    def thresholds(self) -> tuple[float, float]:
        """(warning, breach) thresholds."""
        return self.warning * self.limit, self.limit


def read_limits(source: str | Path | None = None) -> list[Limit]:
    """Read limits from a YAML file (default: the packaged sample limits)."""
    path = sample_limits_path() if source is None else Path(source)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML ({exc})") from None
    rows = data.get("limits") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: expected a non-empty list under 'limits'")
    out, seen = [], set()
    known = set(Limit.__dataclass_fields__)
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "name" not in row or "metric" not in row \
                or "limit" not in row:
            raise ConfigError(f"{path}: limits[{i}] needs name, metric and limit")
        extra = set(row) - known
        if extra:
            raise ConfigError(f"{path}: limits[{i}] ({row['name']!r}) has unknown keys "
                              f"{sorted(extra)}")
        if row["name"] in seen:
            raise ConfigError(f"{path}: duplicate limit name {row['name']!r}")
        seen.add(row["name"])
        out.append(Limit(**row))
    return out


def _values(metrics: RiskMetrics, metric: str) -> dict[str, float | None]:
    """The metric's value(s): key '' for a number, one key per entry for a mapping."""
    head, _, key = metric.partition(".")
    value: Any = getattr(metrics, head)
    if key:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {"": value}


class LimitChecker:
    """Checks metrics against limits and raises an alert only when a level changes.

    Parameters
    ----------
    limits
        The limits (:func:`read_limits`).
    """

    def __init__(self, limits: list[Limit]) -> None:
        self.limits = list(limits)
        self.level: dict[tuple[str, str], int] = {}

    def restore(self, alerts: list[dict[str, Any]]) -> None:
        """Set each (limit, key)'s level from stored alerts (oldest first), so a restarted
        monitor does not raise again a breach it already raised."""
        for a in alerts:
            level = (a.get("extra") or {}).get("level")
            if a.get("kind") == "limit" and level in _LEVELS:
                self.level[(a["source"], a.get("key", ""))] = _LEVELS.index(level)

    def check(self, metrics: RiskMetrics) -> list[Alert]:
        """Alerts for every (limit, key) whose level changed with these metrics."""
        out = []
        for lim in self.limits:
            warn, breach = lim.thresholds()
            h = lim.hysteresis
            for key, value in _values(metrics, lim.metric).items():
                if value is None or not math.isfinite(value):
                    continue  # a value not computed never moves a level
                now = self.level.get((lim.name, key), 0)
                up = 2 if value >= breach else 1 if value >= warn else 0
                down = 2 if value >= breach * (1 - h) else 1 if value >= warn * (1 - h) else 0
                new = max(up, min(now, down))
                if new == now:
                    continue
                self.level[(lim.name, key)] = new
                what = f"{lim.metric}[{key}]" if key else lim.metric
                if new == 0:
                    msg = f"{what} = {value:.6g} is back under {lim.name} ({warn:.6g})"
                else:
                    word = "breaches" if new == 2 else "is near"
                    msg = f"{what} = {value:.6g} {word} {lim.name} (limit {breach:.6g})"
                out.append(Alert(
                    time=metrics.time, severity=_SEVERITY[new], kind="limit", source=lim.name,
                    key=key, limit=breach, value=float(value), message=msg,
                    state="cleared" if new == 0 else "raised", wall_time=_time.time(),
                    extra={"level": _LEVELS[new], "metric": lim.metric}))
        return out
