"""Full revaluation in torch against QuantLib, the fast cash-flow grid against TorchPricer, and
greeks by autograd against QuantLib's analytic greeks and bump-and-reprice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridrisk.portfolio import (
    QuantLibBook,
    TorchBook,
    delta_gamma_pnl,
    factor_history,
    market_state,
    position_greeks,
    quantlib_greeks,
    read_book,
    sample_book_path,
)
from hybridrisk.pricing import TorchPricer, cashflow_table, tent_weights


@pytest.fixture(scope="module")
def setup():
    hist = factor_history()
    market = market_state(hist)
    ref = QuantLibBook(read_book(sample_book_path()), market, hist.names)
    return hist, ref, TorchBook(ref)


def test_factor_history_is_aligned_and_says_what_stands_in():
    hist = factor_history()
    assert not hist.changes.isna().any().any()
    assert hist.changes.index[0].isoformat()[:10] == "1999-01-06"
    assert hist.changes.index[-1].isoformat()[:10] == "2018-12-31"
    info = hist.stand_ins.iloc[0]
    assert info["factor"] == "vol:SP500" and info["to"] == "2014-01-02"
    assert 0 < info["r2"] < 1
    ext = factor_history(extended=True)
    after = ext.changes.loc["2019-01-02":]
    assert after["equity:SP500"].isna().all() and after["rate:10Y"].notna().all()
    assert after["fx:EUR"].notna().all()


def test_market_state_curve_fits_the_gsw_yields(setup):
    _, ref, _ = setup
    assert ref.market.nss_rmse_bp < 0.5
    assert str(ref.market.date.date()) == "2018-12-31"


def test_torch_equals_quantlib_at_the_base_state_and_on_scenarios(setup):
    hist, ref, tb = setup
    rng = np.random.default_rng(11)
    x = hist.changes.to_numpy()[rng.integers(0, len(hist.changes), 24)] * 5.0
    x = np.vstack([np.zeros(len(hist.names)), x])
    want = ref.values(x)
    got = tb.values(x).numpy()
    rel = np.abs(got - want) / np.abs(want)
    assert rel.max() < 1e-10, rel.max()
    np.testing.assert_allclose(tb.values(x, chunk=7).numpy(), got, rtol=1e-14)


def test_cashflow_grid_equals_torch_pricer_on_shifted_curves(setup):
    hist, ref, tb = setup
    idx = [i for i, p in enumerate(ref.book) if p.instrument in ("zero_bond", "fixed_bond",
                                                                  "swap")]
    with ref.evaluation():
        pricer = TorchPricer([cashflow_table(ref.instruments[i], ref.curve) for i in idx])
    rng = np.random.default_rng(3)
    x = hist.changes.to_numpy()[rng.integers(0, len(hist.changes), 16)] * 10.0
    keys = torch.as_tensor(ref.key_times)
    cols = tb.rate_cols
    params = torch.as_tensor(ref.market.nss).expand(len(x), 6)
    xt = torch.as_tensor(x)
    slow = pricer.price(params, shift=lambda t: (tent_weights(t, keys) @ xt[:, cols].T).T)
    fast = tb.unit_values(xt)[:, idx]
    # unit notional: an absolute 1e-13 is a relative 1e-13 of the notional
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-12, atol=1e-13)


def test_greeks_by_autograd_equal_quantlib(setup):
    _, ref, tb = setup
    got, want = position_greeks(tb), quantlib_greeks(ref)
    assert list(got.columns) == list(want.columns)
    scale = want.abs().max()
    for col in want.columns:
        mask = want[col].abs() > 1e-9 * scale[col]
        rel = ((got[col] - want[col]).abs() / want[col].abs())[mask]
        assert rel.max() < 1e-6, (col, rel.idxmax(), rel.max())
        assert (got[col][~mask].abs() <= 1e-6 * scale[col] + 1e-12).all(), col
    krd = got.filter(like="krd:").sum(axis=1)
    np.testing.assert_allclose(krd, got["dv01"], rtol=1e-12)


def test_delta_gamma_error_is_third_order(setup):
    hist, _, tb = setup
    g, h = tb.derivatives()
    rng = np.random.default_rng(5)
    x = hist.changes.to_numpy()[rng.integers(0, len(hist.changes), 200)]
    base = tb.values(np.zeros((1, len(hist.names)))).numpy()
    errs = []
    for s in (4.0, 2.0):
        full = (tb.values(s * x).numpy() - base).sum(axis=1)
        dg = delta_gamma_pnl(g, h, s * x).sum(axis=1)
        errs.append(np.abs(full - dg).max())
    assert errs[1] / errs[0] < 0.2  # ~1/8 for an O(x^3) error
