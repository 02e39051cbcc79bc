"""EUR curves of 2016-02-29: every bootstrap instrument reprices to its quote in QuantLib."""

from __future__ import annotations

import numpy as np
import pytest
import QuantLib as ql

from hybridrisk.datasets import eur_curve_quotes, eur_swaption_cube
from hybridrisk.errors import DataValidationError
from hybridrisk.pricing.eur_curves import (
    CURVE_DATE,
    bootstrap_eur_curves,
    curve_nodes,
    evaluation_date,
)
from hybridrisk.pricing.options import TorchSwaptions
from hybridrisk.pricing.quantlib_options import swaption_legs

#: achieved: 3.6e-11 bp (FRA), ~2e-11 bp (OIS, FIX), 1e-11 bp (IRS), 1e-12 bp (basis)
NODE_TOL_BP = 1e-9


@pytest.fixture(scope="module")
def curves():
    return bootstrap_eur_curves()


def test_every_bootstrap_instrument_reprices_to_its_quote(curves):
    table = curves.reprice()
    nodes = table[table.node]
    # the group's 37: 14 OIS; 3M fixing, FRA, 10 basis swaps; 6M fixing, FRA, 9 IRS
    assert len(nodes) == len(curve_nodes()) == 37
    assert nodes.groupby("kind").size().to_dict() == {
        "BS3": 10, "FIX": 2, "FRA": 2, "IRS": 9, "OIS": 14}
    assert np.abs(nodes.error_bp).max() < NODE_TOL_BP
    # the looser default accuracy of QuantLib's bootstrap (1e-12) still gets within 1e-8 bp
    loose = bootstrap_eur_curves(accuracy=1e-12).reprice()
    assert np.abs(loose.error_bp[loose.node]).max() < 1e-8


def test_quotes_outside_the_group_are_close(curves):
    # not bootstrap instruments: OIS 9M/6Y/8Y/9Y, FRAs 3x9 and 9x15, IRS 1Y (out of sample)
    out = curves.reprice().query("not node")
    assert set(out.ticker) == {"EUR-OIS-9M", "EUR-OIS-6Y", "EUR-OIS-8Y", "EUR-OIS-9Y",
                               "EUR-FRA-3Mx9M", "EUR-FRA-9Mx15M", "EUR-IRS6M-1Y"}
    assert np.abs(out.error_bp).max() < 10.0  # 4.5 bp at most (the 3x9 FRA)


def test_curves_are_fixed_to_their_date(curves):
    when = ql.Date(15, 6, 2029)
    with curves.evaluation():
        before = [h.discount(when) for h in (curves.ois, curves.euribor6m, curves.euribor3m)]
    with evaluation_date("2020-01-02"):
        after = [h.discount(when) for h in (curves.ois, curves.euribor6m, curves.euribor3m)]
        assert curves.ois.referenceDate() == CURVE_DATE
    assert before == after


def test_evaluation_date_is_restored():
    settings = ql.Settings.instance()
    settings.evaluationDate = ql.Date(3, 1, 2022)
    bootstrap_eur_curves().reprice()
    assert settings.evaluationDate == ql.Date(3, 1, 2022)


def test_atm_forward_and_annuity_of_the_cube(curves):
    atm = curves.atm_swaptions()
    pairs = eur_swaption_cube()[["expiry", "swap_tenor"]].drop_duplicates()
    assert len(atm) == len(pairs) == 18
    cal = ql.TARGET()
    for row in atm.itertuples():
        ex = ql.Date(row.expiry_date, "%Y-%m-%d")
        assert ql.Date(row.start, "%Y-%m-%d") == cal.advance(ex, 2, ql.Days)
    # recomputed from the curves' discount factors, coupon by coupon
    fwd, ann = TorchSwaptions(swaption_legs(curves, atm.expiry, atm.tenor)).forward_annuity()
    np.testing.assert_allclose(fwd.numpy(), atm.forward, rtol=0, atol=1e-15)
    np.testing.assert_allclose(ann.numpy(), atm.annuity, rtol=1e-14)
    # annuity close to the fixed leg's year fractions (rates are near zero)
    assert np.all(np.abs(atm.annuity / atm.tenor.str[:-1].astype(float) - 1) < 0.03)


def test_no_3m_curve_without_the_basis_quotes():
    q = eur_curve_quotes()
    curves = bootstrap_eur_curves(q[~q.Ticker.str.startswith("EUR-BS3M6M")])
    assert curves.euribor3m is None
    assert "EUR-EURIBOR3M-BS" not in set(curves.reprice().curve)
    with pytest.raises(DataValidationError, match="no Euribor 3M curve"):
        curves.index(3)


def test_bad_quotes_raise():
    q = eur_curve_quotes()
    with pytest.raises(DataValidationError, match="EUR-OIS-5Y"):
        bootstrap_eur_curves(q[q.Ticker != "EUR-OIS-5Y"])
    q.loc[q.Ticker == "EUR-IRS6M-10Y", "Value"] = np.nan
    with pytest.raises(DataValidationError, match="finite"):
        bootstrap_eur_curves(q)
