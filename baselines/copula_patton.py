r"""Patton's (2006) time-varying bivariate copulas.

The state ``s_t`` follows Patton's transformed ARMA-type recursion in lagged PITs::

    s_t = Lambda(omega + beta s_{t-1} + alpha * (1/10) sum_{j=1}^{10} F_{t-j})

* Gaussian (Patton's equation) and t (the same with ``t_nu`` quantiles, the usual extension):
  ``s = rho``, ``Lambda(x) = (1 - e^-x)/(1 + e^-x)``, ``F_t = x_{1t} x_{2t}`` with
  ``x = Phi^-1(u)`` or ``t_nu^-1(u)``;
* Clayton and Gumbel (Patton's SJC equation on the tail of the family): ``s`` is the base
  copula's tail-dependence coefficient -- Clayton's lower ``2^(-1/theta)``, Gumbel's upper
  ``2 - 2^(1/theta)`` -- with the logistic ``Lambda`` and ``F_t = |a_t - b_t|`` in the base
  copula's coordinates (``|u1 - u2|`` for rotations 0 and 180, ``|u1 + u2 - 1|`` for 90 and
  270); then ``theta_t = log 2 / (-log s_t)`` (Clayton) or ``log 2 / log(2 - s_t)`` (Gumbel).

Start, as in Patton's own code: ``theta_1 = initial`` (the static MLE on the same data by
default; it is held fixed, not estimated, and enters the likelihood), and for ``t <= 10`` the
mean runs over the ``t - 1`` observations available. ``omega, alpha, beta`` are unconstrained:
``Lambda`` keeps the state in its domain. Patton's code shrinks ``Lambda`` to ``(-0.999,
0.999)``; the published form used here does not. With ``alpha = beta = 0`` and ``omega =
Lambda^-1(s(initial))`` the model is the static copula at ``initial``. Estimation and
inference as in :mod:`baselines.copula_dynamics`; the likelihood can have a nearly flat ridge
in ``(omega, beta)`` when ``|beta|`` is large.
"""

from __future__ import annotations

from collections import deque
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
from hybridrisk.errors import ConfigError
from hybridrisk.kernels import copula_dynamics as CD
from hybridrisk.kernels import copulas as K

__all__ = ["fit_patton_copula", "patton_copula_filter", "simulate_patton_copula"]

_STATE = {"gaussian": "rho", "student": "rho", "clayton": "the lower tail-dependence "
          "coefficient", "gumbel": "the upper tail-dependence coefficient"}


def window_means(x: np.ndarray, window: int = CD.PATTON_WINDOW) -> np.ndarray:
    """Element ``t`` is the mean of ``x[max(0, t - window + 1) .. t]``: the forcing of
    ``theta_{t+1}`` (fewer terms at the start, as in Patton's code)."""
    out = np.empty_like(x)
    k = min(window - 1, x.shape[0])
    out[:k] = np.cumsum(x[:k]) / np.arange(1, k + 1)
    if x.shape[0] >= window:
        out[window - 1:] = np.lib.stride_tricks.sliding_window_view(x, window).mean(axis=1)
    return out


class Patton(Dynamics):
    """Patton (2006) dynamics of one family from ``theta_1 = initial``."""

    model = "patton"
    title = "Patton (2006)"
    dyn_names = ("omega", "alpha", "beta")

    def __init__(self, family: str, rotation: int, initial: float) -> None:
        CD.check_dynamic(family, rotation)
        if isinstance(initial, bool) or not isinstance(initial, int | float | np.floating):
            raise ConfigError(f"initial must be a number, got {initial!r}")
        K.as_parameters(family, [initial, 10.0] if family == "student" else initial)
        super().__init__(family, rotation)
        self.initial = float(initial)

    def describe(self) -> str:
        return f"Patton (2006) recursion on {_STATE[self.family]}"

    def notes(self) -> list[str]:
        return [f"theta_1 = {self.initial:.6g} (held fixed); windows shorter than "
                f"{CD.PATTON_WINDOW} at the start."]

    def inputs(self, u: torch.Tensor, nu: float | None) -> Any:
        return window_means(CD.patton_forcing(self.family, u, self.rotation, nu).numpy()
                            ).tolist()

    def states(self, p: np.ndarray, data: Data) -> tuple[np.ndarray, np.ndarray]:
        """States and parameters for ``t = 1..T+1``."""
        omega, alpha, beta = (float(v) for v in p[:3])
        fbar = data.inputs(self.nu(p))
        step = CD.patton_map_function(self.family)
        th = self.initial
        st = float(CD.patton_state(self.family, th))
        states, thetas = [st] * (data.n + 1), [th] * (data.n + 1)
        try:
            for t in range(data.n):
                st, th = step(omega + beta * st + alpha * fbar[t])
                states[t + 1], thetas[t + 1] = st, th
        except (ArithmeticError, ValueError) as exc:
            raise Invalid from exc
        return np.asarray(states), np.asarray(thetas)

    def path(self, p: np.ndarray, data: Data) -> np.ndarray:
        return self.states(p, data)[1]

    def starts(self, static: CopulaResult, data: Data) -> list[np.ndarray]:
        # omega puts the state's fixed point at the static fit's, given alpha and beta
        elliptical = self.family in ("gaussian", "student")
        s0 = float(CD.patton_state(self.family, float(static.params.iloc[0])))
        s0 = min(max(s0, -0.999 if elliptical else 1e-4), 0.999)
        x0 = float(CD.patton_index(self.family, s0))
        nu = [min(max(float(static.params["nu"]), NU_BOUNDS[0] + 0.1), NU_BOUNDS[1] - 0.1)
              ] if self.family == "student" else []
        fbar = float(np.mean(data.inputs(nu[0] if nu else None)))
        grid = ([(a, b) for a in (0.05, 0.3, 1.0) for b in (-1.0, 0.5, 1.5, 2.5)] if elliptical
                else [(a, b) for a in (-12.0, -5.0, -1.5) for b in (-3.0, 0.0, 3.0)])
        return [np.array([x0 - b * s0 - a * fbar, a, b, *nu]) for a, b in grid]

    def stepper(self, p: np.ndarray, data: Data | None) -> Stepper:
        if data is None:
            return _PattonStepper(self, p, self.initial, None, [])
        states, thetas = self.states(p, data)
        forcing = CD.patton_forcing(self.family, data.u, self.rotation, self.nu(p)).numpy()
        return _PattonStepper(self, p, float(thetas[-1]), float(states[-1]),
                              forcing[-CD.PATTON_WINDOW:].tolist())


class _PattonStepper(Stepper):
    def __init__(self, dyn: Patton, p: np.ndarray, theta: float, state: float | None,
                 history: list[float]) -> None:
        super().__init__(dyn, p, theta)
        self.state = float(CD.patton_state(dyn.family, theta) if state is None else state)
        self.history: deque[float] = deque(history, maxlen=CD.PATTON_WINDOW)
        self.map = CD.patton_map_function(dyn.family)

    def update(self, row: torch.Tensor) -> None:
        dyn = self.dyn
        omega, alpha, beta = self.p[:3]
        self.history.append(float(CD.patton_forcing(dyn.family, row, dyn.rotation,
                                                    self.nu)[0]))
        fbar = sum(self.history) / len(self.history)
        self.state, self.theta = self.map(omega + beta * self.state + alpha * fbar)


def fit_patton_copula(u: Any, family: str = "gaussian", rotation: int = 0, *,
                      initial: float | None = None, n_starts: int = 2
                      ) -> DynamicCopulaResult:
    """Fit Patton's (2006) time-varying copula by maximum likelihood.

    Parameters
    ----------
    u
        PITs, shape (n, 2), strictly inside (0, 1): a DataFrame (its index labels the filtered
        paths) or an array; at least :data:`~baselines.copula_dynamics.MIN_OBS` rows.
    family
        ``"gaussian"``, ``"student"``, ``"clayton"`` or ``"gumbel"``.
    rotation
        0, 90, 180 or 270 (Clayton and Gumbel).
    initial
        ``theta_1`` (``rho_1`` for the t); default the static MLE on the same data.
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
        Unknown or unsupported family, bad rotation.
    ParameterDomainError
        An ``initial`` outside the family's domain.
    ConvergenceError
        If no start gives a finite likelihood.
    """
    CD.check_dynamic(family, rotation)
    if initial is not None:
        Patton(family, rotation, initial)  # validate before the data and the static fit

    def make(static: CopulaResult) -> Patton:
        start = float(static.params.iloc[0]) if initial is None else initial
        return Patton(family, rotation, start)

    return fit_dynamic(make, u, family, rotation, n_starts)


def patton_copula_filter(u: Any, family: str, params: Any, rotation: int = 0, *,
                         initial: float) -> pd.DataFrame:
    """Run Patton's recursion at given parameters from ``theta_1 = initial``.

    ``params`` are ``omega, alpha, beta`` (and ``nu``), by name or in that order; the output
    is as :func:`baselines.copula_gas.gas_copula_filter`'s.
    """
    dyn = Patton(family, rotation, initial)
    vals, _, index = check_pits(u, ncols=2, min_obs=1)
    return filter_frame(dyn, params_array(dyn, params), vals, index)


def simulate_patton_copula(family: str, params: Any, n: int, rotation: int = 0, *,
                           initial: float, seed: int | None = None) -> CopulaPathSimulation:
    """Simulate ``n`` steps of Patton's copula from ``theta_1 = initial`` (draws as
    :func:`baselines.copula_gas.simulate_gas_copula`)."""
    dyn = Patton(family, rotation, initial)
    return simulate_path(dyn.stepper(params_array(dyn, params), None), n, seed, ["u1", "u2"])
