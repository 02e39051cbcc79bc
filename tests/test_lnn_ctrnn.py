"""CTRNN encoder: references, gradients, adjoint, irregular times, learning, validation."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from torch.func import functional_call

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.lnn.base import time_deltas
from hybridrisk.lnn.ctrnn import CTRNN

F64 = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny tensors: a second intra-op thread only adds synchronisation (10x slower when loaded).
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

TIGHT = {"method": "dopri5", "rtol": 1e-10, "atol": 1e-12}


def make(input_size=2, hidden=3, seed=0, **kw) -> CTRNN:
    torch.manual_seed(seed)
    model = CTRNN(input_size, hidden, **kw).double()
    with torch.no_grad():  # tau away from 1 and not all equal, a nonzero bias
        model.field.tau_raw.copy_(torch.linspace(-0.5, 1.5, hidden, dtype=F64))
        model.field.bias.normal_(std=0.5)
    return model


def data(batch=3, length=5, input_size=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, input_size, generator=g, dtype=F64)
    times = torch.cumsum(torch.rand(batch, length, generator=g, dtype=F64) * 1.5 + 0.1, dim=1)
    return x, times


def scipy_reference(model: CTRNN, x, times, h0=None) -> np.ndarray:
    """Solve tau dx/dt = -x + W sigma(x + b) + W_in I(t) per sample with scipy, step by step."""
    W = model.field.weight.detach().numpy()
    b = model.field.bias.detach().numpy()
    tau = model.tau.detach().numpy()
    W_in = model.input_weight.detach().numpy()
    gaps = time_deltas(times, x).numpy()
    out = np.zeros((x.shape[0], x.shape[1], W.shape[0]))
    for i in range(x.shape[0]):
        state = np.zeros(W.shape[0]) if h0 is None else h0[i].numpy()
        for k in range(x.shape[1]):
            drive = W_in @ x[i, k].numpy()  # zero-order hold: x_k over (t_{k-1}, t_k]

            def rhs(t, s, drive=drive):
                return (-s + W @ (1.0 / (1.0 + np.exp(-(s + b)))) + drive) / tau

            sol = solve_ivp(rhs, (0.0, gaps[i, k]), state, method="DOP853", rtol=1e-12,
                            atol=1e-13)
            state = sol.y[:, -1]
            out[i, k] = state
    return out


def test_closed_form_linear_case():
    """With W = 0 each neuron is linear: x(t) = target + (x0 - target) exp(-gap / tau)."""
    model = make(**TIGHT)
    with torch.no_grad():
        model.field.weight.zero_()
    x, times = data()
    h = model(x, times).detach()
    gaps = time_deltas(times, x)
    tau = model.tau.detach()
    state = torch.zeros(3, 3, dtype=F64)
    for k in range(x.shape[1]):
        target = x[:, k] @ model.input_weight.detach().T
        decay = torch.exp(-gaps[:, k : k + 1] / tau)
        state = target + (state - target) * decay
        torch.testing.assert_close(h[:, k], state, rtol=0, atol=1e-10)


def test_matches_scipy_solve_ivp_nonlinear():
    model = make(hidden=4, **TIGHT)
    x, times = data()
    h0 = torch.randn(3, 4, dtype=F64, generator=torch.Generator().manual_seed(5))
    h = model(x, times, h0=h0).detach().numpy()
    np.testing.assert_allclose(h, scipy_reference(model, x, times, h0), rtol=0, atol=1e-9)


def test_gradcheck_float64():
    model = make(hidden=2, method="rk4", step_size=0.5)
    x, times = data(batch=2, length=3)
    x.requires_grad_(True)
    h0 = torch.randn(2, 2, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: model(a, times, b), (x, h0))
    names = [n for n, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())

    def f(*ps):
        return functional_call(model, dict(zip(names, ps, strict=True)), (x.detach(), times))

    assert torch.autograd.gradcheck(f, params)


@pytest.mark.parametrize(
    ("cfg", "tol"),
    [({"method": "dopri5", "rtol": 1e-9, "atol": 1e-11}, 1e-5),
     ({"method": "rk4", "step_size": 0.02}, 1e-6)],
)
def test_adjoint_equals_backprop(cfg, tol):
    x, times = data()
    grads = []
    for adjoint in (False, True):
        model = make(adjoint=adjoint, **cfg)
        xi = x.clone().requires_grad_(True)
        loss = model(xi, times).pow(2).sum()
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()] + [xi.grad.clone()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol * 1e-2)


def test_unit_times_equal_none():
    model = make(method="rk4", step_size=0.25)
    x, _ = data()
    unit = torch.arange(x.shape[1], dtype=F64) + 10.0
    assert torch.equal(model(x), model(x, unit))
    assert torch.equal(model(x), model(x, unit.expand(3, -1)))


@pytest.mark.parametrize("cfg", [{"method": "rk4", "step_size": 0.25}, {"method": "dopri5"}])
def test_irregular_batch_equals_per_sample_loop(cfg):
    model = make(**cfg)
    x, times = data(batch=4)
    batch = model(x, times)
    loop = torch.cat([model(x[i : i + 1], times[i : i + 1]) for i in range(4)])
    tol = 1e-12 if cfg["method"] == "rk4" else 1e-5
    torch.testing.assert_close(batch, loop, rtol=0, atol=tol)


@pytest.mark.parametrize(
    ("method", "tol"),
    [("euler", 5e-2), ("midpoint", 5e-3), ("rk4", 1e-5), ("dopri5", 1e-5), ("bosh3", 1e-4),
     ("adaptive_heun", 1e-2)],
)
def test_solvers_pass_through(method, tol):
    kind = {"step_size": 0.05} if method in ("euler", "midpoint", "rk4") else {"rtol": 1e-6}
    if method == "adaptive_heun":  # second order: a tight rtol costs thousands of steps
        kind = {"rtol": 1e-4, "atol": 1e-6}
    model = make(method=method, **kind)
    x, times = data()
    ref = make(**TIGHT)(x, times)
    out = model(x, times)
    assert out.shape == (3, 5, 3)
    torch.testing.assert_close(out, ref, rtol=0, atol=tol)


def test_learns_exponential_smoothing_quickly():
    """Target: y_k = EMA with tau = 2 of a held input; a 1-layer CTRNN represents it exactly."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    batch, length = 32, 20
    x = torch.randn(batch, length, 1, generator=g)
    times = torch.cumsum(torch.rand(batch, length, generator=g) + 0.25, dim=1)
    gaps = time_deltas(times, x)
    y = torch.zeros(batch, length)
    state = torch.zeros(batch)
    for k in range(length):
        decay = torch.exp(-gaps[:, k] / 2.0)
        state = decay * state + (1 - decay) * x[:, k, 0]
        y[:, k] = state
    model = CTRNN(1, 4, method="rk4")
    readout = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam([*model.parameters(), *readout.parameters()], lr=0.03)
    start = time.process_time()

    def loss_fn():
        return (readout(model(x, times)).squeeze(-1) - y).pow(2).mean()

    with torch.no_grad():
        first = float(loss_fn())
    for _ in range(100):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = float(loss_fn())
    assert time.process_time() - start < 10.0  # CPU time: robust to a busy machine
    assert final < first / 20, (first, final)


def test_bad_input():
    model = make()
    x, times = data()
    bad = x.clone()
    bad[1, 2, 0] = float("nan")
    with pytest.raises(DataValidationError, match="finite"):
        model(bad, times)
    with pytest.raises(DataValidationError, match="shape"):
        model(x[..., :1], times)
    with pytest.raises(DataValidationError, match="shape"):
        model(x[0], times)
    with pytest.raises(DataValidationError, match="increasing"):
        model(x, times.flip(1))
    with pytest.raises(DataValidationError, match="h0"):
        model(x, times, h0=torch.zeros(3, 7, dtype=F64))
    with pytest.raises(DataValidationError, match="dtype"):
        model(x.float(), times)
    with pytest.raises(ConfigError):
        CTRNN(2, 3, method="nope")
    with pytest.raises(ConfigError):
        CTRNN(2, 3, method="dopri5", step_size=0.1)
    with pytest.raises(ConfigError):
        CTRNN(2, 3, rtol=-1.0)


def test_tau_positive_and_shapes():
    model = CTRNN(3, 5)
    with torch.no_grad():
        model.field.tau_raw.fill_(-50.0)
    assert (model.tau > 0).all()
    out = CTRNN(3, 5)(torch.randn(2, 1, 3))
    assert out.shape == (2, 1, 5)
