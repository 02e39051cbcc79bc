"""The public cell API named by the design: Cell(input_size, hidden_size)(x, times)."""

from __future__ import annotations

import inspect

import pytest
import torch

import hybridrisk.lnn as lnn


@pytest.mark.parametrize("name", ["CTRNN", "LTC", "CfC"])
def test_cells_share_one_call_convention(name):
    cell = getattr(lnn, name)(8, 16).double()
    x = torch.randn(3, 20, 8, dtype=torch.float64)
    times = torch.cumsum(torch.rand(3, 20, dtype=torch.float64) + 0.5, dim=1)
    out = cell(x, times)
    assert out.shape == (3, 20, 16) and torch.isfinite(out).all()
    # unit spacing given explicitly equals times=None
    unit = torch.arange(20, dtype=torch.float64).expand(3, -1)
    torch.testing.assert_close(cell(x, unit), cell(x), rtol=1e-10, atol=1e-12)


def test_ltc_unfolds_default_six_and_encoders_exported():
    assert inspect.signature(lnn.LTC).parameters["unfolds"].default == 6
    assert {"CTRNN", "LTC", "CfC", "NeuralCDE", "NeuralSDE", "ParameterHead"} <= set(lnn.__all__)
