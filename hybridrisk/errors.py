"""Exception hierarchy of hybridrisk.

Every error the library raises on purpose derives from :class:`HybridRiskError`. Input errors
name the column, the row and the rule they enforce, so a user can find the bad value without a
debugger; numerical failures in training stop loudly instead of being clipped away.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "HybridRiskError",
    "DataValidationError",
    "InsufficientDataError",
    "ParameterDomainError",
    "NotPositiveDefiniteError",
    "NumericalError",
    "ConfigError",
    "ConvergenceError",
]


class HybridRiskError(Exception):
    """Base class of every error raised by hybridrisk."""


def _rebuild(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> HybridRiskError:
    """Unpickle an error whose ``__init__`` takes more than its message."""
    return cls(*args, **kwargs)


class DataValidationError(HybridRiskError, ValueError):
    """Input data break a rule (NaN, unsorted index, non-positive price, wrong shape, ...).

    Parameters
    ----------
    rule
        Short name of the violated rule, e.g. ``"finite"`` or ``"sorted-index"``.
    message
        Human-readable explanation.
    column
        Name of the offending column (``None`` for a Series or a frame-wide rule).
    row
        Label (usually a timestamp) of the first offending row, when one exists.
    """

    def __init__(
        self, rule: str, message: str, *, column: Any = None, row: Any = None
    ) -> None:
        self.rule = rule
        self.column = column
        self.row = row
        where = []
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row!r}")
        loc = f" at {', '.join(where)}" if where else ""
        self.message = message
        super().__init__(f"[{rule}]{loc}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # workers send errors back pickled; the default would call __init__ with the text only
        return (_rebuild, (type(self), (self.rule, self.message),
                           {"column": self.column, "row": self.row}))


class InsufficientDataError(DataValidationError):
    """Fewer observations than the model needs."""


class ParameterDomainError(HybridRiskError, ValueError):
    """A parameter lies outside its admissible domain (e.g. alpha + beta >= 1)."""

    def __init__(self, name: str, value: Any, rule: str) -> None:
        self.name = name
        self.value = value
        self.rule = rule
        super().__init__(f"parameter {name!r} = {value!r} violates {rule}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), (self.name, self.value, self.rule), {}))


class NotPositiveDefiniteError(DataValidationError):
    """A matrix that must be symmetric positive (semi-)definite is not."""


class NumericalError(HybridRiskError, FloatingPointError):
    """Numerical failure during estimation or training: NaN loss, exploding state, ..."""


class ConvergenceError(NumericalError):
    """An optimiser did not converge to an admissible point."""


class ConfigError(HybridRiskError, ValueError):
    """An invalid configuration: unknown dataset, family, option or malformed YAML."""
