"""Continuous-time recurrent neural network (CTRNN) encoder on torchdiffeq.

The state follows the white paper's form (Beer 1995; Funahashi and Nakamura 1993)

    tau_i dx_i/dt = -x_i + sum_j w_ij sigma(x_j + b_j) + sum_k w_ik I_k(t),

with ``sigma`` the logistic sigmoid and ``tau_i = softplus(rho_i) > 0``.

Input between observations (zero-order hold)
--------------------------------------------
Over the step ``(t_{k-1}, t_k]`` the input is held constant at the observation ``x_k`` made at
the end of the step, so the hidden state at ``t_k`` depends on ``x_0, ..., x_k`` only. The first
step starts from ``h0`` one gap before ``t_0`` (see :mod:`hybridrisk.lnn.base`).

Irregular, per-sample gaps
--------------------------
Each step is integrated in a normalised time ``s in [0, 1]`` with the vector field multiplied by
each sample's own gap, ``dx/ds = gap_b * f(x, x_k)``. Every sample then solves exactly its own
ODE over its own gap, so a batch is the same problem as a loop over samples (for fixed-step
methods the results agree to rounding; adaptive methods share one step-size controller across
the batch, so they agree to the solver tolerance). ``step_size`` of the fixed-grid methods is in
this normalised time: ``step_size=0.25`` takes four sub-steps per observation gap.

Gradients
---------
``adjoint=False`` backpropagates through the solver's operations; ``adjoint=True`` uses
``torchdiffeq.odeint_adjoint`` per step (memory independent of the number of solver steps, the
gradient is then exact only up to the solver tolerance of the backward solve).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torchdiffeq
from torch import nn

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.lnn.base import Encoder, check_encoder_input, time_deltas
from hybridrisk.lnn.heads import softplus_inverse

__all__ = ["CTRNN", "FIXED_STEP_METHODS", "ADAPTIVE_METHODS", "solver_kind"]

# torchdiffeq 0.2.x solvers; anything else is rejected at construction with a clear message.
FIXED_STEP_METHODS = frozenset(
    {"euler", "midpoint", "heun2", "heun3", "rk4", "explicit_adams", "implicit_adams",
     "fixed_adams"}
)
ADAPTIVE_METHODS = frozenset({"dopri8", "dopri5", "bosh3", "fehlberg2", "adaptive_heun"})
_OTHER_METHODS = frozenset({"scipy_solver"})


def solver_kind(method: str) -> str:
    """``"fixed"``, ``"adaptive"`` or ``"other"`` for a torchdiffeq method name.

    Raises
    ------
    ConfigError
        For a name torchdiffeq does not know.
    """
    if method in FIXED_STEP_METHODS:
        return "fixed"
    if method in ADAPTIVE_METHODS:
        return "adaptive"
    if method in _OTHER_METHODS:
        return "other"
    known = sorted(FIXED_STEP_METHODS | ADAPTIVE_METHODS | _OTHER_METHODS)
    raise ConfigError(f"unknown torchdiffeq method {method!r}; known: {known}")


def _check_tolerances(rtol: float, atol: float, step_size: float | None) -> None:
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ConfigError(f"{name} must be a positive finite number, got {v!r}")
    if step_size is not None and not (
        isinstance(step_size, int | float) and math.isfinite(step_size) and step_size > 0
    ):
        raise ConfigError(f"step_size must be a positive finite number, got {step_size!r}")


class _CTRNNField(nn.Module):
    """Recurrent part of the vector field: ``(-x + W sigma(x + b)) / tau``."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size))
        self.tau_raw = nn.Parameter(torch.full((hidden_size,), softplus_inverse(1.0)))
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(hidden_size))

    def tau(self) -> torch.Tensor:
        return nn.functional.softplus(self.tau_raw)


class _StepFunc:
    """The vector field of one step, ``dx/ds = gap * (-x + W sigma(x + b) + drive) / tau``.

    A fresh object per step binds that step's drive and gaps, so the adjoint's backward solve
    (run after the whole sequence) sees the right step's values.
    """

    def __init__(self, field: _CTRNNField, drive: torch.Tensor, gap: torch.Tensor) -> None:
        self.field = field
        self.drive = drive
        self.gap = gap

    def __call__(self, s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        f = self.field
        rec = torch.sigmoid(x + f.bias) @ f.weight.T
        return self.gap * (rec - x + self.drive) / f.tau()


class CTRNN(Encoder):
    """Continuous-time RNN encoder, ``forward(x, times=None, h0=None) -> (batch, length, hidden)``.

    Parameters
    ----------
    input_size, hidden_size
        Number of input features and of neurons.
    method
        Any torchdiffeq solver name (``"dopri5"``, ``"rk4"``, ``"euler"``, ...).
    adjoint
        Train with the adjoint method (``odeint_adjoint``) instead of backpropagating through
        the solver.
    rtol, atol
        Tolerances of adaptive solvers (and of the adjoint's backward solve).
    step_size
        Sub-step of fixed-grid solvers in normalised time (fraction of each gap); None takes one
        solver step per observation gap.
    options
        Extra torchdiffeq options, passed through (e.g. ``{"max_num_steps": 1000}``).

    Notes
    -----
    Parameters: ``field.weight`` (w_ij), ``field.bias`` (b_j), ``field.tau_raw``
    (tau = softplus(tau_raw), initialised at tau = 1) and ``input_weight`` (w_ik). See the module
    docstring for the zero-order hold and the per-sample gap scaling.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        method: str = "dopri5",
        adjoint: bool = False,
        rtol: float = 1e-6,
        atol: float = 1e-8,
        step_size: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if int(input_size) < 1 or int(hidden_size) < 1:
            raise ConfigError(
                f"input_size and hidden_size must be positive, got {input_size}, {hidden_size}"
            )
        self.kind = solver_kind(method)
        _check_tolerances(rtol, atol, step_size)
        if step_size is not None and self.kind != "fixed":
            raise ConfigError(f"step_size applies to fixed-grid methods only, not {method!r}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.method = method
        self.adjoint = bool(adjoint)
        self.rtol = float(rtol)
        self.atol = float(atol)
        self.step_size = None if step_size is None else float(step_size)
        self.options = dict(options or {})
        self.field = _CTRNNField(self.hidden_size)
        self.input_weight = nn.Parameter(torch.empty(self.hidden_size, self.input_size))
        nn.init.normal_(self.input_weight, std=1.0 / math.sqrt(self.input_size))

    @property
    def tau(self) -> torch.Tensor:
        """Time constants, shape (hidden_size,)."""
        return self.field.tau()

    def _solve(
        self, func: Callable, h: torch.Tensor, extra: tuple[torch.Tensor, ...]
    ) -> torch.Tensor:
        s = torch.tensor([0.0, 1.0], dtype=h.dtype, device=h.device)
        options = dict(self.options)
        if self.step_size is not None:
            options["step_size"] = self.step_size
        kwargs: dict[str, Any] = {
            "rtol": self.rtol, "atol": self.atol, "method": self.method,
            "options": options or None,
        }
        if self.adjoint:
            params = tuple(self.field.parameters()) + tuple(t for t in extra if t.requires_grad)
            return torchdiffeq.odeint_adjoint(func, h, s, adjoint_params=params, **kwargs)[-1]
        return torchdiffeq.odeint(func, h, s, **kwargs)[-1]

    def forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor | None = None,
        h0: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Hidden path at the observation times.

        Parameters
        ----------
        x
            Inputs, (batch, length, input_size), finite.
        times
            Observation times, (batch, length) or (length,), strictly increasing per sample;
            None means unit gaps.
        h0
            Initial state (batch, hidden_size), zeros by default.

        Returns
        -------
        torch.Tensor
            (batch, length, hidden_size).
        """
        check_encoder_input(x, self.input_size)
        if x.dtype != self.input_weight.dtype:
            raise DataValidationError(
                "dtype", f"x is {x.dtype} but the CTRNN parameters are {self.input_weight.dtype}"
            )
        gaps = time_deltas(times, x).unsqueeze(-1)  # (batch, length, 1)
        h = self.initial_state(x, h0)
        drive = x @ self.input_weight.T  # constant over each step: the zero-order hold
        out = []
        for k in range(x.shape[1]):
            drive_k, gap_k = drive[:, k], gaps[:, k]
            h = self._solve(_StepFunc(self.field, drive_k, gap_k), h, (drive_k, gap_k))
            out.append(h)
        return torch.stack(out, dim=1)

    def extra_repr(self) -> str:
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"method={self.method!r}, adjoint={self.adjoint}"
        )
