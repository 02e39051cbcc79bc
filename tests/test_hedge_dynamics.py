"""Minimum-variance deltas from a GJR-GARCH model's vol response, against a QuantLib-priced
brute force, the recursion's own term structure and the no-response limit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql
from scipy.stats import t as student_t

from hybridrisk.errors import DataValidationError
from validation.families.bs_greeks import YEAR, bs_call
from validation.families.hedge_dynamics import average_variance, min_variance_deltas

PARAMS = {"omega": 0.02, "alpha[1]": 0.03, "gamma[1]": 0.15, "beta[1]": 0.88, "nu": 6.0,
          "mu": 0.05}


def _model(n: int, variance: float | np.ndarray, **over: float) -> pd.DataFrame:
    frame = pd.DataFrame({"variance": variance, **{**PARAMS, **over}},
                         index=pd.bdate_range("2018-01-02", periods=n))
    return frame


def test_average_variance_is_the_mean_of_the_recursions_forecasts():
    omega, phi = np.array([0.02, 0.05]), np.array([0.97, 1.0])
    h, m = np.array([1.3, 0.4]), np.array([21, 5])
    got = average_variance(h, m, omega, phi)
    for i in range(2):
        path, x = [], h[i]
        for _ in range(m[i]):
            path.append(x)
            x = omega[i] + phi[i] * x  # E[h_{k+1}] = omega + phi E[h_k]
        assert got[i] == pytest.approx(np.mean(path), rel=1e-14)
    assert average_variance(h, np.array([0, 3]), omega, phi)[0] == 0.0


def _ql_call(s: float, k: float, tau: float, vol: float) -> float:
    payoff = ql.PlainVanillaPayoff(ql.Option.Call, k)
    if tau <= 0:
        return max(s - k, 0.0)
    return ql.BlackCalculator(payoff, s, vol * np.sqrt(tau), 1.0).value()


@pytest.mark.parametrize("days_left", [21, 7, 1])
def test_delta_equals_a_brute_force_regression_on_quantlib_prices(days_left):
    s, k, iv, h1, n_grid = 2500.0, 2450.0, 0.18, 1.1, 41
    model = _model(1, h1)
    got = min_variance_deltas(np.array([s]), np.array([k]), np.array([days_left]),
                              np.array([iv]), model, n_grid=n_grid)[0]
    p = PARAMS
    nu = p["nu"]
    z = student_t.ppf((np.arange(n_grid) + 0.5) / n_grid, nu) * np.sqrt((nu - 2) / nu)
    phi = p["alpha[1]"] + p["gamma[1]"] / 2 + p["beta[1]"]

    def avg(h, m):  # mean of E[h_{t+j}], j < m, by the recursion itself
        out, x = [], h
        for _ in range(m):
            out.append(x)
            x = p["omega"] + phi * x
        return np.mean(out)

    s1, c1 = [], []
    for zj in z:
        eps = np.sqrt(h1) * zj
        h2 = p["omega"] + (p["alpha[1]"] + p["gamma[1]"] * (eps < 0)) * eps**2 \
            + p["beta[1]"] * h1
        vol = iv * np.sqrt(avg(h2, days_left - 1) / avg(h1, days_left)) if days_left > 1 \
            else iv
        x = s * np.exp((p["mu"] + eps) / 100)
        s1.append(x)
        c1.append(_ql_call(x, k, (days_left - 1) / YEAR, vol))
    want = np.cov(c1, s1)[0, 1] / np.var(s1, ddof=1)
    assert got == pytest.approx(want, rel=1e-10)


def test_without_a_vol_response_and_a_small_move_it_is_the_black_scholes_delta():
    s, k, iv = np.array([2500.0, 2500.0]), np.array([2400.0, 2600.0]), np.array([0.2, 0.2])
    model = _model(2, 1e-6, **{"omega": 0.0, "alpha[1]": 0.0, "gamma[1]": 0.0, "beta[1]": 1.0,
                               "mu": 0.0})
    got = min_variance_deltas(s, k, np.array([10, 10]), iv, model)
    want = bs_call(s, k, 9 / YEAR, iv)["delta"]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_leverage_lowers_a_calls_delta_and_more_with_a_stronger_leverage_term():
    s, k, iv = np.full(3, 2500.0), np.full(3, 2500.0), np.full(3, 0.2)
    none = min_variance_deltas(s, k, np.full(3, 15), iv, _model(
        3, 1.0, **{"alpha[1]": 0.0, "gamma[1]": 0.0, "beta[1]": 0.98}))
    weak = min_variance_deltas(s, k, np.full(3, 15), iv, _model(3, 1.0, **{"gamma[1]": 0.05}))
    strong = min_variance_deltas(s, k, np.full(3, 15), iv, _model(3, 1.0))
    assert (strong < weak).all() and (weak < none).all()


def test_bad_model_frames_are_refused_naming_the_problem():
    s, k, iv, m = (np.array([2500.0]),) * 2 + (np.array([0.2]), np.array([5]))
    with pytest.raises(DataValidationError, match="nu"):
        min_variance_deltas(s, k, m, iv, _model(1, 1.0).drop(columns="nu"))
    with pytest.raises(DataValidationError, match="nu"):
        min_variance_deltas(s, k, m, iv, _model(1, 1.0, nu=2.0))
    with pytest.raises(DataValidationError, match="2018-01-02"):
        min_variance_deltas(s, k, m, iv, _model(1, np.nan))
    with pytest.raises(DataValidationError, match="days_left"):
        min_variance_deltas(s, k, np.array([0]), iv, _model(1, 1.0))
