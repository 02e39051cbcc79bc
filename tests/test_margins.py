"""Pseudo-observations: rank PITs and GARCH-t PITs (IFM), and their validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import pyvinecopulib as pv
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from baselines.garch import fit_garch
from baselines.margins import check_pits, garch_pits, rank_pits
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError


@pytest.fixture(scope="module")
def equities() -> pd.DataFrame:
    return pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1, join="inner")


def frame(values: np.ndarray, columns: list[str] | None = None) -> pd.DataFrame:
    idx = pd.date_range("2020-01-01", periods=len(values), freq="D")
    return pd.DataFrame(values, index=idx, columns=columns)


# ---------------------------------------------------------------- ranks


def test_rank_pits_are_ranks_over_n_plus_one() -> None:
    x = frame(np.array([[0.3, -1.0], [-2.0, 5.0], [1.5, 0.2], [0.1, 0.0]]), ["a", "b"])
    u = rank_pits(x)
    np.testing.assert_array_equal(u["a"], np.array([3, 1, 4, 2]) / 5)
    np.testing.assert_array_equal(u["b"], np.array([1, 4, 3, 2]) / 5)
    assert u.index.equals(x.index) and list(u.columns) == ["a", "b"]


def test_ties_raise_naming_the_column_and_row(equities: pd.DataFrame) -> None:
    # the S&P 500 has two repeated daily returns
    with pytest.raises(DataValidationError) as err:
        rank_pits(equities)
    assert err.value.rule == "ties" and err.value.column == "sp500"
    r = equities["sp500"]
    assert r[err.value.row] in set(r[r.duplicated()])


def test_tie_breaking_options(equities: pd.DataFrame) -> None:
    avg = rank_pits(equities, ties="average")
    ref = pv.to_pseudo_obs(equities.to_numpy(), ties_method="average")
    np.testing.assert_allclose(avg.to_numpy(), ref, rtol=0, atol=1e-15)
    for ties in ("first", "random"):
        u = rank_pits(equities, ties=ties, seed=4)
        assert not u["sp500"].duplicated().any()
        n = len(u)
        np.testing.assert_array_equal(np.sort(u["sp500"].to_numpy()),
                                      np.arange(1, n + 1) / (n + 1))
    a, b = (rank_pits(equities, ties="random", seed=s) for s in (1, 1))
    assert a.equals(b)
    with pytest.raises(ConfigError):
        rank_pits(equities, ties="max")


def test_rank_pits_reject_nan_and_inf() -> None:
    x = np.array([[0.3, -1.0], [np.nan, 5.0], [1.5, 0.2]])
    with pytest.raises(DataValidationError) as err:
        rank_pits(frame(x, ["a", "b"]))
    assert (err.value.rule, err.value.column) == ("finite", "a")
    assert err.value.row == "2020-01-02T00:00:00"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=60, unique=True))
def test_rank_pits_property(values: list[float]) -> None:
    u = rank_pits(frame(np.array(values)[:, None], ["x"]))["x"].to_numpy()
    n = len(values)
    assert ((u > 0) & (u < 1)).all()
    np.testing.assert_array_equal(np.sort(u), np.arange(1, n + 1) / (n + 1))
    np.testing.assert_array_equal(np.argsort(u), np.argsort(values))


# ---------------------------------------------------------------- GARCH filters


def test_garch_t_pits_are_the_fitted_t_cdf_of_the_residuals(equities: pd.DataFrame) -> None:
    u, fits = garch_pits(equities, return_fits=True)
    assert u.index.equals(equities.index) and list(u.columns) == ["sp500", "nasdaq"]
    for col in u.columns:
        res = fits[col]
        assert res.spec.dist == "t"
        nu = res.params["nu"]
        z = res.std_resid.to_numpy()
        np.testing.assert_array_equal(u[col].to_numpy(),
                                      special.stdtr(nu, z * np.sqrt(nu / (nu - 2))))
        ref = fit_garch(equities[col], dist="t")  # IFM: one univariate fit per margin
        assert res.loglik == pytest.approx(ref.loglik, rel=1e-12)
    assert ((u > 0) & (u < 1)).all().all()
    # the PITs of a well-specified filter are close to uniform
    assert abs(u.mean().mean() - 0.5) < 0.02


def test_garch_normal_pits_and_options(equities: pd.DataFrame) -> None:
    u = garch_pits(equities[["sp500"]].iloc[:1500], dist="normal", o=1)
    res = fit_garch(equities["sp500"].iloc[:1500], dist="normal", o=1)
    np.testing.assert_array_equal(u["sp500"].to_numpy(), special.ndtr(res.std_resid.to_numpy()))
    with pytest.raises(ConfigError, match="dist must be"):
        garch_pits(equities, dist="ged")


def test_garch_skewt_pits_equal_arch_cdf(equities: pd.DataFrame) -> None:
    """GJR-GARCH skew-t PITs are arch's own SkewStudent.cdf at the fit's residuals."""
    from arch.univariate import SkewStudent

    u, fits = garch_pits(equities[["sp500"]].iloc[:1500], dist="skewt", o=1, return_fits=True)
    res = fits["sp500"]
    ref = SkewStudent().cdf(res.std_resid.to_numpy(),
                            res.params[["eta", "lambda"]].to_numpy())
    np.testing.assert_allclose(u["sp500"].to_numpy(), ref, rtol=0, atol=1e-14)
    assert float(res.params["lambda"]) < 0  # equity returns are left-skewed


def test_garch_pits_reject_bad_returns(equities: pd.DataFrame) -> None:
    bad = equities.iloc[:500].copy()
    bad.iloc[17, 1] = np.nan
    with pytest.raises(DataValidationError) as err:
        garch_pits(bad)
    assert (err.value.rule, err.value.column) == ("finite", "nasdaq")


# ---------------------------------------------------------------- validation of PITs


@pytest.mark.parametrize(("value", "rule"), [
    (0.0, "open-unit-interval"), (1.0, "open-unit-interval"), (1.2, "open-unit-interval"),
    (-1e-9, "open-unit-interval"), (np.nan, "finite"), (np.inf, "finite"),
])
def test_check_pits_names_the_rule_column_and_row(value: float, rule: str) -> None:
    u = frame(np.full((5, 3), 0.5), ["x", "y", "z"])
    u.iloc[3, 2] = value
    with pytest.raises(DataValidationError) as err:
        check_pits(u)
    assert (err.value.rule, err.value.column) == (rule, "z")
    assert err.value.row == u.index[3].isoformat()
    arr = u.to_numpy()
    with pytest.raises(DataValidationError) as err:
        check_pits(arr)
    assert err.value.rule == rule and err.value.row == 3


def test_check_pits_shapes() -> None:
    with pytest.raises(DataValidationError, match="shape"):
        check_pits(np.full(5, 0.5))
    with pytest.raises(DataValidationError, match="columns"):
        check_pits(np.full((5, 3), 0.5), ncols=2)
    with pytest.raises(DataValidationError, match="rows"):
        check_pits(np.full((1, 2), 0.5))
    with pytest.raises(DataValidationError, match="Series"):
        check_pits(pd.Series([0.5, 0.4]))
    vals, cols, idx = check_pits(np.full((3, 2), 0.5))
    assert vals.flags.writeable and cols == [0, 1] and idx is None
