"""The one input-validation layer every model's ``fit`` calls.

``check_timeseries`` validates a Series or DataFrame and returns a fresh copy as float64, so a
caller's frame is never modified. Each rule raises :class:`~hybridrisk.errors.DataValidationError`
naming the column, the first offending row and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

from hybridrisk.errors import (
    DataValidationError,
    InsufficientDataError,
    NotPositiveDefiniteError,
)

__all__ = ["check_timeseries", "check_min_obs", "check_psd", "check_array", "check_times"]


def _first_bad(index: pd.Index, mask: np.ndarray) -> Any:
    pos = int(np.flatnonzero(mask)[0])
    label = index[pos]
    return label.isoformat() if isinstance(label, pd.Timestamp) else label


@overload
def check_timeseries(data: pd.Series, **kwargs: Any) -> pd.Series: ...
@overload
def check_timeseries(data: pd.DataFrame, **kwargs: Any) -> pd.DataFrame: ...


def check_timeseries(
    data: pd.Series | pd.DataFrame,
    *,
    name: str = "data",
    min_obs: int = 1,
    allow_nan: bool = False,
    positive: bool = False,
    datetime_index: bool = True,
    columns: Sequence[str] | None = None,
    ncols: int | None = None,
) -> pd.Series | pd.DataFrame:
    """Validate a time series and return a float64 copy.

    Parameters
    ----------
    data
        A pandas Series or DataFrame indexed by time.
    name
        What the data are called in error messages (``"returns"``, ``"yields"``).
    min_obs
        Minimum number of rows.
    allow_nan
        Whether missing values (NaN, not inf) are allowed: they are for yield panels with
        unpublished tenors, never for returns.
    positive
        Require strictly positive values (prices, yields in levels of a price series).
    datetime_index
        Require a :class:`pandas.DatetimeIndex`.
    columns
        Required column names (DataFrame only).
    ncols
        Required number of columns (DataFrame only).

    Returns
    -------
    Series or DataFrame
        A float64 copy of ``data``; the input is never modified.

    Raises
    ------
    DataValidationError
        Naming the column, the first offending row and the rule.
    """
    if not isinstance(data, pd.Series | pd.DataFrame):
        raise DataValidationError(
            "type", f"{name} must be a pandas Series or DataFrame, got {type(data).__name__}"
        )
    if isinstance(data, pd.DataFrame):
        if columns is not None:
            missing = [c for c in columns if c not in data.columns]
            if missing:
                raise DataValidationError(
                    "columns", f"{name} lacks required column(s) {missing}", column=missing[0]
                )
        if ncols is not None and data.shape[1] != ncols:
            raise DataValidationError(
                "shape", f"{name} must have {ncols} columns, has {data.shape[1]}"
            )
        if data.shape[1] == 0:
            raise DataValidationError("shape", f"{name} has no columns")
        if not data.columns.is_unique:
            dup = data.columns[data.columns.duplicated()][0]
            raise DataValidationError("unique-columns", f"{name} repeats a column", column=dup)
    idx = data.index
    if datetime_index and not isinstance(idx, pd.DatetimeIndex):
        raise DataValidationError(
            "datetime-index",
            f"{name} must have a DatetimeIndex, got {type(idx).__name__}",
        )
    if len(data) < min_obs:
        raise InsufficientDataError(
            "min-obs", f"{name} has {len(data)} rows, the model needs at least {min_obs}"
        )
    if idx.hasnans:
        raise DataValidationError(
            "index-not-null", f"{name} has a missing timestamp",
            row=int(np.flatnonzero(np.asarray(idx.isna()))[0]),
        )
    if not idx.is_monotonic_increasing:
        vals = idx.values
        try:
            bad = np.flatnonzero(vals[1:] < vals[:-1])
        except TypeError as exc:  # mixed, incomparable labels
            raise DataValidationError("sorted-index", f"{name} index is not orderable") from exc
        raise DataValidationError(
            "sorted-index", f"{name} timestamps must increase; this one precedes the row above",
            row=_first_bad(idx, np.r_[False, np.isin(np.arange(1, len(idx)), bad + 1)]),
        )
    if not idx.is_unique:
        raise DataValidationError(
            "unique-index", f"{name} has a duplicate timestamp",
            row=_first_bad(idx, np.asarray(idx.duplicated())),
        )

    frame = data.to_frame() if isinstance(data, pd.Series) else data
    out_cols = {}
    for col in frame.columns:
        s = frame[col]
        label = col if isinstance(data, pd.DataFrame) else (data.name or name)
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise DataValidationError(
                "numeric", f"{name} must be numeric, got dtype {s.dtype}", column=label
            )
        v = s.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        inf = np.isinf(v)
        if inf.any():
            raise DataValidationError(
                "finite", f"{name} contains an infinite value", column=label,
                row=_first_bad(idx, inf),
            )
        nan = np.isnan(v)
        if nan.any() and not allow_nan:
            raise DataValidationError(
                "finite", f"{name} contains a missing (NaN) value", column=label,
                row=_first_bad(idx, nan),
            )
        if positive:
            nonpos = ~nan & (v <= 0)
            if nonpos.any():
                raise DataValidationError(
                    "positive", f"{name} must be strictly positive", column=label,
                    row=_first_bad(idx, nonpos),
                )
        out_cols[col] = v
    if isinstance(data, pd.Series):
        return pd.Series(out_cols[frame.columns[0]], index=idx.copy(), name=data.name)
    return pd.DataFrame(out_cols, index=idx.copy(), columns=data.columns.copy())


def check_min_obs(n: int, needed: int, *, name: str = "data") -> None:
    """Raise :class:`InsufficientDataError` when ``n < needed``."""
    if n < needed:
        raise InsufficientDataError(
            "min-obs", f"{name} has {n} observations, the model needs at least {needed}"
        )


def check_array(
    x: Any,
    *,
    name: str = "x",
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    allow_nan: bool = False,
) -> np.ndarray:
    """Validate an array-like of numbers and return a float64 copy."""
    try:
        arr = np.array(x, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise DataValidationError("numeric", f"{name} is not an array of numbers: {exc}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise DataValidationError("shape", f"{name} must be {ndim}-dimensional, got {arr.shape}")
    if shape is not None:
        wrong = arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape, strict=False)
        )
        if wrong:
            raise DataValidationError("shape", f"{name} must have shape {shape}, got {arr.shape}")
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        pos = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
        raise DataValidationError(
            "finite", f"{name} contains a non-finite value at position {tuple(map(int, pos))}",
            row=int(pos[0]),
        )
    return arr


def check_times(times: Any, *, name: str = "times", length: int | None = None) -> np.ndarray:
    """Validate explicit observation times: finite and strictly increasing along the last axis."""
    t = check_array(times, name=name)
    if t.ndim == 0:
        raise DataValidationError("shape", f"{name} must be at least 1-dimensional")
    if length is not None and t.shape[-1] != length:
        raise DataValidationError("shape", f"{name} has length {t.shape[-1]}, expected {length}")
    d = np.diff(t, axis=-1)
    if (d <= 0).any():
        pos = np.unravel_index(int(np.flatnonzero(d <= 0)[0]), d.shape)
        raise DataValidationError(
            "increasing-times", f"{name} must be strictly increasing",
            row=int(pos[-1]) + 1,
        )
    return t


def check_psd(matrix: Any, *, name: str = "matrix", tol: float = 1e-10) -> np.ndarray:
    """Validate a symmetric positive semi-definite matrix and return a float64 copy."""
    m = check_array(matrix, name=name, ndim=2)
    if m.shape[0] != m.shape[1]:
        raise DataValidationError("shape", f"{name} must be square, got {m.shape}")
    asym = np.abs(m - m.T)
    if asym.max(initial=0.0) > tol * max(1.0, np.abs(m).max(initial=0.0)):
        i, j = np.unravel_index(int(np.argmax(asym)), m.shape)
        raise NotPositiveDefiniteError(
            "symmetric", f"{name} is not symmetric at ({i}, {j})", row=int(i), column=int(j)
        )
    eig = np.linalg.eigvalsh(m)
    if eig[0] < -tol * max(1.0, abs(eig[-1])):
        raise NotPositiveDefiniteError(
            "psd", f"{name} is not positive semi-definite: smallest eigenvalue {eig[0]:.3g}"
        )
    return m
