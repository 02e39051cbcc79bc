"""The VaR scaling frontier against its slow reference: a backtest of ``k * var`` at each ``k``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hybridrisk import datasets
from hybridrisk.errors import DataValidationError
from validation import christoffersen_cc, kupiec_pof
from validation.var_scaling import nearest_passing_scale, passing_scales, var_scaling_frontier


@pytest.fixture(scope="module")
def sp500_var() -> tuple[np.ndarray, np.ndarray]:
    """S&P 500 returns of 2015-2018 with a 99% normal VaR from the previous 250 days' sd."""
    r = datasets.sp500_returns()
    sd = r.rolling(250).std().shift(1)
    keep = slice("2015-01-01", "2018-12-31")
    return r.loc[keep].to_numpy(), (stats.norm.ppf(0.99) * sd.loc[keep]).to_numpy()


def _row_at(frontier: pd.DataFrame, k: float) -> pd.Series:
    inside = frontier[(frontier.k_low <= k) & (k < frontier.k_high)]
    assert len(inside) == 1, f"scale {k} falls in {len(inside)} rows"
    return inside.iloc[0]


def test_every_scale_matches_a_direct_backtest(sp500_var):
    r, v = sp500_var
    fr = var_scaling_frontier(r, v, 0.01)
    for k in np.linspace(0.5, 2.5, 41):
        hits = r < -k * v
        row = _row_at(fr, k)
        assert row.exceptions == hits.sum()
        assert row["Kupiec p"] == kupiec_pof(hits, 0.01).pvalue
        assert row["CC p"] == christoffersen_cc(hits, 0.01).pvalue
    # a year-long rolling sd under-covers 2015-2018 (30 exceptions at k = 1), and no level
    # repairs it: its exceptions cluster, so every scale with enough of them fails CC
    at1 = _row_at(fr, 1.0)
    assert at1.exceptions == 30 and at1["Kupiec p"] < 1e-6
    assert passing_scales(fr).empty
    assert (fr[fr.exceptions.between(5, 16)]["CC p"] < 0.02).all()


def test_a_reactive_var_is_repaired_by_its_level(sp500_var):
    # the same data with an EWMA (RiskMetrics, lambda 0.94) sd: the scales that pass are
    # found, lie above 1, and each one passes both tests when backtested directly
    r, _ = sp500_var
    full = datasets.sp500_returns()
    ewma = np.sqrt((full**2).ewm(alpha=0.06, adjust=False).mean().shift(1))
    v = stats.norm.ppf(0.99) * ewma.loc["2015-01-01":"2018-12-31"].to_numpy()
    fr = var_scaling_frontier(r, v, 0.01)
    at1 = _row_at(fr, 1.0)
    assert at1.exceptions == 20 and at1["CC p"] < 0.05
    ok = passing_scales(fr)
    assert len(ok) and ok.k_low.min() > 1.0
    for k in (ok.k_low + ok.k_high) / 2:
        hits = r < -k * v
        assert kupiec_pof(hits, 0.01).pvalue >= 0.05
        assert christoffersen_cc(hits, 0.01).pvalue >= 0.05


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-8, 8, allow_nan=False),
                          st.floats(0.1, 5, allow_nan=False)), min_size=5, max_size=60))
def test_the_rows_tile_the_positive_scales(pairs):
    r = np.array([a for a, _ in pairs])
    v = np.array([b for _, b in pairs])
    fr = var_scaling_frontier(r, v, 0.05)
    assert fr.k_high.iloc[0] == np.inf
    assert (np.diff(fr.exceptions) > 0).all()
    # consecutive rows meet: no positive scale is left out or counted twice
    np.testing.assert_array_equal(fr.k_low.to_numpy()[:-1], fr.k_high.to_numpy()[1:])
    assert fr.k_low.iloc[-1] == 0.0 or fr.k_low.iloc[-1] == max(0.0, (-r / v).min())
    assert fr.exceptions.iloc[-1] == ((-r / v) > 0).sum()


def test_tied_ratios_skip_the_unreachable_counts():
    r = -np.array([2.0, 2.0, 1.0, 0.5])
    fr = var_scaling_frontier(r, np.ones(4), 0.05)
    assert fr.exceptions.tolist() == [0, 2, 3, 4]


@pytest.mark.parametrize("returns, var, column, row", [
    ([0.1, np.nan, 0.2], [1.0, 1.0, 1.0], "returns", 1),
    ([0.1, 0.2, 0.3], [1.0, 0.0, 1.0], "var", 1),
    ([0.1, 0.2, 0.3], [1.0, 1.0, -2.0], "var", 2),
])
def test_bad_input_names_the_argument_and_position(returns, var, column, row):
    with pytest.raises(DataValidationError) as err:
        var_scaling_frontier(returns, var, 0.01)
    assert err.value.column == column and err.value.row == row


def test_lengths_and_sizes_are_checked():
    with pytest.raises(DataValidationError, match="var has 2 values"):
        var_scaling_frontier([0.1, 0.2, 0.3], [1.0, 1.0], 0.01)
    fr = var_scaling_frontier([-1.0, 0.5], [1.0, 1.0], 0.01)
    with pytest.raises(DataValidationError):
        passing_scales(fr, 1.5)


def _ewma_var(r_index: pd.Index) -> np.ndarray:
    full = datasets.sp500_returns()
    ewma = np.sqrt((full**2).ewm(alpha=0.06, adjust=False).mean().shift(1))
    return stats.norm.ppf(0.99) * ewma.loc[r_index].to_numpy()


def test_nearest_passing_scale_reads_the_frontier(sp500_var):
    r, v_sd = sp500_var
    idx = datasets.sp500_returns().loc["2015-01-01":"2018-12-31"].index
    v = _ewma_var(idx)
    ok = passing_scales(var_scaling_frontier(r, v, 0.01))
    s = nearest_passing_scale(r, v, 0.01)
    assert s == ok.k_low.min() > 1.0
    # at the scale (a hair above, against rounding) the VaR passes, just below it it does not
    hits = r < -(s * (1 + 1e-12)) * v
    assert kupiec_pof(hits, 0.01).pvalue >= 0.05 and christoffersen_cc(hits, 0.01).pvalue >= 0.05
    assert christoffersen_cc(r < -(s * (1 - 1e-9)) * v, 0.01).pvalue < 0.05
    # a VaR already inside a passing range reports 1; one too high reports a scale below 1
    mid = float((ok.k_low.iloc[0] + ok.k_high.iloc[0]) / 2)
    assert nearest_passing_scale(r, mid * v, 0.01) == 1.0
    high = nearest_passing_scale(r, 3.0 * v, 0.01)
    assert high < 1.0 and high == pytest.approx(ok.k_high.max() / 3.0, rel=1e-12)
    assert np.isnan(nearest_passing_scale(r, v_sd, 0.01))


def test_scale_entry_and_its_words():
    from validation.var_scaling import describe_scale, scale_entry

    assert np.isnan(scale_entry([-1.0, 0.5, -0.2], [1.0, -0.1, 1.0], 0.05))
    assert np.isnan(scale_entry([-1.0, 0.5, -0.2], [1.0, np.nan, 1.0], 0.05))
    assert "wrong days" in describe_scale(float("nan"))
    assert "raised 1.186-fold" in describe_scale(1.1861)
    assert "just under 0.900" in describe_scale(0.9)
    assert "as forecast passes" in describe_scale(1.0)


def test_a_failed_backtest_finding_says_level_or_timing():
    from validation.findings import findings_register
    from validation.var_scaling import SCALE_COLUMN

    bt = pd.DataFrame([
        {"model": "A", "level": 0.99, "exceptions": 17, "expected": 10.0, "Kupiec p": 0.04,
         "Christoffersen CC p": 0.001, SCALE_COLUMN: 1.25},
        {"model": "B", "level": 0.99, "exceptions": 30, "expected": 10.0, "Kupiec p": 1e-7,
         "Christoffersen CC p": 1e-8, SCALE_COLUMN: float("nan")},
        {"model": "C", "level": 0.99, "exceptions": 10, "expected": 10.0, "Kupiec p": 0.9,
         "Christoffersen CC p": 0.8, SCALE_COLUMN: 1.0}])
    reg = findings_register(verdicts=[], challengers=["A"], backtests=bt).set_index("severity")
    ev = reg["evidence"].tolist()
    assert any("raised 1.250-fold" in e and "level is wrong" in e for e in ev)
    assert any("wrong days" in e for e in ev)
    assert not reg["finding"].str.contains("champion C ").any()  # C passes: no finding
    assert reg["finding"].str.contains("champion B ").any()


def test_the_figure_draws_each_model_with_a_frontier(sp500_var):
    from matplotlib.figure import Figure

    from validation.var_scaling import scaling_figure

    r, v = sp500_var
    idx = datasets.sp500_returns().loc["2015-01-01":"2018-12-31"].index
    neg = v.copy()
    neg[3] = -1.0  # no frontier: left out of the figure
    fig = scaling_figure(pd.Series(r, index=idx),
                         {"rolling": v, "ewma": _ewma_var(idx), "broken": neg})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["rolling", "ewma", "5%"]
    # the EWMA line reaches the 5% line somewhere, the rolling-sd line nowhere
    steps = {ln.get_label(): ln.get_ydata() for ln in ax.get_lines()}
    assert np.max(steps["ewma"]) >= 0.05 > np.max(steps["rolling"])
