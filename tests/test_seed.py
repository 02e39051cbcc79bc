"""One seed, the same numbers bit for bit on CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridrisk.seed import numpy_rng, seed_everything, torch_generator


def draw():
    net = torch.nn.Linear(4, 3)
    return torch.cat([net.weight.flatten(), torch.randn(5)]), np.random.rand(3)  # noqa: NPY002 (the global state is what seeding fixes)


def test_same_seed_same_bits():
    seed_everything(11)
    a = draw()
    seed_everything(11)
    b = draw()
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    seed_everything(12)
    c = draw()
    assert not torch.equal(a[0], c[0])


def test_private_generators():
    assert np.array_equal(numpy_rng(3).normal(size=4), numpy_rng(3).normal(size=4))
    x = torch.randn(4, generator=torch_generator(5))
    assert torch.equal(x, torch.randn(4, generator=torch_generator(5)))


def test_bad_seed():
    with pytest.raises(ValueError, match="non-negative integer"):
        seed_everything(-1)
