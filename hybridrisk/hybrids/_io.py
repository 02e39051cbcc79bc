"""Saving fitted hybrids: safetensors for arrays, JSON for everything else, never pickle.

A saved model is a directory with two files:

- ``model.safetensors``: every array (network weights, the data the model was fitted on,
  standardisation statistics), by name;
- ``config.json``: the model kind, its configuration, the benchmark parameters, the training
  history, the package versions and a SHA-256 of the stored data.

Neither format can execute code when read, so a saved model from an untrusted source is safe to
load. Non-finite floats in the JSON are written as ``null`` (strict JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.provenance import arrays_sha256

__all__ = [
    "save_bundle",
    "load_bundle",
    "load_verified",
    "data_sha256",
    "net_arrays",
    "restore_net",
    "load_device",
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "CONFIG_FILE",
]

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def _jsonable(obj: Any) -> Any:
    """Replace non-finite floats by None and numpy scalars by Python ones, recursively."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def save_bundle(path: str | Path, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]
                ) -> Path:
    """Write ``tensors`` and ``meta`` into the directory ``path`` (created if needed).

    Returns
    -------
    Path
        The directory.
    """
    from safetensors.numpy import save_file

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    save_file(arrays, str(out / WEIGHTS_FILE), metadata={"format_version": str(FORMAT_VERSION),
                                                         "kind": str(meta.get("kind", ""))})
    doc = dict(_jsonable(meta))
    doc["format_version"] = FORMAT_VERSION
    (out / CONFIG_FILE).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return out


def load_bundle(path: str | Path, *, kind: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a directory written by :func:`save_bundle` and check its kind and format.

    Raises
    ------
    DataValidationError
        Missing files or an unknown format version.
    ConfigError
        The directory holds another kind of model.
    """
    from safetensors.numpy import load_file

    src = Path(path)
    for f in (WEIGHTS_FILE, CONFIG_FILE):
        if not (src / f).is_file():
            raise DataValidationError("file", f"{src} has no {f}: not a saved hybrid model")
    meta = json.loads((src / CONFIG_FILE).read_text())
    if meta.get("kind") != kind:
        raise ConfigError(f"{src} holds a {meta.get('kind')!r}, not a {kind!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataValidationError("format", f"{src}: unknown format version "
                                  f"{meta.get('format_version')!r} (expected {FORMAT_VERSION})")
    return load_file(str(src / WEIGHTS_FILE)), meta


def load_verified(path: str | Path, *, kind: str
                  ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """:func:`load_bundle`, then check the stored data against their recorded SHA-256.

    Raises
    ------
    DataValidationError
        As :func:`load_bundle`, or data that do not match ``meta["data_sha256"]``.
    """
    tensors, meta = load_bundle(path, kind=kind)
    if data_sha256(tensors) != meta["data_sha256"]:
        raise DataValidationError("hash", f"the data stored in {path} do not match their "
                                  "recorded SHA-256")
    return tensors, meta


def data_sha256(tensors: Mapping[str, np.ndarray]) -> str:
    """:func:`~hybridrisk.provenance.arrays_sha256` of the ``data.*`` arrays of a bundle, by
    sorted name."""
    return arrays_sha256(*[tensors[k] for k in sorted(tensors) if k.startswith("data.")])


def net_arrays(net: nn.Module) -> dict[str, np.ndarray]:
    """A network's state dict as ``net.<key>`` numpy arrays (what :func:`restore_net` reads)."""
    return {f"net.{k}": v.detach().cpu().numpy() for k, v in net.state_dict().items()}


def restore_net(net: nn.Module, tensors: Mapping[str, np.ndarray]) -> nn.Module:
    """Load the ``net.*`` arrays of a bundle into ``net`` and switch it to eval mode."""
    net.load_state_dict({k[4:]: torch.as_tensor(v) for k, v in tensors.items()
                         if k.startswith("net.")})
    net.eval()
    return net


def load_device(device: str | torch.device | None) -> torch.device:
    """The device a loaded model goes to (CPU unless given)."""
    return torch.device(device) if device is not None else torch.device("cpu")
