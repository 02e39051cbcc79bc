"""The dependence family: data, margins without look-ahead, scoring, a small campaign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from copula_synthetic import gaussian_forecast, gaussian_pits
from scipy import special, stats

from baselines.margins import garch_pits
from hybridrisk.errors import ConfigError
from hybridrisk.kernels import copulas as K
from validation.config import CampaignConfig, SensitivityConfig
from validation.families import FAMILIES
from validation.families.dependence import DependenceFamily, rosenblatt_tests
from validation.families.dependence_tasks import (
    COPULA_COLUMNS,
    FAMILY_CODES,
    DCCCopulaTask,
    GASCopulaTask,
    LNNCopulaTask,
    LNNGASCopulaTask,
    StaticCopulaTask,
    fit_margins,
    portfolio_return,
    simulate_portfolio,
    var_es_from_draws,
)
from validation.walkforward import WalkForward

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def fx() -> pd.DataFrame:
    return DependenceFamily().load("ecb_fx")


# ---------------------------------------------------------------- data and configuration


def test_datasets_and_registration(fx):
    fam = FAMILIES["dependence"]
    assert isinstance(fam, DependenceFamily)
    assert list(fx.columns) == ["EURUSD", "EURGBP"] and fx.index[0] == pd.Timestamp("1999-01-05")
    jpy = fam.load("ecb_fx:USD,JPY")
    assert list(jpy.columns) == ["EURUSD", "EURJPY"]
    np.testing.assert_array_equal(jpy["EURUSD"].to_numpy(), fx["EURUSD"].to_numpy())
    eq = fam.load("sp500_nasdaq")
    assert list(eq.columns) == ["SP500", "NASDAQ"] and len(eq) == 5030
    # a currency pair is a dataset name the config (and so the CLI) accepts as it is
    cfg = CampaignConfig(family="dependence", dataset="ecb_fx:USD,JPY")
    assert "EUR/JPY" in fam.datasets[cfg.dataset]
    for bad in ("ecb_fx:USD,XXX", "ecb_fx:USD,USD", "ecb"):
        with pytest.raises(ConfigError):
            CampaignConfig(family="dependence", dataset=bad)
    with pytest.raises(ConfigError):
        fam.load("bunds")
    with pytest.raises(ConfigError):
        fam.tasks({"X": {"kind": "garch"}}, quick=True)
    with pytest.raises(ConfigError):
        fam.tasks({"X": {"kind": "static-copula", "family": "t"}}, quick=True)
    with pytest.raises(ConfigError):
        fam.tasks({"X": {"kind": "gas", "family": "frank"}}, quick=True)
    with pytest.raises(ConfigError):
        fam.tasks({"X": {"kind": "dcc", "n_draws": 10}}, quick=True)


def test_user_data_two_price_series():
    idx = pd.bdate_range("2020-01-01", periods=300)
    gen = np.random.default_rng(1)
    px = pd.DataFrame(100 * np.exp(np.cumsum(gen.normal(0, 0.01, (300, 3)), axis=0)),
                      index=idx, columns=["a", "b", "c"])
    out = DependenceFamily().from_user_data(px, column=["a", "c"], units="price")
    assert list(out.columns) == ["a", "c"] and len(out) == 299
    np.testing.assert_allclose(out["c"], 100 * np.log(px["c"]).diff().iloc[1:])
    with pytest.raises(ConfigError, match="pair"):
        DependenceFamily().from_user_data(px)
    with pytest.raises(ConfigError):
        DependenceFamily().from_user_data(px[["a", "b"]], units="basis points")


def test_roles_follow_kinds_not_names():
    fam = DependenceFamily()
    names = list(fam.default_models(quick=False))
    assert fam.roles(names) == (names[:-2], ["LNN-Copula-t", "LNN-GAS-t"])
    fam.register({"LNN lookalike": StaticCopulaTask(), "mine": LNNCopulaTask()})
    assert fam.roles(["LNN lookalike", "mine"]) == (["LNN lookalike"], ["mine"])
    with pytest.raises(ConfigError, match="no known kind"):
        DependenceFamily().roles(["unknown"])


# ---------------------------------------------------------------- margins and tasks


def test_margins_are_fitted_before_the_block(fx):
    data = fx.iloc[-900:]
    win = WalkForward(refit=20, oos=40, min_train=500).plan(data)[0]
    sl = data.iloc[win.train_start: win.block_end + 1]
    m = fit_margins(sl, win)
    # over the training span: exactly garch_pits (IFM) of the training data
    ref = garch_pits(sl.iloc[: win.n_train])
    np.testing.assert_allclose(m.u_train.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-12)
    assert m.u_block.index.equals(sl.index[-win.n_block:])
    # a shock on the block's day k moves sigma from day k + 1 on and the PIT of day k only
    moved = sl.copy()
    moved.iloc[-5, 0] += 3.0
    m2 = fit_margins(moved, win)
    np.testing.assert_array_equal(m2.sigma_block[:-4], m.sigma_block[:-4])
    assert not np.allclose(m2.sigma_block[-4:, 0], m.sigma_block[-4:, 0])
    np.testing.assert_array_equal(m2.u_block.iloc[:-5], m.u_block.iloc[:-5])
    np.testing.assert_array_equal(m2.mu, m.mu)


@pytest.mark.filterwarnings("ignore::arch.utility.exceptions.DataScaleWarning")
def test_block_margins_are_arch_forecasts_and_standardized_t_pits(fx):
    """Out of sample, sigma_t is arch's own one-step forecast at the training fit's parameters
    (backcast from the training span) and the PIT is arch's unit-variance t distribution
    function of (r_t - mu) / sigma_t -- not the t of scale 1, whose PITs are too dispersed."""
    from arch import arch_model
    from arch.univariate import StudentsT

    from baselines.garch import fit_garch

    data = fx.iloc[-900:]
    win = WalkForward(refit=20, oos=40, min_train=500).plan(data)[0]
    sl = data.iloc[win.train_start: win.block_end + 1]
    m = fit_margins(sl, win)
    for j, c in enumerate(sl.columns):
        res = fit_garch(sl[c].iloc[: win.n_train], dist="t")
        am = arch_model(sl[c], mean="Constant", vol="GARCH", p=1, q=1, dist="t",
                        rescale=False)
        fixed = am.fix(res.params.to_numpy(), last_obs=sl.index[win.n_train])
        fc = fixed.forecast(horizon=1, start=sl.index[win.n_train - 1], reindex=False)
        sigma = np.sqrt(fc.variance["h.1"].to_numpy()[:-1])  # origin t -> day t + 1
        np.testing.assert_allclose(m.sigma_block[:, j], sigma, rtol=1e-12)
        nu = float(res.params["nu"])
        z = (sl[c].iloc[win.n_train:].to_numpy() - float(res.params["mu"])) / sigma
        ref = StudentsT().cdf(z, np.array([nu]))
        np.testing.assert_allclose(m.u_block[c].to_numpy(), ref, rtol=0, atol=1e-12)
        assert not np.allclose(m.u_block[c].to_numpy(), stats.t.cdf(z, nu), atol=1e-3)
        assert m.mu[j] == float(res.params["mu"]) and m.nu[j] == nu


@pytest.mark.parametrize("task", [
    StaticCopulaTask(family="best", copula_window=300, n_draws=500),
    GASCopulaTask(copula_window=300, n_draws=500, n_starts=1),
    DCCCopulaTask(copula_window=300, n_draws=500),
    LNNCopulaTask(copula_window=400, n_draws=500, epochs=1, max_train=400),
    LNNCopulaTask(copula_window=400, n_draws=500, epochs=1, max_train=400, ensemble=2,
                  covariates=True),
    LNNGASCopulaTask(copula_window=400, n_draws=500, epochs=1, max_train=400, n_starts=1),
], ids=["static-aic", "gas", "dcc", "lnn", "lnn-ensemble-covariates", "lnn-gas"])
def test_tasks_use_only_the_past(fx, task):
    data = fx.iloc[-700:]
    win = WalkForward(refit=15, oos=30, min_train=500).plan(data)[0]
    sl = data.iloc[win.train_start: win.block_end + 1]
    out = task(sl, win, 11)
    assert out.index.equals(sl.index[-win.n_block:])
    assert set(COPULA_COLUMNS) <= set(out.columns) and np.isfinite(out["logscore"]).all()
    assert (out["VaR_0.99"] > out["VaR_0.95"]).all() and (out["ES_0.99"] >= out["VaR_0.99"]).all()
    # the log score is the kernel's copula log density at the day's PITs and parameters
    fam = {v: k for k, v in FAMILY_CODES.items()}[int(out["family_code"].iloc[0])]
    th = out["param1"].to_numpy() if fam != "student" else out[["param1", "param2"]].to_numpy()
    ref = K.log_density(fam, torch.tensor(out[["u_1", "u_2"]].to_numpy()), torch.tensor(th),
                        int(out["rotation"].iloc[0]))
    np.testing.assert_allclose(out["logscore"], ref.numpy(), rtol=1e-9, atol=1e-12)
    # the same window and seed give the same bytes; a shock on a block day moves nothing
    # forecast before it
    pd.testing.assert_frame_equal(task(sl, win, 11), out)
    moved = sl.copy()
    moved.iloc[-5] += 2.0
    again = task(moved, win, 11)
    par = ["param1", "param2", "tau", "sigma_1", "sigma_2"]
    pd.testing.assert_frame_equal(again[par].iloc[:-4], out[par].iloc[:-4])
    pd.testing.assert_frame_equal(again.iloc[:-5], out.iloc[:-5])


def test_lnn_ensemble_is_the_copula_at_the_members_mean(fx):
    from validation.families.dependence_tasks import _member_seed

    data = fx.iloc[-700:]
    win = WalkForward(refit=15, oos=30, min_train=500).plan(data)[0]
    sl = data.iloc[win.train_start: win.block_end + 1]
    m = fit_margins(sl, win)
    # no validation hold-out: early stopping cannot keep the members at the benchmark
    kw = dict(copula_window=400, n_draws=500, epochs=2, max_train=400, covariates=True,
              val_fraction=0.0)
    one = LNNCopulaTask(**kw)
    members = [one.copula(sl, win, m, m.u_train.iloc[-400:], _member_seed(11, k))
               for k in range(3)]
    fam, rot, p1, p2, ls = LNNCopulaTask(**kw, ensemble=3).copula(
        sl, win, m, m.u_train.iloc[-400:], 11)
    assert (fam, rot) == ("student", 0) and _member_seed(11, 0) == 11
    assert len({_member_seed(11, k) for k in range(3)}) == 3
    np.testing.assert_allclose(p1, np.mean([x[2] for x in members], axis=0), rtol=1e-12)
    np.testing.assert_allclose(p2, np.mean([x[3] for x in members], axis=0), rtol=1e-12)
    assert not np.allclose(members[0][2], members[1][2])  # the members differ
    th = torch.tensor(np.column_stack([p1, p2]))
    ref = K.log_density("student", torch.tensor(m.u_block.to_numpy()), th, 0).numpy()
    np.testing.assert_allclose(ls, ref, rtol=1e-12)
    with pytest.raises(ConfigError, match="ensemble"):
        LNNCopulaTask(ensemble=0)


def test_portfolio_simulation_against_the_normal_closed_form():
    n, m, rho = 20, 20000, 0.6
    sig = np.array([1.0, 0.5])
    frame = pd.DataFrame({"family_code": FAMILY_CODES["gaussian"], "rotation": 0,
                          "param1": rho, "param2": np.nan, "mu_1": 0.0, "mu_2": 0.0,
                          "sigma_1": sig[0], "sigma_2": sig[1], "nu_1": 1e9, "nu_2": 1e9},
                         index=range(n))
    draws = simulate_portfolio(frame, np.random.default_rng(3).random((n, m, 2)))
    out = var_es_from_draws(draws)
    # nu -> inf margins and a Gaussian copula: bivariate normal returns; the portfolio's
    # simple return differs from the mean of the log returns by O(r^2 / 100)
    sd = 0.5 * np.sqrt(sig[0] ** 2 + sig[1] ** 2 + 2 * rho * sig[0] * sig[1])
    z = stats.norm.ppf(0.99)
    assert out["VaR_0.99"].mean() == pytest.approx(z * sd, rel=0.01)
    assert out["ES_0.99"].mean() == pytest.approx(sd * stats.norm.pdf(z) / 0.01, rel=0.015)
    assert portfolio_return(1.0, -1.0) == pytest.approx(100 * (np.exp(0.01) + np.exp(-0.01)
                                                               - 2) / 2)


# ---------------------------------------------------------------- scoring


def _synthetic(n: int = 300) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, DependenceFamily]:
    """Three Gaussian-copula models on PITs from a Gaussian copula with rho = 0.5."""
    idx, u, data = gaussian_pits(n)
    rho_path = {"A": np.full(n, 0.5), "B": np.full(n, 0.2),
                "C": 0.5 + 0.2 * np.sin(np.arange(n) / 20), "N": np.full(n, 0.5)}
    out = {name: gaussian_forecast(idx, u, rho) for name, rho in rho_path.items()}
    fam = DependenceFamily()
    fam.register({"A": StaticCopulaTask(family="gaussian"),
                  "B": StaticCopulaTask(family="gaussian"),
                  "C": LNNCopulaTask(family="gaussian"), "N": LNNCopulaTask(family="gaussian")})
    return out, data, fam


def test_scoring_against_independent_numbers():
    fc, data, fam = _synthetic()
    sc = fam.score(fc, data, seed=0)
    head = sc.tables["log_scores"]
    assert list(head.index) == ["A", "B", "C", "N"]
    for n, f in fc.items():
        assert head.loc[n, "mean log score"] == pytest.approx(f["logscore"].mean(), rel=1e-14)
    # the challenger at its nested state scores as its champion: the same MCS p-value
    assert head.loc["N", "MCS p-value"] == head.loc["A", "MCS p-value"]

    # Diebold-Mariano with the HLN correction, h = 1, on the negative log score, by hand
    dm = sc.tables["diebold_mariano"].set_index(["challenger", "champion"])
    d = fc["B"]["logscore"].to_numpy() - fc["C"]["logscore"].to_numpy()  # loss_C - loss_B
    n = len(d)
    stat = d.mean() / np.sqrt(np.mean((d - d.mean()) ** 2) / n) * np.sqrt((n - 1) / n)
    row = dm.loc[("C", "B")]
    assert row["DM (HLN)"] == pytest.approx(stat, rel=1e-10)
    assert row["p challenger better"] == pytest.approx(stats.t.cdf(stat, n - 1), rel=1e-10)
    assert row["p two-sided"] == pytest.approx(2 * stats.t.sf(abs(stat), n - 1), rel=1e-10)
    assert row["mean log-score diff"] == pytest.approx(-d.mean(), rel=1e-12)
    assert np.isnan(dm.loc[("N", "A"), "DM (HLN)"])  # identical forecasts: no test
    assert any("nested state" in v[1] for v in sc.verdicts)
    # the executive summary's comparisons: the negative log score, Holm over the champions
    comp = sc.comparisons.set_index(["challenger", "champion"])
    assert (comp["loss"] == "negative log score").all()
    assert comp.loc[("C", "B"), "challenger loss"] == pytest.approx(-fc["C"]["logscore"].mean())
    assert comp.loc[("C", "B"), "p Holm"] == dm.loc[("C", "B"), "p challenger better (Holm)"]
    assert np.isnan(comp.loc[("N", "A"), "p challenger better"])
    assert comp.loc[comp["best champion"]].index.get_level_values(1).tolist() == ["A", "A"]

    # Kupiec POF of the portfolio's 99% VaR, by hand
    r = 100 * (0.5 * np.expm1(data["x"] / 100) + 0.5 * np.expm1(data["y"] / 100))
    hits = (r < -0.8).to_numpy()
    x, p = int(hits.sum()), 0.01
    lr = -2 * (x * np.log(p) + (n - x) * np.log(1 - p)
               - (x * np.log(x / n) if x else 0) - (n - x) * np.log(1 - x / n))
    bt = sc.tables["var_backtests"].set_index(["model", "level"])
    assert bt.loc[("A", 0.99), "exceptions"] == x
    assert bt.loc[("A", 0.99), "Kupiec p"] == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-10)
    assert np.isfinite(bt.loc[("A", 0.975), "ES Z2 p"])

    # Rosenblatt of the Gaussian copula: e2 = Phi((z2 - rho z1) / sqrt(1 - rho^2))
    z1, z2 = special.ndtri(fc["A"]["u_1"]), special.ndtri(fc["A"]["u_2"])
    s = z1**2 + ((z2 - 0.5 * z1) / np.sqrt(0.75)) ** 2
    gof = sc.tables["goodness_of_fit"]
    assert gof.loc["A", "chi2 KS p"] == pytest.approx(
        stats.kstest(s, "chi2", args=(2,)).pvalue, rel=1e-9)
    assert gof.loc["A", "chi2 KS p"] > 0.05  # the true model is not rejected
    assert rosenblatt_tests(fc["A"])["independence p"] > 0.05
    assert len(sc.tables["basel_zones"]) == 1
    fig = next(iter(sc.figures.values()))()
    assert fig.axes


# ---------------------------------------------------------------- end to end


def test_quick_campaign_end_to_end(tmp_path):
    from validation.harness import run_campaign

    cfg = CampaignConfig(family="dependence", dataset="ecb_fx", out=str(tmp_path / "camp"),
                         oos=42, refit=21, executor="serial", quick=True,
                         sensitivity=SensitivityConfig(seeds=(), window_size=None,
                                                       crisis=False))
    res = run_campaign(cfg, progress=False)
    assert res.report_html.is_file() and res.report_pdf.is_file()
    head = res.headline
    assert list(head.index) == list(DependenceFamily().default_models(quick=True))
    assert np.isfinite(head["mean log score"]).all()
    assert res.checks["passed"].all(), res.checks.loc[~res.checks["passed"], "check"].tolist()
    assert len(res.scores.tables["diebold_mariano"]) == 12  # 2 challengers x 6 champions
    u = res.forecasts["Static-t"][["u_1", "u_2"]]
    for f in res.forecasts.values():  # every model is scored at the same PITs
        pd.testing.assert_frame_equal(f[["u_1", "u_2"]], u)
    # default margins: GARCH(1,1)-t, named in the margin table; the asymmetric margin
    # option's identities are checked live too
    assert (res.scores.tables["margin_pits"]["margin model"] == "garch-t").all()
    assert res.checks["check"].str.contains("skew-t").sum() == 2
    html = res.report_html.read_text()
    assert "Kendall" in html and "Rosenblatt" in html
    # the executive summary states the challenger's verdict and its portfolio VaR
    assert res.scores.comparisons is not None
    assert "LNN-Copula-t: " in html and "LNN-GAS-t: " in html
    assert "negative log score" in html
    assert "Its 99% VaR passes" in html or "Its 99% VaR fails" in html
    # LNN-GAS-t's epochs come from the nested search inside each training span
    search = res.scores.tables["hyperparameter_search"]
    assert set(search["candidate"]) == {"epochs=0", "epochs=5"}
    assert search.groupby("search span")["chosen"].sum().eq(1).all()
    f = res.forecasts["LNN-GAS-t"]
    assert f["hp_epochs"].isin([0, 5]).all() and "Hyperparameter search" in html
    assert len(res.scores.tables["hyperparameters_by_window"]) == 2
