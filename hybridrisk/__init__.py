"""hybridrisk: liquid neural networks driving the parameters of classical risk models.

Subpackages: :mod:`hybridrisk.datasets` (bundled real data), :mod:`hybridrisk.lnn` (liquid
cells and encoders), :mod:`hybridrisk.kernels` (the model equations), :mod:`hybridrisk.results`
(the result vocabulary), :mod:`hybridrisk.hybrids`, :mod:`hybridrisk.pricing`,
:mod:`hybridrisk.errors`, :mod:`hybridrisk.checks` (input validation),
:mod:`hybridrisk.provenance` (package versions and data digests).
"""

from pathlib import Path
from typing import Any

from hybridrisk import errors
from hybridrisk.seed import seed_everything

__version__ = "0.1.0"

__all__ = ["errors", "load", "seed_everything", "__version__"]

#: Saved kind -> the module holding its result class (imported on demand).
_KINDS = {
    "LNNGARCHResult": "hybridrisk.hybrids.garch",
    "LNNEGARCHResult": "hybridrisk.hybrids.egarch",
    "LNNRealGARCHResult": "hybridrisk.hybrids.realized_garch",
    "LNNGASCopulaResult": "hybridrisk.hybrids.copula_gas",
    "LNNDCCResult": "hybridrisk.hybrids.dcc",
    "LNNDNSResult": "hybridrisk.hybrids.dns",
    "LNNCopulaResult": "hybridrisk.hybrids.copula",
    "LNNSABRResult": "hybridrisk.hybrids.sabr",
}


def load(path: str | Path, **kwargs: Any) -> Any:
    """Load any saved hybrid: the stored ``kind`` picks the result class.

    Parameters
    ----------
    path
        A directory written by a result's ``save``.
    **kwargs
        Passed to the class's ``load`` (e.g. ``device="cuda"``).
    """
    import importlib
    import json

    from hybridrisk.hybrids._io import CONFIG_FILE

    kind = json.loads((Path(path) / CONFIG_FILE).read_text()).get("kind")
    if kind not in _KINDS:
        raise errors.ConfigError(f"{path}: unknown saved kind {kind!r}; known: {sorted(_KINDS)}")
    return getattr(importlib.import_module(_KINDS[kind]), kind).load(path, **kwargs)
