"""LNN-GAS copula: nesting the GAS baseline, forecasts, simulation, persistence, bad inputs,
and the dependence task that nests GAS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import hybridrisk
from baselines.copula_gas import fit_gas_copula, gas_copula_filter
from baselines.margins import garch_pits
from hybridrisk import datasets
from hybridrisk.errors import ConfigError
from hybridrisk.hybrids import LNNGASCopula, LNNGASCopulaResult
from hybridrisk.hybrids.copula_gas import _gas_path
from hybridrisk.kernels import copula_dynamics as CD
from validation.families.dependence import DependenceFamily
from validation.families.dependence_tasks import GASCopulaTask, LNNGASCopulaTask
from validation.walkforward import WalkForward

SMALL = dict(epochs=3, window=100, burn_in=20, progress=False)
NET = dict(backbone_units=8)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def pits():
    pair = pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1)
    return garch_pits(pair).iloc[-1200:]


@pytest.fixture(scope="module")
def gas(pits):
    return fit_gas_copula(pits, "student", n_starts=1)


@pytest.fixture(scope="module")
def fitted(pits, gas):
    return LNNGASCopula("cfc", 4, **NET).fit(pits, init=gas, seed=2, **SMALL)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("family", ["gaussian", "student", "clayton", "gumbel"])
def test_torch_scaled_score_equals_the_scalar_one(pits, family):
    nu = 6.0 if family == "student" else None
    s1, s2 = CD.score_statistics(family, torch.tensor(pits.to_numpy()[:50]), 0, nu)
    f = torch.linspace(-0.5, 1.5, 50, dtype=torch.float64)
    got = CD.scaled_score_from_statistics(family, s1, s2, f, nu=nu)
    step = CD.gas_score_function(family, nu)
    ref = [step(float(a), float(b), float(c)) for a, b, c in zip(s1, s2, f, strict=True)]
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12, atol=1e-14)
    direct = CD.scaled_score(family, pits.to_numpy()[:50], f, nu=nu)
    np.testing.assert_allclose(got.numpy(), direct.numpy(), rtol=1e-14, atol=1e-15)


def test_network_off_is_the_gas_baseline(pits, gas, fitted):
    b = fitted.benchmark
    filt = gas_copula_filter(pits, "student", gas.params)
    assert _rel(b.loglik, gas.loglik) < 1e-12
    assert _rel(b.loglik, float(filt["loglik"].sum())) < 1e-12
    np.testing.assert_allclose(b.params["rho"].to_numpy(), filt["rho"].to_numpy(),
                               rtol=1e-12, atol=1e-14)
    ref = gas.forecast(4)
    got = b.forecast(4)
    np.testing.assert_allclose(got["rho"].to_numpy(), ref["rho"].to_numpy(), rtol=1e-12)
    # early stopping keeps the starting (benchmark) state unless training beat it
    assert fitted.history.best_epoch > 0 and fitted.loglik != b.loglik
    assert fitted.split_loglik()["validation"] > b.split_loglik()["validation"]
    assert (fitted.dynamics["B"].abs() < 1).all()


def test_a_window_started_from_the_filter_continues_it(pits, gas):
    p = gas.params
    dyn = {k: torch.full((1, 300), float(p[k]), dtype=torch.float64) for k in ("omega", "A",
                                                                              "B")}
    s1, s2 = CD.score_statistics("student", torch.tensor(pits.to_numpy()[:300]), 0, p["nu"])
    z = torch.zeros(1, dtype=torch.float64)
    f0 = float(p["omega"] / (1 - p["B"]))
    f, s = _gas_path("student", "fisher", dyn, s1[None], s2[None], p["nu"], z, z,
                     torch.ones(1, dtype=torch.bool), f0)
    tail = {k: v[:, 150:] for k, v in dyn.items()}
    f2, _ = _gas_path("student", "fisher", tail, s1[None, 150:], s2[None, 150:], p["nu"],
                      f[:, 149], s[:, 149], torch.zeros(1, dtype=torch.bool), f0)
    torch.testing.assert_close(f2, f[:, 150:], rtol=1e-15, atol=1e-15)


def test_filter_simulation_and_persistence(tmp_path, pits, gas, fitted):
    n = 1100
    res = LNNGASCopula("cfc", 4, **NET).fit(pits.iloc[:n], init=gas, seed=2, **SMALL)
    f = res.filter(pits.iloc[n:])
    full = res._evaluate(pits, res.covariates)
    np.testing.assert_allclose(f["rho"].to_numpy(), full["theta"]["rho"][n:-1], rtol=1e-14)
    np.testing.assert_allclose(f["loglik"].to_numpy(), full["ll"][n:], rtol=1e-13)
    # simulated with the network off, each path's rho follows the baseline's scalar GAS
    # recursion on that path's own draws, from f_{T+1}
    draws, par = res.benchmark._simulate(3, 40, torch.Generator().manual_seed(4))
    p = gas.params
    step = CD.gas_score_function("student", p["nu"])
    for k in range(3):
        s1, s2 = CD.score_statistics("student", torch.tensor(draws[k]), 0, p["nu"])
        f, ref = float(np.arctanh(par["rho"][k, 0])), [par["rho"][k, 0]]
        for t in range(39):
            f = p["omega"] + p["A"] * step(float(s1[t]), float(s2[t]), f) + p["B"] * f
            ref.append(np.tanh(f))
        np.testing.assert_allclose(par["rho"][k], ref, rtol=1e-12)
    assert np.ptp(par["rho"][:, -1]) > 0  # the paths differ: the draws move them
    again = LNNGASCopula("cfc", 4, **NET).fit(pits, init=gas, seed=2, **SMALL)
    assert again.loglik == fitted.loglik
    back = hybridrisk.load(fitted.save(tmp_path / "gas"))
    assert isinstance(back, LNNGASCopulaResult) and back.loglik == fitted.loglik
    pd.testing.assert_frame_equal(back.dynamics, fitted.dynamics)
    assert "LNN-GAS" in str(fitted.summary())


def test_bad_benchmarks_are_refused(pits, gas):
    with pytest.raises(ConfigError, match="family"):
        LNNGASCopula("cfc", 2, family="gaussian").fit(pits, init=gas, **SMALL)
    with pytest.raises(ConfigError, match="lacks"):
        LNNGASCopula("cfc", 2).fit(pits, init=gas.params.drop("B"), **SMALL)
    with pytest.raises(ConfigError, match=r"\|B\| < 1"):
        LNNGASCopula("cfc", 2).fit(pits, init=gas.params.replace(gas.params["B"], 1.0),
                                   **SMALL)
    with pytest.raises(ConfigError):
        LNNGASCopula("cfc", 2, family="frank")


def test_task_held_at_the_benchmark_is_the_gas_champion():
    data = DependenceFamily().load("ecb_fx").iloc[-900:]
    win = WalkForward(refit=20, oos=20, min_train=880).plan(data)[0]
    gas = GASCopulaTask(copula_window=400, n_draws=300, n_starts=1)(data, win, 5)
    hyb = LNNGASCopulaTask(copula_window=400, n_draws=300, n_starts=1, max_train=400,
                           epochs=2, penalty=1e12)(data, win, 5)
    for col in ("logscore", "param1", "param2", "VaR_0.99"):
        np.testing.assert_allclose(hyb[col].to_numpy(), gas[col].to_numpy(), rtol=1e-9,
                                   err_msg=col)
