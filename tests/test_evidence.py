"""The verdict of a campaign: Holm correction, challenger verdicts, findings, executive summary.

The summary and the findings are built from two small synthetic result tables, one where the
challenger wins and one where it loses, and must change with them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from validation.config import CampaignConfig, SignOffConfig
from validation.evidence import add_holm, challenger_verdicts, comparisons_table, holm
from validation.families.base import FamilyScores
from validation.findings import findings_register
from validation.report import Report
from validation.summary import executive_summary

CHAMPS = ["GARCH-t", "GJR-t"]


def _scores(p_gjr: float, p_garch: float, q_hyb: float, *, var99=(0.40, 0.30),
            in_mcs: bool = True) -> FamilyScores:
    """Synthetic volatility scores: GJR-t is the best champion (lowest QLIKE)."""
    losses = pd.DataFrame({"QLIKE": {"GARCH-t": 0.41, "GJR-t": 0.36, "LNN": q_hyb},
                           "in 90% MCS": {"GARCH-t": False, "GJR-t": True, "LNN": in_mcs}})
    dm = pd.DataFrame({"challenger": ["LNN", "LNN"], "champion": ["GARCH-t", "GJR-t"],
                       "loss": "QLIKE", "p challenger better": [p_garch, p_gjr]})
    dm = add_holm(dm, "p challenger better", ["challenger", "loss"],
                  "p challenger better (Holm)")
    bt = pd.DataFrame([
        {"model": m, "level": 0.99, "exceptions": e, "expected": 10.0, "Kupiec p": k,
         "Christoffersen CC p": c, "DQ p": 0.5}
        for m, e, k, c in (("LNN", 11, *var99), ("GJR-t", 12, 0.53, 0.40),
                           ("GARCH-t", 19, 0.01, 0.02))])
    sc = FamilyScores(tables={"losses": losses, "var_backtests": bt}, headline="losses")
    sc.comparisons = comparisons_table(dm, loss="QLIKE", scores=losses[["QLIKE"]],
                                       holm_col="p challenger better (Holm)",
                                       mcs=losses[["in 90% MCS"]])
    return sc


WIN = dict(p_gjr=0.004, p_garch=0.001, q_hyb=0.35)
LOSE = dict(p_gjr=0.40, p_garch=0.03, q_hyb=0.365, var99=(0.20, 0.003))


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 9)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-14)
    q = np.array([0.01, np.nan, 0.04, 0.03])
    out = holm(q)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], multipletests(q[[0, 2, 3]], method="holm")[1])


def test_holm_column_sits_next_to_the_raw_p():
    sc = _scores(**WIN)
    comp = sc.comparisons
    assert comp["best champion"].tolist() == [False, True]  # GJR-t has the lower QLIKE
    gjr = comp[comp.champion == "GJR-t"].iloc[0]
    assert gjr["p Holm"] == pytest.approx(min(1.0, max(2 * 0.001, 0.004)))
    dm = add_holm(pd.DataFrame({"a": [1, 1], "p": [0.2, 0.01], "z": [0, 0]}), "p", ["a"])
    assert list(dm.columns) == ["a", "p", "p Holm", "z"]


def test_verdict_changes_with_the_evidence():
    win = challenger_verdicts(_scores(**WIN).comparisons, ["LNN"],
                              _scores(**WIN).tables["var_backtests"])[0]
    assert win.level == "pass" and win.var_ok is True
    assert win.conclusion.startswith("Yes. LNN beats the best champion (GJR-t) on QLIKE")
    assert "passes the Kupiec and Christoffersen" in win.conclusion
    assert "may accept it" in win.conclusion

    sc = _scores(**LOSE)
    lose = challenger_verdicts(sc.comparisons, ["LNN"], sc.tables["var_backtests"])[0]
    assert lose.level == "fail" and lose.var_ok is False
    assert lose.conclusion.startswith("No. LNN does not beat the best champion (GJR-t)")
    assert "fails the Kupiec or Christoffersen" in lose.conclusion
    assert "keep the champion as the model of record" in lose.conclusion
    assert any("Holm 0.400" in d for d in lose.details)


def test_raw_significance_that_does_not_survive_holm_is_said():
    sc = _scores(p_gjr=0.03, p_garch=0.04, q_hyb=0.355)  # Holm: 0.06 and 0.06
    v = challenger_verdicts(sc.comparisons, ["LNN"], sc.tables["var_backtests"])[0]
    assert v.level == "warning" and v.conclusion.startswith("No.")
    assert "does not survive the Holm correction" in v.conclusion
    reg = findings_register(verdicts=[v], challengers=["LNN"])
    assert "does not survive the Holm correction" in reg["finding"].iloc[0]
    assert reg["severity"].iloc[0] == "medium"


def test_findings_register_severities():
    sc_w, sc_l = _scores(**WIN), _scores(**LOSE, in_mcs=False)
    checks = pd.DataFrame([
        {"check": "DEM/GBP GARCH(1,1) benchmark: omega", "reference": "TSP/FCP",
         "value": 0.0107, "reference value": 0.0108, "tolerance": 1e-8, "passed": False},
        {"check": "data unchanged", "reference": "SHA256SUMS", "value": 1.0,
         "reference value": 1.0, "tolerance": 0.0, "passed": True}])
    w = findings_register(
        verdicts=challenger_verdicts(sc_w.comparisons, ["LNN"], sc_w.tables["var_backtests"]),
        challengers=["LNN"], backtests=sc_w.tables["var_backtests"])
    # the winner's only finding is the champion GARCH-t's failed 99% VaR (medium)
    assert w["severity"].tolist() == ["medium"]
    assert "champion GARCH-t" in w["finding"].iloc[0] and "Kupiec p = 0.010" in \
        w["evidence"].iloc[0]
    lo = findings_register(
        verdicts=challenger_verdicts(sc_l.comparisons, ["LNN"], sc_l.tables["var_backtests"]),
        challengers=["LNN"], backtests=sc_l.tables["var_backtests"], checks=checks, quick=True)
    assert lo["id"].tolist() == [f"F-{k:02d}" for k in range(1, len(lo) + 1)]
    assert lo["severity"].tolist() == sorted(lo["severity"], key=["high", "medium",
                                                                  "low"].index)
    high = lo[lo.severity == "high"]["finding"].tolist()
    assert any("Reference check failed: DEM/GBP" in f for f in high)
    assert any("outside the 90% model confidence set" in f for f in high)
    assert any("99% VaR of the challenger LNN" in f for f in high)
    assert any("does not beat the best champion GJR-t" in f
               for f in lo[lo.severity == "medium"]["finding"])
    assert lo["finding"].iloc[-1].startswith("Quick run")


def _curve(p: list[float], nn_1y: float) -> pd.DataFrame:
    dm = pd.DataFrame({"model": "NN", "benchmark": ["RW", "RW", "DL", "DL"],
                       "horizon": ["1m", "1y", "1m", "1y"], "p model better": p})
    dm = add_holm(dm, "p model better", ["model"])
    rmse = pd.DataFrame({"1m": {"RW": 20.0, "DL": 25.0, "NN": 19.0},
                         "1y": {"RW": 80.0, "DL": 70.0, "NN": nn_1y}})
    return comparisons_table(dm, loss="RMSE (bp)", scores=rmse, challenger_col="model",
                             champion_col="benchmark", p_col="p model better",
                             horizon_col="horizon")


def test_horizons_give_a_partial_verdict():
    comp = _curve([0.001, 0.6, 0.0001, 0.001], 69.0)
    best = comp[comp["best champion"]]  # the best champion differs by horizon
    assert best[["horizon", "champion"]].values.tolist() == [["1m", "RW"], ["1y", "DL"]]
    v = challenger_verdicts(comp, ["NN"])[0]
    assert v.var_ok is None and v.level == "pass"
    assert v.conclusion.startswith("Yes. NN beats the best champion (RW, DL) on RMSE (bp) at "
                                   "1m, 1y")
    v = challenger_verdicts(_curve([0.001, 0.6, 0.0001, 0.3], 69.0), ["NN"])[0]
    assert v.level == "warning"
    assert v.conclusion.startswith("Partly. NN beats the best champion on RMSE (bp) at 1m")
    assert "but not at 1y" in v.conclusion and "worse" not in v.conclusion
    v = challenger_verdicts(_curve([0.001, 0.6, 0.0001, 0.999], 90.0), ["NN"])[0]
    assert v.level == "fail" and "significantly worse at 1y" in v.conclusion
    reg = findings_register(verdicts=[v], challengers=["NN"])
    assert reg["finding"].iloc[0] == "NN is significantly worse than the best champion DL at 1y."


def test_executive_summary_section_follows_the_evidence(tmp_path):
    sign = SignOffConfig(model_id="MR-042", owner="Market Risk", validator="Model Risk")
    texts = {}
    for label, kw in (("win", WIN), ("lose", LOSE)):
        sec = executive_summary(_scores(**kw), champions=CHAMPS, challengers=["LNN"],
                                signoff=sign)
        rep = Report("t", code_version="test").add(sec)
        texts[label] = rep.to_html(tmp_path / f"{label}.html").read_text()
    for t in texts.values():
        assert "MR-042" in t and "Market Risk" in t and "not stated" in t  # developer, date
        assert "Findings register" in t and "DM p (Holm)" in t
    assert "LNN: PASS" in texts["win"] and "Yes. LNN beats" in texts["win"]
    assert "LNN: FAIL" in texts["lose"] and "No. LNN does not beat" in texts["lose"]
    none = executive_summary(_scores(**WIN), champions=CHAMPS, challengers=[])
    assert any(getattr(b, "text", "").startswith("The campaign has no challenger")
               for b in none.blocks)


def test_signoff_config_defaults_and_yaml(tmp_path):
    assert CampaignConfig().signoff.validator == "not stated"
    from validation.config import load_config

    y = tmp_path / "c.yaml"
    y.write_text("signoff:\n  model_id: MR-7\n  date: 2025-01-31\n  owner: Desk\n")
    cfg = load_config(y)
    assert (cfg.signoff.model_id, cfg.signoff.date, cfg.signoff.owner) == (
        "MR-7", "2025-01-31", "Desk")
    assert cfg.signoff.status.startswith("draft")
    from hybridrisk.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown signoff key"):
        CampaignConfig.from_dict({"signoff": {"approver": "x"}})
    with pytest.raises(ConfigError, match="must be text"):
        SignOffConfig(owner=["a"])  # type: ignore[arg-type]
