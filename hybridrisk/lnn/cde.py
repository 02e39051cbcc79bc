"""Neural controlled differential equation (neural CDE) encoder on torchcde.

The hidden state solves ``dz = f_theta(z) dX`` (Kidger et al. 2020), driven by a continuous path
``X`` built from the observations with time appended as a channel, ``X = (t, x_1, ..., x_d)``.

Parametrisation and irregular times
-----------------------------------
The solver runs in the observation *index* ``s in [0, length - 1]``, the same for every sample,
and each sample's own times enter through the time channel: on ``[k, k+1]`` the time channel rises
linearly from ``t_k`` to ``t_{k+1}``. A CDE is invariant to reparametrisation, so this is the same
solution as integrating in real time, and a batch with different per-sample times is exactly the
batch of the per-sample problems (fixed-step methods agree to rounding, adaptive methods to their
tolerance because they share one step-size controller).

Interpolation
-------------
The time channel is always piecewise linear in ``s`` (so ``dt/ds > 0`` and a query time maps to
a unique point of the path). The data channels use either ``"hermite"``, torchcde's cubic Hermite
spline with backward differences (``hermite_cubic_coefficients_with_backward_differences``; the
slope at knot ``k`` is ``x_k - x_{k-1}``, so the path on ``[k-1, k]`` uses ``x_{k-2}, x_{k-1},
x_k`` only) or ``"linear"`` interpolation. Both are causal at the observation times: ``z(t_k)``
depends on observations up to ``t_k`` only.

Missing values and mixed frequencies
------------------------------------
NaN marks a channel not observed at a time (e.g. a monthly series next to daily ones). Before
the path is built, each channel is filled:

- ``missing="ffill"`` (default, causal): the last observed value of that channel is carried
  forward, so the path is flat until the next observation of that channel;
- ``missing="linear"``: torchcde's fill, linear interpolation *in each sample's real time*
  between the neighbouring observations of the channel (uses a future value: not causal).

In both modes, leading NaNs (before a channel's first observation) take its first observed value
(torchcde's convention; this is the one place that looks ahead) and a channel never observed in a
sample is zero. With ``observation_counts=True`` the cumulative number of observations of each
channel is appended as extra channels, which lets the model see *when* a channel was observed.
The initial state is a linear map of the (filled) first observation, without the time channel,
so the encoder is invariant to a shift of the time origin.

Missing values are filled on every forward call; for long, sparse series cache the filled input.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torchcde
from torch import nn

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.lnn.base import Encoder, time_deltas
from hybridrisk.lnn.ctrnn import _check_tolerances, solver_kind

__all__ = ["NeuralCDE", "CDEVectorField", "forward_fill"]


def forward_fill(x: torch.Tensor) -> torch.Tensor:
    """Fill NaNs along dim -2 with the last observed value; leading NaNs with the first one.

    A channel with no observation at all becomes zero.
    """
    nan = torch.isnan(x)
    if not nan.any():
        return x
    length = x.shape[-2]
    idx = torch.arange(length, device=x.device).view(*([1] * (x.dim() - 2)), length, 1)
    # Index of the last observation at or before each step (-1 where there is none yet).
    last = torch.where(nan, torch.full_like(idx, -1), idx).cummax(dim=-2).values
    # Index of the first observation of each channel, for the leading block.
    first = torch.where(nan, torch.full_like(idx, length), idx).min(dim=-2, keepdim=True).values
    src = torch.where(last < 0, first, last).clamp(max=length - 1)
    out = x.gather(-2, src.expand_as(x))
    return torch.nan_to_num(out, nan=0.0)


class CDEVectorField(nn.Module):
    """MLP vector field ``f(z) -> (batch, hidden, channels)`` with a tanh output.

    Parameters
    ----------
    hidden_size, channels
        Sizes of the state ``z`` and of the control path (inputs + time).
    width, depth
        Width and number of hidden layers of the MLP (softplus activations).
    """

    def __init__(self, hidden_size: int, channels: int, width: int = 32, depth: int = 1) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.channels = channels
        layers: list[nn.Module] = []
        size = hidden_size
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.Softplus()]
            size = width
        layers.append(nn.Linear(size, hidden_size * channels))
        self.net = nn.Sequential(*layers)

    def forward(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        out = torch.tanh(self.net(z))  # bounded field: keeps the CDE solution from blowing up
        return out.view(*z.shape[:-1], self.hidden_size, self.channels)


class _Control(nn.Module):
    """Path ``X(s) = (t(s), x(s))``: linear time channel, chosen interpolation for the data."""

    def __init__(self, times: torch.Tensor, data: torch.Tensor, interpolation: str) -> None:
        super().__init__()
        self.time = torchcde.LinearInterpolation(times.unsqueeze(-1))
        if interpolation == "hermite":
            coeffs = torchcde.hermite_cubic_coefficients_with_backward_differences(data)
            self.data = torchcde.CubicSpline(coeffs)
        else:
            self.data = torchcde.LinearInterpolation(torchcde.linear_interpolation_coeffs(data))

    @property
    def interval(self) -> torch.Tensor:
        return self.time.interval

    @property
    def grid_points(self) -> torch.Tensor:
        return self.time.grid_points

    def evaluate(self, s: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.time.evaluate(s), self.data.evaluate(s)], dim=-1)

    def derivative(self, s: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.time.derivative(s), self.data.derivative(s)], dim=-1)

    def adjoint_tensors(self) -> tuple[torch.Tensor, ...]:
        """The tensors ``derivative`` reads, for the adjoint's ``adjoint_params``.

        Not all buffers: LinearInterpolation keeps ``_coeffs`` *and* ``_derivs`` computed from
        it, and giving the adjoint an ancestor together with its descendant counts the gradient
        twice. These tensors are siblings (slices or differences of the coefficients).
        """
        out: list[torch.Tensor] = []
        for interp in (self.time, self.data):
            if isinstance(interp, torchcde.LinearInterpolation):
                out.append(interp._derivs)
            else:
                out.extend([interp._b, interp._two_c, interp._three_d])
        return tuple(t for t in out if t.requires_grad)


def _grid_constructor(step: float | None):
    """Fixed-step grid through every output time, every knot and every multiple of ``step``."""

    def build(func: Any, y0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # The adjoint's backward solve asks for a grid over decreasing t.
        lo, hi = sorted((float(t[0]), float(t[-1])))
        ints = torch.arange(math.ceil(lo), math.floor(hi) + 1, dtype=t.dtype, device=t.device)
        pieces = [t, ints]
        if step is not None:
            k0, k1 = math.ceil(lo / step), math.floor(hi / step)
            pieces.append(torch.arange(k0, k1 + 1, dtype=t.dtype, device=t.device) * step)
        grid = torch.unique(torch.cat(pieces))  # sorted increasing
        grid = grid[(grid >= lo) & (grid <= hi)]
        return grid if t[-1] >= t[0] else grid.flip(0)

    return build


class NeuralCDE(Encoder):
    """Neural CDE encoder, ``forward(x, times=None, h0=None, query_times=None)``.

    Parameters
    ----------
    input_size, hidden_size
        Number of input features (without time) and size of the hidden state.
    interpolation
        ``"hermite"`` (cubic Hermite with backward differences) or ``"linear"``.
    method
        torchdiffeq solver name. Adaptive methods get the knots as ``jump_t`` (the path's
        derivative jumps there); fixed-step methods step through every knot and output time.
    adjoint
        Use the adjoint method for gradients.
    rtol, atol
        Tolerances of adaptive methods.
    step_size
        Sub-step of fixed-grid methods in index units (fraction of an observation interval);
        None steps from knot to knot.
    missing
        ``"ffill"`` (causal, default) or ``"linear"``; see the module docstring.
    observation_counts
        Append each channel's cumulative observation count as extra channels.
    width, depth
        Size of the default MLP vector field.
    vector_field
        A custom module ``f(s, z) -> (batch, hidden, channels)`` replacing the MLP. Channel 0
        is time, then the ``input_size`` inputs, then (with ``observation_counts``) the
        ``input_size`` counts.

    Notes
    -----
    The CDE starts at the first observation: the output at index 0 is the initial state itself
    (this differs from the recurrent cells, which take one step from ``h0`` to ``t_0``).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        interpolation: str = "hermite",
        method: str = "rk4",
        adjoint: bool = False,
        rtol: float = 1e-5,
        atol: float = 1e-7,
        step_size: float | None = 0.5,
        missing: str = "ffill",
        observation_counts: bool = False,
        width: int = 32,
        depth: int = 1,
        vector_field: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if int(input_size) < 1 or int(hidden_size) < 1:
            raise ConfigError(
                f"input_size and hidden_size must be positive, got {input_size}, {hidden_size}"
            )
        if interpolation not in ("hermite", "linear"):
            raise ConfigError(f"interpolation must be 'hermite' or 'linear', got {interpolation!r}")
        if missing not in ("ffill", "linear"):
            raise ConfigError(f"missing must be 'ffill' or 'linear', got {missing!r}")
        self.kind = solver_kind(method)
        _check_tolerances(rtol, atol, step_size)
        if step_size is not None and self.kind != "fixed":
            step_size = None  # adaptive methods choose their own steps
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.interpolation = interpolation
        self.method = method
        self.adjoint = bool(adjoint)
        self.rtol, self.atol = float(rtol), float(atol)
        self.step_size = None if step_size is None else float(step_size)
        self.missing = missing
        self.observation_counts = bool(observation_counts)
        self.channels = 1 + self.input_size * (2 if self.observation_counts else 1)
        self.initial = nn.Linear(self.input_size, self.hidden_size)
        self.field = (
            CDEVectorField(self.hidden_size, self.channels, width, depth)
            if vector_field is None
            else vector_field
        )

    # -- input preparation -------------------------------------------------------------------

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise DataValidationError("type", f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise DataValidationError(
                "shape", f"x must be (batch, length, {self.input_size}), got {tuple(x.shape)}"
            )
        if x.shape[1] == 0 or x.shape[0] == 0:
            raise DataValidationError("min-obs", f"x is empty, shape {tuple(x.shape)}")
        if torch.isinf(x).any():
            b, t, f = (int(i) for i in torch.nonzero(torch.isinf(x))[0])
            raise DataValidationError(
                "finite", f"x is infinite at batch {b}, step {t} (NaN marks missing)", column=f,
                row=t,
            )
        if x.dtype != self.initial.weight.dtype:
            raise DataValidationError(
                "dtype", f"x is {x.dtype} but the NeuralCDE parameters are "
                f"{self.initial.weight.dtype}"
            )

    def _fill(self, x: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        if not torch.isnan(x).any():
            return x
        if self.missing == "ffill":
            return forward_fill(x)
        # torchcde fills NaN by linear interpolation in the t it is given: one call per sample so
        # that each sample's own real times are used.
        filled = [
            torchcde.linear_interpolation_coeffs(x[b], t=times[b]) for b in range(x.shape[0])
        ]
        return torch.stack(filled, dim=0)

    def _times(self, x: torch.Tensor, times: torch.Tensor | None) -> torch.Tensor:
        time_deltas(times, x)  # validation: shape, finite, strictly increasing
        if times is None:
            grid = torch.arange(x.shape[1], dtype=x.dtype, device=x.device)
            return grid.unsqueeze(0).expand(x.shape[0], -1)
        times = torch.as_tensor(times, dtype=x.dtype, device=x.device)
        return times.unsqueeze(0).expand(x.shape[0], -1) if times.dim() == 1 else times

    def _query_index(self, times: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Fractional index ``s`` of each query time (exact: the time channel is linear in s)."""
        batch, length = times.shape
        query = torch.as_tensor(query, dtype=times.dtype, device=times.device)
        if query.dim() == 1:
            query = query.unsqueeze(0).expand(batch, -1)
        if query.dim() != 2 or query.shape[0] != batch or query.shape[1] == 0:
            raise DataValidationError(
                "shape", f"query_times must be (n_query,) or ({batch}, n_query), got "
                f"{tuple(query.shape)}"
            )
        if not torch.isfinite(query).all():
            raise DataValidationError("finite", "query_times contains a non-finite value")
        outside = (query < times[:, :1]) | (query > times[:, -1:])
        if outside.any():
            b, q = (int(i) for i in torch.nonzero(outside)[0])
            raise DataValidationError(
                "query-range", f"query time {float(query[b, q])!r} of sample {b} lies outside its "
                f"observation window [{float(times[b, 0])!r}, {float(times[b, -1])!r}]"
            )
        if length == 1:
            return torch.zeros_like(query)
        k = (torch.searchsorted(times.contiguous(), query.contiguous(), right=True) - 1).clamp(
            0, length - 2
        )
        t_k = times.gather(1, k)
        t_k1 = times.gather(1, k + 1)
        return k.to(times.dtype) + (query - t_k) / (t_k1 - t_k)

    # -- forward -----------------------------------------------------------------------------

    def forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor | None = None,
        h0: torch.Tensor | None = None,
        query_times: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Hidden path at the observation times, or at ``query_times``.

        Parameters
        ----------
        x
            Inputs (batch, length, input_size); NaN marks a missing value, inf is an error.
        times
            Observation times (batch, length) or (length,), strictly increasing; None means
            ``0, 1, ..., length - 1``.
        h0
            Initial state at the first observation, (batch, hidden_size); by default a linear
            map of the first (filled) observation.
        query_times
            Times (n_query,) or (batch, n_query) inside each sample's observation window.

        Returns
        -------
        torch.Tensor
            (batch, length, hidden_size), or (batch, n_query, hidden_size) with ``query_times``.
        """
        self._check(x)
        times = self._times(x, times)
        filled = self._fill(x, times)
        if self.observation_counts:
            counts = (~torch.isnan(x)).to(x.dtype).cumsum(dim=1)
            filled = torch.cat([filled, counts], dim=-1)
        if h0 is not None and h0.shape != (x.shape[0], self.hidden_size):
            raise DataValidationError(
                "shape", f"h0 must be (batch, hidden) = {(x.shape[0], self.hidden_size)}, "
                f"got {tuple(h0.shape)}"
            )
        z0 = self.initial(filled[:, 0, : self.input_size]) if h0 is None else h0
        length = x.shape[1]
        if query_times is None:
            s_out = torch.arange(length, dtype=x.dtype, device=x.device)
            gather = None
        else:
            s_query = self._query_index(times, query_times)
            s_out, inverse = torch.unique(s_query, return_inverse=True)
            if float(s_out[0]) > 0.0:
                s_out = torch.cat([s_out.new_zeros(1), s_out])
                inverse = inverse + 1
            gather = inverse
        if length == 1 or s_out.numel() == 1:
            z = z0.unsqueeze(1).expand(-1, s_out.numel(), -1)
        else:
            z = self._integrate(times, filled, z0, s_out)  # (batch, n_out, hidden)
        if gather is None:
            return z
        index = gather.unsqueeze(-1).expand(-1, -1, self.hidden_size)
        return z.gather(1, index)

    def _integrate(
        self, times: torch.Tensor, filled: torch.Tensor, z0: torch.Tensor, s_out: torch.Tensor
    ) -> torch.Tensor:
        control = _Control(times, filled, self.interpolation)
        options: dict[str, Any] = {}
        if self.kind == "fixed":
            options["grid_constructor"] = _grid_constructor(self.step_size)
        elif self.kind == "adaptive" and times.shape[1] > 2:
            # dX/ds jumps at the knots (the time channel's slope is the gap, and so is the data's
            # under linear interpolation): restart the adaptive step there.
            options["jump_t"] = torch.arange(1, times.shape[1] - 1, dtype=z0.dtype)
        kwargs: dict[str, Any] = {"method": self.method, "rtol": self.rtol, "atol": self.atol}
        if options:
            kwargs["options"] = options
        if self.adjoint:
            params = tuple(p for p in self.field.parameters() if p.requires_grad)
            params += control.adjoint_tensors()
            kwargs["adjoint_params"] = params
        return torchcde.cdeint(
            X=control, func=self.field, z0=z0, t=s_out, adjoint=self.adjoint, **kwargs
        )

    def extra_repr(self) -> str:
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"interpolation={self.interpolation!r}, method={self.method!r}, "
            f"adjoint={self.adjoint}, missing={self.missing!r}"
        )
