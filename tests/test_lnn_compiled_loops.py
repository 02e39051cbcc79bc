"""The compiled step loops of the fused CfC and LTC (``hybridrisk/lnn/csrc/lnn_loops.cpp``)
against the Python loops they transcribe: values and every gradient bit for bit."""

from __future__ import annotations

import pytest
import torch
from test_lnn_cfc import MODES, random_times
from test_lnn_cfc import _all_grads as cfc_grads
from test_lnn_ltc import _all_grads as ltc_grads
from test_lnn_ltc import perturbed

from hybridrisk.lnn import _cfc_ext
from hybridrisk.lnn.cfc import CfC
from hybridrisk.lnn.ltc import LTC

pytestmark = pytest.mark.usefixtures("compiled_loops")


def _both_paths(grads, m, x, times, h0, monkeypatch):
    out = {}
    for path in ("off", "require"):
        monkeypatch.setenv(_cfc_ext.ENV_VAR, path)
        args = [t.detach().clone().requires_grad_() for t in (x, times, h0)]
        out[path] = grads(m, *args)
    return out["off"], out["require"]


def _assert_identical(py, compiled, dtype):
    (y_py, g_py), (y_c, g_c) = py, compiled
    if dtype == torch.float64:  # the documented tolerance, before the stronger bitwise check
        torch.testing.assert_close(y_c, y_py, rtol=0, atol=1e-12)
        for name in g_py:
            torch.testing.assert_close(g_c[name], g_py[name], rtol=0, atol=1e-12, msg=name)
    assert torch.equal(y_c, y_py)
    assert set(g_c) == set(g_py)
    for name in g_py:
        assert torch.equal(g_c[name], g_py[name]), name


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("layers", "activation"),
                         [(0, "lecun_tanh"), (1, "lecun_tanh"), (3, "tanh"), (2, "relu"),
                          (1, "silu"), (2, "gelu")])
def test_cfc_compiled_loops_equal_python_loops(monkeypatch, dtype, mode, layers, activation):
    gen = torch.Generator().manual_seed(12)
    m = CfC(3, 5, mode=mode, backbone_units=7, backbone_layers=layers,
            backbone_activation=activation, dtype=dtype)
    if mode == "pure":
        with torch.no_grad():
            m.w_tau.normal_(generator=gen)
            m.A.normal_(generator=gen)
    x = torch.randn(4, 11, 3, generator=gen, dtype=dtype)
    times = random_times(4, 11, gen).to(dtype)
    h0 = torch.randn(4, 5, generator=gen, dtype=dtype)
    _assert_identical(*_both_paths(cfc_grads, m, x, times, h0, monkeypatch), dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("batch", "length", "units", "unfolds"),
                         [(4, 9, 5, 6), (1, 3, 3, 1), (3, 5, 8, 3)])
def test_ltc_compiled_loops_equal_python_loops(monkeypatch, dtype, batch, length, units,
                                               unfolds):
    gen = torch.Generator().manual_seed(14)
    m = perturbed(LTC(3, units, unfolds=unfolds, dtype=dtype), gen)
    x = torch.randn(batch, length, 3, generator=gen, dtype=dtype)
    times = random_times(batch, length, gen).to(dtype)
    h0 = torch.randn(batch, units, generator=gen, dtype=dtype)
    py, compiled = _both_paths(ltc_grads, m, x, times, h0, monkeypatch)
    assert len(py[1]) == 18
    _assert_identical(py, compiled, dtype)
