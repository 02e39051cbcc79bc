"""LNN-RealGARCH: the kernel against the baseline's filter, nesting, forecasts, persistence,
bad inputs, and the volatility task that nests Realized GARCH."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import signal

import hybridrisk
from baselines.realized_garch import (
    fit_realized_garch,
    realized_garch_loglik,
    realized_garch_loglik_loop,
)
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.hybrids import LNNRealGARCH, LNNRealGARCHResult
from hybridrisk.kernels.realized_garch import realized_log_variance, realized_loglik_terms
from validation.families.volatility_lnn import NEST_CODES, LNNGARCHTask, choose_nest
from validation.families.volatility_range import RealizedGARCHTask
from validation.losses import qlike
from validation.windows import Window

SMALL = dict(epochs=3, window=100, burn_in=20, progress=False)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def data():
    r = datasets.sp500_returns()
    rng = datasets.sp500_range().reindex(r.index)
    return pd.DataFrame({"returns": r, "range": rng}).iloc[-1600:]


@pytest.fixture(scope="module")
def bench(data):
    return fit_realized_garch(data["returns"], data["range"] ** 2)


@pytest.fixture(scope="module")
def fitted(data, bench):
    return LNNRealGARCH("cfc", 4, backbone_units=8).fit(
        data["returns"], data["range"] ** 2, init=bench, seed=2, **SMALL)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# ---------------------------------------------------------------- the kernel


def test_kernel_equals_a_linear_filter_off_the_optimum(data):
    logx = np.log(data["range"].to_numpy() ** 2)
    omega, beta, gamma, logh0 = 0.1, 0.6, 0.35, 0.2
    drive = np.concatenate([[logh0], omega + gamma * logx[:-1]])
    ref = signal.lfilter([1.0], [1.0, -beta], drive)
    prev = torch.tensor(np.concatenate([[0.0], logx[:-1]]))
    for method in ("scan", "loop"):
        got = realized_log_variance(prev, omega, beta, gamma, start=logh0, first=True,
                                    method=method).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)


def test_kernel_starts_inside_a_sample_from_the_step_before(data):
    logx = torch.tensor(np.log(data["range"].to_numpy()[:300] ** 2))
    prev = torch.cat([logx.new_zeros(1), logx[:-1]])
    full = realized_log_variance(prev, 0.1, 0.6, 0.35, start=0.2, first=True)
    tail = realized_log_variance(prev[100:], 0.1, 0.6, 0.35, start=full[99], first=False)
    torch.testing.assert_close(tail, full[100:], rtol=1e-14, atol=1e-14)


def test_kernel_gradients_equal_autograd_through_the_loop():
    gen = torch.Generator().manual_seed(0)
    prev = torch.randn(3, 40, generator=gen, dtype=torch.float64)
    params = [torch.full((3, 40), v, dtype=torch.float64, requires_grad=True)
              for v in (0.1, 0.6, 0.3)]
    w = torch.randn(3, 40, generator=gen, dtype=torch.float64)
    grads = []
    for method in ("scan", "loop"):
        out = realized_log_variance(prev, *params, start=torch.tensor([0.1, 0.2, 0.3]),
                                    first=torch.tensor([True, False, False]), method=method)
        grads.append(torch.autograd.grad((out * w).sum(), params))
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_loglik_terms_equal_the_baseline_loop(data, bench):
    r, x = data["returns"].to_numpy(), data["range"].to_numpy() ** 2
    p = bench.params
    logh = torch.tensor(np.log(bench.conditional_variance.to_numpy()))
    lr, lx = realized_loglik_terms(torch.tensor(r - p["mu"]), torch.tensor(np.log(x)), logh,
                                   p["xi"], p["phi"], p["tau1"], p["tau2"], p["sigma_u"])
    loop = realized_garch_loglik_loop(p.to_numpy(), r, x, bench.logh0)
    assert _rel(float((lr + lx).sum()), loop) < 1e-12


# ---------------------------------------------------------------- nesting


def test_network_off_is_the_baseline(data, bench, fitted):
    b = fitted.benchmark
    assert _rel(b.loglik, bench.loglik) < 1e-12
    assert _rel(b.loglik_returns, bench.loglik_returns) < 1e-12
    r, x = data["returns"].to_numpy(), data["range"].to_numpy() ** 2
    assert _rel(b.loglik, realized_garch_loglik(bench.params.to_numpy(), r, x,
                                                bench.logh0)) < 1e-12
    np.testing.assert_allclose(b.conditional_volatility.to_numpy() ** 2,
                               bench.conditional_variance.to_numpy(), rtol=1e-12)
    assert _rel(b.forecast(1).variance.iloc[0], bench.forecast(1)) < 1e-12
    assert fitted.loglik != b.loglik  # the network moved the model
    assert fitted.benchmark_num_params == 9 and b.num_params == 9


def test_callable_init_is_estimated_on_the_training_span(data):
    res = LNNRealGARCH("cfc", 2, backbone_units=4).fit(
        data["returns"], data["range"] ** 2, init=fit_realized_garch, seed=0, **SMALL)
    ref = fit_realized_garch(data["returns"].iloc[:res.split],
                             data["range"].iloc[:res.split] ** 2)
    assert res.init_source == "estimated on the training span"
    for k in ("omega", "beta", "gamma", "xi", "sigma_u"):
        assert res.init[k] == ref.params[k]
    assert res.logh0 == ref.logh0


def test_filter_continues_the_full_pass_and_nests_the_baseline_filter(data, bench):
    n = 1500
    r, x = data["returns"], data["range"] ** 2
    init = fit_realized_garch(r.iloc[:n], x.iloc[:n])
    res = LNNRealGARCH("cfc", 4, backbone_units=8).fit(r.iloc[:n], x.iloc[:n], init=init,
                                                        seed=1, **SMALL)
    f = res.filter(r.iloc[n:], x.iloc[n:])
    full = res._evaluate(r, res.covariates, x)
    np.testing.assert_allclose(f["variance"].to_numpy(), full["sigma2"][n:-1], rtol=1e-13)
    off = res.benchmark.filter(r.iloc[n:], x.iloc[n:])
    np.testing.assert_allclose(off["variance"].to_numpy(),
                               init.filter(r, x).to_numpy()[n:], rtol=1e-12)
    with pytest.raises(ConfigError, match="realised measure"):
        res.filter(r.iloc[n:])


# ---------------------------------------------------------------- forecasts


def test_two_step_forecast_matches_the_closed_form(fitted):
    """E h_{T+2} = exp(omega + (beta + gamma phi) log h_1 + gamma (xi - tau2))
    E exp(a z + b z^2) exp(gamma^2 sigma_u^2 / 2), a = gamma tau1, b = gamma tau2."""
    b = fitted.benchmark
    p = b.init
    logh1 = math.log(b.forecast(1).variance.iloc[0])
    a, c = p["gamma"] * p["tau1"], p["gamma"] * p["tau2"]
    mgf = math.exp(a * a / (2.0 * (1.0 - 2.0 * c))) / math.sqrt(1.0 - 2.0 * c)
    exact = math.exp(p["omega"] + (p["beta"] + p["gamma"] * p["phi"]) * logh1
                     + p["gamma"] * (p["xi"] - p["tau2"]) + 0.5 * (p["gamma"] * p["sigma_u"]) ** 2
                     ) * mgf
    n = 200_000
    fc = b.forecast(2, simulations=n, seed=5)
    paths = b.simulate(n, 2, seed=5)
    se = float(np.std(paths.variance[:, 1])) / math.sqrt(n)
    assert fc.method == "simulation"
    assert abs(fc.variance.iloc[1] - exact) < 4 * se
    assert fc.variance.iloc[1] == pytest.approx(paths.variance[:, 1].mean(), rel=1e-12)


def test_same_seed_same_numbers_and_save_load(tmp_path, data, bench, fitted):
    again = LNNRealGARCH("cfc", 4, backbone_units=8).fit(
        data["returns"], data["range"] ** 2, init=bench, seed=2, **SMALL)
    assert again.loglik == fitted.loglik
    np.testing.assert_array_equal(again.params.to_numpy(), fitted.params.to_numpy())
    path = fitted.save(tmp_path / "rg")
    back = hybridrisk.load(path)
    assert isinstance(back, LNNRealGARCHResult)
    assert back.loglik == fitted.loglik and back.logh0 == fitted.logh0
    pd.testing.assert_series_equal(back.measure, fitted.measure)
    assert back.forecast(1).variance.iloc[0] == fitted.forecast(1).variance.iloc[0]
    assert "LNN-RealGARCH" in str(fitted.summary())


# ---------------------------------------------------------------- bad inputs


def test_bad_inputs_are_named(data, bench):
    r, x = data["returns"], data["range"] ** 2
    bad = x.copy()
    bad.iloc[10] = 0.0
    with pytest.raises(DataValidationError) as err:
        LNNRealGARCH("cfc", 2).fit(r, bad, init=bench, **SMALL)
    assert "measure" in str(err.value) and str(x.index[10].date()) in str(err.value)
    with pytest.raises(DataValidationError, match="returns' dates"):
        LNNRealGARCH("cfc", 2).fit(r, x.iloc[1:], init=bench, **SMALL)
    with pytest.raises(ConfigError, match="sigma_u"):
        LNNRealGARCH("cfc", 2).fit(r, x, init=bench.params.drop("sigma_u"), **SMALL)
    with pytest.raises(ConfigError, match="likelihood"):
        LNNRealGARCH("cfc", 2, likelihood="measure")


# ---------------------------------------------------------------- the volatility task


def _window(n_train: int, n_block: int, idx: pd.Index) -> Window:
    end = n_train + n_block - 1
    return Window(id=0, train_start=0, train_end=n_train - 1, block_start=n_train,
                  block_end=end, train_start_time=idx[0], train_end_time=idx[n_train - 1],
                  block_start_time=idx[n_train], block_end_time=idx[end])


def test_task_with_the_network_held_at_the_benchmark_is_the_classical_task(data):
    """A penalty that pins the head at the benchmark reproduces RealGARCH-range's forecasts,
    variance and t VaR/ES alike."""
    w = _window(1500, 60, data.index)
    classical = RealizedGARCHTask()(data, w, 0)
    task = LNNGARCHTask(hidden_size=2, vol="realized-garch", epochs=2, search=False,
                        penalty=1e12)
    got = task(data, w, seed=0)
    for col in classical.columns:
        np.testing.assert_allclose(got[col].to_numpy(), classical[col].to_numpy(),
                                   rtol=1e-10, err_msg=col)
    assert (got["nest"] == NEST_CODES.index("realized-garch")).all()
    assert got["theta_alpha"].isna().all()


def test_choice_scores_realized_garch_on_held_out_days(data):
    train = data.iloc[:1500]
    x = train["range"] ** 2
    name, fit, scores = choose_nest(train["returns"], "t", holdout=250, measure=x)
    inner = fit_realized_garch(train["returns"].iloc[:-250], x.iloc[:-250])
    var = inner.filter(train["returns"], x).to_numpy()[-250:]
    r2 = train["returns"].to_numpy()[-250:] ** 2
    ref = float(qlike(r2, var, form="log").values.mean())
    assert scores["realized-garch"] == pytest.approx(ref, rel=1e-12)
    assert name == scores.idxmin()
    assert set(scores.index) == set(NEST_CODES)


def test_every_nest_gives_the_same_columns(data):
    w = _window(680, 20, data.index)
    frame = data.iloc[:700]
    cols = {vol: list(LNNGARCHTask(hidden_size=2, vol=vol, epochs=1, search=False)(
        frame, w, seed=0)) for vol in NEST_CODES}
    assert cols["garch"] == cols["gjr"] == cols["egarch"] == cols["realized-garch"]
    with pytest.raises(ConfigError, match="range"):
        LNNGARCHTask(hidden_size=2, vol="realized-garch", epochs=1, search=False)(
            frame[["returns"]], w, seed=0)
