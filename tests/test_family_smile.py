"""The smile family: data, leave-one-expiry-out machinery, scoring, arbitrage counts, a campaign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from baselines.sabr import fit_sabr
from hybridrisk.errors import ConfigError
from hybridrisk.kernels.sabr import implied_vol
from validation.families import FAMILIES
from validation.families.smile import (
    SmileFamily,
    arbitrage_counts,
    default_models,
    loeo_tables,
    run_smile_campaign,
)
from validation.families.smile_tasks import (
    SPECS,
    ClassicalSurface,
    ModelSpec,
    fit_classical,
    leave_one_expiry_out,
    load_quotes,
)

EQ = SPECS["dax"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _surface(params: dict[float, tuple[float, float, float]], f: float = 100.0,
             x: np.ndarray | None = None, wiggle: float = 5e-4) -> pd.DataFrame:
    rows = []
    for t, (a, r, nu) in params.items():
        k = f * np.exp(np.linspace(-0.4, 0.3, 8) * np.sqrt(t) if x is None else x)
        v = implied_vol(f, torch.tensor(k), t, a, 1.0, r, nu).numpy()
        v = v + wiggle * np.sin(7.0 * k)  # not exactly SABR: fits leave residuals
        rows.append(pd.DataFrame({"surface": "toy", "expiry": t, "strike": k, "vol": v,
                                  "forward": f, "label": f"{t}y"}))
    return pd.concat(rows, ignore_index=True)


TOY = {0.25: (0.25, -0.4, 1.2), 0.5: (0.24, -0.5, 0.9), 1.0: (0.23, -0.6, 0.7),
       2.0: (0.22, -0.6, 0.5)}


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    return _surface(TOY)


@pytest.fixture(scope="module")
def toy_table(toy) -> pd.DataFrame:
    return fit_classical(toy, EQ)


def test_registration_datasets_and_eur_cube():
    fam = FAMILIES["smile"]
    assert isinstance(fam, SmileFamily)
    assert set(fam.datasets) == {"andreasen_huge", "dax", "eur_swaption_cube"}
    eur = load_quotes("eur_swaption_cube")
    assert len(eur) == 162 and eur["surface"].nunique() == 3
    from hybridrisk.pricing.eur_curves import bootstrap_eur_curves

    atm = bootstrap_eur_curves().atm_swaptions().set_index(["expiry", "tenor"])
    row = eur[eur["label"] == "1Yx5Y"]
    assert np.allclose(row["forward"], atm.loc[("1Y", "5Y"), "forward"], rtol=0, atol=0)
    assert np.allclose(row["expiry"], 1.0) and row["forward"].iloc[0] > 0
    # strikes are the forward plus the cube's offsets
    np.testing.assert_allclose(np.sort(row["strike"] - row["forward"]),
                               [-0.02, -0.01, -0.005, -0.0025, 0, 0.0025, 0.005, 0.01, 0.02],
                               atol=1e-15)
    dax = load_quotes("dax")
    assert dax["expiry"].nunique() == 8 and len(dax) == 104
    with pytest.raises(ConfigError):
        load_quotes("spx")
    with pytest.raises(ConfigError):
        run_smile_campaign("spx", "unused")
    with pytest.raises(ConfigError):
        ModelSpec("sabr-cubic")
    with pytest.raises(ConfigError):
        ModelSpec("sabr-linear", {"epochs": 3})


def test_leave_one_expiry_out_against_an_independent_computation(toy, toy_table):
    lin = leave_one_expiry_out(ModelSpec("sabr-linear"), toy, toy_table, EQ, 0)
    tv = leave_one_expiry_out(ModelSpec("sabr-total-variance"), toy, toy_table, EQ, 0)
    knots = sorted(TOY)
    for j, t in enumerate(knots):
        rest = [x for x in knots if x != t]
        fits = {x: fit_sabr(g["strike"], g["vol"], 100.0, x, beta=1.0).params
                for x, g in toy[toy["expiry"].isin(rest)].groupby("expiry")}
        k = toy.loc[toy["expiry"] == t, "strike"].to_numpy()
        p = {c: np.interp(t, rest, [fits[x][c] for x in rest]) for c in ("alpha", "rho", "nu")}
        ref = implied_vol(100.0, torch.tensor(k), t, p["alpha"], 1.0, p["rho"], p["nu"]).numpy()
        np.testing.assert_allclose(lin.loc[lin["expiry"] == t, "model_vol"], ref, atol=1e-9)
        if 0 < j < len(knots) - 1:  # total variance linear in T at fixed log-moneyness
            a, b = knots[j - 1], knots[j + 1]

            def w(x: float, k=k, fits=fits) -> np.ndarray:
                q = fits[x]
                return implied_vol(100.0, torch.tensor(k), x, q["alpha"], 1.0, q["rho"],
                                   q["nu"]).numpy() ** 2 * x

            lam = (t - a) / (b - a)
            ref_tv = np.sqrt(((1 - lam) * w(a) + lam * w(b)) / t)
            np.testing.assert_allclose(tv.loc[tv["expiry"] == t, "model_vol"], ref_tv,
                                       atol=1e-9)
    # the log rule: softplus^-1 alpha, artanh rho, softplus^-1 nu linear in log T, by hand
    logr = leave_one_expiry_out(ModelSpec("sabr-log"), toy, toy_table, EQ, 0)
    inv = lambda x: np.log(np.expm1(x))  # noqa: E731
    for t in knots:
        rest = toy_table.drop(index=t)
        x, lt = np.log(rest.index.to_numpy()), np.log(t)
        a = np.log1p(np.exp(np.interp(lt, x, inv(rest["alpha"].to_numpy()))))
        r = np.tanh(np.interp(lt, x, np.arctanh(rest["rho"].to_numpy())))
        n = np.log1p(np.exp(np.interp(lt, x, inv(rest["nu"].to_numpy()))))
        k = toy.loc[toy["expiry"] == t, "strike"].to_numpy()
        ref = implied_vol(100.0, torch.tensor(k), t, a, 1.0, r, n).numpy()
        np.testing.assert_allclose(logr.loc[logr["expiry"] == t, "model_vol"], ref, rtol=1e-12)
    assert not np.allclose(logr["model_vol"], lin["model_vol"], atol=1e-6)
    vols = toy.set_index(["expiry", "strike"])["vol"]
    err = lin.set_index(["expiry", "strike"])
    np.testing.assert_allclose(err["error_bp"], 1e4 * (err["model_vol"] - vols.loc[err.index]))


def test_auto_interpolation_picks_the_rule_with_the_lower_inner_error(toy, toy_table):
    from validation.families.smile_tasks import choose_interpolation, fit_surface_model

    def mean_err(rule: str, q: pd.DataFrame, table: pd.DataFrame) -> float:
        out = leave_one_expiry_out(ModelSpec(f"sabr-{rule}"), q, table, EQ, 0)
        return float(out.groupby("expiry")["error_bp"].apply(
            lambda e: np.sqrt(np.mean(e**2))).mean())

    # nu like T^-1/2 over widely spaced expiries: the log rule follows it, linear in T not
    steep = {0.02: (0.25, -0.4, 3.0), 0.1: (0.24, -0.45, 1.4), 0.5: (0.23, -0.5, 0.64),
             2.0: (0.22, -0.55, 0.32), 5.0: (0.22, -0.6, 0.2)}
    q = _surface(steep, wiggle=0.0)
    table = fit_classical(q, EQ)
    errs = {r: mean_err(r, q, table) for r in ("linear", "log")}
    assert errs["log"] < errs["linear"] and choose_interpolation(q, table, EQ) == "log"
    errs = {r: mean_err(r, toy, toy_table) for r in ("linear", "log")}
    pick = choose_interpolation(toy, toy_table, EQ)
    assert pick == min(errs, key=errs.get)
    fit = fit_surface_model(ModelSpec("lnn-sabr", {"epochs": 2, "hidden_size": 2,
                                                   "interpolation": "auto"}), q, table, EQ, 0)
    assert fit.result.interpolation == "log"


def test_held_out_quotes_never_reach_the_fit(toy, toy_table):
    model = ModelSpec("lnn-sabr", {"epochs": 3, "hidden_size": 2})
    moved = toy.copy()
    held = moved["expiry"] == 0.5
    moved.loc[held, "vol"] += 0.05
    table = toy_table.copy()
    table.loc[0.5, ["alpha"]] *= 1.5  # its own calibration is dropped too
    a = leave_one_expiry_out(model, toy, toy_table, EQ, 0)
    b = leave_one_expiry_out(model, moved, table, EQ, 0)
    np.testing.assert_array_equal(a.loc[a["expiry"] == 0.5, "model_vol"],
                                  b.loc[b["expiry"] == 0.5, "model_vol"])
    assert not np.array_equal(a.loc[a["expiry"] == 1.0, "model_vol"],
                              b.loc[b["expiry"] == 1.0, "model_vol"])


def test_scores_pooled_and_by_expiry():
    def frame(err: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"surface": "s", "label": ["a", "a", "b", "b", "c", "c"],
                             "expiry": [1, 1, 2, 2, 3, 3], "error_bp": err})

    fc = {"classical": frame([3, 4, 1, 1, 10, 10]), "LNN": frame([1, 1, 1, 1, 2, 2])}
    tabs = loeo_tables(fc, ["LNN"])
    s = tabs["loeo_summary"]
    assert s.loc["classical", "pooled RMSE (bp)"] == pytest.approx(
        np.sqrt((9 + 16 + 1 + 1 + 100 + 100) / 6))
    assert s.loc["LNN", "mean RMSE by expiry (bp)"] == pytest.approx((1 + 1 + 2) / 3)
    assert s.loc["LNN", "best on (expiries)"] == 2
    t = tabs["loeo_tests"].iloc[0]
    assert (t["wins"], t["losses"]) == (2, 0)
    by = tabs["loeo_by_expiry"]
    assert by.loc[by["label"] == "a", "classical"].item() == pytest.approx(np.sqrt(12.5))
    fam = SmileFamily()
    assert fam.roles(list(default_models(True))) == (
        ["SABR per expiry", "SABR linear in T", "SABR log-linear in T", "SABR total variance"],
        ["LNN-SABR"])


def test_arbitrage_counts_inside_and_outside(toy, toy_table):
    clean = arbitrage_counts(ClassicalSurface(toy_table, EQ, "sabr-linear"), toy, EQ)
    assert clean["inside quotes"].sum() == 0
    # Hagan's density goes negative inside these quotes (nu = 2, rho = -0.9, T = 2)
    bad = _surface({1.0: (0.2, -0.9, 2.0), 2.0: (0.2, -0.9, 2.0)},
                   x=np.linspace(-1.5, 0.8, 12), wiggle=0.0)
    t = fit_classical(bad, EQ)
    counts = arbitrage_counts(ClassicalSurface(t, EQ, "sabr"), bad, EQ, between=False)
    assert counts.loc["butterfly", "inside quotes"] > 0


def test_tiny_campaign_end_to_end(tmp_path):
    """Through the family's harness entry point, from a CampaignConfig as the CLI builds it."""
    from validation.config import CampaignConfig

    models = {n: {"kind": m.kind} for n, m in default_models(True).items()}
    models["LNN-SABR"].update(epochs=2, hidden_size=2)
    cfg = CampaignConfig(family="smile", dataset="eur_swaption_cube", out=str(tmp_path),
                         quick=True, models=models)
    res = FAMILIES["smile"].run_campaign(cfg, progress=False)
    head = res.headline
    assert list(head.index) == list(models)
    assert np.isfinite(head["pooled RMSE (bp)"]).all()
    assert res.checks["passed"].all(), res.checks
    assert len(res.checks) == 13  # the data's hashes, four checks on each of three tenors
    assert res.report_html.is_file() and res.report_pdf.is_file()
    assert (tmp_path / "tables" / "loeo-summary.csv").is_file()
    html = res.report_html.read_text()
    assert "SIMULATION STUDY" in html and "leave-one-expiry-out" in html
    # the report opens with the executive summary, computed from the family's comparisons
    comp = res.scores.comparisons
    assert comp is not None and set(comp["champion"]) == set(models) - {"LNN-SABR"}
    assert html.index("Executive summary") < html.index("Scope and intended use")
    assert "LNN-SABR: " in html and "beat the best champion" in html
    assert "18 held-out expiries" in html and "Findings register" in html
    assert "the data the settings were chosen on" in html  # the EUR cube chose the settings
    assert "bytes were verified in this run" in html
    arb = res.tables["arbitrage"]
    assert set(arb.index) == set(models)


def test_seed_ensemble_is_the_mean_path_and_nests_the_classical_surface(toy, toy_table):
    from validation.families.smile import seed_spread
    from validation.families.smile_tasks import LNNSurface, fit_surface_model

    opts = {"epochs": 15, "hidden_size": 2, "patience": 50}
    ens = fit_surface_model(ModelSpec("lnn-sabr", {**opts, "seeds": 3}), toy, toy_table, EQ, 4)
    assert isinstance(ens, LNNSurface) and len(ens.members) == 3
    assert [m.result.seed for m in ens.members] == [4, 5, 6]
    grid = np.array([0.1, 0.25, 0.7, 1.5, 3.0])
    paths = [m.params(grid).to_numpy() for m in ens.members]
    assert not np.allclose(paths[0], paths[1])  # the seeds differ
    np.testing.assert_allclose(ens.params(grid).to_numpy(), np.mean(paths, axis=0),
                               rtol=1e-15)
    p = ens.params([0.7]).iloc[0]
    k = np.linspace(80.0, 120.0, 5)
    ref = implied_vol(100.0, torch.tensor(k), 0.7, p["alpha"], 1.0, p["rho"], p["nu"]).numpy()
    np.testing.assert_allclose(ens.smile(0.7, 100.0)(k), ref, rtol=1e-14)
    # network off: the classical linear-in-T surface, at quoted and unquoted expiries
    off = LNNSurface(ens.result, network_off=True, others=ens.others)
    lin = ClassicalSurface(toy_table, EQ, "sabr-linear")
    for t in (0.25, 0.7, 2.0, 3.0):
        np.testing.assert_allclose(off.smile(t, 100.0)(k), lin.smile(t, 100.0)(k), rtol=0,
                                   atol=1e-12)
    # leave-one-expiry-out keeps each member's error next to the ensemble's
    spec = ModelSpec("lnn-sabr", {**opts, "seeds": 2})
    loo = leave_one_expiry_out(spec, toy, toy_table, EQ, 0)
    assert {"error_bp", "error_bp_seed0", "error_bp_seed1"} <= set(loo.columns)
    single = leave_one_expiry_out(ModelSpec("lnn-sabr", opts), toy, toy_table, EQ, 1)
    np.testing.assert_array_equal(loo["error_bp_seed1"], single["error_bp"])
    tab = seed_spread({"LNN-SABR": loo}, ["LNN-SABR"], 0).set_index("seed")
    assert list(tab.index) == ["0", "1", "ensemble"]
    assert tab.loc["1", "pooled RMSE (bp)"] == pytest.approx(
        np.sqrt(np.mean(single["error_bp"] ** 2)), rel=1e-12)
    with pytest.raises(ConfigError, match="seeds"):
        fit_surface_model(ModelSpec("lnn-sabr", {"seeds": 0}), toy, toy_table, EQ, 0)


def test_seed_callout_tells_seed_dependence_from_a_systematic_loss():
    from validation.families.smile_report import seed_callout

    summary = pd.DataFrame({"pooled RMSE (bp)": [10.0, 8.0], "mean RMSE by expiry (bp)":
                            [6.0, 5.0]}, index=["SABR linear in T", "SABR total variance"])
    champs = list(summary.index)

    def seeds(pooled: list[float], mean: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"model": "LNN-SABR", "seed": ["0", "1", "ensemble"],
                             "pooled RMSE (bp)": pooled, "mean RMSE by expiry (bp)": mean})

    def call(kind: str, text: str, title: str) -> tuple[str, str]:
        return kind, text

    kind, text = seed_callout(seeds([7, 7.5, 7.2], [4, 4.5, 4.2]), summary, champs, call)
    assert kind == "pass" and "0 of 2 seeds" in text
    kind, text = seed_callout(seeds([7, 9, 8.1], [4, 4.5, 4.2]), summary, champs, call)
    assert kind == "warning" and "depends on its seed" in text and "1 of 2" in text
    kind, text = seed_callout(seeds([7, 7.5, 7.2], [5.5, 6, 5.7]), summary, champs, call)
    assert kind == "warning" and "every seed does" in text and "2 of 2" in text
