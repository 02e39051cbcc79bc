"""The user's own data: read a CSV or Parquet file, put the dates on the index, convert units.

A campaign runs on a bundled dataset, on a frame held in memory (``run_campaign(cfg,
data=frame)``) or on a file (``hybridrisk validate --data returns.csv --column SPX --units
price``). Files and frames take the same path: :func:`read_table` reads the file,
:func:`set_date_index` puts the dates on the index, and the family's
:meth:`~validation.families.base.Family.from_user_data` picks the column(s), converts the units
and runs the validation layer (:func:`hybridrisk.checks.check_timeseries`), so every bad value
stops the campaign with a one-line :class:`~hybridrisk.errors.DataValidationError` naming the
column, the row and the rule, before any model is fitted.

Units of return series (:func:`to_percent_returns`):

``percent``
    Percent returns (1.5 means 1.5%), what every volatility model of the library expects.
``decimal``
    Decimal returns (0.015 means 1.5%), multiplied by 100.
``price``
    Prices (strictly positive), converted to percent log returns ``100 ln(P_t / P_{t-1})``;
    the first date has no return and is dropped.

Returns that look like the other unit (median ``|r|`` below 0.05 for percent, above 0.1 for
decimal returns) or like prices (all positive) get a :class:`DataUnitsWarning` naming the
column.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.provenance import file_sha256

__all__ = [
    "DataUnitsWarning",
    "RETURN_UNITS",
    "SUFFIXES",
    "UserDataSource",
    "read_table",
    "read_user_file",
    "select_columns",
    "set_date_index",
    "to_percent_returns",
]

#: Units a return series may be given in.
RETURN_UNITS = ("percent", "decimal", "price")
#: File types :func:`read_table` reads, by suffix.
SUFFIXES = {".csv": "csv", ".txt": "csv", ".csv.gz": "csv", ".parquet": "parquet",
            ".pq": "parquet"}

# Daily percent returns of liquid markets have a median |r| of roughly 0.2 to 1.5 (0.37 for the
# calm S&P 500 of 2014-2018): below 0.05 they are almost surely decimals; decimal returns with a
# median move above 0.1 (10%) are almost surely percent.
_PERCENT_FLOOR = 0.05
_DECIMAL_CEILING = 0.1


class DataUnitsWarning(UserWarning):
    """Returns whose size suggests other units than the ones stated."""


@dataclass(frozen=True)
class UserDataSource:
    """Where a campaign's data came from, for the report's data-lineage section.

    Attributes
    ----------
    path
        The file, as an absolute path.
    sha256
        SHA-256 of the file's bytes (:func:`hybridrisk.provenance.file_sha256`).
    column, units, date_column
        As passed (``None`` where not given).
    rows
        Data rows read from the file.
    """

    path: str
    sha256: str
    column: str | tuple[str, ...] | None
    units: str | None
    date_column: str | None
    rows: int

    @property
    def name(self) -> str:
        """The file's name, without its folder."""
        return Path(self.path).name

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record."""
        col = list(self.column) if isinstance(self.column, tuple) else self.column
        return {"file": self.path, "sha256": self.sha256, "column": col, "units": self.units,
                "date_column": self.date_column, "rows": self.rows}


def file_kind(path: str | os.PathLike[str]) -> str:
    """``"csv"`` or ``"parquet"`` from the file's suffix.

    Raises
    ------
    ConfigError
        For any other suffix.
    """
    name = Path(path).name.lower()
    for suffix, kind in sorted(SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return kind
    raise ConfigError(f"data file {str(path)!r}: unknown file type; use one of "
                      f"{sorted(SUFFIXES)}")


def _date_error(values: pd.Series, parsed: pd.Series, what: str, line_offset: int) -> None:
    """Raise naming the first value that is not a date (missing, or unreadable)."""
    bad = np.flatnonzero(pd.isna(parsed.to_numpy()))
    if not len(bad):
        return
    pos = int(bad[0])
    raw = values.iloc[pos]
    why = "is missing" if pd.isna(raw) else f"{raw!r} cannot be read as a date"
    where = f" (file line {pos + line_offset})" if line_offset else ""
    raise DataValidationError("dates", f"{what}: {why}{where}", row=pos)


def _parse_dates(values: pd.Series | pd.Index, what: str, line_offset: int) -> pd.DatetimeIndex:
    if pd.api.types.is_numeric_dtype(values):
        # numbers would silently become nanoseconds after 1970
        raise DataValidationError(
            "dates", f"{what} holds numbers, not dates ({np.asarray(values)[0]!r})", row=0)
    values = pd.Series(np.asarray(values, dtype=object))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas' "could not infer format"
        parsed = pd.Series(pd.to_datetime(values, errors="coerce"))
    _date_error(values, parsed, what, line_offset)
    return pd.DatetimeIndex(parsed)


def set_date_index(
    frame: pd.DataFrame, date_column: str | None = None, *, source: str = "data",
    line_offset: int = 0,
) -> pd.DataFrame:
    """Put the dates on the index: from ``date_column``, or the index itself.

    Parameters
    ----------
    frame : pandas.DataFrame
        As read (not modified).
    date_column : str, optional
        Column holding the dates; without it the index must hold dates (a DatetimeIndex, or
        labels that read as dates).
    source : str
        What the data are called in messages (the file name).
    line_offset : int
        Line of the file holding the frame's first row (2 for a CSV with one header line), so
        that a message names the file line; 0 for data held in memory.

    Returns
    -------
    pandas.DataFrame
        With a DatetimeIndex. Order and duplicates are left for the validation layer to report.

    Raises
    ------
    DataValidationError
        A missing or unreadable date (rule ``dates``), naming its row.
    ConfigError
        ``date_column`` is not a column.
    """
    if date_column is not None:
        if date_column not in frame.columns:
            raise ConfigError(f"{source} has no date column {date_column!r}; columns: "
                              f"{[str(c) for c in frame.columns]}")
        idx = _parse_dates(frame[date_column], f"{source}, date column {date_column!r}",
                           line_offset)
        out = frame.drop(columns=[date_column])
        out.index = idx.rename(date_column)
        return out
    if isinstance(frame.index, pd.DatetimeIndex):
        return frame
    if isinstance(frame.index, pd.RangeIndex):
        raise DataValidationError(
            "datetime-index",
            f"{source} has no dates: name the date column with --date-column (date_column=); "
            "the walk-forward refits by calendar week and month and the report dates every "
            f"forecast. Columns: {[str(c) for c in frame.columns]}",
        )
    idx = _parse_dates(frame.index, f"{source}, index (first column)", line_offset)
    out = frame.copy()
    out.index = idx.rename(frame.index.name)
    return out


def read_table(
    path: str | os.PathLike[str], *, date_column: str | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet file into a frame indexed by its dates.

    A CSV's dates are in ``date_column`` or, without it, in its first column; a Parquet file's
    in ``date_column`` or its stored index.

    Raises
    ------
    ConfigError
        The file is missing, of an unknown type or unreadable.
    DataValidationError
        A missing or unreadable date, naming its row and file line.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"data file {str(p)!r} does not exist")
    kind = file_kind(p)
    try:
        if kind == "csv":
            frame = pd.read_csv(p, index_col=None if date_column else 0)
        else:
            frame = pd.read_parquet(p)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ConfigError(f"data file {p.name!r} cannot be read as {kind}: "
                          f"{str(exc).splitlines()[0]}") from exc
    if not len(frame):
        raise DataValidationError("min-obs", f"{p.name} holds no data rows")
    return set_date_index(frame, date_column, source=p.name,
                          line_offset=2 if kind == "csv" else 0)


def read_user_file(
    path: str | os.PathLike[str], *, column: str | tuple[str, ...] | None = None,
    units: str | None = None, date_column: str | None = None,
) -> tuple[pd.DataFrame, UserDataSource]:
    """Read a data file and describe it for the report (path and SHA-256 of its bytes)."""
    frame = read_table(path, date_column=date_column)
    p = Path(path).resolve()
    return frame, UserDataSource(str(p), file_sha256(p), column, units, date_column, len(frame))


def _numeric(s: pd.Series, column: Any) -> pd.Series:
    """A numeric column, or an error naming the first cell that is not a number."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        label = s.index[int(np.flatnonzero(bad.to_numpy())[0])]
        row = label.isoformat() if isinstance(label, pd.Timestamp) else label
        raise DataValidationError("numeric", f"{s.loc[label]!r} is not a number",
                                  column=column, row=row)
    return num


def select_columns(
    frame: pd.DataFrame | pd.Series, column: str | tuple[str, ...] | list[str] | None
) -> pd.DataFrame:
    """The named column(s) of the data as numbers (all columns for ``column=None``).

    Raises
    ------
    DataValidationError
        A named column is absent (rule ``columns``) or a cell is not a number (``numeric``).
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(frame.name if frame.name is not None else "value")
    if column is None:
        cols = list(frame.columns)
    else:
        cols = [column] if isinstance(column, str) else list(column)
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataValidationError(
                "columns", f"no such column; the data have {[str(c) for c in frame.columns]}",
                column=missing[0])
    return pd.DataFrame({c: _numeric(frame[c], c) for c in cols}, index=frame.index)


def _median_abs(r: pd.Series) -> float:
    return float(np.median(np.abs(r.to_numpy())))


def to_percent_returns(series: pd.Series, units: str, *, column: Any) -> pd.Series:
    """Validate a return or price series and convert it to percent returns.

    Parameters
    ----------
    series : pandas.Series
        With a DatetimeIndex.
    units : {"percent", "decimal", "price"}
        What the values are; see the module docstring.
    column
        The user's name of the column, for messages.

    Returns
    -------
    pandas.Series
        Percent returns (float64, a new object); one date shorter for prices.

    Raises
    ------
    DataValidationError
        From :func:`hybridrisk.checks.check_timeseries` (rules ``finite``, ``sorted-index``,
        ``unique-index``, ``positive`` for prices, ...), naming the column and the row.

    Warns
    -----
    DataUnitsWarning
        Returns whose size suggests the other unit.
    """
    if units not in RETURN_UNITS:
        raise ConfigError(f"units must be one of {RETURN_UNITS}, got {units!r}")
    s = series.rename(column)
    try:
        y = check_timeseries(s, name="prices" if units == "price" else "returns",
                             min_obs=2 if units == "price" else 1, positive=units == "price")
    except DataValidationError as exc:
        if exc.rule != "positive":
            raise
        raise DataValidationError(
            "positive", "prices must be strictly positive (units='price'); if the column holds "
            "returns, state their units: percent or decimal", column=column, row=exc.row,
        ) from exc
    if units == "price":
        v = y.to_numpy()
        return pd.Series(100.0 * np.diff(np.log(v)), index=y.index[1:], name=column)
    med = _median_abs(y)
    if len(y) > 20 and (y.to_numpy() > 0).all():
        # returns are never all positive over a month of days; prices always are
        warnings.warn(
            f"column {column!r} looks like prices (all {len(y)} values are positive) but its "
            f"units are {units!r}; if it holds prices, state units 'price' (--units price)",
            DataUnitsWarning, stacklevel=2)
    elif units == "percent" and med < _PERCENT_FLOOR:
        warnings.warn(
            f"column {column!r} looks like decimal returns (median |r| = {med:.3g}) but its "
            "units are 'percent'; if 0.01 means 1%, state units 'decimal' (--units decimal)",
            DataUnitsWarning, stacklevel=2)
    elif units == "decimal" and med > _DECIMAL_CEILING:
        warnings.warn(
            f"column {column!r} looks like percent returns (median |r| = {med:.3g}) but its "
            "units are 'decimal'; if 1.0 means 1%, state units 'percent' (--units percent)",
            DataUnitsWarning, stacklevel=2)
    return y * 100.0 if units == "decimal" else y
