"""Neural SDE generator: reproducibility, closed-form moments, Ito/Stratonovich, adjoint, fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.lnn.sde import NeuralSDE

F64 = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny tensors: a second intra-op thread only adds synchronisation (10x slower when loaded).
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def ou(theta=1.5, mu=0.5, sigma=0.4, **kw) -> NeuralSDE:
    return NeuralSDE(
        1, drift=lambda t, y, c: theta * (mu - y), diffusion=lambda t, y, c: sigma + 0 * y, **kw
    ).double()


def gbm(mu=0.08, sigma=0.3, **kw) -> NeuralSDE:
    return NeuralSDE(1, drift=lambda t, y, c: mu * y, diffusion=lambda t, y, c: sigma * y,
                     **kw).double()


# -- reproducibility -------------------------------------------------------------------------------


def test_same_seed_same_bits_different_seed_differs():
    torch.manual_seed(0)
    model = NeuralSDE(2, 8, context_size=3).double()
    ctx = torch.randn(3, dtype=F64)
    times = torch.linspace(0.0, 1.0, 6)
    a = model.simulate(16, times, seed=7, context=ctx)
    torch.manual_seed(999)  # the global state plays no part
    b = model.simulate(16, times, seed=7, context=ctx)
    c = model.simulate(16, times, seed=8, context=ctx)
    assert a.shape == (16, 6, 2) and a.dtype == F64
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a[:, 0], torch.zeros(16, 2, dtype=F64))
    # the adjoint flag changes gradients, not the forward paths
    model.adjoint = True
    assert torch.equal(a, model.simulate(16, times, seed=7, context=ctx))


# -- closed forms ----------------------------------------------------------------------------------


def test_euler_maruyama_ou_moments_within_mc_error():
    theta, mu, sigma, x0, dt = 1.5, 0.5, 0.4, -0.5, 0.01
    model = ou(theta, mu, sigma, method="euler", dt=dt)
    times = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=F64)
    n = 20000
    paths = model.simulate(n, times, seed=11, x0=torch.tensor([x0])).squeeze(-1)
    for k, t in enumerate(times.tolist()[1:], start=1):
        steps = round(t / dt)
        # exact moments of the Euler-Maruyama recursion (an AR(1))
        a = 1 - theta * dt
        m_em = mu + (x0 - mu) * a**steps
        v_em = sigma**2 * dt * (1 - a ** (2 * steps)) / (1 - a**2)
        # continuous-time OU closed form
        m_ou = mu + (x0 - mu) * math.exp(-theta * t)
        v_ou = sigma**2 * (1 - math.exp(-2 * theta * t)) / (2 * theta)
        mean, var = float(paths[:, k].mean()), float(paths[:, k].var())
        assert abs(mean - m_em) < 4 * math.sqrt(v_em / n)
        assert abs(var - v_em) < 4 * v_em * math.sqrt(2 / (n - 1))
        assert abs(m_em - m_ou) < 5e-3 and abs(v_em / v_ou - 1) < 2e-2  # discretisation bias


def test_euler_maruyama_gbm_moments_within_mc_error():
    mu, sigma, dt, n = 0.08, 0.3, 0.01, 20000
    model = gbm(mu, sigma, dt=dt)
    paths = model.simulate(n, [0.0, 1.0], seed=3, x0=torch.ones(1, dtype=F64))[:, -1, 0]
    steps = 100
    m1 = (1 + mu * dt) ** steps  # E-M moments: E[X_N], E[X_N^2]
    m2 = ((1 + mu * dt) ** 2 + sigma**2 * dt) ** steps
    sd = math.sqrt(m2 - m1**2)
    assert abs(float(paths.mean()) - m1) < 4 * sd / math.sqrt(n)
    assert abs(math.exp(mu) - m1) < 1e-3  # E[X_1] = exp(mu)
    var_exact = math.exp(2 * mu) * (math.exp(sigma**2) - 1)
    assert abs(float(paths.var()) / var_exact - 1) < 0.06


# -- Ito and Stratonovich ------------------------------------------------------------------------


def test_ito_stratonovich_drift_correction_gbm():
    mu, sigma = 0.08, 0.3
    y = torch.linspace(0.5, 2.0, 7, dtype=F64).unsqueeze(-1)
    ito = gbm(mu, sigma)
    torch.testing.assert_close(ito.drift(0.0, y, sde_type="stratonovich"),
                               (mu - sigma**2 / 2) * y, rtol=1e-15, atol=0)
    strat = NeuralSDE(1, sde_type="stratonovich", drift=lambda t, y, c: (mu - sigma**2 / 2) * y,
                      diffusion=lambda t, y, c: sigma * y).double()
    torch.testing.assert_close(strat.drift(0.0, y, sde_type="ito"), mu * y, rtol=1e-15, atol=0)


def test_ito_and_stratonovich_solvers_agree_with_exact_gbm_path():
    """Same Brownian path: Ito-Milstein, the converted Stratonovich midpoint and the exact GBM."""
    mu, sigma, dt, n = 0.08, 0.3, 2e-3, 200
    model = gbm(mu, sigma, dt=dt)
    times = torch.tensor([0.0, 0.5, 1.0], dtype=F64)
    x0 = torch.ones(1, dtype=F64)
    p_ito = model.simulate(n, times, seed=5, x0=x0, method="milstein").detach()
    p_str = model.simulate(n, times, seed=5, x0=x0, sde_type="stratonovich")
    bm = model.brownian(n, times, seed=5, method="milstein")
    w, s = torch.zeros(n, 1, dtype=F64), 0.0
    while s < 1.0:  # the solver's query pattern: consecutive steps of dt
        nxt = min(s + dt, 1.0)
        w, s = w + bm(s, nxt), nxt
    exact = torch.exp((mu - sigma**2 / 2) + sigma * w)
    assert float((p_ito[:, -1] - exact).abs().max()) < 2e-3
    assert float((p_str[:, -1] - exact).abs().max()) < 2e-3
    # without the correction the Stratonovich path would drift by sigma^2 / 2 = 4.5% a year
    wrong = NeuralSDE(1, sde_type="stratonovich", drift=lambda t, y, c: mu * y,
                      diffusion=lambda t, y, c: sigma * y, dt=dt).double()
    p_wrong = wrong.simulate(n, times, seed=5, x0=x0)
    assert float((p_wrong[:, -1] / exact).mean()) > 1.04


def test_general_noise_correction_linear_diffusion():
    """g_ij = sum_k B_ijk y_k gives c_i = sum_jk g_kj B_ijk exactly."""
    g = torch.Generator().manual_seed(0)
    B = torch.randn(2, 3, 2, generator=g, dtype=F64)
    model = NeuralSDE(2, noise="general", brownian_size=3, drift=lambda t, y, c: -y,
                      diffusion=lambda t, y, c: torch.einsum("ijk,bk->bij", B, y)).double()
    y = torch.randn(5, 2, generator=g, dtype=F64)
    gy = torch.einsum("ijk,bk->bij", B, y)
    expected = torch.einsum("bkj,ijk->bi", gy, B)
    torch.testing.assert_close(model.ito_correction(0.0, y), expected, rtol=1e-13, atol=1e-14)
    assert model.simulate(4, [0.0, 0.1, 0.2], seed=0, x0=torch.ones(2)).shape == (4, 3, 2)


def test_builtin_diagonal_diffusion_is_per_coordinate_and_positive():
    torch.manual_seed(0)
    model = NeuralSDE(3, 8, context_size=2, time_input=True).double()
    y = torch.randn(4, 3, dtype=F64, requires_grad=True)
    ctx = torch.randn(4, 2, dtype=F64)
    g = model.diffusion(torch.tensor(0.3, dtype=F64), y, ctx)
    assert g.shape == (4, 3) and (g > 0).all()
    jac = torch.autograd.functional.jacobian(lambda v: model.diffusion(0.3, v, ctx).sum(0), y)
    off = jac.sum(1) * (1 - torch.eye(3, dtype=F64))  # d g_i / d y_j summed over the batch
    assert float(off.abs().max()) == 0.0


# -- adjoint ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sde_type", "tol"), [("stratonovich", 5e-3), ("ito", 3e-2)])
def test_adjoint_gradient_close_to_backprop(sde_type, tol):
    grads = []
    for adjoint in (False, True):
        torch.manual_seed(0)
        model = NeuralSDE(2, 8, sde_type=sde_type, adjoint=adjoint, context_size=1).double()
        ctx = torch.tensor([0.3], dtype=F64, requires_grad=True)
        paths = model.simulate(32, torch.linspace(0, 1, 5), seed=0,
                               x0=torch.tensor([0.5, -0.2]), context=ctx, dt=0.01)
        paths.pow(2).mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()] + [ctx.grad]))
    assert torch.isfinite(grads[1]).all()
    assert float((grads[0] - grads[1]).norm() / grads[0].norm()) < tol


# -- training objective ----------------------------------------------------------------------------


def test_transition_log_likelihood_matches_scipy():
    theta, mu, sigma = 1.5, 0.5, 0.4
    model = ou(theta, mu, sigma)
    g = torch.Generator().manual_seed(1)
    paths = torch.randn(3, 6, 1, generator=g, dtype=F64)
    times = torch.cumsum(torch.rand(3, 6, generator=g, dtype=F64) + 0.05, dim=1)
    ll = model.transition_log_likelihood(paths, times, reduction="none")
    y, t = paths[..., 0].numpy(), times.numpy()
    dt = np.diff(t, axis=1)
    ref = stats.norm.logpdf(y[:, 1:], y[:, :-1] + theta * (mu - y[:, :-1]) * dt,
                            sigma * np.sqrt(dt))
    np.testing.assert_allclose(ll.numpy(), ref, rtol=1e-12)
    assert math.isclose(float(model.transition_log_likelihood(paths, times)), ref.sum(),
                        rel_tol=1e-12)
    # a Stratonovich model of the same GBM has the same (Ito) transition density
    pos = paths.exp()
    strat = NeuralSDE(1, sde_type="stratonovich", drift=lambda t, y, c: (0.08 - 0.045) * y,
                      diffusion=lambda t, y, c: 0.3 * y).double()
    torch.testing.assert_close(strat.transition_log_likelihood(pos, times),
                               gbm(0.08, 0.3).transition_log_likelihood(pos, times))


def test_general_noise_log_likelihood_matches_scipy():
    L = torch.tensor([[0.3, 0.0], [0.1, 0.2]], dtype=F64)
    model = NeuralSDE(2, noise="general", drift=lambda t, y, c: -y,
                      diffusion=lambda t, y, c: L.expand(y.shape[0], 2, 2)).double()
    g = torch.Generator().manual_seed(2)
    paths = torch.randn(2, 4, 2, generator=g, dtype=F64)
    ll = model.transition_log_likelihood(paths, [0.0, 0.1, 0.3, 0.4], reduction="none")
    dts = [0.1, 0.2, 0.1]
    for i in range(2):
        for k in range(3):
            y0, y1 = paths[i, k].numpy(), paths[i, k + 1].numpy()
            ref = stats.multivariate_normal.logpdf(y1, y0 - y0 * dts[k], (L @ L.T).numpy() * dts[k])
            assert math.isclose(float(ll[i, k]), ref, rel_tol=1e-12)


def test_fit_ou_by_transition_likelihood():
    """Recover mean reversion and volatility of an exactly simulated OU process."""
    theta, mu, sigma, delta = 2.0, 0.5, 0.3, 0.05
    g = torch.Generator().manual_seed(0)
    n, length = 64, 60
    a = math.exp(-theta * delta)
    sd = sigma * math.sqrt((1 - a * a) / (2 * theta))
    y = torch.empty(n, length)
    y[:, 0] = mu + torch.randn(n, generator=g) * sigma / math.sqrt(2 * theta)
    for k in range(1, length):
        y[:, k] = mu + (y[:, k - 1] - mu) * a + sd * torch.randn(n, generator=g)
    times = torch.arange(length) * delta
    torch.manual_seed(0)
    model = NeuralSDE(1, 16)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    paths = y.unsqueeze(-1)
    for _ in range(200):
        opt.zero_grad()
        loss = -model.transition_log_likelihood(paths, times, reduction="mean")
        loss.backward()
        opt.step()
    with torch.no_grad():
        probe = torch.tensor([[mu - 0.2], [mu], [mu + 0.2]])
        vol = model.diffusion(0.0, probe)[1, 0]
        drift = model.drift(0.0, probe)[:, 0]
    assert abs(float(vol) / sigma - 1) < 0.15
    assert float(drift[0]) > 0 > float(drift[2])  # mean reversion toward mu
    assert abs(float(drift[0] - drift[2]) / 0.4 - theta) < 1.0


# -- validation ------------------------------------------------------------------------------------


def test_bad_inputs():
    model = NeuralSDE(2, 4, context_size=1)
    with pytest.raises(DataValidationError, match="context"):
        model.simulate(3, [0.0, 1.0], seed=0)
    with pytest.raises(DataValidationError, match="increasing"):
        model.simulate(3, [0.0, 1.0, 0.5], seed=0, context=torch.zeros(1))
    with pytest.raises(DataValidationError, match="x0"):
        model.simulate(3, [0.0, 1.0], seed=0, x0=torch.zeros(3), context=torch.zeros(1))
    with pytest.raises(ConfigError, match="seed"):
        model.simulate(3, [0.0, 1.0], seed=-1, context=torch.zeros(1))
    with pytest.raises(DataValidationError, match="finite"):
        model.transition_log_likelihood(torch.full((1, 3, 2), float("nan")), [0, 1, 2],
                                        context=torch.zeros(1))
    with pytest.raises(ConfigError):
        NeuralSDE(2, 4, noise="scalar")
    with pytest.raises(ConfigError):
        NeuralSDE(2, 4, sde_type="ito", method="nope")
    one = model.simulate(3, [0.5], seed=0, context=torch.zeros(1))
    assert one.shape == (3, 1, 2)
