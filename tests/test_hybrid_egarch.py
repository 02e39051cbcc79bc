"""LNN-EGARCH: the kernel against arch, nesting, forecasts, training, persistence, causality."""

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
from baselines import fit_garch
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, ParameterDomainError
from hybridrisk.hybrids import LNNEGARCH, LNNEGARCHResult
from hybridrisk.kernels.distributions import arch_distribution, std_dist_rvs
from hybridrisk.kernels.egarch import _forward_loop, egarch_log_variance, egarch_names
from hybridrisk.kernels.garch import SQRT2_OV_PI, arch_backcast
from hybridrisk.lnn.heads import AR1Level

SMALL = dict(seed=3, epochs=4, window=100, burn_in=20, progress=False)
NET = dict(backbone_units=8)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def rng_cov():
    return datasets.sp500_range()


@pytest.fixture(scope="module")
def arch_fits(sp500):
    return {d: arch_model(sp500, vol="EGARCH", p=1, o=1, q=1, dist=d).fit(disp="off")
            for d in ("normal", "t", "skewt")}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# ---------------------------------------------------------------- the kernel


def test_kernel_equals_arch_recursion_off_the_optimum(sp500):
    # parameters away from the MLE: the recursion itself, not an optimiser, is compared
    params = pd.Series({"mu": 0.05, "omega": 0.02, "alpha[1]": 0.2, "gamma[1]": -0.1,
                        "beta[1]": 0.95})
    am = arch_model(sp500, vol="EGARCH", p=1, o=1, q=1)
    ref = am.fix(params).conditional_volatility.to_numpy()
    y = sp500.to_numpy()
    bc = arch_backcast(y - y.mean(), "egarch")
    assert bc == am.volatility.backcast(y - y.mean())
    e = torch.tensor(y - 0.05)
    ln = egarch_log_variance(e, 0.02, 0.2, -0.1, 0.95, backcast=bc)
    np.testing.assert_allclose(np.sqrt(np.exp(ln.numpy())), ref, rtol=1e-13)
    # a window starting inside the sample from the state of the step before it
    k = 1234
    z = e / torch.sqrt(torch.exp(ln))
    tail = egarch_log_variance(e[k:], 0.02, 0.2, -0.1, 0.95,
                               initial=(ln[k - 1], z[k - 1], z[k - 1].abs()))
    assert torch.equal(tail, ln[k:])
    tail2 = egarch_log_variance(e[k:], 0.02, 0.2, -0.1, 0.95, prev_eps=e[k - 1],
                                prev_sigma2=torch.exp(ln[k - 1]))
    np.testing.assert_allclose(tail2.numpy(), ln[k:].numpy(), rtol=1e-13, atol=1e-14)
    # the backcast start is the no-news start (z = 0, |z| = sqrt(2/pi))
    head = egarch_log_variance(e[:5], 0.02, 0.2, -0.1, 0.95,
                               initial=(bc, 0.0, SQRT2_OV_PI))
    assert torch.equal(head, ln[:5])
    with pytest.raises(ConfigError):
        egarch_log_variance(e, 0.02, 0.2, -0.1, 0.95)
    with pytest.raises(ConfigError):
        egarch_log_variance(e, 0.02, 0.2, -0.1, 0.95, backcast=bc, method="nope")


def test_adjoint_equals_autograd_loop_and_finite_differences():
    g = torch.Generator().manual_seed(0)
    batch, length = 3, 40

    def draw(loc: float, scale: float) -> torch.Tensor:
        x = loc + scale * torch.randn(batch, length, generator=g, dtype=torch.float64)
        return x.requires_grad_()

    eps = draw(0.0, 1.0)
    om, al, ga, be = draw(0.0, 0.05), draw(0.1, 0.05), draw(-0.1, 0.05), draw(0.95, 0.01)
    ln0 = torch.randn(batch, generator=g, dtype=torch.float64).requires_grad_()
    z0 = torch.randn(batch, generator=g, dtype=torch.float64).requires_grad_()
    w = torch.randn(batch, length, generator=g, dtype=torch.float64)
    leaves = [eps, om, al, ga, be, ln0, z0]
    out = {}
    for method in ("adjoint", "loop"):
        ln = egarch_log_variance(eps, om, al, ga, be, initial=(ln0, z0, z0.abs()),
                                 method=method)
        loss = (w * torch.exp(ln)).sum() + ln.square().sum()
        out[method] = (ln.detach(), torch.autograd.grad(loss, leaves))
    torch.testing.assert_close(out["adjoint"][0], out["loop"][0], rtol=1e-15, atol=1e-15)
    for a, b in zip(out["adjoint"][1], out["loop"][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    # the forward the adjoint runs off CPU (a torch loop writing in place) is the loop's
    args = [x.detach() for x in (eps, om, al, ga, be, ln0, z0)]
    args.append(args[-1].abs())
    assert torch.equal(_forward_loop(*args, record=False), out["loop"][0])
    # and the analytical backward against finite differences, on a short problem
    small = [x.detach()[:2, :6].clone().requires_grad_() for x in (eps, om, al, ga, be)]
    starts = [x.detach()[:2].clone().requires_grad_() for x in (ln0, z0)]

    def f(e, o, a, gm, b, l0, zz):
        return egarch_log_variance(e, o, a, gm, b, initial=(l0, zz, zz.abs()))

    assert torch.autograd.gradcheck(f, (*small, *starts))


def test_names_follow_arch():
    assert list(egarch_names("skewt").values()) == ["mu", "omega", "alpha[1]", "gamma[1]",
                                                    "beta[1]", "eta", "lambda"]
    assert list(egarch_names("normal", "zero")) == ["omega", "alpha", "gamma", "beta"]


def test_log_level_round_trip_and_domain():
    c = AR1Level()
    for omega, beta in ((-0.002113126621235928, 0.9824203051127597), (0.3, -0.5), (0.0, 0.0)):
        raw = torch.tensor(c.inverse([omega, beta]), dtype=torch.float64)
        o2, b2 = (float(v) for v in c.forward(raw))
        assert o2 == pytest.approx(omega, rel=1e-15, abs=1e-300) and b2 == pytest.approx(
            beta, rel=4e-16, abs=4e-16)
    with pytest.raises(ParameterDomainError, match="beta"):
        c.check(("omega", "beta"), (0.1, 1.0))


# ---------------------------------------------------------------- nesting (the first check)


@pytest.mark.parametrize("dist", ["normal", "t", "skewt"])
def test_nested_model_is_arch_egarch(sp500, arch_fits, dist):
    res = arch_fits[dist]
    fit = LNNEGARCH("cfc", 4, dist=dist, **NET).fit(sp500, init=res, epochs=0,
                                                     progress=False)
    bench = fit.benchmark
    assert _rel(fit.nested_loglik(), res.loglikelihood) < 1e-12
    np.testing.assert_allclose(bench.conditional_volatility, res.conditional_volatility,
                               rtol=1e-9)
    assert bench.aic == pytest.approx(res.aic, rel=1e-12)
    assert bench.bic == pytest.approx(res.bic, rel=1e-12)
    one = res.forecast(horizon=1, reindex=False).variance.to_numpy()[0, 0]
    f1 = bench.forecast(1)
    assert f1.method == "analytic" and f1.variance.iloc[0] == pytest.approx(one, rel=1e-12)
    # epochs=0: the network path is the benchmark too
    assert _rel(fit.loglik, res.loglikelihood) < 1e-12
    np.testing.assert_allclose(fit.params.iloc[0].to_numpy(),
                               res.params.drop("mu").to_numpy(), rtol=1e-14)


def test_benchmark_from_baselines_and_simulated_forecast(sp500):
    champ = fit_garch(sp500, vol="egarch", o=1, dist="t")
    fit = LNNEGARCH("cfc", 4, dist="t", **NET).fit(sp500, init=champ, epochs=0,
                                                   progress=False)
    assert _rel(fit.nested_loglik(), champ.loglik) < 1e-12
    h = 5
    mine = fit.benchmark.forecast(h)
    assert mine.method == "simulation"
    # the same draws as the baseline's (10,000 paths, seed 0): the same forecast
    np.testing.assert_allclose(mine.variance, champ.forecast(h).variance, rtol=1e-11)
    # against arch's own simulation with draws it makes from a shared seed ...
    nu = champ.params["nu"]
    res = champ.arch_result
    sims = 2000
    arch_f = res.forecast(horizon=h, method="simulation", simulations=sims, reindex=False,
                          rng=partial(std_dist_rvs, "t", [nu], rng=np.random.default_rng(8)))
    same = fit.benchmark.forecast(h, simulations=sims, seed=8)
    np.testing.assert_allclose(same.variance, arch_f.variance.to_numpy()[0], rtol=1e-11)
    # ... and from independent draws: equal within Monte Carlo error (5 standard errors)
    other = res.forecast(horizon=h, method="simulation", simulations=sims, reindex=False,
                         rng=partial(std_dist_rvs, "t", [nu], rng=np.random.default_rng(99)))
    paths = other.simulations.variances[0]
    se_arch = paths.std(axis=0) / math.sqrt(sims)
    _, mine_paths = fit.benchmark._paths(sims, h, 8)
    se_mine = mine_paths.std(axis=0) / math.sqrt(sims)
    diff = np.abs(same.variance.to_numpy() - other.variance.to_numpy()[0])
    assert diff[0] < 1e-12 * same.variance.iloc[0]  # step 1 is not simulated
    assert (diff[1:] < 5 * np.hypot(se_arch, se_mine)[1:]).all()
    assert diff[1:].max() > 0  # the draws differ, so does the estimate


def test_nested_with_other_backcasts_and_zero_mean(sp500):
    y = sp500.iloc[:1500]
    for kw in ({"dist": "skewt", "backcast": "sample-variance"},
               {"dist": "normal", "mean": "zero"}):
        champ = fit_garch(y, vol="egarch", o=1, **kw)
        model = LNNEGARCH("cfc", 4, dist=kw["dist"], mean=kw.get("mean", "constant"), **NET)
        fit = model.fit(y, init=champ, epochs=0, progress=False)
        assert _rel(fit.nested_loglik(), champ.loglik) < 1e-12, kw
        assert _rel(fit.nested_loglik(), champ.arch_result.loglikelihood) < 1e-12, kw
        assert fit.backcast_rule == kw.get("backcast", "arch")


def test_refuses_another_model_as_benchmark(sp500):
    gjr = arch_model(sp500.iloc[:1500], vol="GARCH", p=1, o=1, q=1, dist="t").fit(disp="off")
    with pytest.raises(ConfigError, match="egarch"):
        LNNEGARCH("cfc", 4, dist="t", **NET).fit(sp500.iloc[:1500], init=gjr, epochs=0,
                                                 progress=False)
    eg_normal = fit_garch(sp500.iloc[:1500], vol="egarch", o=1)
    with pytest.raises(ConfigError, match="normal"):
        LNNEGARCH("cfc", 4, dist="t", **NET).fit(sp500.iloc[:1500], init=eg_normal, epochs=0,
                                                 progress=False)
    with pytest.raises(ConfigError, match="gamma"):
        LNNEGARCH("cfc", 4, **NET).fit(
            sp500.iloc[:1500], init={"mu": 0.0, "omega": 0.0, "alpha[1]": 0.1,
                                     "beta[1]": 0.9}, epochs=0, progress=False)


# ---------------------------------------------------------------- a fitted model, shared


@pytest.fixture(scope="module")
def fitted(sp500, rng_cov):
    # Benchmark on the training span only (a callable init), a few epochs of real training.
    return LNNEGARCH("cfc", 4, dist="t", **NET).fit(
        sp500.iloc[:3000], covariates=rng_cov,
        init=partial(fit_garch, vol="egarch", o=1, dist="t"), **SMALL)


def test_training_improves_on_the_benchmark(fitted):
    h = fitted.history
    assert h.epochs_run >= 1
    spl, nspl = fitted.split_loglik(), fitted.benchmark.split_loglik()
    assert spl["train"] > nspl["train"]
    assert h.best_val_loss <= h.initial_val_loss
    assert fitted.num_params > 100 and fitted.benchmark.num_params == 6
    assert fitted.init_source == "estimated on the training span"


def test_constraints_hold_on_the_path(fitted):
    p = fitted.params
    assert list(p.columns) == ["omega", "alpha[1]", "gamma[1]", "beta[1]", "nu"]  # arch's
    assert (p["beta[1]"].abs() < 1).all() and (p["nu"] > 2).all()
    assert (p.std() > 0).all()  # the network moves every parameter
    assert p.index.equals(fitted.returns.index)
    text = str(fitted.summary())
    assert "LNN-EGARCH Model Results" in text and "LNN-EGARCH-t" in text


def test_reproducible_by_seed(sp500, rng_cov, fitted):
    again = LNNEGARCH("cfc", 4, dist="t", **NET).fit(
        sp500.iloc[:3000], covariates=rng_cov,
        init=partial(fit_garch, vol="egarch", o=1, dist="t"), **SMALL)
    assert again.loglik == fitted.loglik
    for (k, v), (k2, v2) in zip(fitted.net.state_dict().items(),
                                again.net.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)


def test_save_load_identical(tmp_path, fitted, sp500, rng_cov):
    path = fitted.save(tmp_path / "model")
    meta = json.loads((path / "config.json").read_text())
    assert meta["kind"] == "LNNEGARCHResult" and meta["spec"]["vol"] == "egarch"
    loaded = hybridrisk.load(path)
    assert type(loaded) is LNNEGARCHResult
    assert loaded.loglik == fitted.loglik
    assert loaded.nested_loglik() == fitted.nested_loglik()
    f1, f2 = fitted.forecast(10), loaded.forecast(10)
    pd.testing.assert_series_equal(f1.variance, f2.variance, check_exact=True)
    pd.testing.assert_frame_equal(f1.value_at_risk, f2.value_at_risk, check_exact=True)
    new = sp500.iloc[3000:3100]
    pd.testing.assert_frame_equal(fitted.filter(new, rng_cov), loaded.filter(new, rng_cov),
                                  check_exact=True)


def test_filter_is_causal(fitted, sp500, rng_cov):
    new = sp500.iloc[3000:3060]
    base = fitted.filter(new, rng_cov)
    assert base.index.equals(new.index)
    # the first filtered row is the fit's own one-step forecast
    assert base["variance"].iloc[0] == pytest.approx(fitted.forecast(1).variance.iloc[0],
                                                     rel=1e-14)
    k = 30
    bumped = new.copy()
    bumped.iloc[k] += 5.0
    out = fitted.filter(bumped, rng_cov)
    cols = ["variance", "VaR_0.99", "omega", "beta[1]"]
    # rows up to k use data up to k-1 only: unchanged, bit for bit
    pd.testing.assert_frame_equal(out[cols].iloc[: k + 1], base[cols].iloc[: k + 1],
                                  check_exact=True)
    assert out["variance"].iloc[k + 1] != base["variance"].iloc[k + 1]
    assert out["loglik"].iloc[k] != base["loglik"].iloc[k]


def test_forecast_var_es_and_simulation(fitted):
    f = fitted.forecast(10, simulations=2000, seed=4)
    assert f.variance.iloc[0] == fitted._ev["sigma2"][-1]
    assert list(f.variance.index) == list(range(1, 11))
    var, es = f.value_at_risk.iloc[0], f.expected_shortfall.iloc[0]
    assert list(var.index) == [0.95, 0.975, 0.99]
    assert (np.diff(var.to_numpy()) > 0).all() and (es.to_numpy() > var.to_numpy()).all()
    z = arch_distribution("t").ppf(0.01, [f.params["nu"]])
    assert var[0.99] == pytest.approx(-(fitted.mu + math.sqrt(f.variance.iloc[0]) * z),
                                      rel=1e-12)
    again = fitted.forecast(10, simulations=2000, seed=4)
    pd.testing.assert_series_equal(f.variance, again.variance, check_exact=True)
    assert not fitted.forecast(10, simulations=2000, seed=5).variance.equals(f.variance)
    s1 = fitted.simulate(200, 5, seed=11)
    s2 = fitted.simulate(200, 5, seed=11)
    assert s1.returns.shape == (200, 5) and np.array_equal(s1.returns, s2.returns)
    np.testing.assert_allclose(s1.variance[:, 0], f.variance.iloc[0], rtol=1e-12)
    with pytest.raises(ConfigError):
        fitted.forecast(0)
    with pytest.raises(ConfigError):
        fitted.forecast(3, simulations=0)
