r"""Score-driven (GAS) bivariate copulas of Creal, Koopman & Lucas (2013).

.. math:: f_{t+1} = \omega + A s_t + B f_t, \qquad \theta_t = g(f_t), \qquad
          f_1 = \omega / (1 - B), \qquad |B| < 1,

with the links of :mod:`hybridrisk.kernels.copula_dynamics` (``rho = tanh f`` for Gaussian and
t, ``theta = exp f`` for Clayton, ``theta = 1 + exp f`` for Gumbel) and ``s_t`` the score of
``log c(u_t; g(f_t))`` in ``f`` scaled by

* ``"fisher"`` -- the inverse Fisher information, CKL's choice and the default for the
  Gaussian and t copulas, where the information is known in closed form;
* ``"fisher-sqrt"`` -- its inverse square root (the scaling of Patton's 2012 toolbox);
* ``"unit"`` -- no scaling, the default and only choice for Clayton and Gumbel (their
  information has no closed form, and a simulated one would make the filter random).

Scores are closed forms checked against autograd of the kernel's log density. Patton's
toolbox writes the correlation link as ``f = log((1 + rho)/(1 - rho))``, i.e. ``rho =
tanh(f/2)``: that is ``f`` doubled, which under (square-root) information scaling doubles
``omega`` and leaves ``A``, ``B`` and the likelihood unchanged.
With ``A = 0`` the model is the static copula at ``g(omega / (1 - B))``. The optimiser works on
``(omega / (1 - B), A, atanh B)`` (and ``nu``); estimation and inference as in
:mod:`baselines.copula_dynamics`.

Forecasts: ``theta_{T+1}`` is known at ``T``. Beyond it ``E_T f_{T+h} = mu + B^{h-1}
(f_{T+1} - mu)``, ``mu = omega / (1 - B)`` (the scaled score has mean zero), mapped through the
link -- a plug-in, not the mean of ``theta_{T+h}``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from baselines.copula_dynamics import (
    NU_BOUNDS,
    CopulaPathSimulation,
    Data,
    DynamicCopulaResult,
    Dynamics,
    Invalid,
    Stepper,
    filter_frame,
    fit_dynamic,
    params_array,
    simulate_path,
)
from baselines.copulas import CopulaResult
from baselines.margins import check_pits
from hybridrisk.errors import ParameterDomainError
from hybridrisk.kernels import copula_dynamics as CD

__all__ = ["fit_gas_copula", "gas_copula_filter", "simulate_gas_copula"]

_SCALING_TITLES = {"fisher": "inverse Fisher information",
                   "fisher-sqrt": "inverse square-root Fisher information", "unit": "unit"}


class GAS(Dynamics):
    """GAS(1,1) dynamics of one family (see the module docstring)."""

    model = "gas"
    title = "GAS(1,1)"
    dyn_names = ("omega", "A", "B")

    def __init__(self, family: str, rotation: int = 0, scaling: str | None = None) -> None:
        self.scaling = CD.check_dynamic(family, rotation, scaling)
        super().__init__(family, rotation)

    def describe(self) -> str:
        return f"GAS(1,1) on f = g^-1(theta), {_SCALING_TITLES[self.scaling]} scaling"

    def notes(self) -> list[str]:
        return ["f_1 = omega / (1 - B)."]

    def inputs(self, u: torch.Tensor, nu: float | None) -> Any:
        s1, s2 = CD.score_statistics(self.family, u, self.rotation, nu)
        return s1.tolist(), s2.tolist()

    def f_path(self, p: np.ndarray, data: Data) -> np.ndarray:
        """``f_1..f_{T+1}``; raises :class:`Invalid` if the recursion leaves the reals."""
        omega, a, b = (float(v) for v in p[:3])
        if not abs(b) < 1:
            raise Invalid
        nu = self.nu(p)
        s1, s2 = data.inputs(nu)
        step = CD.gas_score_function(self.family, nu, self.scaling)
        f = omega / (1.0 - b)
        out = [0.0] * (data.n + 1)
        try:
            for t in range(data.n):
                out[t] = f
                f = omega + a * step(s1[t], s2[t], f) + b * f
        except (ArithmeticError, ValueError) as exc:  # overflow, log of a non-positive value
            raise Invalid from exc
        out[data.n] = f
        path = np.asarray(out)
        if not np.all(np.isfinite(path)):
            raise Invalid
        return path

    def path(self, p: np.ndarray, data: Data) -> np.ndarray:
        return CD.gas_link(self.family, torch.from_numpy(self.f_path(p, data))).numpy()

    def starts(self, static: CopulaResult, data: Data) -> list[np.ndarray]:
        th0 = float(static.params.iloc[0])
        # the static estimate moved inside the link's open domain (a start value only)
        th = {"gaussian": min(max(th0, -0.99), 0.99), "student": min(max(th0, -0.99), 0.99),
              "clayton": max(th0, 1e-3), "gumbel": max(th0, 1.0 + 1e-3)}[self.family]
        mu = float(CD.gas_link_inverse(self.family, th))
        nu = [min(max(float(static.params["nu"]), NU_BOUNDS[0] + 0.1), NU_BOUNDS[1] - 0.1)
              ] if self.family == "student" else []
        return [np.array([mu * (1 - b), a, b, *nu])
                for a in (0.01, 0.03, 0.08, 0.2) for b in (0.9, 0.97, 0.995)]

    def to_free(self, p: np.ndarray) -> np.ndarray:
        z = p.copy()
        z[0] = p[0] / (1.0 - p[2])
        z[2] = math.atanh(p[2])
        return z

    def from_free(self, z: np.ndarray) -> np.ndarray:
        p = z.copy()
        p[2] = math.tanh(z[2])
        p[0] = z[0] * (1.0 - p[2])
        return p

    def check(self, p: np.ndarray) -> None:
        if not abs(p[2]) < 1:
            raise ParameterDomainError("B", float(p[2]), "|B| < 1")
        super().check(p)

    def steps(self, p: np.ndarray, scale: float) -> np.ndarray:
        h = super().steps(p, scale)
        h[2] = min(h[2], (1.0 - abs(p[2])) / 4)  # stay inside |B| < 1
        return h

    def forecast(self, p: np.ndarray, data: Data, horizon: int) -> np.ndarray:
        f1 = self.f_path(p, data)[-1]
        mu = p[0] / (1.0 - p[2])
        f = mu + p[2] ** np.arange(horizon) * (f1 - mu)
        return CD.gas_link(self.family, torch.from_numpy(f)).numpy()

    def stepper(self, p: np.ndarray, data: Data | None) -> Stepper:
        f = p[0] / (1.0 - p[2]) if data is None else self.f_path(p, data)[-1]
        return _GASStepper(self, p, float(f))


class _GASStepper(Stepper):
    def __init__(self, dyn: GAS, p: np.ndarray, f: float) -> None:
        super().__init__(dyn, p, float(CD.gas_link(dyn.family, f)))
        self.f = f
        self.score = CD.gas_score_function(dyn.family, self.nu, dyn.scaling)

    def update(self, row: torch.Tensor) -> None:
        dyn = self.dyn
        omega, a, b = self.p[:3]
        s1, s2 = CD.score_statistics(dyn.family, row, dyn.rotation, self.nu)
        self.f = omega + a * self.score(float(s1[0]), float(s2[0]), self.f) + b * self.f
        self.theta = float(CD.gas_link(dyn.family, self.f))


def fit_gas_copula(u: Any, family: str = "gaussian", rotation: int = 0, *,
                   scaling: str | None = None, n_starts: int = 2) -> DynamicCopulaResult:
    """Fit the GAS(1,1) copula of Creal, Koopman & Lucas (2013) by maximum likelihood.

    Parameters
    ----------
    u
        PITs, shape (n, 2), strictly inside (0, 1): a DataFrame (its index labels the filtered
        paths) or an array; at least :data:`~baselines.copula_dynamics.MIN_OBS` rows.
    family
        ``"gaussian"``, ``"student"``, ``"clayton"`` or ``"gumbel"``.
    rotation
        0, 90, 180 or 270 (Clayton and Gumbel).
    scaling
        ``"fisher"``, ``"fisher-sqrt"`` or ``"unit"`` (see the module docstring).
    n_starts
        Number of grid starting values refined by the optimiser.

    Returns
    -------
    DynamicCopulaResult

    Raises
    ------
    DataValidationError
        Wrong shape, NaN/inf or values outside (0, 1); too few rows.
    ConfigError
        Unknown or unsupported family, rotation or scaling.
    ConvergenceError
        If no start gives a finite likelihood.

    Examples
    --------
    >>> sim = simulate_gas_copula("gaussian", [0.02, 0.05, 0.97], 2000, seed=1)
    >>> res = fit_gas_copula(sim.u)
    >>> bool(res.filtered["rho"].between(-1, 1).all())
    True
    """
    GAS(family, rotation, scaling)  # validate before the data and the static fit
    return fit_dynamic(lambda static: GAS(family, rotation, scaling), u, family, rotation,
                       n_starts)


def gas_copula_filter(u: Any, family: str, params: Any, rotation: int = 0, *,
                      scaling: str | None = None) -> pd.DataFrame:
    """Run the GAS recursion at given parameters.

    Parameters
    ----------
    u
        PITs, shape (n, 2).
    family, rotation, scaling
        As :func:`fit_gas_copula`.
    params
        ``omega, A, B`` (and ``nu``): a Series or dict by name, or a sequence in that order.

    Returns
    -------
    DataFrame
        One row per observation: the parameter (``rho``/``theta``, and ``nu``), ``tau``,
        ``lower_tail``, ``upper_tail`` and ``loglik`` (the log density of that row).
    """
    dyn = GAS(family, rotation, scaling)
    vals, _, index = check_pits(u, ncols=2, min_obs=1)
    return filter_frame(dyn, params_array(dyn, params), vals, index)


def simulate_gas_copula(family: str, params: Any, n: int, rotation: int = 0, *,
                        scaling: str | None = None, seed: int | None = None
                        ) -> CopulaPathSimulation:
    """Simulate ``n`` steps of a GAS copula from ``f_1 = omega / (1 - B)``.

    Each step draws ``(w1, w2)`` uniform from ``numpy.random.default_rng(seed)`` and sets
    ``u1 = w1``, ``u2 = hinv1(w1, w2; theta_t)`` (the kernel's inverse h-function).
    """
    dyn = GAS(family, rotation, scaling)
    return simulate_path(dyn.stepper(params_array(dyn, params), None), n, seed, ["u1", "u2"])
