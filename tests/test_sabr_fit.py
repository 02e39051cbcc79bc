"""Classical SABR calibration: recovery of known parameters, QuantLib's SABRInterpolation as the
bar on the bundled equity surfaces, the EUR swaption cube, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines.sabr import (
    SABRResult,
    equity_smile_frame,
    fit_sabr,
    fit_sabr_quantlib,
    fit_sabr_surface,
    smile_rmse_bp,
)
from hybridrisk import datasets
from hybridrisk.errors import (
    DataValidationError,
    InsufficientDataError,
    ParameterDomainError,
)
from hybridrisk.kernels.sabr import implied_vol
from hybridrisk.results import Summary

# ---------------------------------------------------------------- recovery of known parameters

# (forward, expiry, alpha, beta, rho, nu, vol_type, shift, approx)
CASES = {
    # QuantLib's own SABRInterpolation test smile (the bundled reference parameters)
    "quantlib_reference": (0.039, 1.0, 0.3, 0.6, 0.01, 0.02, "lognormal", 0.0, "hagan"),
    "rho_-0.9_high_nu": (0.03, 2.0, 0.05, 0.5, -0.9, 1.5, "lognormal", 0.0, "hagan"),
    "equity_rho_-0.9": (100.0, 0.25, 0.2, 1.0, -0.9, 2.5, "lognormal", 0.0, "hagan"),
    "rho_0.8_short": (0.02, 1 / 12, 0.03, 0.4, 0.8, 0.9, "lognormal", 0.0, "hagan"),
    "normal_beta0": (0.02, 5.0, 0.006, 0.0, 0.3, 0.6, "normal", 0.0, "hagan"),
    "shifted_normal_negative_forward": (-0.002, 2.0, 0.012, 0.3, -0.4, 0.5, "normal", 0.03,
                                        "hagan"),
    "floch_kennedy": (0.05, 3.0, 0.1, 0.7, -0.5, 0.8, "lognormal", 0.0, "floch_kennedy"),
}


def _smile(case: tuple) -> tuple[np.ndarray, np.ndarray]:
    f, t, a, b, r, n, vt, s, ap = case
    if case == CASES["quantlib_reference"]:
        k = datasets.sabr_hagan_reference()["strike"].to_numpy()
    elif vt == "normal":
        k = f + np.linspace(-0.015, 0.02, 13)
    else:
        k = f * np.exp(np.linspace(-0.8, 0.8, 15) * min(1.0, 0.5 * math.sqrt(t) + 0.2))
    return k, implied_vol(f, k, t, a, b, r, n, vt, s, ap).numpy()


@pytest.mark.parametrize("name", list(CASES))
def test_recovers_generating_parameters(name: str) -> None:
    case = CASES[name]
    f, t, a, b, r, n, vt, s, ap = case
    k, v = _smile(case)
    res = fit_sabr(k, v, f, t, beta=b, vol_type=vt, shift=s, approx=ap)
    np.testing.assert_allclose(res.params[["alpha", "rho", "nu"]], [a, r, n], rtol=0, atol=5e-8)
    assert res.params["beta"] == b
    assert res.rmse_bp < 1e-6
    # no starting guess: the quotes' order changes nothing
    perm = np.random.default_rng(1).permutation(k.size)
    again = fit_sabr(k[perm], v[perm], f, t, beta=b, vol_type=vt, shift=s, approx=ap)
    np.testing.assert_allclose(again.params, res.params, rtol=0, atol=5e-8)


def test_free_beta_recovers_all_four() -> None:
    f, t, a, b, r, n = 0.03, 2.0, 0.05, 0.5, -0.4, 0.6
    k = f * np.exp(np.linspace(-1.2, 1.2, 25))
    v = implied_vol(f, k, t, a, b, r, n).numpy()
    res = fit_sabr(k, v, f, t, beta=None)
    np.testing.assert_allclose(res.params, [a, b, r, n], rtol=0, atol=5e-8)
    assert not res.beta_fixed and res.num_params == 4


# ---------------------------------------------------------------- never worse than QuantLib


@pytest.mark.parametrize("surface", ["andreasen_huge", "dax"])
def test_never_worse_than_quantlib_sabr_interpolation(surface: str) -> None:
    """Every expiry, beta = 1, equal weights (QuantLib: vegaWeighted=False).

    Both parameter sets are scored by the same vol formula (ours; it equals QuantLib's to 1e-12
    where QuantLib's rounding allows): our RMSE is never above QuantLib's + 1e-12 bp. With each
    side's own formula the gap is bounded by QuantLib's rounding near z = 0 (1e-9 bp here).
    """
    frame = equity_smile_frame(surface)
    table = fit_sabr_surface(frame, beta=1.0)
    assert len(table) == frame["expiry"].nunique()
    for t, g in frame.groupby("expiry"):
        args = (g["strike"], g["vol"], float(g["forward"].iloc[0]), float(t))
        q = fit_sabr_quantlib(*args, beta=1.0)
        ours_bp = table.loc[t, "rmse_bp"]
        theirs_bp = smile_rmse_bp(q.params, *args)
        assert ours_bp <= theirs_bp + 1e-12, (surface, t, ours_bp, theirs_bp)
        assert ours_bp <= q.rmse_bp + 1e-9, (surface, t, ours_bp, q.rmse_bp)


def test_equity_forwards_follow_the_data() -> None:
    ah = equity_smile_frame("andreasen_huge")
    assert np.all(ah["forward"] == 2772.7)  # zero rates and dividends in the source
    dax = equity_smile_frame("dax")
    raw = datasets.dax_vol_surface()
    t = raw["days_to_maturity"] / 365.0
    expected = np.sort(np.unique(raw["spot"] * np.exp(raw["zero_rate_act365"] * t)))
    np.testing.assert_allclose(np.sort(dax["forward"].unique()), expected, rtol=1e-15)


# ---------------------------------------------------------------- the EUR swaption cube

_YEARS = {"1M": 1 / 12, "3M": 0.25, "6M": 0.5, "1Y": 1.0, "2Y": 2.0, "5Y": 5.0}


@pytest.mark.parametrize("forward", [0.0, 0.01])
def test_eur_cube_calibrates_every_smile(forward: float) -> None:
    """Normal SABR (beta = 0), shift 3%, all 18 smiles of the 2016-02-29 cube.

    The cube gives strikes as offsets from the ATM forward but not the forward itself (nor
    expiry dates: the labels are read as 1/12, 1/4, 1/2, 1, 2, 5 years). Normal SABR with
    beta = 0 depends on the forward level only through QuantLib's log-moneyness form of
    ``K - F``, so each smile is calibrated at two placeholder forwards, 0% and 1%.
    Against QuantLib (at the 0% forward) both use QuantLib's effective beta: its
    SABRInterpolation replaces a fixed beta = 0 by 1e-7.
    """
    cube = datasets.eur_swaption_cube()
    for (expiry, tenor), g in cube.groupby(["expiry", "swap_tenor"]):
        k = forward + g["strike_offset_from_atm"].to_numpy()
        v = g["normal_vol"].to_numpy()
        res = fit_sabr(k, v, forward, _YEARS[expiry], beta=0.0, vol_type="normal", shift=0.03)
        p = res.params
        assert p["alpha"] > 0 and -1 < p["rho"] < 1 and p["nu"] >= 0, (expiry, tenor)
        assert np.isfinite(res.residuals).all()
        assert res.rmse_bp < 4.0, (expiry, tenor, res.rmse_bp)  # normal-vol bp; ATM ~14-70 bp
        if forward != 0.0:
            continue
        q = fit_sabr_quantlib(k, v, forward, _YEARS[expiry], beta=0.0, vol_type="normal",
                              shift=0.03)
        assert q.params["beta"] == 1e-7
        same = fit_sabr(k, v, forward, _YEARS[expiry], beta=1e-7, vol_type="normal", shift=0.03)
        theirs = smile_rmse_bp(q.params, k, v, forward, _YEARS[expiry], vol_type="normal",
                               shift=0.03)
        assert same.rmse_bp <= theirs + 1e-12, (expiry, tenor, same.rmse_bp, theirs)


# ---------------------------------------------------------------- result object


def test_result_summary_and_smile() -> None:
    k, v = _smile(CASES["rho_-0.9_high_nu"])
    res = fit_sabr(k, v, 0.03, 2.0, beta=0.5, weights=np.linspace(1.0, 2.0, k.size))
    assert isinstance(res, SABRResult)
    assert list(res.params.index) == ["alpha", "beta", "rho", "nu"]
    assert list(res.residuals.index) == list(k) and res.residuals.name == "residual_bp"
    assert res.nobs == k.size
    s = res.summary()
    assert isinstance(s, Summary)
    text = str(s)
    assert "SABR" in text and "rho" in text and "RMSE (vol bp)" in text
    np.testing.assert_allclose(res.implied_vol(k), v, atol=1e-12)


def test_fit_sabr_surface_table() -> None:
    frame = pd.DataFrame({"T": np.repeat([0.5, 1.0], 9),
                          "K": np.tile(np.linspace(80, 120, 9), 2), "F": 100.0})
    frame["iv"] = np.concatenate([
        implied_vol(100.0, frame["K"][:9].to_numpy(), 0.5, 0.2, 1.0, -0.5, 0.8).numpy(),
        implied_vol(100.0, frame["K"][9:].to_numpy(), 1.0, 0.22, 1.0, -0.4, 0.6).numpy()])
    table = fit_sabr_surface(frame, expiry="T", strike="K", vol="iv", forward="F", beta=1.0)
    assert list(table.index) == [0.5, 1.0]
    assert {"forward", "alpha", "beta", "rho", "nu", "rmse_bp", "nobs"} <= set(table.columns)
    np.testing.assert_allclose(table[["alpha", "rho", "nu"]].to_numpy(),
                               [[0.2, -0.5, 0.8], [0.22, -0.4, 0.6]], atol=5e-8)


# ---------------------------------------------------------------- bad input

K5 = np.array([0.02, 0.025, 0.03, 0.035, 0.04])
V5 = np.array([0.25, 0.22, 0.2, 0.19, 0.19])


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"vols": np.array([0.25, np.nan, 0.2, 0.19, 0.19])}, DataValidationError, "vols"),
    ({"vols": np.array([0.25, 0.22, -0.2, 0.19, 0.19])}, DataValidationError, "vol > 0"),
    ({"strikes": np.array([-0.01, 0.025, 0.03, 0.035, 0.04])}, DataValidationError, "shift"),
    ({"strikes": K5[:4]}, DataValidationError, "same length"),
    ({"weights": np.ones(3)}, DataValidationError, "same length"),
    ({"strikes": K5[:2], "vols": V5[:2]}, InsufficientDataError, "at least 3"),
    ({"forward": -0.01}, ParameterDomainError, "forward"),
    ({"expiry": 0.0}, ParameterDomainError, "expiry"),
    ({"beta": 1.2}, ParameterDomainError, "beta"),
])
def test_bad_input_raises_clear_errors(kwargs: dict, error: type, match: str) -> None:
    args = {"strikes": K5, "vols": V5, "forward": 0.03, "expiry": 1.0} | kwargs
    with pytest.raises(error, match=match):
        fit_sabr(**args)


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 12), st.integers(3, 12))
def test_mismatched_lengths_always_raise(n_k: int, n_v: int) -> None:
    k = np.linspace(0.02, 0.05, n_k)
    v = np.full(n_v, 0.2)
    if n_k == n_v:
        return
    with pytest.raises(DataValidationError, match="same length"):
        fit_sabr(k, v, 0.03, 1.0)
