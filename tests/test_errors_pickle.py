"""Errors raised in a worker process reach the campaign intact (they travel pickled)."""

from __future__ import annotations

import pickle

import pytest

from hybridrisk.errors import (
    ConfigError,
    DataValidationError,
    InsufficientDataError,
    NotPositiveDefiniteError,
    NumericalError,
    ParameterDomainError,
)


@pytest.mark.parametrize("err", [
    DataValidationError("finite", "NaN in returns", column="returns", row="2008-09-15"),
    InsufficientDataError("length", "need 500 observations, got 20", column="r"),
    NotPositiveDefiniteError("psd", "correlation matrix is not positive definite"),
    ParameterDomainError("alpha[1] + beta[1]", 1.02, "stationarity (< 1)"),
    ConfigError("unknown dataset 'x'"),
    NumericalError("NaN loss at epoch 3"),
])
def test_round_trip_keeps_type_message_and_fields(err: Exception) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    for field in ("rule", "column", "row", "name", "value"):
        assert getattr(back, field, None) == getattr(err, field, None)


def test_worker_error_crosses_a_process_pool() -> None:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        fut = pool.submit(_raise_domain)
        with pytest.raises(ParameterDomainError, match="stationarity") as info:
            fut.result(timeout=120)
    assert info.value.name == "alpha[1] + beta[1]"


def _raise_domain() -> None:
    raise ParameterDomainError("alpha[1] + beta[1]", 1.02, "stationarity (< 1)")
