"""Alerts: what the monitor tells people, with severity, the limit, the value and the time.

Every alert is one immutable record. ``kind`` says where it came from:

- ``limit``: a limit of the YAML file was breached (``critical``), approached (``warning``) or
  is clear again (``info``); see :mod:`monitor.limits`;
- ``tick``: a bad tick was rejected by the feed guard (:mod:`monitor.ticks`);
- ``component``: a risk component failed and its last good value is shown, marked stale;
- ``store``, ``feed``, ``sink``: the history store, the feed or an alert sink failed or came back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["SEVERITIES", "Alert"]

#: Severities, least to most severe.
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")


@dataclass(frozen=True)
class Alert:
    """One alert.

    Attributes
    ----------
    time
        Market time (ISO 8601) of the state that raised it.
    severity
        One of :data:`SEVERITIES`.
    kind
        Where it came from (see the module docstring).
    source
        The limit's name, the component's, the feed symbol's, ...
    message
        One line for a person.
    key
        What inside the source: a position id, a sector; empty when the source has one value.
    limit, value
        The threshold and the observed value, where the alert is about a number.
    state
        ``raised``, ``cleared`` or ``event`` (a one-off such as a rejected tick).
    wall_time
        Wall-clock time (epoch seconds) at which the monitor raised it.
    """

    time: str
    severity: str
    kind: str
    source: str
    message: str
    key: str = ""
    limit: float | None = None
    value: float | None = None
    state: str = "event"
    wall_time: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers become ``None``)."""
        out = asdict(self)
        for name in ("limit", "value"):
            v = out[name]
            if v is not None and not math.isfinite(v):
                out[name] = None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)
