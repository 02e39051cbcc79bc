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


def _skip_without_compiled_loops() -> None:
    from hybridrisk.lnn import _cfc_ext

    if _cfc_ext._policy() == "off":
        pytest.skip(f"the compiled LNN loops are switched off ({_cfc_ext.ENV_VAR}=off)")
    if _cfc_ext.loops() is None:
        pytest.skip(f"the compiled LNN loops are unavailable: {_cfc_ext.status()}")


@pytest.fixture(params=["python-loops", "compiled-loops"])
def loop_path(request, monkeypatch):
    """Run a test with the Python step loops of the fused CfC and LTC, then with the compiled
    ones (``hybridrisk/lnn/csrc/lnn_loops.cpp``; skipped where they cannot be built). Modules
    use it with ``pytestmark = pytest.mark.usefixtures("loop_path")``."""
    from hybridrisk.lnn import _cfc_ext

    if request.param == "python-loops":
        monkeypatch.setenv(_cfc_ext.ENV_VAR, "off")
    else:
        _skip_without_compiled_loops()
    return request.param


@pytest.fixture
def compiled_loops():
    """Skip the test where the compiled LNN loops are switched off or cannot be built."""
    _skip_without_compiled_loops()


@pytest.fixture(scope="module")
def torch_one_thread():
    """One torch thread for a module of small-tensor models (faster, and immune to a busy
    machine), the count restored afterwards. Modules use it with
    ``pytestmark = pytest.mark.usefixtures("torch_one_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
