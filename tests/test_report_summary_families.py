"""The executive summary of the smile and dependence campaigns follows their evidence.

Both families state their champion-challenger evidence as a comparisons table
(:func:`validation.evidence.comparisons_table`); these tests score small synthetic forecasts
through each family's own ``score``, once where the challenger wins and once where it loses,
and check the comparisons against independent numbers and the verdict text against both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from copula_synthetic import gaussian_forecast, gaussian_pits
from scipy import stats

from validation.evidence import COMPARISON_COLUMNS, holm
from validation.families.dependence import NEG_LOG_SCORE, DependenceFamily
from validation.families.dependence_tasks import LNNCopulaTask, StaticCopulaTask
from validation.families.smile import (
    HYPERPARAMETER_GRID,
    LNN_SETTINGS,
    LOSS,
    SmileFamily,
    hyperparameter_note,
)
from validation.families.smile_report import (
    arbitrage_statements,
    end_expiry_text,
    in_sample_text,
    parameters_text,
)
from validation.report import Report
from validation.summary import executive_summary

SMILE_CHAMPS = ["SABR per expiry", "SABR linear in T", "SABR total variance"]


def _html(sec, tmp_path, name: str) -> str:
    return Report("t", code_version="test").add(sec).to_html(tmp_path / f"{name}.html") \
        .read_text()


# ---------------------------------------------------------------- smile


def _smile_forecasts(lnn_scale: float) -> dict[str, pd.DataFrame]:
    """Held-out errors on 8 expiries of one surface, two quotes each; LNN-SABR's errors are
    ``lnn_scale`` times the linear rule's (plus a wiggle so the differences vary)."""
    exp = np.array([0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0])
    base = np.array([30.0, 12.0, 9.0, 7.0, 8.0, 6.0, 10.0, 25.0])
    wig = np.array([1.0, -0.5, 0.8, -0.3, 0.2, -0.7, 0.4, 0.1])

    def frame(err: np.ndarray) -> pd.DataFrame:
        e = np.repeat(err, 2) * np.tile([1.0, -1.0], len(exp))
        return pd.DataFrame({"surface": "s", "expiry": np.repeat(exp, 2),
                             "label": np.repeat([f"{t}y" for t in exp], 2), "error_bp": e})

    return {"SABR per expiry": frame(2.0 * base), "SABR linear in T": frame(base),
            "SABR total variance": frame(1.1 * base + 0.5),
            "LNN-SABR": frame(lnn_scale * base + wig)}


def test_smile_comparisons_against_independent_numbers():
    fc = _smile_forecasts(0.7)
    sc = SmileFamily().score(fc, pd.DataFrame(), seed=0)
    comp = sc.comparisons
    assert list(comp.columns) == list(COMPARISON_COLUMNS)
    assert comp["champion"].tolist() == SMILE_CHAMPS and (comp["loss"] == LOSS).all()
    # the loss: each held-out expiry's RMSE, its mean the challenger's and champions' loss
    by = {n: f.groupby("label", sort=False)["error_bp"].apply(
        lambda e: np.sqrt(np.mean(e**2))).to_numpy() for n, f in fc.items()}
    for _, r in comp.iterrows():
        assert r["champion loss"] == pytest.approx(by[r["champion"]].mean(), rel=1e-12)
        assert r["challenger loss"] == pytest.approx(by["LNN-SABR"].mean(), rel=1e-12)
        # DM (HLN, h = 1) over expiries is the one-sided paired t-test
        ref = stats.ttest_rel(by["LNN-SABR"], by[r["champion"]], alternative="less").pvalue
        assert r["p challenger better"] == pytest.approx(ref, rel=1e-9)
    np.testing.assert_allclose(comp["p Holm"], holm(comp["p challenger better"]), rtol=1e-14)
    assert comp.loc[comp["best champion"], "champion"].tolist() == ["SABR linear in T"]
    assert comp["challenger in MCS"].isna().all()  # the family computes no MCS
    tests = sc.tables["loeo_tests"]
    assert {"DM (HLN)", "DM p (challenger better)", "DM p (Holm)",
            "Wilcoxon p (challenger better)"} <= set(tests.columns)


def test_smile_summary_says_yes_and_no(tmp_path):
    texts = {}
    for label, scale in (("win", 0.7), ("lose", 1.3)):
        sc = SmileFamily().score(_smile_forecasts(scale), pd.DataFrame(), seed=0)
        sec = executive_summary(sc, champions=SMILE_CHAMPS, challengers=["LNN-SABR"],
                                note="Over 8 held-out expiries.")
        texts[label] = _html(sec, tmp_path, label)
    win, lose = texts["win"], texts["lose"]
    assert "LNN-SABR: PASS" in win
    assert "Yes. LNN-SABR beats the best champion (SABR linear in T)" in win
    assert "LNN-SABR: FAIL" in lose
    assert "No. LNN-SABR is significantly worse than the best champion (SABR linear in T)" \
        in lose and "keep the champion as the model of record" in lose
    for t in (win, lose):
        assert "no VaR verdict" in t and "computes no model confidence set" in t
        assert "Over 8 held-out expiries." in t and "Findings register" in t
        assert "held-out vol RMSE by expiry (bp)" in t
        # no MCS and no VaR in this family: their columns are left out, not shown empty
        assert "in 90% MCS" not in t and "99% VaR passes" not in t


def test_smile_arbitrage_statements_and_findings(tmp_path):
    cols = [f"{k} ({w})" for w in ("inside quotes", "outside quotes")
            for k in ("butterfly", "calendar", "invalid_vol")]
    clean = pd.DataFrame(0, index=SMILE_CHAMPS + ["LNN-SABR"], columns=cols)
    st, fi = arbitrage_statements(clean, SMILE_CHAMPS, ["LNN-SABR"])
    assert [s[0] for s in st] == ["pass"] and not fi
    assert "no static-arbitrage violation inside" in st[0][1]
    dirty = clean.copy()
    dirty.loc["LNN-SABR", "butterfly (inside quotes)"] = 3
    dirty.loc["LNN-SABR", "calendar (outside quotes)"] = 2
    st, fi = arbitrage_statements(dirty, SMILE_CHAMPS, ["LNN-SABR"])
    assert st[0][0] == "fail" and "3 static-arbitrage violations inside" in st[0][1]
    assert "(3 butterfly)" in st[0][1] and "2 outside" in st[0][1]
    assert fi[0]["severity"] == "high"
    sc = SmileFamily().score(_smile_forecasts(0.7), pd.DataFrame(), seed=0)
    sec = executive_summary(sc, champions=SMILE_CHAMPS, challengers=["LNN-SABR"],
                            statements=st, extra_findings=fi)
    html = _html(sec, tmp_path, "arb")
    assert "static arbitrage inside the quoted strike range" in html  # the finding
    with pytest.raises(ValueError, match="severity"):
        executive_summary(sc, champions=SMILE_CHAMPS, challengers=["LNN-SABR"],
                          extra_findings=[{**fi[0], "severity": "grave"}])


def test_smile_report_sentences_are_computed(tmp_path):
    fc = _smile_forecasts(0.7)
    text = end_expiry_text(fc)
    first = fc["LNN-SABR"]
    sq = first["error_bp"] ** 2
    ends = first["expiry"].isin([0.1, 5.0])
    assert f"{100 * sq[ends].sum() / sq.sum():.0f}% (LNN-SABR)" in text
    assert "2 of 8 held-out expiries" in text and "0.1y, 5.0y" in text

    cal = pd.DataFrame({"surface": ["s", "s", "all"], "label": ["a", "b", "pooled"],
                        "expiry": [1.0, 2.0, np.nan], "SABR per expiry": [1.0, 2.0, 1.6],
                        "SABR linear in T": [1.0, 2.0, 1.6], "LNN-SABR": [1.0, 2.5, 1.9]})
    t = in_sample_text(cal)
    assert "SABR linear in T reproduces" in t and "LNN-SABR differs by up to 0.50 bp" in t
    par = pd.DataFrame({"alpha (per expiry)": [0.2, 0.3], "rho (per expiry)": [-0.5, -0.6],
                        "nu (per expiry)": [1.0, 0.8], "alpha (LNN-SABR)": [0.2, 0.31],
                        "rho (LNN-SABR)": [-0.5, -0.6], "nu (LNN-SABR)": [1.0, 0.8]})
    assert "0.01 in alpha, 0 in rho, 0 in nu" in parameters_text(par)

    # the settings note: this run's options, the search's table, the dataset
    other = {k: next(v for v in vals if v != LNN_SETTINGS[k])
             for k, vals in HYPERPARAMETER_GRID.items()}
    grid = pd.DataFrame([{**{k: LNN_SETTINGS[k] for k in HYPERPARAMETER_GRID},
                          "pooled RMSE (bp)": 7.0, "mean RMSE by expiry (bp)": 5.0},
                         {**other,
                          "pooled RMSE (bp)": 8.0, "mean RMSE by expiry (bp)": 6.0}])
    grid.to_csv(tmp_path / "g.csv", index=False)
    quick = {**LNN_SETTINGS, "epochs": 80, "seeds": 2}
    note = hyperparameter_note("andreasen_huge", ["0", "1"], quick, tmp_path / "g.csv")
    assert "seed ensemble of 2 fits (seeds 0, 1; the default ensemble has 3)" in note
    assert "epochs 80 instead of 300" in note and "are its best row" in note
    assert "grid of 24 settings" in note and "7.00 bp and the worst 8.00 bp" in note
    assert "interpolation {linear, log, auto}" in note
    assert "added to it after the classical rules' leave-one-expiry-out errors" in note
    assert "the data the settings were chosen on" not in note
    grid.loc[0, "pooled RMSE (bp)"] = 9.0  # the defaults are no longer the search's winner
    grid.to_csv(tmp_path / "g.csv", index=False)
    note = hyperparameter_note("eur_swaption_cube", ["3"], LNN_SETTINGS, tmp_path / "g.csv")
    assert "1 fit (seed 3; the default ensemble has 3)" in note
    assert "uses the frozen default settings" in note
    assert "are NOT its best row" in note and "the data the settings were chosen on" in note
    assert "not available to this run" in hyperparameter_note(
        "dax", ["0"], None, tmp_path / "missing.csv")


# ---------------------------------------------------------------- dependence


def _dependence(rho_c: float, var_c: float, n: int = 300):
    """Gaussian-copula PITs with rho = 0.5; champions A (rho 0.3) and B (rho 0.2), the
    challenger C at ``rho_c``; C's 99% VaR is ``var_c`` (the champions' 0.8)."""
    idx, u, data = gaussian_pits(n)
    out = {name: gaussian_forecast(idx, u, np.full(n, rho), v99)
           for name, rho, v99 in (("A", 0.3, 0.8), ("B", 0.2, 0.8), ("C", rho_c, var_c))}
    fam = DependenceFamily()
    fam.register({"A": StaticCopulaTask(family="gaussian"),
                  "B": StaticCopulaTask(family="gaussian"),
                  "C": LNNCopulaTask(family="gaussian")})
    return out, data, fam


@pytest.fixture(scope="module")
def dep_scores():
    out = {}
    for label, rho_c, var_c in (("win", 0.5, 1.2), ("lose", 0.0, 0.3)):
        fc, data, fam = _dependence(rho_c, var_c)
        out[label] = (fc, fam.score(fc, data, seed=0))
    return out


def test_dependence_comparisons_against_independent_numbers(dep_scores):
    fc, sc = dep_scores["win"]
    comp = sc.comparisons
    assert list(comp.columns) == list(COMPARISON_COLUMNS)
    assert (comp["loss"] == NEG_LOG_SCORE).all() and comp["lower is better"].all()
    head = sc.tables["log_scores"]
    dm = sc.tables["diebold_mariano"].set_index("champion")
    for _, r in comp.iterrows():
        assert r["challenger loss"] == pytest.approx(-fc["C"]["logscore"].mean(), rel=1e-14)
        assert r["champion loss"] == pytest.approx(-head.loc[r["champion"], "mean log score"])
        assert r["p challenger better"] == dm.loc[r["champion"], "p challenger better"]
        assert r["challenger in MCS"] == bool(head.loc["C", "in 90% MCS"])
    np.testing.assert_allclose(comp["p Holm"], holm(comp["p challenger better"]), rtol=1e-14)
    np.testing.assert_allclose(dm["p challenger better (Holm)"], comp["p Holm"], rtol=1e-14)
    assert comp.loc[comp["best champion"], "champion"].tolist() == ["A"]  # rho 0.3 is nearer


def test_dependence_summary_says_yes_and_no_with_the_var(dep_scores, tmp_path):
    texts = {}
    for label, (_, sc) in dep_scores.items():
        sec = executive_summary(sc, champions=["A", "B"], challengers=["C"])
        texts[label] = _html(sec, tmp_path, label)
    win, lose = texts["win"], texts["lose"]
    assert "C: PASS" in win and "Yes. C beats the best champion (A) on negative log score" in win
    assert "Its 99% VaR passes the Kupiec and Christoffersen tests." in win
    assert "C: FAIL" in lose
    assert "No. C is significantly worse than the best champion (A) on negative log score" \
        in lose
    assert "Its 99% VaR fails the Kupiec or Christoffersen test." in lose
    assert "99% VaR of the challenger C fails its backtest" in lose  # the findings register
    for t in (win, lose):
        assert "equally weighted portfolio" in t  # which VaR is backtested
        assert "in 90% MCS" in t and "99% VaR passes" in t
