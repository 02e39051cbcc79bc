"""Neural CDE encoder: closed form, scipy reference, queries, missing values, adjoint, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from torch import nn
from torch.func import functional_call

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.lnn.cde import NeuralCDE, forward_fill

F64 = torch.float64
NAN = float("nan")


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny tensors: a second intra-op thread only adds synchronisation (10x slower when loaded).
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def data(batch=3, length=6, channels=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, channels, generator=g, dtype=F64)
    times = torch.cumsum(torch.rand(batch, length, generator=g, dtype=F64) * 1.5 + 0.2, dim=1)
    return x, times


def make(seed=0, **kw) -> NeuralCDE:
    torch.manual_seed(seed)
    return NeuralCDE(2, 3, **kw).double()


class LinearField(nn.Module):
    """f(z)[:, :, c] = A_c z + B_c, a linear vector field with a closed-form CDE solution."""

    def __init__(self, hidden: int, channels: int, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.A = nn.Parameter(torch.randn(channels, hidden, hidden, generator=g, dtype=F64) * 0.3)
        self.B = nn.Parameter(torch.randn(hidden, channels, generator=g, dtype=F64))

    def forward(self, s, z):
        return torch.einsum("cij,bj->bic", self.A, z) + self.B


def closed_form(field: LinearField, z0, times, x, s_points) -> np.ndarray:
    """z at fractional indices s: on each piece dz/ds = M_k z + v_k, solved by expm."""
    A, B = field.A.detach().numpy(), field.B.detach().numpy()
    path = np.concatenate([times.numpy()[:, :, None], x.numpy()], axis=-1)
    out = np.zeros((x.shape[0], len(s_points), A.shape[1]))
    n = A.shape[1]
    for i in range(x.shape[0]):
        for q, s in enumerate(s_points):
            z = z0[i].detach().numpy().copy()
            k = 0
            while k < s:
                u = min(1.0, s - k)
                delta = path[i, k + 1] - path[i, k]  # dX/ds on piece k (linear interpolation)
                aug = np.zeros((n + 1, n + 1))
                aug[:n, :n] = np.einsum("c,cij->ij", delta, A)
                aug[:n, n] = B @ delta
                z = (expm(u * aug) @ np.append(z, 1.0))[:n]
                k += 1
            out[i, q] = z
    return out


def test_linear_field_closed_form_irregular_times():
    field = LinearField(3, 3)
    model = NeuralCDE(2, 3, interpolation="linear", method="dopri5", rtol=1e-11, atol=1e-13,
                      vector_field=field).double()
    x, times = data()
    z = model(x, times)
    z0 = model.initial(x[:, 0])
    ref = closed_form(field, z0, times, x, list(range(6)))
    np.testing.assert_allclose(z.detach().numpy(), ref, rtol=0, atol=1e-9)
    # query times between observations map to fractional indices exactly
    frac = torch.tensor([0.25, 0.5, 0.9], dtype=F64)
    q = torch.stack([times[:, 1] + f * (times[:, 2] - times[:, 1]) for f in frac], dim=1)
    zq = model(x, times, query_times=q)
    refq = closed_form(field, z0, times, x, [1.25, 1.5, 1.9])
    np.testing.assert_allclose(zq.detach().numpy(), refq, rtol=0, atol=1e-9)


def hermite_derivative(x: np.ndarray, s: float) -> np.ndarray:
    """Derivative of the Hermite cubic with backward-difference slopes, index parametrisation."""
    k = min(int(np.floor(s)), len(x) - 2)
    u = s - k
    m0 = x[k] - x[k - 1] if k > 0 else x[1] - x[0]
    m1 = x[k + 1] - x[k]
    return ((6 * u * u - 6 * u) * x[k] + (3 * u * u - 4 * u + 1) * m0
            + (-6 * u * u + 6 * u) * x[k + 1] + (3 * u * u - 2 * u) * m1)


def scipy_reference(model: NeuralCDE, x_filled, times) -> np.ndarray:
    """Solve dz/ds = f(z) dX/ds per sample, piece by piece, with the model's own vector field."""
    batch, length, _ = x_filled.shape
    out = np.zeros((batch, length, model.hidden_size))
    for i in range(batch):
        xi, ti = x_filled[i].numpy(), times[i].numpy()
        z = model.initial(x_filled[i, :1]).detach().numpy()[0]
        out[i, 0] = z
        for k in range(length - 1):

            def rhs(s, zz, k=k, xi=xi, ti=ti):
                if model.interpolation == "linear":
                    dx = xi[k + 1] - xi[k]
                else:
                    dx = hermite_derivative(xi, s)
                dX = np.concatenate([[ti[k + 1] - ti[k]], dx])
                with torch.no_grad():
                    f = model.field(None, torch.as_tensor(zz, dtype=F64)[None])[0].numpy()
                return f @ dX

            sol = solve_ivp(rhs, (k, k + 1), z, method="DOP853", rtol=1e-12, atol=1e-13)
            z = sol.y[:, -1]
            out[i, k + 1] = z
    return out


@pytest.mark.parametrize("interpolation", ["hermite", "linear"])
def test_mlp_field_matches_scipy_with_missing_values(interpolation):
    model = make(interpolation=interpolation, method="dopri5", rtol=1e-11, atol=1e-13)
    x, times = data()
    x[0, 2, 1] = NAN
    x[1, 0, 0] = NAN  # leading NaN: back-filled with the first observation
    x[2, 3:5, 0] = NAN
    z = model(x, times).detach().numpy()
    ref = scipy_reference(model, forward_fill(x), times)
    np.testing.assert_allclose(z, ref, rtol=0, atol=1e-8)


def test_forward_fill_rules():
    x = torch.tensor([[[NAN, 1.0, NAN], [2.0, NAN, NAN], [NAN, 3.0, NAN]]], dtype=F64)
    expected = torch.tensor([[[2.0, 1.0, 0.0], [2.0, 1.0, 0.0], [2.0, 3.0, 0.0]]], dtype=F64)
    assert torch.equal(forward_fill(x), expected)


def test_ffill_is_causal_linear_fill_is_not():
    x, times = data(length=8)
    x[:, 3, 1] = NAN
    x2 = x.clone()
    x2[:, 4:] += 1.0  # change the future only
    causal = make(missing="ffill")
    z1, z2 = causal(x, times), causal(x2, times)
    assert torch.equal(z1[:, :4], z2[:, :4]) and not torch.equal(z1[:, 4:], z2[:, 4:])
    lookahead = make(missing="linear")
    assert not torch.equal(lookahead(x, times)[:, 3], lookahead(x2, times)[:, 3])


def test_linear_fill_uses_real_time():
    model = make(missing="linear")
    x, times = data(batch=1)
    x[0, 2, 0] = NAN
    filled = model._fill(x, times)
    t = times[0]
    w = (t[2] - t[1]) / (t[3] - t[1])
    torch.testing.assert_close(filled[0, 2, 0], x[0, 1, 0] + w * (x[0, 3, 0] - x[0, 1, 0]))


def test_mixed_frequency_and_observation_counts():
    x, times = data(length=9)
    x[:, [0, 1, 3, 4, 6, 7], 1] = NAN  # a "monthly" channel next to a "daily" one
    x[:, 0, 1] = 0.5
    model = make()
    z = model(x, times)
    assert torch.isfinite(z).all() and z.shape == (3, 9, 3)
    assert torch.equal(z, model(forward_fill(x), times))
    counted = make(observation_counts=True)
    assert counted.channels == 5
    zc = counted(x, times)
    assert zc.shape == (3, 9, 3) and torch.isfinite(zc).all()


@pytest.mark.parametrize("interpolation", ["hermite", "linear"])
def test_adjoint_equals_backprop_and_gradients_finite(interpolation):
    x, times = data()
    x[0, 2, 1] = NAN
    grads = []
    for adjoint in (False, True):
        model = make(interpolation=interpolation, method="dopri5", rtol=1e-9, atol=1e-11,
                     adjoint=adjoint)
        xi = x.clone().requires_grad_(True)
        model(xi, times).pow(2).sum().backward()
        g = [p.grad.clone() for p in model.parameters()] + [xi.grad.clone()]
        assert all(torch.isfinite(t).all() for t in g)
        grads.append(g)
    assert float(grads[0][-1][0, 2, 1]) == 0.0  # a missing value gets no gradient
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_gradcheck_float64():
    model = NeuralCDE(2, 2, interpolation="linear", width=4, step_size=0.5).double()
    x, times = data(batch=2, length=3)
    xi = x.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: model(a, times), (xi,))
    names = [n for n, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())

    def f(*ps):
        return functional_call(model, dict(zip(names, ps, strict=True)), (x, times))

    assert torch.autograd.gradcheck(f, params)


@pytest.mark.parametrize("interpolation", ["hermite", "linear"])
def test_irregular_batch_equals_per_sample_loop(interpolation):
    model = make(interpolation=interpolation, method="rk4", step_size=0.25)
    x, times = data(batch=4)
    x[1, 2, 0] = NAN
    batch = model(x, times)
    loop = torch.cat([model(x[i : i + 1], times[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(batch, loop, rtol=0, atol=1e-13)


def test_query_times_shapes_and_consistency():
    model = make(method="rk4", step_size=0.25)
    x, times = data()
    z = model(x, times)
    # queries at the observation times (shared 1-D queries are per-sample times here)
    zq = model(x, times, query_times=times[:, [5, 0, 3]])
    torch.testing.assert_close(zq, z[:, [5, 0, 3]], rtol=0, atol=1e-12)
    lo, hi = float(times[:, 0].max()), float(times[:, -1].min())
    shared = torch.linspace(lo, hi, 4, dtype=F64)
    assert model(x, times, query_times=shared).shape == (3, 4, 3)
    with pytest.raises(DataValidationError, match="outside"):
        model(x, times, query_times=torch.tensor([0.0], dtype=F64))


def test_unit_times_equal_none_and_time_shift_invariance():
    model = make()
    x, times = data()
    unit = torch.arange(6, dtype=F64)
    assert torch.equal(model(x), model(x, unit))
    torch.testing.assert_close(model(x, times), model(x, times + 100.0), rtol=0, atol=1e-12)


def test_shapes_h0_and_length_one():
    model = make()
    x, times = data()
    h0 = torch.randn(3, 3, dtype=F64)
    z = model(x, times, h0=h0)
    assert z.shape == (3, 6, 3) and torch.equal(z[:, 0], h0)
    one = model(x[:, :1], times[:, :1])
    assert one.shape == (3, 1, 3)
    torch.testing.assert_close(one[:, 0], model.initial(x[:, 0]))


def test_bad_input():
    model = make()
    x, times = data()
    bad = x.clone()
    bad[0, 1, 1] = float("inf")
    with pytest.raises(DataValidationError, match="infinite"):
        model(bad, times)
    with pytest.raises(DataValidationError, match="shape"):
        model(x[..., :1], times)
    with pytest.raises(DataValidationError, match="increasing"):
        model(x, times.flip(1))
    with pytest.raises(DataValidationError, match="dtype"):
        model(x.float(), times.float())
    with pytest.raises(DataValidationError, match="h0"):
        model(x, times, h0=torch.zeros(3, 4, dtype=F64))
    with pytest.raises(ConfigError):
        NeuralCDE(2, 3, interpolation="cubic")
    with pytest.raises(ConfigError):
        NeuralCDE(2, 3, missing="zero")
    with pytest.raises(ConfigError):
        NeuralCDE(2, 3, method="nope")
