"""The curve family: tasks without look-ahead, common-cell scoring, a tiny campaign end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridrisk.errors import ConfigError
from validation.config import CampaignConfig, SensitivityConfig
from validation.families import FAMILIES
from validation.families.curve import (
    GSW_COLUMNS,
    HORIZONS,
    CurveFamily,
    DieboldLiTask,
    LNNDNSTask,
    RandomWalkTask,
    curve_errors,
)
from validation.walkforward import WalkForward

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def gsw() -> pd.DataFrame:
    return CurveFamily().load("gsw")


def test_datasets_and_registration(gsw):
    assert isinstance(FAMILIES["curve"], CurveFamily)
    assert list(gsw.columns) == GSW_COLUMNS
    assert gsw.index[0] == pd.Timestamp("1985-11-25")
    assert gsw.notna().any(axis=1).all()  # holiday rows dropped, nothing filled
    par = CurveFamily().load("ust_par")
    assert par["30 Yr"].isna().any() and par.notna().sum(axis=1).min() >= 3
    with pytest.raises(ConfigError):
        CurveFamily().load("bunds")
    with pytest.raises(ConfigError):
        CurveFamily().tasks({"X": {"kind": "garch"}}, quick=True)
    with pytest.raises(ConfigError):
        CurveFamily().tasks({"X": {"kind": "diebold-li", "lags": 2}}, quick=True)


def test_tasks_use_only_the_past(gsw):
    data = gsw.iloc[-700:]
    win = WalkForward(refit=20, oos=40, min_train=500).plan(data)[0]
    sl = data.iloc[win.train_start: win.block_end + 1]
    for task in (RandomWalkTask(), DieboldLiTask("var"), DieboldLiTask("ar")):
        out = task(sl, win, 0)
        assert out.index.equals(sl.index[-win.n_block:])
        assert {f"{h}|SVENY10" for h in HORIZONS} <= set(out.columns)
        # changing the last block day cannot move any forecast made before it
        moved = sl.copy()
        moved.iloc[-1] += 1.0
        again = task(moved, win, 0)
        pd.testing.assert_frame_equal(out, again)
        # ... and moving day t moves row t+1 (its origin), never row t
        moved = sl.copy()
        moved.iloc[-5] += 1.0
        again = task(moved, win, 0)
        pd.testing.assert_frame_equal(out.iloc[:-4], again.iloc[:-4])
        assert not np.allclose(out.iloc[-4], again.iloc[-4])
    rw = RandomWalkTask()(sl, win, 0)
    np.testing.assert_array_equal(rw["1m|SVENY10"].iloc[1:], sl["SVENY10"].iloc[-win.n_block:-1])


def test_scoring_on_common_cells():
    idx = pd.bdate_range("2020-01-01", periods=300)
    cols = ["SVENY01", "SVENY10", "SVENY30"]
    rng = np.random.default_rng(0)
    data = pd.DataFrame(2 + rng.normal(0, 0.05, (300, 3)).cumsum(0), index=idx, columns=cols)
    data.iloc[100:110, 2] = np.nan  # an unpublished tenor
    block = idx[20:]
    pos = data.index.get_indexer(block)

    def frame(offset_bp: float) -> pd.DataFrame:
        out = {}
        for lab in HORIZONS:
            for c in cols:
                out[f"{lab}|{c}"] = data[c].to_numpy()[pos - 1] + offset_bp / 100
        return pd.DataFrame(out, index=block)

    rw = frame(0.0)
    for c in cols:  # the random walk has no forecast from an unpublished origin
        for lab in HORIZONS:
            rw[f"{lab}|{c}"] = data[c].to_numpy()[pos - 1]
    fc = {"RW": rw, "DL-VAR": frame(3.0), "LNN-DNS": frame(-2.0)}
    errors, mask, _ = curve_errors(fc, data)
    # the common cells exclude NaN realised values, NaN origins and targets past the end
    stale = (pos - 1 >= 100) & (pos - 1 < 110)
    assert stale.any() and not mask["1d"][stale, 2].any() and mask["1d"][stale, 1].all()
    assert mask["1y"].sum() < mask["1d"].sum()
    for lab in HORIZONS:
        d = errors["DL-VAR"][lab] - errors["RW"][lab]
        np.testing.assert_allclose(d[mask[lab]], 3.0, atol=1e-9)
    sc = CurveFamily().score(fc, data, seed=0)
    head = sc.tables["rmse"]
    assert list(head.index) == ["RW", "DL-VAR", "LNN-DNS"] and list(head.columns) == list(HORIZONS)
    dm = sc.tables["diebold_mariano"]
    assert {("LNN-DNS", "RW"), ("LNN-DNS", "DL-VAR"), ("DL-VAR", "RW")} == set(
        zip(dm.model, dm.benchmark, strict=True))
    assert set(sc.tables["diebold_mariano_by_tenor"].tenor) == set(cols)
    assert sc.figures  # heat maps, curves
    fig = next(iter(sc.figures.values()))()
    assert fig.axes


def test_roles_follow_kinds_not_names():
    fam = CurveFamily()
    # the defaults are known by kind without registration
    assert fam.roles(["RW", "DL-VAR", "LNN-DNS"]) == (["RW", "DL-VAR"], ["LNN-DNS"])
    fam.register({"LNN lookalike": DieboldLiTask("ar"), "my challenger": LNNDNSTask(),
                  "naive": RandomWalkTask()})
    assert fam.roles(["LNN lookalike", "my challenger", "naive"]) == (
        ["LNN lookalike", "naive"], ["my challenger"])
    assert fam.kind_of("naive") == "random-walk" and fam.kind_of("LNN lookalike") == "diebold-li"
    tasks = fam.tasks({"Challenger": {"kind": "lnn-dns"}, "Bench": {"kind": "diebold-li"}},
                      quick=True)
    assert isinstance(tasks["Challenger"], LNNDNSTask)
    assert fam.roles(list(tasks)) == (["Bench"], ["Challenger"])
    with pytest.raises(ConfigError, match="no known kind"):
        CurveFamily().roles(["LNN-unknown"])
    with pytest.raises(ConfigError):
        fam.register({"x": object()})


def test_tiny_campaign_end_to_end(tmp_path):
    from validation.harness import run_campaign

    cfg = CampaignConfig(family="curve", dataset="gsw", out=str(tmp_path / "camp"), oos=40,
                         refit=20, executor="serial", quick=True,
                         sensitivity=SensitivityConfig(seeds=(), window_size=None, crisis=False))
    res = run_campaign(cfg, progress=False)
    assert res.report_html.is_file() and res.report_pdf.is_file()
    head = res.headline
    assert list(head.index) == ["RW", "DL-AR", "DL-VAR", "LNN-DNS", "LNN-DNS-RW"]
    assert np.isfinite(head[["1d", "1w"]].to_numpy()).all()
    assert res.checks["passed"].all(), res.checks.loc[~res.checks["passed"], "check"].tolist()
    nest = res.checks[res.checks["check"].str.contains("network off")]
    assert len(nest) == 5 and (nest["value"] < 1e-12).all()
    lnn = res.forecasts["LNN-DNS"]
    assert {"theta_mu_level", "theta_speed_level", "theta_carry"} <= set(lnn.columns)
    assert "theta_anchor" not in lnn
    rw = res.forecasts["LNN-DNS-RW"]  # anchored at the random walk, a challenger
    assert {"theta_anchor", "theta_anchor_scale"} <= set(rw.columns)
    assert np.isfinite(rw["theta_anchor"]).all() and (rw["theta_anchor_scale"] > 0).all()
    assert CurveFamily().roles(list(head.index))[1] == ["LNN-DNS", "LNN-DNS-RW"]
    dm = res.scores.tables["diebold_mariano"]
    assert {("LNN-DNS-RW", "RW"), ("LNN-DNS-RW", "DL-VAR")} <= set(zip(dm.model, dm.benchmark,
                                                                      strict=True))
    # the default challengers are searched seed ensembles (2 members when quick)
    for n in ("LNN-DNS", "LNN-DNS-RW"):
        f = res.forecasts[n]
        assert {"member0|1y|SVENY10", "member1|1y|SVENY10"} <= set(f.columns)
        assert "member2|1y|SVENY10" not in f
        assert f["chosen|hidden_size"].isin([4, 8]).all()
    assert res.forecasts["LNN-DNS-RW"]["chosen|max_horizon"].isin([63, 252]).all()
    tables = res.scores.tables
    assert set(tables["seed_spread"].model) == {"LNN-DNS", "LNN-DNS-RW"}
    assert tables["hyperparameter_search"]["chosen"].sum() == 2  # one search year, two models
    assert len(tables["chosen_hyperparameters"]) == 4  # two windows, two models
    assert (res.tables_dir / "hyperparameter-search.csv").is_file()
