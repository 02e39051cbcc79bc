"""The validation layer: malformed frames get a clear error, never a deep traceback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridrisk.checks import check_array, check_psd, check_times, check_timeseries
from hybridrisk.errors import (
    DataValidationError,
    HybridRiskError,
    InsufficientDataError,
    NotPositiveDefiniteError,
)


def frame(n=10, cols=("a", "b")):
    idx = pd.bdate_range("2020-01-01", periods=n)
    return pd.DataFrame(np.arange(n * len(cols), dtype=float).reshape(n, -1) + 1, idx, cols)


def test_valid_frame_returns_float_copy():
    df = frame()
    out = check_timeseries(df)
    assert out is not df and out.equals(df)
    out.iloc[0, 0] = -5
    assert df.iloc[0, 0] == 1


@pytest.mark.parametrize(
    ("mutate", "rule", "column", "row"),
    [
        (lambda d: d.iloc.__setitem__((3, 1), np.nan), "finite", "b", "2020-01-06T00:00:00"),
        (lambda d: d.iloc.__setitem__((5, 0), np.inf), "finite", "a", "2020-01-08T00:00:00"),
        (lambda d: d.iloc.__setitem__((2, 0), 0.0), "positive", "a", "2020-01-03T00:00:00"),
    ],
)
def test_errors_name_column_row_rule(mutate, rule, column, row):
    df = frame()
    mutate(df)
    with pytest.raises(DataValidationError) as exc:
        check_timeseries(df, positive=True)
    e = exc.value
    assert (e.rule, e.column, e.row) == (rule, column, row)
    assert rule in str(e) and repr(column) in str(e) and row in str(e)


def test_unsorted_and_duplicate_index():
    df = frame()
    swapped = df.iloc[[0, 1, 3, 2, 4]]
    with pytest.raises(DataValidationError) as exc:
        check_timeseries(swapped)
    assert exc.value.rule == "sorted-index" and exc.value.row == "2020-01-03T00:00:00"
    dup = pd.concat([df.iloc[:3], df.iloc[2:3]])
    with pytest.raises(DataValidationError) as exc:
        check_timeseries(dup)
    assert exc.value.rule == "unique-index" and exc.value.row == "2020-01-03T00:00:00"


def test_other_rules():
    with pytest.raises(InsufficientDataError, match="needs at least 100"):
        check_timeseries(frame(), min_obs=100)
    with pytest.raises(DataValidationError, match="DatetimeIndex"):
        check_timeseries(frame().reset_index(drop=True))
    with pytest.raises(DataValidationError, match="lacks required column"):
        check_timeseries(frame(), columns=["a", "z"])
    with pytest.raises(DataValidationError, match="3 columns"):
        check_timeseries(frame(), ncols=3)
    with pytest.raises(DataValidationError, match="numeric"):
        check_timeseries(frame().assign(b="x"))
    with pytest.raises(DataValidationError, match="Series or DataFrame"):
        check_timeseries([1.0, 2.0])
    nan = frame()
    nan.iloc[1, 1] = np.nan
    assert check_timeseries(nan, allow_nan=True).isna().sum().sum() == 1


def test_series_error_names_the_series():
    s = pd.Series([1.0, np.nan, 3.0], pd.bdate_range("2021-03-01", periods=3), name="ret")
    with pytest.raises(DataValidationError) as exc:
        check_timeseries(s, name="returns")
    assert exc.value.column == "ret" and exc.value.row == "2021-03-02T00:00:00"


def test_arrays_times_psd():
    with pytest.raises(DataValidationError, match=r"position \(1, 0\)"):
        check_array([[1.0, 2.0], [np.nan, 1.0]])
    with pytest.raises(DataValidationError, match="2-dimensional"):
        check_array([1.0], ndim=2)
    with pytest.raises(DataValidationError, match="strictly increasing") as exc:
        check_times([0.0, 1.0, 1.0, 2.0])
    assert exc.value.row == 2
    with pytest.raises(NotPositiveDefiniteError, match="positive semi-definite"):
        check_psd([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(NotPositiveDefiniteError, match="symmetric"):
        check_psd([[1.0, 0.5], [0.2, 1.0]])
    np.testing.assert_array_equal(check_psd(np.eye(3)), np.eye(3))


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(2**40), 2**40),
)


@st.composite
def malformed(draw):
    n = draw(st.integers(0, 12))
    ncols = draw(st.integers(0, 3))
    values = draw(st.lists(st.lists(cells, min_size=ncols, max_size=ncols), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    idx = pd.DatetimeIndex(pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D"))
    cols = draw(st.lists(st.sampled_from(["r", "x", "y"]), min_size=ncols, max_size=ncols))
    df = pd.DataFrame(np.array(values, dtype=object).reshape(n, ncols), index=idx, columns=cols)
    if draw(st.booleans()):
        df = df.apply(pd.to_numeric, errors="coerce")
    return df


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(malformed(), st.booleans(), st.integers(1, 5))
def test_property_malformed_frames(df, positive, min_obs):
    before = df.copy(deep=True)
    try:
        out = check_timeseries(df, positive=positive, min_obs=min_obs)
    except HybridRiskError as e:
        assert isinstance(e, DataValidationError) and e.rule
    else:
        values = out.to_numpy(dtype=float)
        assert np.isfinite(values).all()
        assert out.index.is_monotonic_increasing and out.index.is_unique
        assert len(out) >= min_obs
        if positive:
            assert (values > 0).all()
    pd.testing.assert_frame_equal(df, before)
