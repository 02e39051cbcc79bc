"""Static-arbitrage diagnostics: butterfly (density), invalid vols, calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql
from scipy import stats

from hybridrisk.errors import DataValidationError
from hybridrisk.kernels.smile_arbitrage import (
    KINDS,
    ArbitrageReport,
    check_calendar,
    check_sabr_surface,
    check_smile,
    check_surface,
    risk_neutral_density,
    sabr_smile,
    strike_grid,
)


def _flat(vol: float):
    return lambda k: np.full(np.shape(k), vol)


@pytest.mark.parametrize("expiry", [1 / 365, 0.5, 2.0, 10.0])
def test_black_scholes_flat_vol_has_no_violation(expiry: float) -> None:
    quotes = np.linspace(60.0, 160.0, 11)
    rep = check_smile(_flat(0.25), 100.0, expiry, quotes)
    assert rep.arbitrage_free and len(rep.violations) == 0
    assert (rep.counts.to_numpy() == 0).all() and list(rep.counts.index) == list(KINDS)
    # the finite-difference density is the lognormal density
    sd = 0.25 * np.sqrt(expiry)
    k = 100.0 * np.exp(np.linspace(-6 * sd, 6 * sd, 801))
    dens = risk_neutral_density(100.0, k, expiry, np.full(k.size, 0.25))
    exact = stats.lognorm.pdf(k[1:-1], s=sd, scale=100.0 * np.exp(-0.5 * sd * sd))
    big = exact > 1e-6 * exact.max()
    np.testing.assert_allclose(dens[big], exact[big], rtol=2e-3)


def test_bachelier_flat_vol_has_no_violation() -> None:
    rep = check_smile(_flat(0.008), 0.005, 2.0, 0.005 + np.linspace(-0.02, 0.02, 9),
                      vol_type="normal", shift=0.03)
    assert rep.arbitrage_free
    k = np.linspace(-0.02, 0.03, 501)
    dens = risk_neutral_density(0.005, k, 2.0, np.full(k.size, 0.008), vol_type="normal")
    exact = stats.norm.pdf(k[1:-1], loc=0.005, scale=0.008 * np.sqrt(2.0))
    np.testing.assert_allclose(dens, exact, rtol=1e-3, atol=1e-6 * exact.max())


def test_hagan_negative_density_in_the_low_strike_wing() -> None:
    """A 10-year, high vol-of-vol, low-forward smile (F = 3.25%, alpha 0.0873, beta 0.7,
    rho -0.48, nu 0.47): Hagan's expansion gives it a negative density below the quotes.

    The flagged range is checked against an independent density: QuantLib's ``sabrVolatility``
    and ``blackFormula`` differenced on a uniform strike grid of 1e-6.
    """
    f, t, a, b, r, n = 0.0325, 10.0, 0.0873, 0.7, -0.48, 0.47
    quotes = f * np.array([0.5, 0.75, 1.0, 1.25, 1.5, 2.0])
    rep = check_smile(sabr_smile(f, t, a, b, r, n), f, t, quotes)
    v = rep.violations
    assert list(v["kind"]) == ["butterfly"] and not v["in_quotes"].any()
    row = v.iloc[0]
    assert row["worst"] < 0 and row["strike_hi"] < quotes.min()

    k = np.arange(2e-4, 0.02, 1e-6)
    vols = np.array([ql.sabrVolatility(x, f, t, a, b, n, r) for x in k])
    price = np.array([ql.blackFormula(ql.Option.Put if x < f else ql.Option.Call, x, f,
                                      s * np.sqrt(t)) for x, s in zip(k, vols, strict=True)])
    ref = (price[:-2] - 2 * price[1:-1] + price[2:]) / 1e-12
    neg = k[1:-1][ref < 0]
    grid = strike_grid(f, t, quotes, float(sabr_smile(f, t, a, b, r, n)(np.array([f]))[0]))
    step = np.max(np.diff(grid)[grid[1:] <= 0.01])
    assert abs(row["strike_hi"] - neg.max()) <= step
    assert neg.min() <= row["strike_lo"] and row["strike_lo"] == pytest.approx(grid[1])


def test_invalid_vols_are_reported_not_clipped() -> None:
    def smile(k: np.ndarray) -> np.ndarray:
        return np.where(k < 80.0, -0.1, np.where(k > 130.0, np.nan, 0.2))

    grid = np.linspace(50, 150, 101)
    rep = check_smile(smile, 100.0, 1.0, np.linspace(70.0, 140.0, 8), grid=grid)
    inv = rep.violations[rep.violations["kind"] == "invalid_vol"]
    assert len(inv) == 2
    assert inv.iloc[0]["strike_hi"] < 80.0 and inv.iloc[0]["worst"] == -0.1
    assert inv.iloc[1]["strike_lo"] > 130.0 and np.isnan(inv.iloc[1]["worst"])
    assert inv["in_quotes"].all()
    assert rep.counts.loc["invalid_vol", "points"] == (grid < 80).sum() + (grid > 130).sum()


def test_calendar_violation_on_a_constructed_surface() -> None:
    """Expiry 2 matches expiry 1 at the money but its vols fall below log-moneyness -0.3."""

    def later(k: np.ndarray) -> np.ndarray:
        x = np.log(k / 100.0)
        return 0.2 - 0.1 / (1.0 + np.exp((x + 0.3) / 0.02))

    quotes = 100.0 * np.exp(np.linspace(-0.6, 0.4, 11))
    smiles = {1.0: (_flat(0.2), 100.0, quotes), 2.0: (later, 100.0, quotes)}
    rep = check_calendar(smiles)
    v = rep.violations
    assert list(v["kind"]) == ["calendar"] and v.iloc[0]["expiry"] == 2.0
    # crossover: 2 sigma^2 = 0.04, i.e. sigma = sqrt(0.02)
    x_cross = -0.3 + 0.02 * np.log(0.1 / (0.2 - np.sqrt(0.02)) - 1.0)
    dx = 1.0 / 200
    assert v.iloc[0]["moneyness_lo"] == pytest.approx(-0.6)
    assert abs(v.iloc[0]["moneyness_hi"] - x_cross) <= dx
    assert v.iloc[0]["worst"] == pytest.approx(2 * 0.1**2 - 0.04, rel=1e-3)
    # no violation when the surface is consistent
    assert check_calendar({1.0: smiles[1.0], 2.0: (_flat(0.2), 100.0, quotes)}).arbitrage_free


def test_surface_report_combines_checks() -> None:
    f = 0.0325
    table = pd.DataFrame({"forward": [f, f], "alpha": [0.0873, 0.0873], "beta": [0.7, 0.7],
                          "rho": [-0.48, -0.48], "nu": [0.47, 0.47]}, index=[1.0, 10.0])
    quotes = {t: f * np.linspace(0.5, 2.0, 7) for t in table.index}
    rep = check_sabr_surface(table, quotes)
    assert isinstance(rep, ArbitrageReport)
    assert set(rep.violations["kind"]) <= set(KINDS)
    assert (rep.violations.query("kind == 'butterfly'")["expiry"] == 10.0).all()
    assert rep.counts.loc["butterfly", "ranges"] >= 1
    assert rep.grid_points["calendar"] > 0
    same = check_surface({t: (sabr_smile(f, t, 0.0873, 0.7, -0.48, 0.47), f, quotes[t])
                          for t in table.index})
    pd.testing.assert_frame_equal(same.violations, rep.violations)


def test_density_input_errors() -> None:
    with pytest.raises(DataValidationError, match="increasing"):
        risk_neutral_density(100.0, [90.0, 110.0, 100.0], 1.0, [0.2, 0.2, 0.2])
    with pytest.raises(DataValidationError, match="shape"):
        risk_neutral_density(100.0, [90.0, 100.0, 110.0], 1.0, [0.2, 0.2])
