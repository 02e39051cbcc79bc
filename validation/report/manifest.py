"""The reproducibility manifest of a report: code version, package versions, seeds, data hashes.

Package versions and data digests come from :mod:`hybridrisk.provenance`, the one recorder
that saved models and walk-forward runs use too.
"""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hybridrisk.provenance import package_version, package_versions

__all__ = ["KEY_PACKAGES", "code_version", "reproducibility_manifest"]

#: Distributions whose versions go into :func:`reproducibility_manifest`.
KEY_PACKAGES: tuple[str, ...] = (
    "hybridrisk", "torch", "numpy", "pandas", "scipy", "arch", "statsmodels", "QuantLib",
)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        res = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else None


def _package_dir() -> Path:
    import hybridrisk

    return Path(hybridrisk.__file__).resolve().parent


def _git_info() -> dict[str, Any] | None:
    cwd = _package_dir()
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {
        "commit": commit,
        "describe": _git(["describe", "--tags", "--always", "--dirty"], cwd) or commit[:12],
        "dirty": bool(status),
    }


def _version_label(git: dict[str, Any] | None) -> str:
    if git is not None:
        return f"git {git['describe']}"
    return f"hybridrisk {package_version('hybridrisk')}"


def code_version() -> str:
    """``git describe`` of the checkout holding hybridrisk, else ``hybridrisk <version>``."""
    return _version_label(_git_info())


def reproducibility_manifest(
    seeds: Mapping[str, int] | Sequence[int] | int | None = None,
    data_hashes: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    packages: Sequence[str] = KEY_PACKAGES,
) -> dict[str, Any]:
    """Everything needed to reproduce the numbers of a report.

    Parameters
    ----------
    seeds : mapping, sequence or int, optional
        Random seeds used (e.g. ``{"training": 7, "bootstrap": 11}``).
    data_hashes : mapping, optional
        SHA-256 (or other digests) of the input data, e.g. from
        :func:`hybridrisk.provenance.frame_sha256` (a Series or DataFrame) or
        :func:`hybridrisk.provenance.file_sha256` (a file).
    extra : mapping, optional
        Anything else (configuration, window lengths, hardware notes).
    packages : sequence of str
        Distributions whose versions are recorded (``None`` when not installed).

    Returns
    -------
    dict
        ``code_version``, ``git`` (commit, describe, dirty; only inside a git checkout),
        ``python``, ``packages``, ``platform``, ``machine``, ``timestamp_utc``, ``seeds``,
        ``data_hashes`` and ``extra``. Plain JSON types, so it can be dumped next to the report.
    """
    if isinstance(seeds, int):
        seeds_out: Any = [seeds]
    elif isinstance(seeds, Mapping):
        seeds_out = {str(k): int(v) for k, v in seeds.items()}
    else:
        seeds_out = [int(s) for s in (seeds or [])]
    git = _git_info()
    out: dict[str, Any] = {"code_version": _version_label(git)}
    if git is not None:
        out["git"] = git
    out.update(
        {
            "python": f"{platform.python_version()} ({platform.python_implementation()})",
            "packages": package_versions(*packages, core=(), python=False),
            "platform": platform.platform(),
            "machine": platform.machine(),
            "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seeds": seeds_out,
            "data_hashes": dict(data_hashes or {}),
            "extra": dict(extra or {}),
        }
    )
    return out
