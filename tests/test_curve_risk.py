"""Swaption DV01 off the EUR curve quotes: autograd through the bootstrap vs QuantLib re-bootstrap.

The reference moves the market quotes, bootstraps the curves again in QuantLib and reprices with
QuantLib's swaption engines (central differences on 0.1 bp and 0.05 bp, Richardson-extrapolated).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import QuantLib as ql

from hybridrisk.datasets import eur_curve_quotes
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.pricing.curve_risk import QuoteRisk
from hybridrisk.pricing.eur_curves import bootstrap_eur_curves, curve_nodes
from hybridrisk.pricing.options import TorchSwaptions
from hybridrisk.pricing.quantlib_options import swaption_legs
from hybridrisk.pricing.quantlib_risk import quantlib_quote_dv01

DV01_RTOL = 1e-6


@pytest.fixture(scope="module")
def curves():
    return bootstrap_eur_curves()


@pytest.fixture(scope="module")
def risk(curves):
    return QuoteRisk(curves)


def book_of(curves, model, n, seed):
    """Cube swaptions, payers and receivers, strikes within +-2 std of the forward."""
    rng = np.random.default_rng(seed)
    atm = curves.atm_swaptions()
    pick = rng.permutation(len(atm))[:n]
    e, tenor = atm.expiry.to_numpy()[pick], atm.tenor.to_numpy()[pick]
    fwd, t = atm.forward.to_numpy()[pick], atm.expiry_time.to_numpy()[pick]
    z = rng.uniform(-2.0, 2.0, n)
    payer = rng.random(n) < 0.5
    if model == "normal":
        vol, shift = rng.uniform(0.002, 0.008, n), 0.0
        strike = fwd + z * vol * np.sqrt(t)
    else:
        vol, shift = rng.uniform(0.1, 0.5, n), 0.02
        strike = (fwd + shift) * np.exp(z * vol * np.sqrt(t)) - shift
    args = {"strike": strike, "vol": vol, "payer": payer, "model": model, "shift": shift}
    return e, tenor, args


def test_torch_bootstrap_instruments_reprice_to_their_quotes(risk):
    nodes = curve_nodes()
    expected = nodes.ticker[nodes.curve.isin(["EUR-DSCON-OIS", "EUR-EURIBOR6M-IRS"])]
    assert sorted(risk.tickers) == sorted(expected) and len(risk.tickers) == 25
    assert np.abs(risk.fair_quotes().numpy() - risk.quotes).max() * 1e4 < 1e-9  # bp
    # a sequential bootstrap: each quote depends on its own pillar and the earlier ones
    # (EONIA first, the 6M instruments on EONIA and 6M), so dr/dz is lower-triangular
    jac = risk.jacobian.numpy()
    assert np.all(np.abs(np.diag(jac)) > 0.1)
    assert np.all(np.triu(jac, 1) == 0.0)
    assert np.any(jac[14:, :14] != 0.0)


def test_torch_fair_quotes_follow_a_quantlib_rebootstrap(risk):
    # other quotes, bootstrapped again by QuantLib: the torch instruments on QuantLib's new
    # node zero rates reprice to the new quotes
    moved = risk.quotes + 1e-3 * np.linspace(-1.0, 1.0, len(risk.quotes))
    raw = eur_curve_quotes()
    lookup = dict(zip(risk.tickers, moved, strict=True))
    raw["Value"] = [lookup.get(tk, v) for tk, v in zip(raw.Ticker, raw.Value, strict=True)]
    other = QuoteRisk(bootstrap_eur_curves(raw))
    assert np.max(np.abs(other.zeros.numpy() - risk.zeros.numpy())) > 1e-4
    fair = risk.fair_quotes(other.zeros).numpy()
    np.testing.assert_allclose(fair, moved, rtol=0, atol=1e-13)  # 1e-9 bp


@pytest.mark.parametrize("model", ["normal", "black"])
def test_parallel_quote_dv01_matches_quantlib_rebootstrap(curves, risk, model):
    e, tenor, args = book_of(curves, model, 18, seed=1 if model == "normal" else 2)
    book = TorchSwaptions(swaption_legs(curves, e, tenor))
    ours = risk.swaption_dv01(book, **args).sum(-1).numpy()
    # QuantLib: every node quote of the group moved together (the 3M ones move nothing here)
    ref = quantlib_quote_dv01(e, tenor, **args)
    assert np.max(np.abs(ours / ref - 1)) < DV01_RTOL
    assert np.all(np.abs(ref) > 1e-6)


def test_bucket_quote_dv01_matches_quantlib_rebootstrap(curves, risk):
    e, tenor, args = book_of(curves, "normal", 6, seed=3)
    book = TorchSwaptions(swaption_legs(curves, e, tenor))
    ours = risk.swaption_dv01(book, **args).numpy()
    scale = np.abs(ours.sum(-1))[:, None]
    nonzero = 0
    for j, ticker in enumerate(risk.tickers):
        ref = quantlib_quote_dv01(e, tenor, tickers=[ticker], **args)
        err = np.abs(ours[:, j] - ref)
        assert np.all(err <= DV01_RTOL * np.abs(ref) + 1e-9 * scale[:, 0]), ticker
        nonzero += int(np.sum(np.abs(ref) > 1e-3 * scale[:, 0]))
    assert nonzero > 20  # the buckets compared are not all trivially zero


def test_basis_quotes_do_not_move_euribor6m_swaptions(curves):
    e, tenor, args = book_of(curves, "normal", 4, seed=4)
    nodes = curve_nodes()
    three = list(nodes.ticker[nodes.curve == "EUR-EURIBOR3M-BS"])
    np.testing.assert_array_equal(quantlib_quote_dv01(e, tenor, tickers=three, **args), 0.0)


def test_bad_inputs(curves):
    with pytest.raises(ConfigError, match="EUR-OIS-9M"):
        quantlib_quote_dv01("1Y", "5Y", 0.0, 0.005, tickers=["EUR-OIS-9M"])
    spread = curves.spreaded(ql.SimpleQuote(0.0), ql.SimpleQuote(0.0))
    with pytest.raises(DataValidationError, match="spreaded"):
        QuoteRisk(spread)


def test_cash_flows_past_the_curve_raise(curves, risk):
    legs = swaption_legs(curves, "1Y", "5Y")
    late = replace(legs, fixed_time=[t + 40.0 for t in legs.fixed_time])
    with pytest.raises(DataValidationError, match="extrapolation"):
        risk.swaption_dv01(TorchSwaptions(late), 0.01, 0.005)
