"""Provenance: the package versions and data digests that go into every record of a result.

One home for what saved models (``config.json``), walk-forward manifests and validation reports
record, so that each name means one thing:

:func:`package_versions`
    Versions of the library, its numerical stack and any other packages, plus Python.
:func:`arrays_sha256`
    SHA-256 of the raw bytes of NumPy arrays, in the order given (what a saved hybrid stores
    next to its arrays).
:func:`frame_sha256`
    SHA-256 of a pandas Series or DataFrame: values, index and names, independent of the
    in-memory layout (what identifies the data of a walk-forward run or a campaign).
:func:`file_sha256`
    SHA-256 of a file's bytes (``sha256sum``), as in the bundled data's ``SHA256SUMS``.

The digests are stored in manifests written by earlier versions: their definitions must never
change.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CORE_PACKAGES",
    "package_version",
    "package_versions",
    "arrays_sha256",
    "frame_sha256",
    "file_sha256",
]

#: The packages every version record names: the library and its numerical stack.
CORE_PACKAGES: tuple[str, ...] = ("hybridrisk", "torch", "numpy", "pandas")


def package_version(name: str) -> str | None:
    """Version of one package, or ``None`` when it is not installed.

    The running module's ``__version__`` when it is already imported (what actually computed
    the numbers), else the installed distribution's metadata; nothing is imported, so asking
    for torch's version does not load torch.

    Parameters
    ----------
    name : str
        Import or distribution name (the same for every package this library records, e.g.
        ``"arch"``, ``"QuantLib"``).
    """
    if name == "hybridrisk":
        from hybridrisk import __version__

        return __version__
    version = getattr(sys.modules.get(name), "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_versions(
    *extra: str, core: Sequence[str] = CORE_PACKAGES, python: bool = True
) -> dict[str, str | None]:
    """Versions of the packages a result depends on.

    Parameters
    ----------
    *extra : str
        More packages, after the core ones (e.g. ``"arch"``).
    core : sequence of str
        The packages recorded first; default :data:`CORE_PACKAGES`.
    python : bool
        Add the interpreter's version under ``"python"`` (last).

    Returns
    -------
    dict
        Package name -> version, ``None`` for a package that is not installed, in the order
        ``core``, ``extra``, ``python``.

    Examples
    --------
    >>> v = package_versions("arch")
    >>> list(v)
    ['hybridrisk', 'torch', 'numpy', 'pandas', 'arch', 'python']
    """
    out: dict[str, str | None] = {}
    for name in (*core, *extra):
        out[name] = package_version(name)
    if python:
        out["python"] = platform.python_version()
    return out


def arrays_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 (hex) of the arrays' C-order bytes, concatenated in the order given.

    Dtype and shape are not hashed: the digest identifies bytes stored next to their own
    dtype and shape (a safetensors file). For pandas data use :func:`frame_sha256`.
    """
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def frame_sha256(data: pd.Series | pd.DataFrame) -> str:
    """SHA-256 (hex) of a Series' or DataFrame's values, index and names.

    The values are hashed as float64 bytes column by column (missing values as NaN), a
    DatetimeIndex as nanoseconds since the epoch plus its timezone, any other index through
    :func:`pandas.util.hash_pandas_object`; kind (series or frame), column names and shape come
    first. So the digest identifies the numbers, not the in-memory layout: a copy, another
    block layout or another datetime unit hash the same.

    Parameters
    ----------
    data : pandas.Series or pandas.DataFrame
        Numeric values (each column convertible to float64).
    """
    h = hashlib.sha256()
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    kind = "series" if isinstance(data, pd.Series) else "frame"
    names = [str(data.name)] if kind == "series" else [str(c) for c in frame.columns]
    h.update(_canonical({"kind": kind, "names": names, "shape": list(frame.shape)}))
    idx = data.index
    if isinstance(idx, pd.DatetimeIndex):
        h.update(_canonical({"index": "datetime", "tz": str(idx.tz), "name": str(idx.name)}))
        h.update(np.ascontiguousarray(idx.as_unit("ns").asi8).tobytes())
    else:
        h.update(_canonical({"index": str(idx.dtype), "name": str(idx.name)}))
        h.update(pd.util.hash_pandas_object(idx, index=False).to_numpy().tobytes())
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i].to_numpy(dtype=np.float64, na_value=np.nan)
        h.update(np.ascontiguousarray(col).tobytes())
    return h.hexdigest()


def file_sha256(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file's bytes, read in chunks: what ``sha256sum`` prints."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
