"""The torch kernels equal arch (and direct numpy/scipy transcriptions) to machine precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from arch import arch_model
from scipy import integrate, stats

from hybridrisk.kernels.dcc import dcc_correlation, dcc_loglik, dcc_q
from hybridrisk.kernels.distributions import (
    arch_distribution,
    expected_shortfall,
    log_density,
    quantile,
    tail_risk,
)
from hybridrisk.kernels.garch import (
    LinearRecurrence,
    arch_backcast,
    egarch_variance,
    garch_loglik,
    garch_variance,
    linear_recurrence,
)

# (arch vol, o, kernel vol)
VOLS = [("GARCH", 0, "garch"), ("GARCH", 1, "gjr"), ("EGARCH", 0, "egarch"),
        ("EGARCH", 1, "egarch")]
DISTS = ["normal", "t", "skewt"]
MEANS = ["constant", "zero"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _fit(r, vol, o, dist, mean, **kw):
    am = arch_model(r, mean=mean.capitalize(), vol=vol, p=1, o=o, q=1, dist=dist)
    return am, am.fit(disp="off", **kw)


@pytest.mark.parametrize("mean", MEANS)
@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("vol,o,kvol", VOLS)
def test_kernel_equals_arch_at_its_mle(sp500, vol, o, kvol, dist, mean):
    am, res = _fit(sp500, vol, o, dist, mean)
    ll, s2, eps = garch_loglik(sp500.to_numpy(), dict(res.params), vol=kvol, dist=dist,
                               mean=mean)
    arch_var = res.conditional_volatility.to_numpy() ** 2
    assert abs(ll.sum().item() - res.loglikelihood) <= 1e-10 * abs(res.loglikelihood)
    np.testing.assert_allclose(s2.numpy(), arch_var, rtol=1e-10, atol=0)
    np.testing.assert_allclose(eps.numpy(), res.resid.to_numpy(), rtol=0, atol=1e-14)
    # Per-observation log-likelihoods equal arch's distribution at arch's variances.
    d = am.distribution
    dp = res.params[d.parameter_names()].to_numpy()
    lls = d.loglikelihood(dp, res.resid.to_numpy(), arch_var, individual=True)
    np.testing.assert_allclose(ll.numpy(), lls, rtol=1e-10, atol=1e-12)
    # arch's variance bounds never bind at its estimates (the kernel applies none).
    bounds = am.volatility.variance_bounds(res.resid.to_numpy())
    assert np.all(arch_var > bounds[:, 0]) and np.all(arch_var < bounds[:, 1])


@pytest.mark.parametrize("vol,o,kvol", [VOLS[1], VOLS[3]])
def test_user_backcast_equals_arch(sp500, vol, o, kvol):
    _, res = _fit(sp500, vol, o, "t", "constant", backcast=2.5)
    ll, s2, _ = garch_loglik(sp500.to_numpy(), dict(res.params), vol=kvol, dist="t",
                             backcast=2.5)
    assert abs(ll.sum().item() - res.loglikelihood) <= 1e-10 * abs(res.loglikelihood)
    np.testing.assert_allclose(s2.numpy(), res.conditional_volatility.to_numpy() ** 2,
                               rtol=1e-10)


def test_arch_backcast_rule(sp500):
    am = arch_model(sp500, vol="GARCH", p=1, q=1)
    e = sp500.to_numpy() - sp500.mean()
    assert arch_backcast(e) == pytest.approx(am.volatility.backcast(e), rel=1e-15)
    ae = arch_model(sp500, vol="EGARCH", p=1, q=1)
    assert arch_backcast(e, "egarch") == pytest.approx(ae.volatility.backcast(e), rel=1e-15)
    assert arch_backcast(e[:10]) == pytest.approx(am.volatility.backcast(e[:10]), rel=1e-15)


# ---------------------------------------------------------------- the linear recurrence


@pytest.mark.parametrize("shape", [(2, 1, 1), (3, 7, 2), (2, 50, 3), (1, 64, 1)])
def test_linear_recurrence_gradcheck(shape):
    g = torch.Generator().manual_seed(1)
    c = torch.rand(shape, dtype=torch.float64, generator=g).requires_grad_()
    b = (0.95 * torch.rand(shape, dtype=torch.float64, generator=g)).requires_grad_()
    s0 = torch.rand(shape[0], shape[2], dtype=torch.float64, generator=g).requires_grad_()
    assert torch.autograd.gradcheck(LinearRecurrence.apply, (c, b, s0))


def test_linear_recurrence_scan_equals_loop_long():
    g = torch.Generator().manual_seed(2)
    c = torch.rand(3, 5030, 2, dtype=torch.float64, generator=g).requires_grad_()
    b = (0.99 * torch.rand(3, 5030, 2, dtype=torch.float64, generator=g)).requires_grad_()
    s0 = torch.rand(3, 2, dtype=torch.float64, generator=g).requires_grad_()
    out_s = linear_recurrence(c, b, s0)
    out_l = linear_recurrence(c, b, s0, method="loop")
    torch.testing.assert_close(out_s, out_l, rtol=1e-13, atol=0)
    w = torch.randn(out_s.shape, dtype=torch.float64, generator=g)
    gs = torch.autograd.grad((out_s * w).sum(), (c, b, s0))
    gl = torch.autograd.grad((out_l * w).sum(), (c, b, s0))
    for x, y in zip(gs, gl, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-11, atol=1e-12)


def test_garch_variance_time_varying_scan_equals_loop_and_numpy(sp500):
    r = torch.tensor(sp500.to_numpy()[:1200]) - 0.05
    T = r.shape[0]
    t = torch.arange(T, dtype=torch.float64)
    om = (0.02 + 0.01 * torch.sin(t / 50)).requires_grad_()
    al = (0.05 + 0.02 * torch.cos(t / 70)).requires_grad_()
    ga = (0.10 + 0.03 * torch.sin(t / 30)).requires_grad_()
    be = (0.85 + 0.02 * torch.cos(t / 90)).requires_grad_()
    s_scan = garch_variance(r, om, al, be, ga, backcast=1.3)
    s_loop = garch_variance(r, om, al, be, ga, backcast=1.3, method="loop")
    # numpy transcription of the time-varying GJR recursion with arch's start
    e = r.numpy()
    ref = np.empty(T)
    prev_s, prev_e2, prev_neg = 1.3, 1.3, 0.65
    for k in range(T):
        ref[k] = (om[k].item() + al[k].item() * prev_e2 + ga[k].item() * prev_neg
                  + be[k].item() * prev_s)
        prev_s, prev_e2, prev_neg = ref[k], e[k] ** 2, e[k] ** 2 * (e[k] < 0)
    np.testing.assert_allclose(s_scan.detach().numpy(), ref, rtol=1e-13)
    torch.testing.assert_close(s_scan, s_loop, rtol=1e-13, atol=0)
    gs = torch.autograd.grad(torch.log(s_scan).sum(), (om, al, ga, be))
    gl = torch.autograd.grad(torch.log(s_loop).sum(), (om, al, ga, be))
    for x, y in zip(gs, gl, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-12)


def test_window_start_from_previous_state(sp500):
    r = torch.tensor(sp500.to_numpy()[:600])
    full = garch_variance(r, 0.02, 0.08, 0.9, 0.05, backcast=1.1)
    k = 250
    part = garch_variance(r[k:], 0.02, 0.08, 0.9, 0.05, prev_eps=r[k - 1], prev_sigma2=full[k - 1])
    torch.testing.assert_close(part, full[k:], rtol=1e-13, atol=0)
    e_full = egarch_variance(r, 0.01, 0.2, 0.97, -0.1, backcast=0.1)
    e_part = egarch_variance(r[k:], 0.01, 0.2, 0.97, -0.1, prev_eps=r[k - 1],
                             prev_sigma2=e_full[k - 1])
    torch.testing.assert_close(e_part, e_full[k:], rtol=1e-12, atol=0)


# ---------------------------------------------------------------- gradients vs finite differences


@pytest.mark.parametrize("kvol,vol,o", [("garch", "GARCH", 0), ("gjr", "GARCH", 1),
                                        ("egarch", "EGARCH", 1)])
def test_loglik_gradient_matches_finite_differences(sp500, kvol, vol, o):
    r = sp500.iloc[:1500]
    _, res = _fit(r, vol, o, "skewt", "constant")
    names = list(res.params.index)
    x0 = torch.tensor(res.params.to_numpy(), dtype=torch.float64, requires_grad=True)

    def total(x: torch.Tensor) -> torch.Tensor:
        ll, _, _ = garch_loglik(r.to_numpy(), dict(zip(names, x, strict=True)), vol=kvol,
                                dist="skewt", backcast=1.7)
        return ll.sum()

    (grad,) = torch.autograd.grad(total(x0), x0)
    fd = np.empty(len(names))
    with torch.no_grad():
        for i in range(len(names)):
            h = 1e-6 * max(1.0, abs(x0[i].item()))
            xp, xm = x0.clone(), x0.clone()
            xp[i] += h
            xm[i] -= h
            fd[i] = (total(xp).item() - total(xm).item()) / (2 * h)
    np.testing.assert_allclose(grad.numpy(), fd, rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------- distributions


@pytest.mark.parametrize("dist,params", [("normal", {}), ("t", {"nu": 5.3}),
                                         ("skewt", {"nu": 6.1, "lambda": -0.3}),
                                         ("skewt", {"nu": 9.0, "lambda": 0.4})])
def test_log_density_quantiles_es_equal_arch(dist, params):
    rng = np.random.default_rng(0)
    eps = rng.standard_normal(400) * 1.7
    s2 = rng.uniform(0.5, 4.0, 400)
    d = arch_distribution(dist)
    dp = np.asarray(list(params.values()))
    ours = log_density(dist, torch.tensor(eps), torch.tensor(s2), params).numpy()
    np.testing.assert_allclose(ours, d.loglikelihood(dp, eps, s2, individual=True), rtol=1e-13)
    p = np.array([0.05, 0.025, 0.01])
    np.testing.assert_allclose(quantile(dist, p, params), d.ppf(p, dp if dp.size else None))
    # ES: the lower-tail mean by quadrature of the density
    q = quantile(dist, p, params)
    es = expected_shortfall(dist, p, params)
    for qi, pi, ei in zip(q, p, es, strict=True):
        def zpdf(z: float) -> float:
            return z * float(np.exp(d.loglikelihood(dp, np.array([z]), np.ones(1),
                                                    individual=True)[0]))
        # split at q - 10 so quad resolves the body and the tail separately
        num = (integrate.quad(zpdf, -np.inf, qi - 10, epsabs=1e-14)[0]
               + integrate.quad(zpdf, qi - 10, qi, epsabs=1e-14)[0])
        assert ei == pytest.approx(num / pi, rel=1e-8)
    qv, ev = tail_risk(dist, [0.95, 0.975, 0.99], {k: np.full(3, v) for k, v in params.items()},
                       n=3)
    np.testing.assert_allclose(qv, np.tile(q, (3, 1)), rtol=1e-13)
    np.testing.assert_allclose(ev, np.tile(es, (3, 1)), rtol=1e-12)


# ---------------------------------------------------------------- DCC


def _dcc_numpy(z: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    T, k = z.shape
    qbar = z.T @ z / T
    q = np.empty((T, k, k))
    q[0] = qbar
    for t in range(1, T):
        q[t] = (1 - a[t] - b[t]) * qbar + a[t] * np.outer(z[t - 1], z[t - 1]) + b[t] * q[t - 1]
    d = 1 / np.sqrt(np.einsum("tii->ti", q))
    return q * d[:, :, None] * d[:, None, :]


def test_dcc_kernel_equals_numpy_and_scipy(sp500):
    from hybridrisk import datasets

    rets = np.column_stack([sp500.to_numpy(), datasets.nasdaq_returns().to_numpy()])[:800]
    z = (rets - rets.mean(0)) / rets.std(0)
    T = z.shape[0]
    t = np.arange(T)
    a = 0.03 + 0.01 * np.sin(t / 40)
    b = 0.93 + 0.01 * np.cos(t / 60)
    R = dcc_correlation(torch.tensor(z), torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(R, _dcc_numpy(z, a, b), rtol=1e-12, atol=1e-14)
    ll = dcc_loglik(torch.tensor(z), torch.tensor(R)).numpy()
    ref = [stats.multivariate_normal(np.zeros(2), R[i]).logpdf(z[i]) for i in range(T)]
    np.testing.assert_allclose(ll, ref, rtol=1e-10, atol=1e-12)
    nu = 7.0
    llt = dcc_loglik(torch.tensor(z), torch.tensor(R), dist="t", nu=nu).numpy()
    reft = [stats.multivariate_t(np.zeros(2), R[i] * (nu - 2) / nu, df=nu).logpdf(z[i])
            for i in range(T)]
    np.testing.assert_allclose(llt, reft, rtol=1e-10, atol=1e-12)


def test_dcc_gradients_scan_equal_loop():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(300, 3, dtype=torch.float64, generator=g)
    a = torch.full((300,), 0.04, dtype=torch.float64, requires_grad=True)
    b = torch.full((300,), 0.92, dtype=torch.float64, requires_grad=True)
    outs = []
    for method in ("scan", "loop"):
        q = dcc_q(z, a, b, method=method)
        from hybridrisk.kernels.dcc import q_to_r

        ll = dcc_loglik(z, q_to_r(q), dist="t", nu=8.0).sum()
        outs.append(torch.autograd.grad(ll, (a, b)))
    for x, y in zip(*outs, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-12)
