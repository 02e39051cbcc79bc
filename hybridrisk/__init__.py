"""hybridrisk: liquid neural networks driving the parameters of classical risk models.

Subpackages: :mod:`hybridrisk.datasets` (bundled real data), :mod:`hybridrisk.lnn` (liquid
cells and encoders), :mod:`hybridrisk.errors`, :mod:`hybridrisk.checks` (input validation).
"""

from hybridrisk import errors
from hybridrisk.seed import seed_everything

__version__ = "0.1.0"

__all__ = ["errors", "seed_everything", "__version__"]
