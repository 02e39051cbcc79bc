"""Model equations, names and constants: the one home both the baselines and the hybrids use.

Modules: :mod:`~hybridrisk.kernels.garch` (GARCH, GJR, EGARCH variance recursions with arch's
backcast, the model specification and arch's parameter names, the linear-recurrence autograd
function, simulation), :mod:`~hybridrisk.kernels.egarch` (EGARCH(1,1,1) with time-varying
parameters: the log-variance recursion with an analytical adjoint),
:mod:`~hybridrisk.kernels.realized_garch` (log-linear Realized GARCH(1,1) with time-varying
recursion parameters and its joint quasi-likelihood),
:mod:`~hybridrisk.kernels.distributions` (normal, standardised t and
Hansen skew-t log-densities as arch writes them; the quantiles, tail means and draws every VaR/ES
comes from), :mod:`~hybridrisk.kernels.dcc` (DCC(1,1) correlations and likelihoods),
:mod:`~hybridrisk.kernels.nss` (Nelson-Siegel-Svensson curves, tenor parsing),
:mod:`~hybridrisk.kernels.dns` (dynamic Nelson-Siegel: factors, Diebold-Li dynamics, the OU
form), :mod:`~hybridrisk.kernels.copulas` (bivariate Gaussian, t, Clayton, Gumbel, Frank and
rotations: densities, h-functions, simulation, Kendall's tau, tail dependence),
:mod:`~hybridrisk.kernels.copula_dynamics` (Patton and GAS recursions: links, scores, Fisher
information),
:mod:`~hybridrisk.kernels.sabr` (Hagan and Le Floc'h-Kennedy SABR implied vols),
:mod:`~hybridrisk.kernels.smile_arbitrage` (butterfly, calendar and wing diagnostics).
"""
