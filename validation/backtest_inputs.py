"""The result object of every backtest and the input checks they share.

See :mod:`validation.backtests` for the conventions (``hits``, ``p``, positive ``var``/``es``).
Every input error raises :class:`hybridrisk.errors.DataValidationError` naming the argument
(``column``) and the first offending position (``row``); inputs are never modified.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hybridrisk.errors import DataValidationError

__all__ = ["TestResult"]


# --------------------------------------------------------------------------------------------
# Result object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    """Outcome of a statistical test.

    Attributes
    ----------
    name
        Name of the test, e.g. ``"Kupiec POF"``.
    statistic
        Value of the test statistic (always finite).
    pvalue
        p-value in [0, 1].
    null
        The null hypothesis, in words.
    reference
        The primary reference of the test.
    df
        Degrees of freedom of the reference chi-square (or t) distribution, ``None`` when the
        p-value does not come from such a distribution.
    extras
        Test-specific details (number of exceptions, expected number, zone, ...). Each key is
        also readable as an attribute: ``result.n_exceptions``.
    """

    __test__ = False  # not a pytest test class despite its name

    name: str
    statistic: float
    pvalue: float
    null: str
    reference: str
    df: float | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only view, so a frozen result cannot be altered through its extras either.
        object.__setattr__(self, "extras", MappingProxyType(dict(self.extras)))

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails; guard dunders so copy/pickle keep working.
        if name.startswith("__") or name == "extras":
            raise AttributeError(name)
        try:
            return self.extras[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!s} {self.name!r} has no attribute {name!r}"
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["extras"] = dict(self.extras)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "extras", MappingProxyType(dict(state["extras"])))

    def reject(self, level: float = 0.05) -> bool:
        """Whether the null hypothesis is rejected at significance ``level`` (p-value <= level).

        Parameters
        ----------
        level
            Significance level in (0, 1).
        """
        level = _check_prob(level, "level")
        return bool(self.pvalue <= level)

    def summary(self) -> str:
        """A multi-line, human-readable report of the test."""
        lines = [
            f"{self.name}",
            f"  null hypothesis : {self.null}",
            f"  statistic       : {self.statistic:.6g}",
            f"  p-value         : {self.pvalue:.6g}",
        ]
        if self.df is not None:
            lines.append(f"  df              : {self.df:g}")
        for key, value in self.extras.items():
            lines.append(f"  {key:<16}: {_fmt(value)}")
        decisions = ", ".join(
            f"{lvl:.0%}: {'reject' if self.reject(lvl) else 'accept'}" for lvl in (0.01, 0.05, 0.1)
        )
        lines.append(f"  decision        : {decisions}")
        lines.append(f"  reference       : {self.reference}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"statistic={self.statistic:.6g}",
                 f"pvalue={self.pvalue:.6g}"]
        if self.df is not None:
            parts.append(f"df={self.df:g}")
        for key, value in self.extras.items():
            if isinstance(value, numbers.Number | str | bool) or value is None:
                parts.append(f"{key}={_fmt(value)}")
        return f"TestResult({', '.join(parts)})"


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.6g}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple | list) and len(value) > 8:
        head = ", ".join(_fmt(v) for v in value[:8])
        return f"({head}, ... {len(value)} values)"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return repr(value)


# --------------------------------------------------------------------------------------------
# Input validation (shared with validation.losses and validation.compare)
# --------------------------------------------------------------------------------------------


def _check_prob(p: Any, name: str = "p") -> float:
    """Validate a probability strictly inside (0, 1)."""
    if isinstance(p, bool | np.bool_) or not isinstance(p, numbers.Real):
        raise DataValidationError(
            "type", f"{name} must be a real number in (0, 1), got {p!r}", column=name
        )
    p = float(p)
    if not (0.0 < p < 1.0):  # also catches NaN
        raise DataValidationError("domain", f"{name} must lie in (0, 1), got {p!r}", column=name)
    return p


def _check_int(x: Any, name: str, minimum: int) -> int:
    if isinstance(x, bool | np.bool_) or not isinstance(x, numbers.Integral):
        raise DataValidationError("type", f"{name} must be an integer, got {x!r}", column=name)
    if int(x) < minimum:
        raise DataValidationError("domain", f"{name} must be >= {minimum}, got {x!r}", column=name)
    return int(x)


def _rng(seed: Any) -> np.random.Generator:
    """A Generator of its own from ``None``, a non-negative integer or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        seed = _check_int(seed, "seed", 0)
    return np.random.default_rng(seed)


def _raw_1d(x: Any, name: str) -> np.ndarray:
    """Turn an array-like into a 1-d NumPy array without any dtype conversion."""
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise DataValidationError(
                "shape", f"{name} must be 1-dimensional, got a DataFrame of shape {x.shape}",
                column=name,
            )
        x = x.iloc[:, 0]
    if isinstance(x, pd.Series | pd.Index):
        arr = x.to_numpy(copy=True)
    elif isinstance(x, str | bytes) or x is None or isinstance(x, Mapping):
        raise DataValidationError(
            "type", f"{name} must be a 1-d array, list or Series, got {type(x).__name__}",
            column=name,
        )
    else:
        try:
            arr = np.array(x, copy=True)
        except (ValueError, TypeError) as exc:  # ragged nested lists, odd objects
            raise DataValidationError(
                "shape", f"{name} is not a 1-d array: {exc}", column=name
            ) from exc
    if arr.ndim != 1:
        raise DataValidationError(
            "shape", f"{name} must be 1-dimensional, got shape {arr.shape}", column=name
        )
    if arr.size == 0:
        raise DataValidationError("empty", f"{name} is empty", column=name)
    return arr


def _object_to_float(arr: np.ndarray, name: str) -> np.ndarray:
    out = np.empty(arr.shape, dtype=np.float64)
    for i, v in enumerate(arr):
        if v is None or v is pd.NA or v is pd.NaT:
            raise DataValidationError(
                "finite", f"{name} has a missing value at position {i}", column=name, row=i
            )
        if isinstance(v, str | bytes) or not isinstance(v, numbers.Real):
            raise DataValidationError(
                "dtype", f"{name} must hold numbers; position {i} holds {v!r}",
                column=name, row=i,
            )
        out[i] = float(v)
    return out


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_float(
    x: Any, name: str, *, positive: bool = False, allow_bool: bool = False
) -> np.ndarray:
    """Validate a 1-d array of finite real numbers and return a float64 copy."""
    arr = _raw_1d(x, name)
    kind = arr.dtype.kind
    if kind == "b" and not allow_bool:
        raise DataValidationError(
            "dtype", f"{name} must hold real numbers, got booleans", column=name
        )
    if kind in "biuf":
        out = arr.astype(np.float64)
    elif kind == "O":
        out = _object_to_float(arr, name)
    else:
        raise DataValidationError(
            "dtype", f"{name} must hold real numbers, got dtype {arr.dtype}", column=name
        )
    bad = ~np.isfinite(out)
    if bad.any():
        i = _first(bad)
        what = "a missing (NaN)" if np.isnan(out[i]) else "an infinite"
        raise DataValidationError(
            "finite", f"{name} has {what} value at position {i}", column=name, row=i
        )
    if positive:
        bad = out <= 0
        if bad.any():
            i = _first(bad)
            raise DataValidationError(
                "positive", f"{name} must be strictly positive; position {i} is {out[i]!r}",
                column=name, row=i,
            )
    return out


def _as_hits(hits: Any, name: str = "hits") -> np.ndarray:
    """Validate an exception indicator (booleans or 0/1 numbers) and return a bool copy."""
    arr = _raw_1d(hits, name)
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(bool)
    if kind in "iuf":
        vals = arr.astype(np.float64)
    elif kind == "O":
        vals = _object_to_float(arr, name)
    else:
        raise DataValidationError(
            "dtype", f"{name} must hold booleans or 0/1, got dtype {arr.dtype}", column=name
        )
    nan = np.isnan(vals)
    if nan.any():
        i = _first(nan)
        raise DataValidationError(
            "finite", f"{name} has a missing (NaN) value at position {i}", column=name, row=i
        )
    bad = (vals != 0) & (vals != 1)
    if bad.any():
        i = _first(bad)
        raise DataValidationError(
            "binary", f"{name} must hold only 0/1 or booleans; position {i} is {vals[i]!r}",
            column=name, row=i,
        )
    return vals == 1


def _check_lengths(**arrays: np.ndarray) -> int:
    names = list(arrays)
    n = len(arrays[names[0]])
    for other in names[1:]:
        if len(arrays[other]) != n:
            raise DataValidationError(
                "length",
                f"{other} has {len(arrays[other])} values but {names[0]} has {n}",
                column=other,
            )
    return n


def _chi2_sf(stat: float, df: float) -> float:
    """chi-square survival function, exactly 1 for a zero statistic or zero df."""
    if df <= 0 or stat <= 0:
        return 1.0
    return float(min(1.0, max(0.0, stats.chi2.sf(stat, df))))
