"""The compiled step loops of the fused liquid cells (CfC and LTC), and when they are used.

``csrc/lnn_loops.cpp`` transcribes the per-step loops of :class:`hybridrisk.lnn.cfc._CfCFused`
and :class:`hybridrisk.lnn.ltc._LTCFused` operation for operation: the same ATen CPU kernels on
the same buffers in the same order, so the results are bit-for-bit those of the Python loops
(``tests/test_lnn_cfc.py`` and ``tests/test_lnn_ltc.py`` check it). Only the interpreter's cost
per small operation goes, which is most of the CfC's time at small sizes.

The extension is compiled at first use with torch's own tooling
(:func:`torch.utils.cpp_extension.load`, a C++ compiler and ``ninja``) into a cache directory,
once per source, torch and Python version; later processes load the cached library directly
(a few milliseconds). Where it cannot be built or loaded (no compiler, no ``ninja``, a read-only
cache, a torch without CPU headers) the Python loops run instead, silently: the numbers are the
same either way. The environment variable ``HYBRIDRISK_LNN_EXTENSION`` chooses:

- ``auto`` (default): load or build, fall back to Python on failure. A failed build leaves a
  marker in the cache directory so that later processes do not retry it (delete the marker, or
  set ``require``, to try again);
- ``off`` (or ``0``): always the Python loops;
- ``require`` (or ``1``): load or build, and raise if that fails.

The cache directory is ``HYBRIDRISK_EXTENSIONS_DIR`` if set, else
``$XDG_CACHE_HOME/hybridrisk/extensions`` (``~/.cache/hybridrisk/extensions``). Concurrent first
uses (test workers, Dask workers) build once: the others wait on torch's build lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

__all__ = ["loops", "status", "use_loops", "ENV_VAR"]

ENV_VAR = "HYBRIDRISK_LNN_EXTENSION"
_SOURCE = Path(__file__).with_name("csrc") / "lnn_loops.cpp"
_CFLAGS = ["-O3"]  # -O3: the elementwise loops vectorise (any x86-64, no -march)
_lock = threading.Lock()
_state: dict[str, Any] = {"ops": None, "tried": False, "reason": "not tried yet"}


def _policy() -> str:
    value = os.environ.get(ENV_VAR, "auto").strip().lower()
    if value in ("0", "off", "false", "no"):
        return "off"
    if value in ("1", "require", "on", "true", "yes"):
        return "require"
    return "auto"


def _cache_root() -> Path:
    env = os.environ.get("HYBRIDRISK_EXTENSIONS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hybridrisk" / "extensions"


def _build_name() -> str:
    """A name unique to the source, the flags, torch, Python and the machine type."""
    digest = hashlib.sha256()
    digest.update(_SOURCE.read_bytes())
    for part in (*_CFLAGS, torch.__version__, sys.version, platform.machine()):
        digest.update(part.encode())
    return f"hybridrisk_lnn_{digest.hexdigest()[:16]}"


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` that the kernel releases if its holder dies (flock), so
    an interrupted build never blocks later ones; without fcntl (not POSIX) no lock is taken
    and torch's own build lock is all there is."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - POSIX everywhere this project runs
        yield
        return
    with open(folder / "build.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _load() -> Any:
    """Load the cached library or build it; return ``torch.ops.hybridrisk_lnn``."""
    name = _build_name()
    folder = _cache_root() / name
    library = folder / f"{name}.so"
    stamp = folder / "BUILT"
    failed = folder / "FAILED"
    if not (stamp.is_file() and library.is_file()):
        if failed.is_file() and _policy() != "require":
            raise RuntimeError(f"an earlier build failed (see {failed}; delete it to retry)")
        folder.mkdir(parents=True, exist_ok=True)
        with _build_lock(folder):  # one builder at a time; the others wait, then load
            if not (stamp.is_file() and library.is_file()):
                _build(name, folder, stamp, failed)
    torch.ops.load_library(str(library))
    return torch.ops.hybridrisk_lnn


def _build(name: str, folder: Path, stamp: Path, failed: Path) -> None:
    from torch.utils import cpp_extension

    # We hold the build lock: a lock file of torch's left here is from a build that died.
    (folder / "lock").unlink(missing_ok=True)
    try:
        cpp_extension.load(name=name, sources=[str(_SOURCE)], extra_cflags=_CFLAGS,
                           build_directory=str(folder), is_python_module=False, verbose=False)
    except Exception as exc:  # compiler, ninja or linker missing or failing
        try:
            failed.write_text(f"{type(exc).__name__}: {exc}\n")
        except OSError:
            pass
        raise
    tmp = folder / f"BUILT.{os.getpid()}"
    tmp.write_text(f"{torch.__version__}\n")
    tmp.replace(stamp)


def loops() -> Any:
    """``torch.ops.hybridrisk_lnn`` (the compiled loops), or None where they are unavailable or
    switched off (see the module docstring). The first call loads or builds them."""
    policy = _policy()
    if policy == "off":
        return None
    if _state["tried"] and (_state["ops"] is not None or policy != "require"):
        return _state["ops"]
    with _lock:
        if not _state["tried"] or (_state["ops"] is None and policy == "require"):
            _state["tried"] = True
            try:
                _state["ops"] = _load()
                _state["reason"] = "loaded"
            except Exception as exc:
                _state["ops"] = None
                _state["reason"] = f"{type(exc).__name__}: {exc}".strip()
                if policy == "require":
                    raise RuntimeError(
                        f"the compiled LNN loops are required ({ENV_VAR}=require) but could "
                        f"not be built or loaded: {_state['reason']}") from exc
    return _state["ops"]


def status() -> str:
    """Why the compiled loops are or are not in use (after :func:`loops` has been called)."""
    if _policy() == "off":
        return f"switched off ({ENV_VAR}=off)"
    return str(_state["reason"])


def use_loops(*tensors: torch.Tensor) -> Any:
    """The compiled loops for these tensors (all on the CPU, float32 or float64), else None."""
    if not all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64)
               for t in tensors):
        return None
    return loops()
