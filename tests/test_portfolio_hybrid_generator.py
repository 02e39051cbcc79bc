"""The hybrid generator (LNN-GARCH-t margins with LNN-DCC dependence), the memory-light
derivatives of the torch book, and the campaign's dynamic-dependence and Neural SDE tasks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridrisk.portfolio import (
    Book,
    QuantLibBook,
    TorchBook,
    factor_history,
    market_state,
    read_book,
    sample_book_path,
)
from validation.families.portfolio_scenarios import factor_scale

FACTORS = ["equity:SP500", "equity:NASDAQ", "fx:EUR"]


def _rows(kinds):
    rows = read_book(sample_book_path()).to_frame().reset_index().to_dict("records")
    return [{k: v for k, v in r.items() if v is not None and v == v} for r in rows
            if r["instrument"] in kinds]


@pytest.fixture(scope="module")
def hist():
    return factor_history()


def test_linear_book_derivatives_are_exact(hist):
    market = market_state(hist)
    tb = TorchBook(QuantLibBook(Book(_rows(("equity_index", "fx_spot"))), market, hist.names))
    g, h = (a.numpy() for a in tb.derivatives())
    value = tb.values(np.zeros((1, len(hist.names))))[0].numpy()
    col = {n: j for j, n in enumerate(hist.names)}
    for i, p in enumerate(tb.reference.book):
        a = col[f"equity:{p['underlying']}" if p.instrument == "equity_index"
                else f"fx:{p.currency}"]
        want = np.zeros(len(hist.names))
        want[a] = value[i]  # d(q S0 e^x)/dx = q S0 at x = 0
        np.testing.assert_allclose(g[i], want, rtol=1e-15, atol=0)
        hw = np.zeros((len(hist.names),) * 2)
        hw[a, a] = value[i]  # in the level: gamma = (h - g) / S0^2 = 0 exactly
        np.testing.assert_allclose(h[i], hw, rtol=1e-15, atol=0)


def test_own_row_values_are_the_diagonal_and_derivatives_match_finite_differences(hist):
    market = market_state(hist)
    tb = TorchBook(QuantLibBook(read_book(sample_book_path()), market, hist.names))
    rng = np.random.default_rng(2)
    xs = torch.as_tensor(hist.changes.to_numpy()[rng.integers(0, len(hist.changes),
                                                                tb.n_positions)] * 3.0)
    np.testing.assert_allclose(tb.own_unit_values(xs).numpy(),
                               torch.diagonal(tb.unit_values(xs)).numpy(), rtol=1e-11)
    g, h = (a.numpy() for a in tb.derivatives())
    k, eps = len(hist.names), 1e-6
    for a in range(k):
        up, dn = np.zeros((1, k)), np.zeros((1, k))
        up[0, a], dn[0, a] = eps, -eps
        fd = (tb.values(up) - tb.values(dn)).numpy()[0] / (2 * eps)
        np.testing.assert_allclose(g[:, a], fd, rtol=1e-6, atol=1e-6 * np.abs(g).max())
        gu = tb.derivatives(up[0])[0].numpy()
        gd = tb.derivatives(dn[0])[0].numpy()
        np.testing.assert_allclose(h[:, :, a], (gu - gd) / (2 * eps), rtol=1e-5,
                                   atol=1e-6 * np.abs(h).max())


@pytest.fixture(scope="module")
def generator(hist):
    from validation.families.portfolio_scenarios import fit_hybrid_generator

    return fit_hybrid_generator(hist.changes[FACTORS].iloc[-600:], hidden_size=4, epochs=1,
                                seed=0)


def test_hybrid_generator_is_seeded_bit_for_bit(generator):
    a = generator.generate(200, 5, seed=7)
    assert a.shape == (200, 5, len(FACTORS)) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, generator.generate(200, 5, seed=7))
    assert not np.array_equal(a, generator.generate(200, 5, seed=8))
    x, z = generator.simulate(200, 5, seed=7)
    np.testing.assert_array_equal(x, a)


def test_innovations_have_the_dcc_one_step_correlation(generator):
    n = 20000
    _, z = generator.simulate(n, 1, seed=3)
    r = generator.correlation_next
    got = np.corrcoef(z[:, 0, :], rowvar=False)
    # Monte Carlo sd of a sample correlation: (1 - rho^2) / sqrt(n); 5 sd
    tol = 5 * (1 - r ** 2) / np.sqrt(n) + 1e-12
    assert (np.abs(got - r) <= tol).all(), (got, r)
    assert r[0, 1] > 0.5  # the two equity indices move together


def test_lnn_dcc_block_correlations_start_at_the_one_step_forecast(hist):
    from validation.families.portfolio_scenarios import fit_hybrid_margins
    from validation.families.portfolio_tasks import lnn_dcc_block_correlations

    x = hist.changes[FACTORS].iloc[-600:]
    y = x * factor_scale(FACTORS)
    margins = fit_hybrid_margins(x, hidden_size=4, epochs=1, seed=0)
    z_block = np.random.default_rng(0).standard_normal((4, len(FACTORS)))
    r = lnn_dcc_block_correlations(y, margins, z_block, hidden_size=4, epochs=1, seed=0)
    assert r.shape == (4, 3, 3)
    np.testing.assert_allclose(np.diagonal(r, axis1=1, axis2=2), 1.0, rtol=1e-14)
    assert all(np.linalg.eigvalsh(ri).min() > 0 for ri in r)
    assert not np.allclose(r[0], r[-1])  # the recursion moves with the shocks
