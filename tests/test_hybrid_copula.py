"""LNN-Copula: nesting against pyvinecopulib, constraints, causality, persistence, training."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pandas as pd
import pytest
import pyvinecopulib as pv
import torch
from scipy import stats

import hybridrisk
from baselines.copulas import fit_copula
from baselines.margins import garch_pits
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError, NumericalError
from hybridrisk.hybrids.copula import LNNCopula, LNNCopulaResult

CELL = {"backbone_units": 8}
FAST = dict(epochs=0, progress=False)
SMALL = dict(seed=3, epochs=5, window=100, burn_in=20, progress=False)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def equity_pits():
    """GARCH-t PITs of S&P 500 and NASDAQ daily returns (IFM), 1999-2018."""
    pair = pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1)
    return garch_pits(pair)


@pytest.fixture(scope="module")
def fx_pits():
    """GARCH-t PITs of EUR/USD and EUR/GBP daily log returns (ECB reference rates)."""
    rates = datasets.ecb_fx(["USD", "GBP"])
    return garch_pits(100.0 * np.log(rates).diff().dropna())


def _bicop(family: str, rotation: int, params: pd.Series) -> pv.Bicop:
    return pv.Bicop(family=getattr(pv.BicopFamily, family), rotation=rotation,
                    parameters=np.array(params, dtype=float).reshape(-1, 1))


# ---------------------------------------------------------------- nesting (the first check)

CASES = [("gaussian", 0, "eq"), ("student", 0, "eq"), ("clayton", 0, "eq"),
         ("gumbel", 0, "eq"), ("frank", 0, "eq"), ("clayton", 180, "eq"),
         ("gumbel", 90, "fx-"), ("clayton", 270, "fx-")]


@pytest.mark.parametrize(("family", "rotation", "data"), CASES)
def test_nested_loglik_equals_pyvinecopulib(equity_pits, fx_pits, family, rotation, data):
    # "fx-": EUR/GBP reflected (1 - u), negative dependence for the 90/270 rotations
    u = equity_pits if data == "eq" else fx_pits.assign(GBP=1.0 - fx_pits["GBP"])
    bench = fit_copula(u, family, rotation)
    fit = LNNCopula("cfc", 4, family=family, rotation=rotation, **CELL).fit(
        u, init=bench, **FAST)
    assert fit.init == bench.params.to_dict()  # interior estimates: no floor applied
    bc = _bicop(family, rotation, bench.params)
    ref = bc.loglik(u.to_numpy())
    assert abs(fit.nested_loglik() - ref) < 1e-10
    assert abs(fit.benchmark.aic - bc.aic(u.to_numpy())) < 1e-10
    assert fit.benchmark.num_params == len(bench.params)
    np.testing.assert_allclose(fit.benchmark.loglik_contributions,
                               np.log(bc.pdf(u.to_numpy())), rtol=1e-10, atol=1e-12)
    # epochs=0: the network path is the benchmark too (zero read-out weights)
    assert abs(fit.loglik - ref) < 1e-10
    assert fit.benchmark.tau.iloc[0] == pytest.approx(bc.tau, abs=1e-12)
    assert fit.num_params > fit.benchmark.num_params


def test_boundary_benchmark_is_floored(equity_pits):
    fit = LNNCopula("cfc", 4, family="gumbel", **CELL).fit(
        equity_pits, init={"theta": 1.0}, **FAST)
    assert fit.init["theta"] == 1.0 + 1e-12 and (fit.params["theta"] > 1.0).all()
    ref = _bicop("gumbel", 0, pd.Series({"theta": 1.0})).loglik(equity_pits.to_numpy())
    assert abs(fit.nested_loglik() - ref) < 1e-6


# ---------------------------------------------------------------- a fitted model, shared


@pytest.fixture(scope="module")
def fitted(equity_pits):
    # Benchmark estimated on the training span only (a callable init), a few epochs.
    return LNNCopula("cfc", 8, family="student", **CELL).fit(
        equity_pits, init=partial(fit_copula, family="student"), **SMALL)


@pytest.fixture(scope="module")
def fx_fitted(fx_pits):
    return LNNCopula("cfc", 8, family="gaussian", **CELL).fit(
        fx_pits.iloc[:5000], init=partial(fit_copula, family="gaussian"), **SMALL)


@pytest.mark.parametrize("which", ["fitted", "fx_fitted"])
def test_training_improves_on_the_benchmark(which, request):
    fit = request.getfixturevalue(which)
    h = fit.history
    assert h.epochs_run >= 1 and h.best_epoch >= 1
    spl, nspl = fit.split_loglik(), fit.benchmark.split_loglik()
    assert spl["train"] > nspl["train"]
    assert spl["validation"] >= nspl["validation"]  # early stopping: never worse
    assert h.best_val_loss <= h.initial_val_loss
    # the benchmark is the static MLE on the training span
    train = fit.pits.iloc[: fit.split]
    assert fit.init == fit_copula(train, fit.family).params.to_dict()


def test_constraints_and_names(fitted):
    p = fitted.params
    assert list(p.columns) == ["rho", "nu"]  # the baseline's names
    assert p.index.equals(fitted.pits.index)
    assert (p["rho"].abs() < 1).all() and (p["nu"] > 2).all()
    assert p["rho"].std() > 0 and p["nu"].std() > 0  # the network moved the path
    np.testing.assert_allclose(fitted.tau, 2 / np.pi * np.arcsin(p["rho"]), rtol=1e-12)
    td = fitted.tail_dependence
    assert list(td.columns) == ["lower", "upper"] and (td > 0).all().all()
    np.testing.assert_allclose(td["lower"], td["upper"], rtol=0)  # the t is symmetric
    text = str(fitted.summary())
    assert "LNN-Copula Model Results" in text and "Benchmark LL" in text


@pytest.mark.parametrize(("family", "rotation", "check"), [
    ("clayton", 180, lambda p: p["theta"] > 0),
    ("gumbel", 0, lambda p: p["theta"] > 1),
    ("gaussian", 0, lambda p: p["rho"].abs() < 1),
])
def test_constraints_hold_under_aggressive_training(fx_pits, family, rotation, check):
    # a large learning rate pushes the head hard: the domain holds by construction
    fit = LNNCopula("cfc", 4, family=family, rotation=rotation, **CELL).fit(
        fx_pits.iloc[:1500], init=partial(fit_copula, family=family, rotation=rotation),
        seed=1, epochs=3, lr=0.5, penalty=0.0, val_fraction=0.0, progress=False)
    assert check(fit.params).all()
    assert np.isfinite(fit.loglik)
    assert ((fit.tau.abs() < 1) & (fit.tail_dependence >= 0).all(axis=1)).all()


def test_frank_theta_may_change_sign(fx_pits):
    # Frank's head is Real: theta = 0 (independence) is inside the kernel's domain
    fit = LNNCopula("cfc", 4, family="frank", **CELL).fit(
        fx_pits.iloc[:1500], init={"theta": 0.0}, epochs=2, lr=0.1, val_fraction=0.0,
        progress=False)
    assert fit.nested_loglik() == 0.0
    assert np.isfinite(fit.loglik) and fit.params["theta"].std() > 0


def test_reproducible_by_seed(equity_pits, fitted):
    again = LNNCopula("cfc", 8, family="student", **CELL).fit(
        equity_pits, init=partial(fit_copula, family="student"), **SMALL)
    assert again.loglik == fitted.loglik
    for (k, v), (k2, v2) in zip(fitted.net.state_dict().items(),
                                again.net.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)
    other = LNNCopula("cfc", 8, family="student", **CELL).fit(
        equity_pits, init=partial(fit_copula, family="student"), **{**SMALL, "seed": 4})
    assert other.loglik != fitted.loglik


def test_window_longer_than_the_training_span(fx_pits):
    """Regression: a window longer than the training span (but not the sample) used to crash
    the joint train/validation pass (windows of unequal length stacked into one batch); both
    now shrink to the training span, which is the same fit as asking for that length."""
    u = fx_pits.iloc[:150]  # split = 120 with val_fraction=0.2
    kw = dict(init={"rho": 0.3}, seed=1, epochs=3, burn_in=20, val_fraction=0.2, progress=False)
    long = LNNCopula("cfc", 4, family="gaussian", **CELL).fit(u, window=140, **kw)
    exact = LNNCopula("cfc", 4, family="gaussian", **CELL).fit(u, window=120, **kw)
    assert long.split == 120 and long.history.epochs_run >= 1
    assert np.isfinite(long.history.val_loss).all() and len(long.history.val_loss) >= 1
    assert long.history.val_loss == exact.history.val_loss
    assert long.loglik == exact.loglik


def test_pit_covariates_against_explicit_weights(fx_pits):
    from hybridrisk.hybrids.copula_inputs import pit_covariates

    u = fx_pits.iloc[:400]
    cov = pit_covariates(u, corr_halflives=(10,), coexceed_halflives=(30,), q=0.1)
    assert list(cov.columns) == ["zcorr_hl10", "coexceed_hl30"] and cov.index.equals(u.index)
    z, v = stats.norm.ppf(u.to_numpy()), u.to_numpy()
    tail = ((v < 0.1).all(axis=1) | (v > 0.9).all(axis=1)).astype(float)
    for t in (0, 5, 399):
        w10 = 0.5 ** ((t - np.arange(t + 1)) / 10.0)
        w30 = 0.5 ** ((t - np.arange(t + 1)) / 30.0)
        s = [np.sum(w10 * a) for a in (z[: t + 1, 0] * z[: t + 1, 1], z[: t + 1, 0] ** 2,
                                       z[: t + 1, 1] ** 2)]
        assert cov["zcorr_hl10"].iloc[t] == pytest.approx(s[0] / np.sqrt(s[1] * s[2]), rel=1e-12)
        assert cov["coexceed_hl30"].iloc[t] == pytest.approx(
            np.sum(w30 * tail[: t + 1]) / np.sum(w30), abs=1e-14)
    # causal: a change on day k leaves every earlier value as it was
    moved = u.copy()
    moved.iloc[300] = [0.01, 0.02]
    again = pit_covariates(moved, corr_halflives=(10,), coexceed_halflives=(30,))
    pd.testing.assert_frame_equal(again.iloc[:300], cov.iloc[:300])
    assert (again.iloc[300] != cov.iloc[300]).all()
    with pytest.raises(ConfigError, match="half-lives"):
        pit_covariates(u, corr_halflives=(0,))


def test_save_load_identical(tmp_path, fx_fitted, fx_pits, monkeypatch):
    path = fx_fitted.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    meta = json.loads((path / "config.json").read_text())
    assert {"versions", "data_sha256", "spec", "init"} <= set(meta)
    assert meta["spec"]["family"] == "gaussian" and meta["spec"]["rotation"] == 0
    loaded = LNNCopulaResult.load(path)
    # the registration the package's __init__ carries for hybridrisk.load
    monkeypatch.setitem(hybridrisk._KINDS, "LNNCopulaResult", "hybridrisk.hybrids.copula")
    assert type(hybridrisk.load(path)) is LNNCopulaResult
    assert loaded.loglik == fx_fitted.loglik
    assert loaded.nested_loglik() == fx_fitted.nested_loglik()
    pd.testing.assert_frame_equal(loaded.pits, fx_fitted.pits, check_exact=True)
    pd.testing.assert_frame_equal(loaded.params, fx_fitted.params, check_exact=True)
    pd.testing.assert_frame_equal(loaded.forecast(3), fx_fitted.forecast(3), check_exact=True)
    new = fx_pits.iloc[5000:5200]
    pd.testing.assert_frame_equal(loaded.filter(new), fx_fitted.filter(new), check_exact=True)
    s1, s2 = loaded.simulate(50, 4, seed=2), fx_fitted.simulate(50, 4, seed=2)
    np.testing.assert_array_equal(s1.returns, s2.returns)


# ---------------------------------------------------------------- out of sample


def test_filter_is_causal(fx_fitted, fx_pits):
    new = fx_pits.iloc[5000:]
    full = fx_fitted.filter(new)
    assert list(full.columns) == ["loglik", "rho", "tau", "tail_lower", "tail_upper"]
    # no look-ahead: a shorter block gives the same rows
    pd.testing.assert_frame_equal(fx_fitted.filter(new.iloc[:60]), full.iloc[:60],
                                  check_exact=True)
    # a change at row m moves the parameters only after m
    m = 40
    bumped = new.iloc[:80].copy()
    bumped.iloc[m] = [0.01, 0.99]
    out = fx_fitted.filter(bumped)
    pd.testing.assert_series_equal(out["rho"].iloc[: m + 1], full["rho"].iloc[: m + 1],
                                   check_exact=True)
    assert (out["rho"].iloc[m + 1:] != full["rho"].iloc[m + 1:m + 40]).any()
    # the first row's parameter is the in-sample one-step forecast (to rounding: the head's
    # matrix product over a longer sequence may block its sums differently)
    assert full["rho"].iloc[0] == pytest.approx(fx_fitted.forecast().loc[1, "rho"], abs=1e-14)
    with pytest.raises(DataValidationError, match="after the fit sample"):
        fx_fitted.filter(fx_pits.iloc[4990:5010])
    with pytest.raises(DataValidationError, match="columns"):
        fx_fitted.filter(new.iloc[:5].rename(columns={"GBP": "JPY"}))
    swapped = fx_fitted.filter(new.iloc[:60][["GBP", "USD"]])  # matched by name
    pd.testing.assert_frame_equal(swapped, full.iloc[:60], check_exact=True)


def test_benchmark_filter_is_pyvinecopulib_out_of_sample(fx_fitted, fx_pits):
    new = fx_pits.iloc[5000:]
    out = fx_fitted.benchmark.filter(new)
    bc = _bicop("gaussian", 0, pd.Series(fx_fitted.init))
    np.testing.assert_allclose(out["loglik"], np.log(bc.pdf(new.to_numpy())), rtol=1e-10)
    np.testing.assert_allclose(out["rho"], fx_fitted.init["rho"], rtol=1e-15)  # head round trip


def test_forecast_and_simulation(fitted):
    f = fitted.forecast(3)
    assert list(f.index) == [1, 2, 3] and f.index.name == "horizon"
    assert f.loc[1, "rho"] == fitted.next_params["rho"] and (f["nu"] == f.loc[1, "nu"]).all()
    s1, s2 = fitted.simulate(300, 5, seed=11), fitted.simulate(300, 5, seed=11)
    assert s1.returns.shape == (300, 5, 2) and s1.columns == list(fitted.pits.columns)
    assert np.array_equal(s1.returns, s2.returns)
    assert ((s1.returns > 0) & (s1.returns < 1)).all()
    assert not np.array_equal(s1.returns, fitted.simulate(300, 5, seed=12).returns)
    # the benchmark simulates the static copula: its Kendall's tau
    draws = fitted.benchmark.simulate(4000, 1, seed=0).returns[:, 0]
    tau = stats.kendalltau(draws[:, 0], draws[:, 1]).statistic
    assert tau == pytest.approx(fitted.benchmark.tau.iloc[0], abs=0.02)


def test_simulation_feeds_draws_back_like_filter(fx_fitted):
    # a simulated pair fed to filter() on the next calendar day gives the path's next theta
    u, theta = fx_fitted._simulate(3, 2, torch.Generator().manual_seed(5))
    assert (theta["rho"][:, 0] == fx_fitted.next_params["rho"]).all()
    last = fx_fitted.pits.index[-1]
    days = pd.DatetimeIndex([last + pd.Timedelta(days=1), last + pd.Timedelta(days=2)])
    for p in range(3):
        block = pd.DataFrame([u[p, 0], u[p, 1]], index=days, columns=fx_fitted.pits.columns)
        out = fx_fitted.filter(block)
        assert out["rho"].iloc[1] == pytest.approx(theta["rho"][p, 1], abs=1e-13)
    assert len(np.unique(theta["rho"][:, 1])) == 3  # the parameter moves along each path


# ---------------------------------------------------------------- bad input


def test_bad_input_raises(equity_pits):
    model = LNNCopula("cfc", 4, family="clayton", **CELL)
    init = {"theta": 1.0}
    u = equity_pits.iloc[:500]
    cases = {
        "outside": u.assign(nasdaq=u["nasdaq"].where(u.index != u.index[7], 1.2)),
        "boundary": u.assign(sp500=u["sp500"].where(u.index != u.index[9], 0.0)),
        "nan": u.assign(nasdaq=u["nasdaq"].where(u.index != u.index[3], np.nan)),
    }
    rules = {"outside": "open-unit-interval", "boundary": "open-unit-interval",
             "nan": "finite"}
    for name, bad in cases.items():
        with pytest.raises(DataValidationError) as info:
            model.fit(bad, init=init, **FAST)
        assert info.value.rule == rules[name], name
        assert info.value.column in ("sp500", "nasdaq") and info.value.row is not None
    with pytest.raises(DataValidationError, match="2 columns"):
        model.fit(u.assign(third=0.5), init=init, **FAST)
    with pytest.raises(DataValidationError, match="DataFrame"):
        model.fit(u.to_numpy(), init=init, **FAST)
    with pytest.raises(DataValidationError):
        model.fit(u.iloc[::-1], init=init, **FAST)  # unsorted dates
    with pytest.raises(ConfigError, match="family"):
        model.fit(u, init=fit_copula(u, "gumbel"), **FAST)
    with pytest.raises(ConfigError, match="rotation"):
        model.fit(u, init=fit_copula(u, "clayton", 180), **FAST)
    with pytest.raises(ConfigError, match="lacks"):
        model.fit(u, init={"rho": 0.5}, **FAST)
    with pytest.raises(ConfigError):
        LNNCopula(family="frank", rotation=90)
    with pytest.raises(ConfigError):
        LNNCopula(family="t")


def test_fit_stops_loudly_on_nan(fx_pits, monkeypatch):
    import hybridrisk.hybrids.copula as mod

    real = mod.log_density
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        ll = real(*args, **kwargs)
        return ll * float("nan") if calls["n"] >= 3 else ll

    monkeypatch.setattr(mod, "log_density", flaky)
    model = LNNCopula("cfc", 4, family="gaussian", **CELL)
    with pytest.raises(NumericalError, match="non-finite"):
        model.fit(fx_pits.iloc[:1500], init={"rho": 0.5}, epochs=5, progress=False)
    assert model.checkpoint_ is not None
    assert all(torch.isfinite(v).all() for v in model.checkpoint_.values())


# ---------------------------------------------------------------- parameter recovery


def test_recovers_a_time_varying_correlation():
    """Synthetic Gaussian copula whose rho follows a known covariate: the path is learned."""
    gen = np.random.default_rng(7)
    n = 3000
    dates = pd.bdate_range("2000-01-03", periods=n)
    x = np.convolve(gen.standard_normal(n + 30), np.ones(30) / np.sqrt(30), "valid")[:n]
    rho = np.tanh(0.6 + 0.9 * np.r_[0.0, x[:-1]])  # rho of day t depends on x_{t-1}
    z1 = gen.standard_normal(n)
    z2 = rho * z1 + np.sqrt(1 - rho**2) * gen.standard_normal(n)
    u = pd.DataFrame(stats.norm.cdf(np.column_stack([z1, z2])), index=dates,
                     columns=["a", "b"])
    cov = pd.Series(x, index=dates, name="x")
    fit = LNNCopula("cfc", 8, family="gaussian", **CELL).fit(
        u, covariates=cov, init=partial(fit_copula, family="gaussian"), seed=0, epochs=30,
        lr=0.02, progress=False)
    est = fit.params["rho"].to_numpy()
    assert np.corrcoef(est[1:], rho[1:])[0, 1] > 0.8
    err_h = np.mean(np.abs(est[1:] - rho[1:]))
    err_b = np.mean(np.abs(fit.benchmark.params["rho"].to_numpy()[1:] - rho[1:]))
    assert err_h < 0.5 * err_b
    spl, nspl = fit.split_loglik(), fit.benchmark.split_loglik()
    assert spl["validation"] > nspl["validation"] + 10
