"""``baselines.fit_dcc`` against the stored external DCC reference.

``tests/results/dcc_reference.json`` was produced without any project code
(``tests/results/make_dcc_reference.py``): stage 1 by ``arch``, stage 2 by a base-R
implementation of Engle's (2002) likelihood (``tests/results/dcc_stage2.R``), corroborated by the
PyPI package ``mvgarch`` on the same standardised residuals. Provenance: tests/results/README.md.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import arch
import numpy as np
import pandas as pd
import pytest

from baselines import DCCResult, dcc_loglik, fit_dcc
from hybridrisk import datasets

RESULTS = Path(__file__).parent / "results"
REF: dict[str, Any] = json.loads((RESULTS / "dcc_reference.json").read_text())
# stage 1 is bit-identical only under the arch version that produced the reference
SAME_ARCH = arch.__version__ == REF["generator"]["arch"]
TOL: dict[str, float] = REF["tolerances"]["same_arch" if SAME_ARCH else "other_arch"]
Z_FILE = RESULTS / REF["data"]["std_resid_file"]


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    cols = [datasets.sp500_returns(), datasets.nasdaq_returns()]
    return pd.concat(cols, axis=1, join="inner")


@pytest.fixture(scope="module")
def z_ref() -> pd.DataFrame:
    return pd.read_csv(Z_FILE, index_col="date", parse_dates=True)


@pytest.fixture(scope="module", params=["normal", "t"])
def fitted(request: pytest.FixtureRequest, returns: pd.DataFrame) -> tuple[str, DCCResult]:
    return request.param, fit_dcc(returns, dist=request.param)


def test_data_slice_is_the_reference_one(returns: pd.DataFrame, z_ref: pd.DataFrame) -> None:
    d = REF["data"]
    assert list(returns.columns) == d["columns"] == list(z_ref.columns)
    assert returns.shape[0] == d["nobs"] == z_ref.shape[0]
    assert returns.index[0] == pd.Timestamp(d["first_date"])
    assert returns.index[-1] == pd.Timestamp(d["last_date"])
    assert returns.index.equals(z_ref.index)
    np.testing.assert_allclose(returns.sum().to_numpy(), d["sum"], rtol=1e-12)
    np.testing.assert_allclose((returns**2).sum().to_numpy(), d["sum_sq"], rtol=1e-12)
    assert hashlib.sha256(Z_FILE.read_bytes()).hexdigest() == d["std_resid_sha256"]


def test_stage1_matches_arch(fitted: tuple[str, DCCResult], z_ref: pd.DataFrame) -> None:
    _, res = fitted
    for c in z_ref.columns:
        uni = REF["stage1"][c]
        got = res.univariate[c]
        assert got.loglik == pytest.approx(uni["loglik"], rel=TOL["loglik_rel"])
        names = list(uni["params"])
        np.testing.assert_allclose(got.params[names].to_numpy(), list(uni["params"].values()),
                                   rtol=TOL["stage1_params_rel"])
    np.testing.assert_allclose(res.std_resid.to_numpy(), z_ref.to_numpy(), rtol=0,
                               atol=TOL["std_resid_abs"])


def test_fit_dcc_matches_reference(fitted: tuple[str, DCCResult]) -> None:
    dist, res = fitted
    ref = REF[dist]
    assert res.converged
    assert res.params["a"] == pytest.approx(ref["a"], abs=TOL["a_b_abs"])
    assert res.params["b"] == pytest.approx(ref["b"], abs=TOL["a_b_abs"])
    if dist == "t":
        assert res.params["nu"] == pytest.approx(ref["nu"], rel=TOL["nu_rel"])
    assert res.loglik == pytest.approx(ref["loglik"], rel=TOL["loglik_rel"])
    assert res.loglik_correlation == pytest.approx(ref["loglik_correlation"],
                                                   rel=TOL["loglik_rel"])


@pytest.mark.parametrize("dist", ["normal", "t"])
def test_stage2_loglik_on_the_same_residuals(dist: str, z_ref: pd.DataFrame) -> None:
    """Our likelihood function at R's optimum, on R's very input, gives R's value."""
    ref = REF[dist]
    got = dcc_loglik(ref["a"], ref["b"], z_ref.to_numpy(), dist=dist, nu=ref.get("nu"))
    assert got == pytest.approx(ref["stage2_loglik"], rel=TOL["stage2_loglik_same_z_rel"])


def test_qbar_cov_convention_r_and_mvgarch(z_ref: pd.DataFrame) -> None:
    """With mvgarch's Qbar = cov(z): our likelihood equals R's and mvgarch's at their optima."""
    z = z_ref.to_numpy()
    qbar = np.cov(z, rowvar=False)
    block = REF["qbar_cov"]
    r_ref, mv = block["R_normal"], block["mvgarch_normal"]
    got = dcc_loglik(r_ref["a"], r_ref["b"], z, qbar=qbar)
    assert got == pytest.approx(r_ref["stage2_loglik"], rel=TOL["stage2_loglik_same_z_rel"])
    assert got == pytest.approx(mv["loglik_at_r_optimum"], rel=TOL["stage2_loglik_same_z_rel"])
    for fit, tol in ((mv["tight_fit"], TOL["mvgarch_tight_a_b_abs"]),
                     (mv["default_fit"], TOL["mvgarch_default_a_b_abs"])):
        got = dcc_loglik(fit["a"], fit["b"], z, qbar=qbar)
        assert got == pytest.approx(fit["loglik"], rel=TOL["stage2_loglik_same_z_rel"])
        assert got <= r_ref["stage2_loglik"] + 1e-9 * abs(r_ref["stage2_loglik"])
        assert fit["a"] == pytest.approx(r_ref["a"], abs=tol)
        assert fit["b"] == pytest.approx(r_ref["b"], abs=tol)
