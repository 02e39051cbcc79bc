"""One seeding function: the same seed gives the same numbers, bit for bit, on CPU."""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used, so `import hybridrisk` stays light
    import torch

__all__ = ["seed_everything", "numpy_rng", "torch_generator"]


def seed_everything(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) from one integer.

    Parameters
    ----------
    seed
        Non-negative integer.
    deterministic
        Also ask PyTorch for deterministic kernels (a no-op for most CPU ops, which already are).
    """
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    import torch

    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeding the legacy global state is the point)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def numpy_rng(seed: int | None) -> np.random.Generator:
    """A NumPy Generator of its own, so library code never touches the global state."""
    return np.random.default_rng(seed)


def torch_generator(seed: int | None, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch Generator of its own, seeded (or randomly seeded when ``seed`` is None)."""
    import torch

    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g
