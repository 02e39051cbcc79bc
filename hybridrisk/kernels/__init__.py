"""Differentiable model equations (PyTorch, float64), written once per family.

Modules: :mod:`~hybridrisk.kernels.garch` (GARCH, GJR, EGARCH variance recursions with arch's
backcast, the linear-recurrence autograd function), :mod:`~hybridrisk.kernels.distributions`
(normal, standardised t and Hansen skew-t log-densities as arch writes them, quantiles and
expected shortfall), :mod:`~hybridrisk.kernels.dcc` (DCC(1,1) correlations and likelihoods),
:mod:`~hybridrisk.kernels.nss` (Nelson-Siegel-Svensson curves).
"""
