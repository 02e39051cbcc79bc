"""Nelson-Siegel(-Svensson) yield-curve fitting, one day or a whole panel, zero or par yields.

Conventions are those of Gürkaynak, Sack and Wright (2007): yields in percent, continuously
compounded, maturities ``m`` in years, and

.. math::

    y(m) = \\beta_0 + \\beta_1 L(m/\\tau_1) + \\beta_2 C(m/\\tau_1) + \\beta_3 C(m/\\tau_2),
    \\quad L(x) = \\frac{1 - e^{-x}}{x}, \\quad C(x) = L(x) - e^{-x},

with ``beta3`` and ``tau2`` absent for the Nelson-Siegel (``"ns"``) model.

Why not a plain local optimiser: given the decays the model is linear in the betas, but the
objective is multimodal in the decays. On many real days the right basin is narrow (e.g. GSW
days with ``beta0`` at its zero bound), and on others the best fit has ``tau1 ≈ tau2`` with
large, offsetting ``beta2``/``beta3`` (the two humps then combine into the derivative of a hump
with respect to its decay), a nearly singular problem. A local start from a "standard" guess
stalls in a worse basin there, by several basis points. This module therefore

1. profiles the betas out (linear least squares given the decays: variable projection) and
   evaluates the profiled residual on a log-spaced ``(tau1, tau2)`` grid covering the whole
   plane, plus points hugging the diagonal ``tau1 ≈ tau2``. The model is *not* symmetric in
   the two decays (``beta1`` loads on ``tau1`` only), so both orderings are searched, and the
   mirror image ``(tau2, tau1)`` of the winner is tried as well;
2. starts from the best grid-*local minima* (not the best grid points, which crowd into one
   wide basin), screens each with a few Levenberg-Marquardt steps and polishes the best to
   convergence: LM on the profiled problem in ``log tau`` with box bounds and the exact
   (Golub-Pereyra) Jacobian, betas by QR least squares at every step.

A tiny ridge (:data:`DEFAULT_RIDGE`) on ``beta1..beta3`` makes the confluent limit
``tau2 -> tau1``, where the unpenalised betas diverge along a valley that is flat to the data's
rounding, a well-posed problem with finite betas. Designs that are still numerically rank
deficient are flagged, never returned as silent garbage.

For a panel all of this is array work: days sharing a pattern of missing tenors share the
orthonormal bases of the grid designs, so the grid search is a handful of matrix products, and
the polish is one vectorised LM across all (day, start) problems. The panel adds two passes that
a single day cannot have: warm starts from the neighbouring days' decays (swept until nothing
improves) and an exhaustive re-fit of days whose fit stands out from their neighbours'.

Missing tenors (NaN) are dropped per day, never imputed.

Modules: :mod:`~baselines.nss.varpro` (the profiled least squares and its LM),
:mod:`~baselines.nss.search` (the decay grid and its starts), :mod:`~baselines.nss.zero` and
:mod:`~baselines.nss.par` (the two fits), :mod:`~baselines.nss.results`,
:mod:`~baselines.nss.fit` (:func:`fit_nss`, :func:`fit_nss_panel`) and
:mod:`~baselines.nss.quantlib` (the QuantLib cross-checks, imported on demand). The curve
equations, par conventions and tenor labels are :mod:`hybridrisk.kernels.nss`.
"""

from baselines.nss.fit import DEFAULT_RIDGE, fit_nss, fit_nss_panel
from baselines.nss.results import NSSFitResult, NSSPanelResult
from baselines.nss.search import DEFAULT_TAU_BOUNDS, default_tau_grid
from hybridrisk.kernels.nss import (
    NS_PARAMS,
    nss_discount,
    nss_forward,
    nss_par,
    nss_zero,
    tenor_years,
)
from hybridrisk.kernels.nss import PARAM_NAMES as NSS_PARAMS

__all__ = [
    "NSSFitResult",
    "NSSPanelResult",
    "fit_nss",
    "fit_nss_panel",
    "nss_zero",
    "nss_discount",
    "nss_forward",
    "nss_par",
    "tenor_years",
    "default_tau_grid",
    "DEFAULT_TAU_BOUNDS",
    "DEFAULT_RIDGE",
    "NSS_PARAMS",
    "NS_PARAMS",
]
