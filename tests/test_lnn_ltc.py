"""LTC cell: against a NumPy transcription of the paper's solver, ncps, finite differences and the
plain-autograd reference; per-sample time steps; learning a known dynamic; bad input; seeding.
Every test runs twice, with the Python sub-step loops of the fused solver and with the compiled
ones (``hybridrisk/lnn/csrc/lnn_loops.cpp``; skipped where they cannot be built), and the two
``test_lnn_compiled_loops.py`` checks that the two agree bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.lnn.base import Encoder
from hybridrisk.lnn.ltc import LTC, _SynapseSums, ltc_fused, ltc_reference
from hybridrisk.seed import seed_everything

D = torch.float64


def _sig(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _softplus(a: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(a))


def numpy_ltc(m: LTC, x: np.ndarray, dt: np.ndarray, v0: np.ndarray) -> np.ndarray:
    """The paper's fused semi-implicit solver, written out in NumPy from the raw parameters."""
    p = {k: v.detach().numpy().astype(np.float64) for k, v in m.named_parameters()}
    gleak, cm = _softplus(p["gleak_raw"]), _softplus(p["cm_raw"])
    w, sw = _softplus(p["w_raw"]), _softplus(p["sensory_w_raw"])
    u = x * p["input_w"] + p["input_b"]
    v = v0.copy()
    out = np.empty(x.shape[:2] + (m.hidden_size,))
    for t in range(x.shape[1]):
        # sensory synapses: once per step; s[b, i, j] from input i to neuron j
        s = sw * _sig(p["sensory_sigma"] * (u[:, t, :, None] - p["sensory_mu"]))
        sens_num = (s * p["sensory_erev"]).sum(axis=1)
        sens_den = s.sum(axis=1)
        cm_t = cm / (dt[:, t, None] / m.unfolds)
        for _ in range(m.unfolds):
            a = w * _sig(p["sigma"] * (v[:, :, None] - p["mu"]))
            num = cm_t * v + gleak * p["vleak"] + (a * p["erev"]).sum(axis=1) + sens_num
            den = cm_t + gleak + a.sum(axis=1) + sens_den + m.epsilon
            v = num / den
        out[:, t] = v * p["output_w"] + p["output_b"]
    return out


pytestmark = pytest.mark.usefixtures("loop_path")


@pytest.fixture
def one_thread():
    """Tiny models train faster on one thread (and do not stall when the machine is busy)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_times(batch: int, length: int, gen: torch.Generator) -> torch.Tensor:
    gaps = 0.2 + 1.5 * torch.rand(batch, length, generator=gen, dtype=D)
    return torch.cumsum(gaps, dim=1) + 3.0


def perturbed(m: LTC, gen: torch.Generator) -> LTC:
    """Move every parameter away from its initial value (so the mappings are not 1 and 0)."""
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return m


@pytest.mark.parametrize("implementation", ["fused", "reference"])
def test_matches_numpy_solver(implementation):
    gen = torch.Generator().manual_seed(0)
    m = perturbed(LTC(3, 5, unfolds=4, implementation=implementation, dtype=D), gen)
    x = torch.randn(4, 6, 3, generator=gen, dtype=D)
    times = random_times(4, 6, gen)
    h0 = torch.randn(4, 5, generator=gen, dtype=D)
    got = m(x, times, h0).detach().numpy()
    dt = np.diff(times.numpy(), axis=1)
    dt = np.concatenate([dt[:, :1], dt], axis=1)  # first gap repeats (see lnn.base)
    want = numpy_ltc(m, x.numpy(), dt, h0.numpy())
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_matches_ncps():
    ncps_torch = pytest.importorskip("ncps.torch")
    torch.manual_seed(1)
    theirs = ncps_torch.LTC(3, 6, ode_unfolds=6)  # fully connected, softplus constraints
    ours = LTC(3, 6, unfolds=6)
    names = {"gleak": "gleak_raw", "cm": "cm_raw", "w": "w_raw", "sensory_w": "sensory_w_raw"}
    with torch.no_grad():
        for name, p in theirs.rnn_cell.named_parameters():
            if "sparsity" in name:
                assert torch.all(p == 1)
                continue
            getattr(ours, names.get(name, name)).copy_(p)
    x = torch.randn(4, 9, 3)
    want, _ = theirs(x)
    torch.testing.assert_close(ours(x), want, rtol=1e-5, atol=1e-6)


def _solver_inputs(batch, length, units, gen):
    v0 = torch.randn(batch, units, generator=gen, dtype=D)
    cmt = 0.5 + torch.rand(batch, length, units, generator=gen, dtype=D)
    num0 = torch.randn(batch, length, units, generator=gen, dtype=D)
    den0 = cmt + 0.5 + torch.rand(batch, length, units, generator=gen, dtype=D)
    w = 0.1 + torch.rand(units, units, generator=gen, dtype=D)
    erev = torch.randn(units, units, generator=gen, dtype=D)
    sigma = 3.0 * torch.randn(units, units, generator=gen, dtype=D)
    c = torch.randn(units, units, generator=gen, dtype=D)
    return [t.requires_grad_() for t in (v0, cmt, num0, den0, w, erev, sigma, c)]


def test_fused_solver_gradcheck():
    gen = torch.Generator().manual_seed(2)
    args = _solver_inputs(3, 3, 4, gen)
    assert torch.autograd.gradcheck(lambda *a: ltc_fused(*a, 2), args, eps=1e-6, atol=1e-8)


def test_synapse_sums_gradcheck():
    gen = torch.Generator().manual_seed(3)
    u = torch.randn(5, 3, generator=gen, dtype=D)
    sigma, c, w, we = (torch.randn(3, 4, generator=gen, dtype=D) for _ in range(4))
    args = [t.requires_grad_() for t in (u, sigma, c, w, we)]
    assert torch.autograd.gradcheck(_SynapseSums.apply, args, eps=1e-6, atol=1e-8)


def test_synapse_sums_chunks(monkeypatch):
    """Chunking the sensory synapse tensor changes nothing."""
    import hybridrisk.lnn.ltc as ltc_mod

    gen = torch.Generator().manual_seed(4)
    u = torch.randn(11, 3, generator=gen, dtype=D, requires_grad=True)
    params = [torch.randn(3, 4, generator=gen, dtype=D, requires_grad=True) for _ in range(4)]

    def run():
        num, den = _SynapseSums.apply(u, *params)
        grads = torch.autograd.grad((num * den).sum(), [u, *params])
        return num, den, grads

    whole = run()
    monkeypatch.setattr(ltc_mod, "_CHUNK_ELEMENTS", 3 * 4 * 4)  # chunks of 4 rows, last of 3
    chunked = run()
    for a, b in zip(whole[:2] + whole[2], chunked[:2] + chunked[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-14)


def test_module_gradcheck_inputs_and_times():
    gen = torch.Generator().manual_seed(5)
    m = perturbed(LTC(2, 3, unfolds=2, dtype=D), gen)
    x = torch.randn(2, 3, 2, generator=gen, dtype=D, requires_grad=True)
    times = random_times(2, 3, gen).requires_grad_()
    h0 = torch.randn(2, 3, generator=gen, dtype=D, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: m(a, b, c), (x, times, h0), eps=1e-6,
                                    atol=1e-8)


def _all_grads(m: LTC, x, times, h0):
    for t in (x, times, h0):
        t.grad = None
    m.zero_grad()
    y = m(x, times, h0)
    (y.square().sum() + y.sum()).backward()
    grads = {n: p.grad.clone() for n, p in m.named_parameters()}
    grads.update(x=x.grad.clone(), times=times.grad.clone(), h0=h0.grad.clone())
    return y.detach(), grads


def test_fused_equals_reference_values_and_gradients():
    gen = torch.Generator().manual_seed(6)
    m = perturbed(LTC(3, 7, dtype=D), gen)
    x = torch.randn(5, 6, 3, generator=gen, dtype=D, requires_grad=True)
    times = random_times(5, 6, gen).requires_grad_()
    h0 = torch.randn(5, 7, generator=gen, dtype=D, requires_grad=True)
    y_fused, g_fused = _all_grads(m, x, times, h0)
    m.implementation = "reference"
    y_ref, g_ref = _all_grads(m, x, times, h0)
    torch.testing.assert_close(y_fused, y_ref, rtol=0, atol=1e-10)
    assert set(g_fused) == set(g_ref) and len(g_fused) == 18
    for name in g_ref:
        torch.testing.assert_close(g_fused[name], g_ref[name], rtol=0, atol=1e-10, msg=name)


def test_solver_functions_agree_directly():
    gen = torch.Generator().manual_seed(7)
    args = _solver_inputs(4, 5, 6, gen)
    torch.testing.assert_close(ltc_fused(*args, 3), ltc_reference(*args, 3), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("batch", "length"), [(1, 1), (1, 5), (3, 1)])
def test_short_inputs(batch, length):
    gen = torch.Generator().manual_seed(11)
    m = perturbed(LTC(2, 3, unfolds=2, dtype=D), gen)
    x = torch.randn(batch, length, 2, generator=gen, dtype=D, requires_grad=True)
    fused = m(x)
    (g_fused,) = torch.autograd.grad(fused.sum(), x)
    m.implementation = "reference"
    ref = m(x)
    (g_ref,) = torch.autograd.grad(ref.sum(), x)
    torch.testing.assert_close(fused, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(g_fused, g_ref, rtol=0, atol=1e-12)


def test_float32_fused_matches_reference():
    gen = torch.Generator().manual_seed(12)
    m = LTC(3, 16)
    x = torch.randn(8, 30, 3, generator=gen)
    fused = m(x)
    m.implementation = "reference"
    torch.testing.assert_close(fused, m(x), rtol=1e-5, atol=1e-6)


def test_unit_times_equal_no_times():
    gen = torch.Generator().manual_seed(8)
    m = perturbed(LTC(2, 4, dtype=D), gen)
    x = torch.randn(3, 5, 2, generator=gen, dtype=D)
    y_none = m(x)
    assert torch.equal(m(x, torch.arange(5, dtype=D).expand(3, 5) + 7.0), y_none)
    assert torch.equal(m(x, torch.arange(5, dtype=D)), y_none)
    # The same constant gap written as irregular-looking per-sample times.
    half = m(x, 0.5 * torch.arange(5, dtype=D).expand(3, 5))
    starts = torch.tensor([[0.0], [10.0], [-3.0]], dtype=D)
    torch.testing.assert_close(m(x, starts + 0.5 * torch.arange(5, dtype=D)), half,
                               rtol=0, atol=1e-12)
    assert not torch.allclose(half, y_none)


@pytest.mark.parametrize("batch", [3, 4])  # 4 = hidden_size: a broadcasting slip would hide
@pytest.mark.parametrize("implementation", ["fused", "reference"])
def test_batch_equals_per_sample_loop(batch, implementation):
    gen = torch.Generator().manual_seed(9)
    m = perturbed(LTC(2, 4, unfolds=3, implementation=implementation, dtype=D), gen)
    x = torch.randn(batch, 6, 2, generator=gen, dtype=D)
    times = random_times(batch, 6, gen)
    h0 = torch.randn(batch, 4, generator=gen, dtype=D)
    y = m(x, times, h0)
    for b in range(batch):
        one = m(x[b: b + 1], times[b: b + 1], h0[b: b + 1])
        torch.testing.assert_close(y[b: b + 1], one, rtol=0, atol=1e-13)


def test_learns_first_order_filter(one_thread):
    """Fit y' = (u - y) / tau with tau = 2, observed at irregular times, to low error."""
    seed_everything(0)
    gen = torch.Generator().manual_seed(0)
    tau, batch, length = 2.0, 32, 25
    gaps = 0.25 + 0.75 * torch.rand(batch, length, generator=gen)
    times = torch.cumsum(gaps, 1)
    u = torch.sign(torch.randn(batch, length // 5, 1, generator=gen)).repeat_interleave(5, 1)
    y = torch.zeros(batch, length)
    prev = torch.zeros(batch)
    for t in range(length):  # exact solution for a held input over each gap
        prev = u[:, t, 0] + (prev - u[:, t, 0]) * torch.exp(-gaps[:, t] / tau)
        y[:, t] = prev
    m = LTC(1, 4, unfolds=3)
    opt = torch.optim.Adam(m.parameters(), lr=0.03)
    for _ in range(100):
        opt.zero_grad()
        loss = (m(u, times)[..., 0] - y).square().mean()
        loss.backward()
        opt.step()
    assert loss.item() < 0.01 * y.var().item()


@pytest.mark.parametrize(
    ("x", "times", "h0", "rule"),
    [
        (torch.zeros(2, 3), None, None, "shape"),
        (torch.zeros(2, 3, 5), None, None, "shape"),
        (torch.zeros(2, 0, 2), None, None, "min-obs"),
        (torch.tensor([[[0.0, float("nan")]]]), None, None, "finite"),
        (torch.zeros(2, 3, 2), torch.tensor([[0.0, 1.0, 1.0]] * 2), None, "increasing-times"),
        (torch.zeros(2, 3, 2), torch.zeros(2, 4), None, "shape"),
        (torch.zeros(2, 3, 2), None, torch.zeros(3, 4), "shape"),
        ([[[0.0, 0.0]]], None, None, "type"),
    ],
)
def test_bad_input(x, times, h0, rule):
    with pytest.raises(DataValidationError) as err:
        LTC(2, 4)(x, times, h0)
    assert err.value.rule == rule


@pytest.mark.parametrize(
    "kwargs",
    [{"unfolds": 0}, {"hidden_size": 0}, {"input_mapping": "exp"}, {"implementation": "jit"},
     {"epsilon": -1.0}],
)
def test_bad_config(kwargs):
    args = {"input_size": 2, "hidden_size": 3} | kwargs
    with pytest.raises(ConfigError):
        LTC(**args)


def test_same_seed_same_bits():
    def run():
        seed_everything(21)
        m = LTC(3, 8)
        x = torch.randn(4, 7, 3)
        y = m(x)
        y.square().sum().backward()
        return y.detach(), [p.grad for p in m.parameters()]

    (y1, g1), (y2, g2) = run(), run()
    assert torch.equal(y1, y2)
    assert all(torch.equal(a, b) for a, b in zip(g1, g2, strict=True))


def test_positivity_init_ranges_and_interface():
    torch.manual_seed(0)
    m = LTC(3, 40)
    assert isinstance(m, Encoder) and m.input_size == 3 and m.hidden_size == 40
    for values, (lo, hi) in [(m.gleak, (0.001, 1.0)), (m.cm, (0.4, 0.6)), (m.w, (0.001, 1.0)),
                             (m.sensory_w, (0.001, 1.0)), (m.vleak, (-0.2, 0.2)),
                             (m.sigma, (3.0, 8.0)), (m.mu, (0.3, 0.8))]:
        assert lo - 1e-6 <= values.min() and values.max() <= hi + 1e-6
    assert set(m.erev.unique().tolist()) == {-1.0, 1.0}
    with torch.no_grad():
        for p in (m.gleak_raw, m.cm_raw, m.w_raw, m.sensory_w_raw):
            p.fill_(-30.0)
    assert (m.gleak > 0).all() and (m.cm > 0).all() and (m.w > 0).all()
    assert torch.isfinite(m(torch.randn(2, 3, 3))).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes_and_mappings(dtype):
    m = LTC(2, 3, input_mapping=None, output_mapping="linear", dtype=dtype)
    assert m.input_w is None and m.output_b is None
    y = m(torch.randn(2, 4, 2, dtype=dtype), h0=torch.zeros(2, 3, dtype=dtype))
    assert y.dtype == dtype and y.shape == (2, 4, 3)
    assert m.to(torch.float64)(torch.randn(1, 2, 2, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    gen = torch.Generator().manual_seed(10)
    m = perturbed(LTC(2, 5, dtype=D), gen)
    x = torch.randn(3, 4, 2, generator=gen, dtype=D)
    times = random_times(3, 4, gen)
    torch.testing.assert_close(m.cuda()(x.cuda(), times.cuda()).cpu(), m.cpu()(x, times))
