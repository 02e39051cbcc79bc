"""Stress tests: replayed windows, static shocks, reverse stress; hedge ratios and hedges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hybridrisk.errors import ConfigError, NumericalError
from hybridrisk.portfolio import (
    WINDOWS,
    QuantLibBook,
    TorchBook,
    apply_shocks,
    factor_history,
    hedge_ratios,
    hypothetical_shocks,
    market_state,
    min_variance_hedge,
    position_greeks,
    read_book,
    replay,
    reverse_stress,
    sample_book_path,
)


@pytest.fixture(scope="module")
def setup():
    hist = factor_history()
    ref = QuantLibBook(read_book(sample_book_path()), market_state(hist), hist.names)
    tb = TorchBook(ref)
    base = tb.values(np.zeros((1, len(hist.names)))).numpy()

    def pnl(x: np.ndarray) -> np.ndarray:
        return (tb.values(np.atleast_2d(x)).numpy() - base).sum(axis=1)

    return hist, ref, tb, pnl


def test_replay_of_the_named_windows(setup):
    hist, _, tb, pnl = setup
    ext = factor_history(extended=True).changes
    g, h = (a.numpy() for a in tb.derivatives())
    out = replay(pnl, g, h, ext)
    assert list(out.index) == list(WINDOWS)
    pieces = out[hist.names + ["residual"]].sum(axis=1)
    np.testing.assert_allclose(pieces, out["full"], rtol=1e-10)
    lehman = ext.loc["2008-09-01":"2008-10-31"].sum().to_numpy()
    assert out.loc["2008-09/10", "full"] == pytest.approx(pnl(lehman)[0], rel=1e-14)
    assert out.loc["2008-09/10", "held_at_zero"] == ""
    assert "equity:SP500" in out.loc["2020-03", "held_at_zero"]
    assert out.loc["2020-03", "equity:SP500"] == 0.0
    assert out.loc["2015-08-24", "days"] == 1
    with pytest.raises(ConfigError, match="outside the data"):
        replay(pnl, g, h, ext, {"1987": ("1987-10-19", "1987-10-19")})


def test_hypothetical_shocks(setup):
    hist, _, tb, pnl = setup
    shocks = hypothetical_shocks(hist.names)
    assert shocks.loc["parallel +100bp"].filter(like="rate:").eq(0.01).all()
    tw = shocks.loc["steepener 25bp"].filter(like="rate:")
    assert tw.iloc[0] == pytest.approx(-25e-4) and tw.iloc[-1] == pytest.approx(25e-4)
    out = apply_shocks(pnl, shocks)
    dv01 = position_greeks(tb)["dv01"].sum()
    # +-100bp: first order -dv01 * 100, the convexity makes the average of the two positive
    up, down = out["parallel +100bp"], out["parallel -100bp"]
    assert (down - up) / 2 == pytest.approx(-100 * dv01, rel=0.05)
    assert out["USD +10%"] < 0  # the book is long foreign currency


def test_reverse_stress_on_a_linear_book_matches_the_closed_form():
    exposure = np.array([3.0, -1.0, 2.0])
    d = np.array([-1.0, 0.5, -0.25])

    def pnl(x: np.ndarray) -> np.ndarray:
        return np.atleast_2d(x) @ exposure

    t, x = reverse_stress(pnl, d, loss=7.0, t_max=10.0)
    assert t == pytest.approx(7.0 / -(exposure @ d), rel=1e-12)
    np.testing.assert_allclose(x, t * d)
    with pytest.raises(NumericalError, match="not reached"):
        reverse_stress(pnl, d, loss=1e6)


def test_reverse_stress_on_the_book(setup):
    hist, _, _, pnl = setup
    d = hypothetical_shocks(hist.names).loc["flight to quality"].to_numpy()
    loss = 0.5 * -pnl(d)[0]
    t, x = reverse_stress(pnl, d, loss=loss, t_max=2.0)
    assert -pnl(x)[0] == pytest.approx(loss, rel=1e-9)
    assert -pnl(0.999 * x)[0] < loss


def test_hedge_ratio_and_minimum_variance_hedge(setup):
    hist, _, tb, pnl = setup
    greeks = position_greeks(tb)
    opts = greeks.loc[["SPX-P2400", "SPX-C2600"]].sum()
    ratios = hedge_ratios(opts, pd.DataFrame({"delta": [1.0], "risk": ["delta"]},
                                             index=["SP500 index unit"]))
    assert ratios.iloc[0] == pytest.approx(-opts["delta"])
    # minimum-variance hedge of the book with the S&P 500 and a 10Y swap, on historical days
    x = hist.changes.to_numpy()[-1000:]
    book = pnl(x)
    j = hist.names.index("equity:SP500")
    spx = tb.reference.market.equities["SP500"] * np.expm1(x[:, j])
    krd10 = x[:, hist.names.index("rate:10Y")] * 1e4  # a unit 10Y key-rate exposure, per bp
    hedges = np.column_stack([spx, krd10])
    q, before, after = min_variance_hedge(book, hedges)
    ols = sm.OLS(book, sm.add_constant(hedges)).fit()
    np.testing.assert_allclose(q, -ols.params[1:], rtol=1e-9)
    assert after == pytest.approx(np.var(ols.resid, ddof=1), rel=1e-9)
    assert after < before
