"""Shared fixtures: real bundled data and deterministic torch settings."""

from __future__ import annotations

import pytest
import torch

# Small-tensor recurrent loops run faster on one thread; benchmarks set their own count.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def sp500():
    from hybridrisk import datasets

    return datasets.sp500_returns()
