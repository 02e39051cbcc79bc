"""The C heap under the monitor: what glibc's allocator holds, and giving it back.

Why this exists. The Python heap of a running monitor is flat once its bounded histories
have filled (``benchmarks/monitor_memory.py --trace`` diffs tracemalloc snapshots), yet its
resident memory climbed in the 10-minute load runs. Each assessment of a large book allocates
and frees a few hundred MB of short-lived arrays in worker threads: the scenario P&L matrix
is ``(window + 1) x positions`` doubles (20 MB for 5,000 positions over 500 scenarios), and
the torch revaluation makes 2 to 8 MB temporaries per instrument type. glibc's ``malloc``
serves a block above its mmap threshold (128 kB at start) with a mapping of its own, unmapped
on ``free``, but each such ``free`` raises the threshold to the block's size (up to 32 MB);
from then on blocks of that size come from the arenas, where freed ones stay resident,
fragmented among long-lived blocks (an arena only shrinks from its top). For 5,000 positions
(``MALLOC_ARENA_MAX=2``) glibc held 220 to 420 MB free against 206 MB in use
(:func:`malloc_info`), and the resident memory wandered between 750 and 920 MB, rising with
time as rarer interleavings of the threads' allocations set new highs.

:func:`bound_malloc` fixes the mmap threshold (``mallopt(M_MMAP_THRESHOLD)``, which also
stops its dynamic rise) and the trim threshold, so blocks at least that large are mapped on
their own and given back when freed; :func:`release_free_memory` (``malloc_trim(0)``) returns
the free pages the arenas still hold. :class:`~monitor.loop.Monitor` calls the first when it
is built (``mmap_threshold``, default :data:`MMAP_THRESHOLD`) and, when asked, the second every
``release_every`` assessments. The price is page faults: a mapped block is faulted in afresh
each time, where an arena block is reused warm. Measured with four runs side by side
(5,000 positions, 45 assessments each, back to back, same load): threshold left dynamic, p50
797 ms and resident memory 752 to 921 MB; fixed at 16 MB, 934 ms and 642 to 697 MB; at 4 MB,
906 ms and 616 to 706 MB; at 1 MB, 1,322 ms and 535 to 540 MB (flat to 5 MB). The default,
16 MB, maps the scenario matrices, the largest blocks, for a moderate price; a lower threshold
buys flatter memory with latency. ``malloc_trim`` is off by default: with 16 MB it took 65 to
100 ms on the event loop and the pages it returns are faulted in again by the next assessment.
Neither call changes a number the monitor computes. Off glibc both do nothing and return
``False``.

The page faults are paid per large block, so the fewer the better: the revaluation writes
each instrument type's values into one result block in place
(:meth:`~hybridrisk.portfolio.revaluation.TorchBook.unit_values`), the engine turns that block
into the P&L matrix in place, and the Euler contributions read it without a centred copy.
That took the median assessment from 133-152 ms to 118 ms back to back, and the 10-minute p99
from 284 to 181 ms (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any

__all__ = ["MMAP_THRESHOLD", "bound_malloc", "malloc_info", "release_free_memory"]

#: blocks of at least this many bytes get a mapping of their own (and go back when freed)
MMAP_THRESHOLD = 16 << 20
#: glibc's ``mallopt`` parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@lru_cache(maxsize=1)
def _libc() -> Any:
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not all(hasattr(lib, f) for f in ("mallinfo2", "mallopt", "malloc_trim")):
        return None  # not glibc (or older than 2.33)
    lib.mallinfo2.restype = _MallInfo2
    lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.malloc_trim.argtypes = [ctypes.c_size_t]
    return lib


def malloc_info() -> dict[str, float]:
    """glibc's accounting of the C heap, MB: ``arena_mb`` (obtained from the system for the
    arenas), ``mmapped_mb`` (blocks mapped on their own), ``in_use_mb`` (allocated, arenas
    plus mapped blocks), ``free_held_mb`` (freed blocks the arenas keep); empty off glibc."""
    lib = _libc()
    if lib is None:
        return {}
    m = lib.mallinfo2()
    mb = 2.0 ** -20
    return {"arena_mb": round(m.arena * mb, 1), "mmapped_mb": round(m.hblkhd * mb, 1),
            "in_use_mb": round((m.uordblks + m.hblkhd) * mb, 1),
            "free_held_mb": round(m.fordblks * mb, 1)}


def bound_malloc(mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap and trim thresholds (module docstring); ``False`` off glibc.

    Process-wide and idempotent; it affects allocations made after the call."""
    lib = _libc()
    if lib is None:
        return False
    ok = lib.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))
    ok &= lib.mallopt(_M_TRIM_THRESHOLD, int(mmap_threshold))
    return bool(ok)


def release_free_memory() -> bool:
    """Return the free pages glibc's arenas hold to the system (``malloc_trim(0)``);
    ``False`` off glibc or when nothing could be released."""
    lib = _libc()
    return bool(lib is not None and lib.malloc_trim(0))
