"""Shared fixtures: real bundled data and deterministic torch settings."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def sp500():
    from hybridrisk import datasets

    return datasets.sp500_returns()
