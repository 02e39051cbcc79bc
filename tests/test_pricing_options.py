"""Torch option and swaption pricers vs QuantLib: prices to 1e-10, greeks and DV01 to 1e-6.

Grids are seeded and span calls/puts, strikes within +-2.5 standard deviations of the forward
(in and out of the money), expiries from one day to ten years, and negative forwards and
strikes for Bachelier and shifted Black. Beyond a few standard deviations both libraries'
closed forms cancel to rounding noise (QuantLib's puts use 1 - N(d)), so no library is a
reference there.
"""

from __future__ import annotations

import numpy as np
import pytest
import QuantLib as ql
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridrisk.errors import ConfigError, DataValidationError, ParameterDomainError
from hybridrisk.pricing.eur_curves import bootstrap_eur_curves
from hybridrisk.pricing.options import (
    TorchSwaptions,
    bachelier,
    black76,
    black_scholes,
    option_greeks,
    swaption,
)
from hybridrisk.pricing.quantlib_options import (
    quantlib_bachelier,
    quantlib_black76,
    quantlib_black_scholes,
    quantlib_swaptions,
    swaption_legs,
)

PRICE_RTOL = 1e-10
GREEK_RTOL = 1e-6
GREEKS = ("delta", "gamma", "vega", "vanna", "volga")
N = 250


def max_rel(a: torch.Tensor | np.ndarray, b: np.ndarray) -> float:
    a = a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def assert_matches(ours: dict, ref, columns=("price", *GREEKS)) -> None:
    for col in columns:
        tol = PRICE_RTOL if col == "price" else GREEK_RTOL
        assert max_rel(ours[col], ref[col].to_numpy()) < tol, col


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20160229)


@pytest.fixture(scope="module")
def curves():
    return bootstrap_eur_curves()


def moneyness_grid(rng, n, lo_vol, hi_vol):
    """Expiries 1 day..10 years, strikes +-2.5 std around the forward, calls and puts."""
    t = rng.integers(1, 3651, n) / 365.0
    vol = rng.uniform(lo_vol, hi_vol, n)
    z = rng.uniform(-2.5, 2.5, n)
    call = rng.random(n) < 0.5
    return t, vol, z, call


def test_black_scholes_matches_analytic_european_engine(rng):
    days = rng.integers(1, 3651, N)
    _, vol, z, call = moneyness_grid(rng, N, 0.05, 0.8)
    spot = rng.uniform(20, 200, N)
    rate, div = rng.uniform(-0.01, 0.08, N), rng.uniform(-0.01, 0.05, N)
    t = days / 365.0
    strike = spot * np.exp((rate - div) * t + z * vol * np.sqrt(t))
    ref = quantlib_black_scholes(spot, strike, days, vol, rate, div, call)
    np.testing.assert_array_equal(ref.expiry, t)  # QuantLib's Act/365F year fraction
    ours = option_greeks(black_scholes, "spot", spot=spot, strike=strike, expiry=t, vol=vol,
                         rate=rate, dividend=div, call=call)
    assert_matches(ours, ref)


def test_black76_and_shifted_black_match_black_calculator(rng):
    t, vol, z, call = moneyness_grid(rng, N, 0.05, 0.8)
    fwd = rng.uniform(-0.01, 0.05, N)
    shift = np.where(fwd > 0.005, 0.0, rng.uniform(0.01, 0.03, N))  # negative ones shifted
    strike = (fwd + shift) * np.exp(z * vol * np.sqrt(t)) - shift
    disc = np.exp(-rng.uniform(-0.01, 0.05, N) * t)
    assert (fwd < 0).sum() > 20 and (strike < 0).sum() > 20
    ref = quantlib_black76(fwd, strike, t, vol, disc, call, shift=shift)
    ours = option_greeks(black76, "forward", forward=fwd, strike=strike, expiry=t, vol=vol,
                         discount=disc, call=call, shift=shift)
    assert_matches(ours, ref)
    # ql.blackFormula agrees with BlackCalculator, and QuantLib's analytic vanna with ours
    for i in range(0, N, 25):
        kind = ql.Option.Call if call[i] else ql.Option.Put
        std = vol[i] * np.sqrt(t[i])
        p = ql.blackFormula(kind, strike[i], fwd[i], std, disc[i], shift[i])
        assert abs(p / ours["price"][i].item() - 1) < PRICE_RTOL
        calc = ql.BlackCalculator(ql.PlainVanillaPayoff(kind, strike[i] + shift[i]),
                                  fwd[i] + shift[i], std, disc[i])
        assert abs(calc.vanna(fwd[i] + shift[i], t[i]) / ours["vanna"][i].item() - 1) < 1e-10


def test_bachelier_matches_bachelier_calculator(rng):
    t, vol, z, call = moneyness_grid(rng, N, 0.001, 0.02)
    fwd = rng.uniform(-0.02, 0.04, N)
    strike = fwd + z * vol * np.sqrt(t)
    disc = np.exp(-rng.uniform(-0.01, 0.05, N) * t)
    ref = quantlib_bachelier(fwd, strike, t, vol, disc, call)
    ours = option_greeks(bachelier, "forward", forward=fwd, strike=strike, expiry=t, vol=vol,
                         discount=disc, call=call)
    assert_matches(ours, ref)
    for i in range(0, N, 25):
        kind = ql.Option.Call if call[i] else ql.Option.Put
        p = ql.bachelierBlackFormula(kind, strike[i], fwd[i], vol[i] * np.sqrt(t[i]), disc[i])
        assert abs(p / ours["price"][i].item() - 1) < PRICE_RTOL


@pytest.mark.parametrize("model", ["normal", "black"])
def test_swaptions_match_quantlib_engines_on_the_eur_curves(curves, rng, model):
    atm = curves.atm_swaptions()
    n = 40
    pick = rng.integers(0, len(atm), n)
    e, tenor = atm.expiry.to_numpy()[pick], atm.tenor.to_numpy()[pick]
    fwd, t = atm.forward.to_numpy()[pick], atm.expiry_time.to_numpy()[pick]
    payer = rng.random(n) < 0.5
    z = rng.uniform(-2.5, 2.5, n)
    if model == "normal":
        vol, shift = rng.uniform(0.001, 0.008, n), 0.0
        strike = fwd + z * vol * np.sqrt(t)
    else:
        vol, shift = rng.uniform(0.1, 0.6, n), 0.02
        strike = (fwd + shift) * np.exp(z * vol * np.sqrt(t)) - shift
    assert (fwd < 0).any() and (strike < 0).any()
    ref = quantlib_swaptions(curves, e, tenor, strike, vol, payer=payer, model=model,
                             shift=shift, dv01="both")
    book = TorchSwaptions(swaption_legs(curves, e, tenor))
    f, a = book.forward_annuity()
    # QuantLib's fair rate is K - NPV / annuity: rounding of order 1e-16 * |K|
    np.testing.assert_allclose(f.numpy(), ref.forward, rtol=0, atol=1e-15)
    np.testing.assert_allclose(a.numpy(), ref.annuity, rtol=1e-14)
    np.testing.assert_array_equal(book.expiry.numpy(), ref.expiry_time)
    price = book.price(strike, vol, payer=payer, model=model, shift=shift)
    assert max_rel(price, ref.price.to_numpy()) < PRICE_RTOL
    # the engines' analytic vega and forward delta (annuity times Black/Bachelier delta)
    g = option_greeks(swaption, "forward", forward=f, strike=strike, expiry=book.expiry,
                      vol=vol, annuity=a, payer=payer, model=model, shift=shift)
    assert max_rel(g["vega"], ref.vega.to_numpy()) < GREEK_RTOL
    assert max_rel(g["delta"], ref.delta.to_numpy()) < GREEK_RTOL
    # DV01: parallel zero-rate shift of both curves, of the discount or the forward curve only
    dv01 = book.dv01(strike, vol, payer=payer, model=model, shift=shift, curve="both")
    assert max_rel(dv01, ref.dv01.to_numpy()) < GREEK_RTOL
    for curve in ("discount", "forward"):
        sub = slice(0, 12)
        r = quantlib_swaptions(curves, e[sub], tenor[sub], strike[sub], vol[sub],
                               payer=payer[sub], model=model, shift=shift, dv01=curve)
        ours = book.dv01(strike, vol, payer=payer, model=model, shift=shift, curve=curve)
        assert max_rel(ours[sub], r.dv01.to_numpy()) < GREEK_RTOL, curve


def test_zero_vol_or_expiry_is_discounted_intrinsic():
    fwd, strike = np.array([0.03, 0.01, -0.01]), np.array([0.02, 0.02, 0.0])
    for call in (True, False):
        kind = ql.Option.Call if call else ql.Option.Put
        for vol, t in ((0.0, 1.0), (0.2, 0.0)):
            p = black76(fwd[:2], strike[:2], t, vol, 0.9, call=call)
            ref = [ql.blackFormula(kind, k, f, 0.0, 0.9)
                   for f, k in zip(fwd[:2], strike[:2], strict=True)]
            np.testing.assert_allclose(p.numpy(), ref, rtol=0, atol=1e-17)
            p = bachelier(fwd, strike, t, vol / 50, 0.9, call=call)
            ref = [ql.bachelierBlackFormula(kind, k, f, 0.0, 0.9)
                   for f, k in zip(fwd, strike, strict=True)]
            np.testing.assert_allclose(p.numpy(), ref, rtol=0, atol=1e-17)


def test_greeks_are_per_option_under_broadcasting():
    strikes = torch.tensor([80.0, 100.0, 120.0])
    g = option_greeks(black_scholes, "spot", spot=100.0, strike=strikes, expiry=1.0, vol=0.2)
    one = option_greeks(black_scholes, "spot", spot=100.0, strike=120.0, expiry=1.0, vol=0.2)
    assert g["delta"].shape == (3,)
    assert g["delta"][2].item() == pytest.approx(one["delta"].item(), rel=1e-15)
    assert black_scholes(torch.tensor(100.0, dtype=torch.float32), 100.0, 1.0, 0.2).dtype == \
        torch.float64


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: black_scholes(100.0, 100.0, 1.0, [0.2, -0.1]), ParameterDomainError,
         r"vol\[1\].*vol >= 0"),
        (lambda: black76(0.02, 0.02, -1.0, 0.2), ParameterDomainError, "expiry >= 0"),
        (lambda: bachelier([0.01, float("nan")], 0.0, 1.0, 0.01), DataValidationError,
         r"finite.*forward\[1\]"),
        (lambda: black76(-0.002, 0.01, 1.0, 0.3), ParameterDomainError,
         "forward \\+ shift > 0"),
        (lambda: black76(0.01, -0.02, 1.0, 0.3, shift=0.01), ParameterDomainError,
         "strike \\+ shift > 0"),
        (lambda: black_scholes(-1.0, 100.0, 1.0, 0.2), ParameterDomainError, "spot > 0"),
        (lambda: black76(0.02, 0.02, 1.0, 0.2, discount=0.0), ParameterDomainError,
         "discount > 0"),
        (lambda: swaption(0.01, 0.01, 1.0, 0.005, annuity=-1.0), ParameterDomainError,
         "annuity > 0"),
        (lambda: swaption(0.01, 0.01, 1.0, 0.005, 1.0, model="sabr"), ConfigError, "model"),
        (lambda: black76(0.02, 0.02, 1.0, 0.2, call=1), ConfigError, "booleans"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_dv01_curve_raises(curves):
    book = TorchSwaptions(swaption_legs(curves, "1Y", "5Y"))
    with pytest.raises(ConfigError, match="curve"):
        book.dv01(0.0, 0.005, curve="eonia")
    with pytest.raises(ConfigError, match="dv01"):
        quantlib_swaptions(curves, "1Y", "5Y", 0.0, 0.005, dv01="eonia")


finite = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=150, deadline=None)
@given(
    s=st.floats(1.0, 500.0, **finite), m=st.floats(-1.5, 1.5, **finite),
    t=st.floats(0.0, 30.0, **finite), v=st.floats(0.0, 2.0, **finite),
    r=st.floats(-0.05, 0.2, **finite), q=st.floats(-0.05, 0.2, **finite),
)
def test_put_call_parity_black_scholes(s, m, t, v, r, q):
    k = s * np.exp(m)
    c = black_scholes(s, k, t, v, r, q, call=True).item()
    p = black_scholes(s, k, t, v, r, q, call=False).item()
    assert c - p == pytest.approx(s * np.exp(-q * t) - k * np.exp(-r * t), abs=1e-12 * (s + k))


@settings(max_examples=150, deadline=None)
@given(
    f=st.floats(-0.05, 0.1, **finite), k=st.floats(-0.05, 0.1, **finite),
    t=st.floats(0.0, 30.0, **finite), v=st.floats(0.0, 0.03, **finite),
    d=st.floats(0.3, 1.1, **finite), sv=st.floats(0.01, 1.0, **finite),
)
def test_put_call_parity_bachelier_and_shifted_black(f, k, t, v, d, sv):
    scale = abs(f) + abs(k) + 0.06
    c, p = (bachelier(f, k, t, v, d, call=x).item() for x in (True, False))
    assert c - p == pytest.approx(d * (f - k), abs=1e-12 * scale)
    c, p = (black76(f, k, t, sv, d, call=x, shift=0.06).item() for x in (True, False))
    assert c - p == pytest.approx(d * (f - k), abs=1e-12 * scale)
