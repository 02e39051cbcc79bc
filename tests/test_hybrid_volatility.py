"""LNN-GARCH and LNN-DCC: nesting against arch and baselines, persistence, causality, training."""

from __future__ import annotations

import json
import math
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch
from arch import arch_model

import hybridrisk
from baselines import fit_dcc, fit_garch
from hybridrisk import datasets
from hybridrisk.errors import DataValidationError, NumericalError, ParameterDomainError
from hybridrisk.hybrids import LNNDCC, LNNGARCH, LNNDCCResult, LNNGARCHResult
from hybridrisk.hybrids._training import TrainConfig, make_windows, train_loop
from hybridrisk.kernels.distributions import arch_distribution

# Small, fast cells: the nesting property does not depend on the cell's size.
CELLS = {
    "cfc": {"backbone_units": 8},
    "ltc": {"unfolds": 1},
    "ctrnn": {"method": "euler"},
}
FAST = dict(epochs=1, window=120, burn_in=20, progress=False)
SMALL = dict(seed=3, epochs=4, window=100, burn_in=20, progress=False)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def rng_cov():
    return datasets.sp500_range()


@pytest.fixture(scope="module")
def arch_fits(sp500):
    out = {}
    for vol, o in (("garch", 0), ("gjr", 1)):
        am = arch_model(sp500, mean="Constant", vol="GARCH", p=1, o=o, q=1, dist="t")
        out[vol] = am.fit(disp="off")
    return out


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# ---------------------------------------------------------------- nesting (the first check)


@pytest.mark.parametrize("vol", ["garch", "gjr"])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_nested_loglik_equals_arch(sp500, rng_cov, arch_fits, cell, vol):
    res = arch_fits[vol]
    fit = LNNGARCH(cell, 4, vol=vol, dist="t", **CELLS[cell]).fit(
        sp500, covariates=rng_cov, init=res, **FAST)
    assert _rel(fit.nested_loglik(), res.loglikelihood) < 1e-12
    # the benchmark twin is arch's model: information criteria and parameter count too
    assert fit.benchmark.aic == pytest.approx(res.aic, rel=1e-12)
    assert fit.benchmark.bic == pytest.approx(res.bic, rel=1e-12)
    # ... and the nested forecast is arch's analytic forecast.
    f = fit.benchmark.forecast(5)
    af = res.forecast(horizon=5, reindex=False).variance.to_numpy()[0]
    np.testing.assert_allclose(f.variance.to_numpy(), af, rtol=1e-9)
    # The benchmark copy stays at init whatever training did.
    assert fit.history.epochs_run == 1


def test_nested_with_baselines_all_distributions(sp500):
    from baselines.garch import fit_garch

    for o, dist, bc in ((0, "normal", None), (1, "skewt", None), (1, "t", "sample-variance")):
        champ = fit_garch(sp500, o=o, dist=dist, backcast=bc)
        vol = "gjr" if o else "garch"
        fit = LNNGARCH("cfc", 4, vol=vol, dist=dist, backbone_units=8).fit(
            sp500, init=champ, epochs=0, progress=False)
        assert _rel(fit.nested_loglik(), champ.loglik) < 1e-12, (o, dist, bc)
        assert _rel(fit.nested_loglik(), champ.arch_result.loglikelihood) < 1e-12
        # epochs=0: the hybrid is the benchmark, through the network path too
        assert _rel(fit.loglik, champ.loglik) < 1e-8
        np.testing.assert_allclose(fit.conditional_volatility,
                                   champ.conditional_volatility, rtol=1e-9)


def test_zero_mean_nesting(sp500):
    res = arch_model(sp500, mean="Zero", vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    fit = LNNGARCH("cfc", 4, dist="t", mean="zero", backbone_units=8).fit(
        sp500, init=res, epochs=0, progress=False)
    assert _rel(fit.nested_loglik(), res.loglikelihood) < 1e-12


@pytest.fixture(scope="module")
def gbp():
    """The last 1,000 percent log returns of EUR/GBP: arch's GJR-t has gamma < 0 there."""
    px = datasets.ecb_fx(["GBP"])["GBP"]
    return (100.0 * np.log(px).diff()).dropna().rename("GBP").iloc[-1000:]


def test_negative_gamma_benchmark_nests_and_trains(gbp, tmp_path):
    res = arch_model(gbp, mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="t").fit(disp="off")
    assert res.params["gamma[1]"] < 0 < res.params["alpha[1]"] + res.params["gamma[1]"]
    with pytest.raises(ParameterDomainError, match="gamma"):
        LNNGARCH("cfc", 4, vol="gjr", dist="t", asymmetry="positive", backbone_units=8).fit(
            gbp, init=res, **FAST)
    fit = LNNGARCH("cfc", 4, vol="gjr", dist="t", backbone_units=8).fit(
        gbp, init=res, seed=1, epochs=3, window=100, burn_in=20, progress=False)
    assert fit.spec["asymmetry"] == "signed"
    assert _rel(fit.nested_loglik(), res.loglikelihood) < 1e-12
    p = fit.params
    assert (p["alpha[1]"] > 0).all() and (p["alpha[1]"] + p["gamma[1]"] > 0).all()
    assert (p["alpha[1]"] + 0.5 * p["gamma[1]"] + p["beta[1]"] < 1).all()
    assert (p["gamma[1]"] < 0).any()
    loaded = LNNGARCHResult.load(fit.save(tmp_path / "gbp"))
    assert loaded.loglik == fit.loglik
    pd.testing.assert_series_equal(loaded.forecast(5).variance, fit.forecast(5).variance,
                                   check_exact=True)


# ---------------------------------------------------------------- a fitted model, shared


@pytest.fixture(scope="module")
def fitted(sp500, rng_cov):
    # Benchmark on the training span only (a callable init), a few epochs of real training.
    return LNNGARCH("cfc", 4, vol="gjr", dist="t", backbone_units=8).fit(
        sp500.iloc[:3000], covariates=rng_cov, init=partial(fit_garch, o=1, dist="t"), **SMALL)


def test_training_improves_on_the_benchmark(fitted):
    h = fitted.history
    assert h.epochs_run >= 1
    spl, nspl = fitted.split_loglik(), fitted.benchmark.split_loglik()
    assert spl["train"] > nspl["train"]
    # early stopping keeps the best validated state, never worse than the benchmark
    assert h.best_val_loss <= h.initial_val_loss
    assert fitted.num_params > 100 and fitted.benchmark.num_params == 6


def test_constraints_hold_on_the_path(fitted):
    p = fitted.params
    assert list(p.columns) == ["omega", "alpha[1]", "gamma[1]", "beta[1]", "nu"]  # arch's
    assert (p["omega"] > 0).all() and (p["alpha[1]"] > 0).all() and (p["beta[1]"] > 0).all()
    assert (p["gamma[1]"] > 0).all() and (p["nu"] > 2).all()
    assert (p["alpha[1]"] + 0.5 * p["gamma[1]"] + p["beta[1]"] < 1).all()
    assert p.index.equals(fitted.returns.index)
    assert "LNN-GARCH Model Results" in str(fitted.summary())


def test_reproducible_by_seed(sp500, rng_cov, fitted):
    again = LNNGARCH("cfc", 4, vol="gjr", dist="t", backbone_units=8).fit(
        sp500.iloc[:3000], covariates=rng_cov, init=partial(fit_garch, o=1, dist="t"), **SMALL)
    assert again.loglik == fitted.loglik
    for (k, v), (k2, v2) in zip(fitted.net.state_dict().items(),
                                again.net.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)


def test_save_load_identical(tmp_path, fitted, sp500, rng_cov):
    path = fitted.save(tmp_path / "model")
    files = sorted(p.name for p in path.iterdir())
    assert files == ["config.json", "model.safetensors"]
    meta = json.loads((path / "config.json").read_text())
    assert {"versions", "data_sha256", "spec", "init"} <= set(meta)
    loaded = LNNGARCHResult.load(path)
    assert type(hybridrisk.load(path)) is LNNGARCHResult
    assert loaded.loglik == fitted.loglik
    assert loaded.nested_loglik() == fitted.nested_loglik()
    f1, f2 = fitted.forecast(10), loaded.forecast(10)
    pd.testing.assert_series_equal(f1.variance, f2.variance, check_exact=True)
    pd.testing.assert_frame_equal(f1.value_at_risk, f2.value_at_risk, check_exact=True)
    new = sp500.iloc[3000:3100]
    pd.testing.assert_frame_equal(fitted.filter(new, rng_cov), loaded.filter(new, rng_cov),
                                  check_exact=True)


def test_forecast_var_es_and_simulation(fitted):
    f = fitted.forecast(10)
    assert f.variance.iloc[0] == pytest.approx(fitted._ev["sigma2"][-1], rel=0)
    assert list(f.variance.index) == list(range(1, 11))
    var, es = f.value_at_risk.iloc[0], f.expected_shortfall.iloc[0]
    assert list(var.index) == [0.95, 0.975, 0.99]
    assert (np.diff(var.to_numpy()) > 0).all() and (es.to_numpy() > var.to_numpy()).all()
    nu = f.params["nu"]
    z = arch_distribution("t").ppf(0.01, [nu])
    assert var[0.99] == pytest.approx(-(fitted.mu + math.sqrt(f.variance.iloc[0]) * z))
    s1 = fitted.simulate(200, 5, seed=11)
    s2 = fitted.simulate(200, 5, seed=11)
    assert s1.returns.shape == (200, 5) and np.array_equal(s1.returns, s2.returns)
    np.testing.assert_allclose(s1.variance[:, 0], f.variance.iloc[0])


def test_filter_is_causal_and_matches_arch(sp500):
    am = arch_model(sp500, mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="t")
    res = am.fit(disp="off")
    n_fit = 4000
    fit = LNNGARCH("cfc", 4, vol="gjr", dist="t", backbone_units=8).fit(
        sp500.iloc[:n_fit], init=res, backcast=am._backcast, epochs=0, progress=False)
    out = fit.benchmark.filter(sp500.iloc[n_fit:])
    arch_var = res.conditional_volatility.iloc[n_fit:].to_numpy() ** 2
    np.testing.assert_allclose(out["variance"], arch_var, rtol=1e-9)
    lls = am.distribution.loglikelihood([res.params["nu"]], res.resid.iloc[n_fit:].to_numpy(),
                                        arch_var, individual=True)
    np.testing.assert_allclose(out["loglik"], lls, rtol=1e-9, atol=1e-10)
    # no look-ahead: a shorter block gives the same rows
    head = fit.filter(sp500.iloc[n_fit:n_fit + 50])
    full = fit.filter(sp500.iloc[n_fit:])
    pd.testing.assert_frame_equal(head, full.iloc[:50], check_exact=True)
    with pytest.raises(DataValidationError):
        fit.filter(sp500.iloc[n_fit - 5:])


def test_covariates_as_of_their_own_calendar(sp500):
    vix = datasets.vix()
    r = sp500.loc["2014-02-01":]
    fit = LNNGARCH("cfc", 4, dist="t", backbone_units=8).fit(
        r, covariates=vix, init=partial(fit_garch, dist="t"), epochs=0, progress=False)
    # a change in VIX on day d reaches the encoder only at the step after d
    d = r.index[400]
    bumped = vix.copy()
    bumped.loc[d] += 10.0
    x0, _ = fit._inputs(r, [vix])
    x1, _ = fit._inputs(r, [bumped])
    changed = np.flatnonzero(np.any(x0 != x1, axis=1))
    assert changed.tolist() == [401]  # row k uses information up to the date of obs k-1
    # a gap longer than max_staleness is an error, or imputed with an indicator on request
    gappy = vix.drop(vix.loc["2016-01-01":"2016-02-15"].index)
    with pytest.raises(DataValidationError, match="max_staleness"):
        LNNGARCH("cfc", 4, dist="t", backbone_units=8).fit(
            r, covariates=gappy, init=partial(fit_garch, dist="t"), epochs=0, progress=False)
    ok = LNNGARCH("cfc", 4, dist="t", backbone_units=8, on_stale="mean").fit(
        r, covariates=gappy, init=partial(fit_garch, dist="t"), epochs=0, progress=False)
    assert "vix_missing" in ok.features.names


def test_numerical_error_keeps_last_good_state():
    module = torch.nn.Linear(2, 1, dtype=torch.float64)
    calls = {"n": 0}

    def loss_fn(w):
        calls["n"] += 1
        out = module(torch.ones(3, 2, dtype=torch.float64)).sum()
        return out * float("nan") if calls["n"] == 3 else out.square()

    wins = make_windows(0, 100, 20, 5)
    with pytest.raises(NumericalError) as info:
        train_loop(module, list(module.parameters()), loss_fn, None, wins,
                   TrainConfig(epochs=5, batch_size=2, progress=False),
                   generator=torch.Generator().manual_seed(0))
    good = info.value.checkpoint
    for k, v in module.state_dict().items():
        assert torch.equal(v, good[k])
    assert all(torch.isfinite(v).all() for v in good.values())


def test_fit_stops_loudly_on_nan(sp500, monkeypatch):
    import hybridrisk.hybrids.garch as garch

    real = garch.log_density
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        ll = real(*args, **kwargs)
        return ll * float("nan") if calls["n"] >= 3 else ll

    monkeypatch.setattr(garch, "log_density", flaky)
    model = LNNGARCH("cfc", 4, dist="t", backbone_units=8)
    with pytest.raises(NumericalError, match="non-finite"):
        model.fit(sp500.iloc[:1500], init=partial(fit_garch, dist="t"), epochs=5, window=100,
                  burn_in=20, progress=False)
    assert model.checkpoint_ is not None
    assert all(torch.isfinite(v).all() for v in model.checkpoint_.values())


# ---------------------------------------------------------------- LNN-DCC


@pytest.fixture(scope="module")
def pair():
    return pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1)


@pytest.mark.parametrize("dist", ["normal", "t"])
def test_dcc_nested_equals_baselines(pair, dist, tmp_path):
    bench = fit_dcc(pair, dist=dist)
    fit = LNNDCC("cfc", 4, dist=dist, backbone_units=8).fit(pair, init=bench, **FAST)
    assert _rel(fit.nested_loglik(), bench.loglik) < 1e-12
    np.testing.assert_allclose(fit.benchmark.correlations, bench.correlations, atol=1e-12)
    assert fit.benchmark.aic == pytest.approx(bench.aic, rel=1e-12)
    np.testing.assert_allclose(fit.benchmark.forecast(10).correlations,
                               bench.forecast(10).correlations, atol=1e-12)
    r = fit.correlations
    assert np.all(np.abs(r[:, 0, 1]) < 1) and np.allclose(r[:, 0, 0], 1.0)
    loaded = hybridrisk.load(fit.save(tmp_path / "dcc"))
    assert type(loaded) is LNNDCCResult
    assert loaded.loglik == fit.loglik
    np.testing.assert_array_equal(loaded.forecast(5).correlations, fit.forecast(5).correlations)


def test_dcc_on_lnn_garch_univariate_stage(pair):
    uni = {c: LNNGARCH("cfc", 4, dist="t", backbone_units=8).fit(
        pair[c], init=partial(fit_garch, dist="t"), epochs=0, progress=False)
        for c in pair.columns}
    fit = LNNDCC("cfc", 4, backbone_units=8).fit(pair, univariate=uni,
                                                 init={"a": 0.03, "b": 0.95}, **FAST)
    z = np.column_stack([uni[c].std_resid for c in pair.columns])
    logsig = sum(np.log(uni[c].conditional_volatility).sum() for c in pair.columns)
    from baselines.dcc import dcc_loglik

    # Qbar from the training span only: the validation block never enters the benchmark
    zs = z[:fit.split]
    np.testing.assert_allclose(fit.qbar, zs.T @ zs / fit.split, rtol=1e-14)
    ref = dcc_loglik(fit.init["a"], fit.init["b"], z, qbar=fit.qbar) - logsig
    assert _rel(fit.nested_loglik(), ref) < 1e-12


# ---------------------------------------------------------------- parameter recovery


@pytest.mark.slow
def test_recovers_a_time_varying_omega():
    """Synthetic GARCH whose omega follows a known covariate: the hybrid learns the path."""
    gen = np.random.default_rng(5)
    n = 3000
    dates = pd.bdate_range("2000-01-03", periods=n)
    x = np.convolve(gen.standard_normal(n + 20), np.ones(20) / np.sqrt(20), "valid")[:n]
    omega = 0.05 * np.exp(0.8 * x)  # the omega of day t+1 depends on x_t, known at t
    alpha, beta = 0.08, 0.85
    r, s2_true = np.empty(n), np.empty(n)
    s2 = 0.05 / (1 - alpha - beta)
    z = gen.standard_normal(n)
    for t in range(n):
        if t > 0:
            s2 = omega[t - 1] + alpha * r[t - 1] ** 2 + beta * s2
        s2_true[t] = s2
        r[t] = math.sqrt(s2) * z[t]
    ret = pd.Series(r, index=dates, name="r")
    cov = pd.Series(x, index=dates, name="x")
    fit = LNNGARCH("cfc", 8, dist="normal", mean="zero", backbone_units=16).fit(
        ret, covariates=cov, init=partial(fit_garch, mean="zero"), seed=0, epochs=40,
        progress=False)
    # the variance path: much closer to the truth than the constant-parameter benchmark's
    hyb = fit.conditional_volatility.to_numpy() ** 2
    bench = fit.benchmark.conditional_volatility.to_numpy() ** 2
    err_h = np.mean(np.abs(np.log(hyb / s2_true)))
    err_b = np.mean(np.abs(np.log(bench / s2_true)))
    assert err_h < 0.6 * err_b
    # the parameter path: omega_t tracks the truth (alpha, beta absorb part of it)
    est = fit.params["omega"].to_numpy()[1:]
    assert np.corrcoef(np.log(est), np.log(omega[:-1]))[0, 1] > 0.7
    spl, nspl = fit.split_loglik(), fit.benchmark.split_loglik()
    assert spl["validation"] > nspl["validation"] + 10
