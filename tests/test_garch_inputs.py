"""fit_garch takes what arch takes where dates do not matter: arrays, lists, any index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

import baselines.garch as garch
from hybridrisk import datasets
from hybridrisk.errors import DataValidationError, InsufficientDataError


@pytest.fixture(scope="module")
def r() -> pd.Series:
    return datasets.sp500_returns().iloc[-1500:]


@pytest.mark.parametrize("form", ["ndarray", "list", "range-index", "int-labels", "frame"])
def test_fit_garch_without_dates_equals_arch_and_the_dated_fit(r, form):
    values = r.to_numpy()
    x = {
        "ndarray": values,
        "list": values.tolist(),
        "range-index": pd.Series(values),
        "int-labels": pd.Series(values, index=np.arange(1500) * 7 + 3),  # any labels
        "frame": pd.DataFrame({"SPX": values}),
    }[form]
    res = garch.fit_garch(x, o=1, dist="t")
    dated = garch.fit_garch(r, o=1, dist="t")
    ref = arch_model(values, vol="GARCH", p=1, o=1, q=1, dist="t").fit(disp="off")
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert res.loglik == pytest.approx(ref.loglikelihood, rel=1e-12)
    np.testing.assert_array_equal(res.params.to_numpy(), dated.params.to_numpy())
    np.testing.assert_array_equal(res.conditional_volatility.to_numpy(),
                                  dated.conditional_volatility.to_numpy())
    if isinstance(x, pd.Series | pd.DataFrame):  # the caller's labels are kept
        assert res.resid.index.equals(x.index)
    fc = res.forecast(horizon=2)
    np.testing.assert_array_equal(fc.variance.to_numpy(),
                                  dated.forecast(horizon=2).variance.to_numpy())


def test_fit_garch_still_checks_values_and_dated_order(r):
    bad = r.to_numpy().copy()
    bad[7] = np.nan
    with pytest.raises(DataValidationError, match=r"\[finite\].*position \(7,\)"):
        garch.fit_garch(bad)
    with pytest.raises(InsufficientDataError, match=r"\[min-obs\]"):
        garch.fit_garch(r.to_numpy()[:5])
    with pytest.raises(DataValidationError, match=r"\[shape\]"):
        garch.fit_garch(np.c_[r.to_numpy(), r.to_numpy()])
    with pytest.raises(DataValidationError, match=r"\[sorted-index\]"):
        garch.fit_garch(r.iloc[::-1])  # a DatetimeIndex claims an order: it is checked
