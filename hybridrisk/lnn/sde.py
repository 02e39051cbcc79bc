"""Neural stochastic differential equation generator on torchsde.

``dY = f(t, Y, c) dt + g(t, Y, c) dW`` with a drift MLP ``f``, a diffusion ``g`` and an optional
context vector ``c`` (e.g. an encoder's hidden state) held fixed along each path.

Noise
-----
- ``noise="diagonal"``: ``g`` returns (batch, state_size), one positive (softplus) diffusion
  per coordinate driven by its own Brownian motion. Component ``g_i`` depends on ``y_i`` only
  (plus ``t`` and ``c``): this is what torchsde's diagonal-noise solvers (Milstein, the adjoint)
  and the Ito/Stratonovich correction below assume, so the built-in diffusion is one small MLP
  per coordinate, and a custom diagonal diffusion must respect it too.
- ``noise="general"``: ``g`` returns (batch, state_size, brownian_size), any sign.

Ito and Stratonovich
--------------------
The drift is read in the calculus given by ``sde_type``. The same process written in the other
calculus has the drift ``f_ito = f_strat + c/2`` with ``c_i = sum_{j,k} g_kj d g_ij / d y_k``
(``g_i dg_i/dy_i`` for diagonal noise), computed exactly by automatic differentiation:
:meth:`NeuralSDE.drift` with ``sde_type=...`` returns it and :meth:`NeuralSDE.simulate` with
``sde_type=...`` solves the converted equation with a solver of that calculus.

Reproducibility
---------------
:meth:`NeuralSDE.simulate` draws its Brownian motion from a ``torchsde.BrownianInterval`` whose
entropy is the seed, so the same seed, times, step and method give the same paths bit for bit,
independently of the global random state. :meth:`NeuralSDE.brownian` returns that very Brownian
motion (for tests or for coupling two simulations).

Training objective
------------------
:meth:`NeuralSDE.transition_log_likelihood` is the Gaussian (Euler-Maruyama) log-density of
observed transitions, ``y_{k+1} | y_k ~ N(y_k + f_ito dt, g g' dt)``. It is the exact likelihood
of the default Ito simulator (Euler-Maruyama with one step per observation gap) and a consistent
approximation of the continuous model as the gaps shrink.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torchsde
from torch import nn

from hybridrisk.errors import ConfigError, DataValidationError, NumericalError

__all__ = ["NeuralSDE"]

_NOISES = ("diagonal", "general")
_SDE_TYPES = ("ito", "stratonovich")
_DEFAULT_METHOD = {"ito": "euler", "stratonovich": "midpoint"}
_LEVY_AREA = {"srk": "space-time", "log_ode": "foster"}
_METHODS = frozenset(
    {"euler", "milstein", "srk", "midpoint", "heun", "euler_heun", "log_ode", "reversible_heun"}
)


def _check_counts(n_paths: Any, seed: Any) -> tuple[int, int]:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(n_paths, bool) or not isinstance(n_paths, numbers.Integral) or n_paths < 1:
        raise ConfigError(f"n_paths must be a positive integer, got {n_paths!r}")
    return int(n_paths), int(seed)


def _time_column(t: torch.Tensor | float, batch: int, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t.expand(batch, 1) if t.dim() == 0 else t.reshape(batch, 1)


class _MLP(nn.Module):
    """``(t, y, c) -> (batch, out)``, two tanh hidden layers."""

    def __init__(self, in_size: int, hidden: int, out: int, time_input: bool) -> None:
        super().__init__()
        self.time_input = time_input
        self.net = nn.Sequential(
            nn.Linear(in_size + int(time_input), hidden), nn.Tanh(),
            nn.Linear(hidden, hidden), nn.Tanh(),
            nn.Linear(hidden, out),
        )

    def forward(self, t: Any, y: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        parts = [y]
        if context is not None:
            parts.append(context)
        if self.time_input:
            parts.append(_time_column(t, y.shape[0], y))
        return self.net(torch.cat(parts, dim=-1))


class _DiagonalDiffusion(nn.Module):
    """``g_i = softplus(MLP_i(y_i, c, t))``: one one-hidden-layer MLP per coordinate, batched."""

    def __init__(self, state: int, context: int, hidden: int, time_input: bool) -> None:
        super().__init__()
        self.time_input = time_input
        n_in = 1 + context + int(time_input)
        self.w1 = nn.Parameter(torch.randn(state, n_in, hidden) / math.sqrt(n_in))
        self.b1 = nn.Parameter(torch.zeros(state, hidden))
        self.w2 = nn.Parameter(torch.randn(state, hidden) / math.sqrt(hidden))
        self.b2 = nn.Parameter(torch.zeros(state))

    def forward(self, t: Any, y: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        batch, state = y.shape
        parts = [y.unsqueeze(-1)]
        if context is not None:
            parts.append(context.unsqueeze(1).expand(batch, state, -1))
        if self.time_input:
            parts.append(_time_column(t, batch, y).unsqueeze(1).expand(batch, state, 1))
        inp = torch.cat(parts, dim=-1)  # (batch, state, n_in)
        hid = torch.tanh(torch.einsum("bsi,sih->bsh", inp, self.w1) + self.b1)
        return nn.functional.softplus(torch.einsum("bsh,sh->bs", hid, self.w2) + self.b2)


class _GeneralDiffusion(nn.Module):
    def __init__(self, state: int, brownian: int, context: int, hidden: int, time_input: bool):
        super().__init__()
        self.shape = (state, brownian)
        self.mlp = _MLP(state + context, hidden, state * brownian, time_input)

    def forward(self, t: Any, y: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        return self.mlp(t, y, context).view(y.shape[0], *self.shape)


class _Callable(nn.Module):
    """Wrap a plain callable ``fn(t, y, context)`` so that drift and diffusion are modules."""

    def __init__(self, fn: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, t: Any, y: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        return self.fn(t, y, context)


class _BoundSDE(nn.Module):
    """The torchsde view of one simulation: calculus, noise and context bound at call time.

    A fresh object per call keeps the context right for an adjoint backward pass that runs after
    ``simulate`` has returned.
    """

    def __init__(self, model: NeuralSDE, sde_type: str, context: torch.Tensor | None) -> None:
        super().__init__()
        self.model = model
        self.sde_type = sde_type
        self.noise_type = model.noise
        self.context = context

    def f(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.model.drift(t, y, self.context, sde_type=self.sde_type)

    def g(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.model.diffusion(t, y, self.context)


class NeuralSDE(nn.Module):
    """Neural SDE generator ``dY = f(t, Y, c) dt + g(t, Y, c) dW``.

    Parameters
    ----------
    state_size
        Dimension of ``Y``.
    hidden_size
        Width of the drift and diffusion networks.
    noise
        ``"diagonal"`` (positive per-coordinate diffusion) or ``"general"``.
    sde_type
        ``"ito"`` or ``"stratonovich"``: the calculus in which the drift is read.
    adjoint
        Compute gradients of :meth:`simulate` with the stochastic adjoint
        (``torchsde.sdeint_adjoint``) instead of backpropagating through the solver.
    method
        torchsde solver; None picks Euler-Maruyama (``"euler"``) for Ito and ``"midpoint"`` for
        Stratonovich.
    context_size
        Size of the context vector ``c`` (0: no context).
    brownian_size
        Number of Brownian motions for general noise (default ``state_size``).
    dt
        Solver step.
    time_input
        Feed ``t`` to the networks (time-inhomogeneous dynamics).
    drift, diffusion
        Custom callables ``fn(t, y, context) -> tensor`` replacing the networks (an
        ``nn.Module`` keeps its parameters trainable). ``t`` is a scalar tensor inside the
        solver and a (batch,) tensor in :meth:`transition_log_likelihood`; ``context`` is None
        without context. Example, geometric Brownian motion:
        ``drift=lambda t, y, c: 0.05 * y, diffusion=lambda t, y, c: 0.2 * y``.
    """

    def __init__(
        self,
        state_size: int,
        hidden_size: int = 32,
        *,
        noise: str = "diagonal",
        sde_type: str = "ito",
        adjoint: bool = False,
        method: str | None = None,
        context_size: int = 0,
        brownian_size: int | None = None,
        dt: float = 1e-2,
        time_input: bool = False,
        drift: Callable[..., torch.Tensor] | None = None,
        diffusion: Callable[..., torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if int(state_size) < 1 or int(hidden_size) < 1 or int(context_size) < 0:
            raise ConfigError(
                f"state_size, hidden_size must be positive and context_size >= 0, got "
                f"{state_size}, {hidden_size}, {context_size}"
            )
        if noise not in _NOISES:
            raise ConfigError(f"noise must be one of {_NOISES}, got {noise!r}")
        if sde_type not in _SDE_TYPES:
            raise ConfigError(f"sde_type must be one of {_SDE_TYPES}, got {sde_type!r}")
        if method is not None and method not in _METHODS:
            raise ConfigError(f"unknown torchsde method {method!r}; known: {sorted(_METHODS)}")
        if not (math.isfinite(dt) and dt > 0):
            raise ConfigError(f"dt must be positive and finite, got {dt!r}")
        if noise == "diagonal" and brownian_size not in (None, state_size):
            raise ConfigError("diagonal noise has brownian_size == state_size")
        self.state_size = int(state_size)
        self.hidden_size = int(hidden_size)
        self.noise = noise
        self.sde_type = sde_type
        self.adjoint = bool(adjoint)
        self.method = method
        self.context_size = int(context_size)
        self.brownian_size = int(brownian_size or state_size)
        self.dt = float(dt)
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)
        d, c, h = self.state_size, self.context_size, self.hidden_size
        if drift is None:
            self.drift_net: nn.Module = _MLP(d + c, h, d, time_input)
        else:
            self.drift_net = drift if isinstance(drift, nn.Module) else _Callable(drift)
        if diffusion is not None:
            self.diffusion_net: nn.Module = (
                diffusion if isinstance(diffusion, nn.Module) else _Callable(diffusion)
            )
        elif noise == "diagonal":
            self.diffusion_net = _DiagonalDiffusion(d, c, h, time_input)
        else:
            self.diffusion_net = _GeneralDiffusion(d, self.brownian_size, c, h, time_input)

    # -- coefficients --------------------------------------------------------------------------

    def _context(self, context: torch.Tensor | None, batch: int, like: torch.Tensor):
        if self.context_size == 0:
            if context is not None:
                raise DataValidationError("shape", "this NeuralSDE takes no context")
            return None
        if context is None:
            raise DataValidationError("shape", f"context of size {self.context_size} required")
        context = torch.as_tensor(context, dtype=like.dtype, device=like.device)
        if context.dim() == 1:
            context = context.unsqueeze(0).expand(batch, -1)
        if context.shape != (batch, self.context_size):
            raise DataValidationError(
                "shape", f"context must be ({self.context_size},) or ({batch}, "
                f"{self.context_size}), got {tuple(context.shape)}"
            )
        if not torch.isfinite(context).all():
            raise DataValidationError("finite", "context is not finite")
        return context

    def diffusion(
        self, t: Any, y: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``g(t, y, c)``: (batch, state) for diagonal noise, (batch, state, brownian) else."""
        return self.diffusion_net(t, y, context)

    def drift(
        self,
        t: Any,
        y: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        sde_type: str | None = None,
    ) -> torch.Tensor:
        """Drift of the process written in ``sde_type`` (the model's own calculus by default)."""
        f = self.drift_net(t, y, context)
        if sde_type is None or sde_type == self.sde_type:
            return f
        if sde_type not in _SDE_TYPES:
            raise ConfigError(f"sde_type must be one of {_SDE_TYPES}, got {sde_type!r}")
        half = 0.5 * self.ito_correction(t, y, context)
        return f + half if sde_type == "ito" else f - half

    def ito_correction(
        self, t: Any, y: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``c_i = sum_{j,k} g_kj dg_ij/dy_k``, so that ``f_ito = f_strat + c / 2``.

        Exact (automatic differentiation); differentiable in the parameters when grad is on.
        """
        # Keep the graph only when something upstream needs it (else it would pile up per step).
        create = torch.is_grad_enabled() and (
            y.requires_grad
            or (context is not None and context.requires_grad)
            or any(p.requires_grad for p in self.parameters())
        )
        with torch.enable_grad():
            y_ = y if y.requires_grad else y.detach().requires_grad_(True)
            g = self.diffusion(t, y_, context)
            if self.noise == "diagonal":
                # g_i depends on y_i only, so the gradient of sum_i g_i is the diagonal dg_i/dy_i.
                (dg,) = torch.autograd.grad(g.sum(), y_, create_graph=True, allow_unused=True)
                out = torch.zeros_like(g) if dg is None else g * dg
            else:
                out = torch.zeros_like(y_)
                for j in range(g.shape[-1]):
                    col = g[..., j]
                    # J_j g_j by two vector-Jacobian products (no forward-mode needed).
                    u = torch.zeros_like(col, requires_grad=True)
                    (a,) = torch.autograd.grad(
                        col, y_, grad_outputs=u, create_graph=True, allow_unused=True
                    )
                    if a is None:
                        continue
                    (jg,) = torch.autograd.grad(
                        a, u, grad_outputs=col, create_graph=True, allow_unused=True
                    )
                    if jg is not None:
                        out = out + jg
        return out if create else out.detach()

    # -- simulation ----------------------------------------------------------------------------

    def _resolve_method(self, sde_type: str, method: str | None) -> str:
        method = method or (self.method if sde_type == self.sde_type else None)
        method = method or _DEFAULT_METHOD[sde_type]
        if method not in _METHODS:
            raise ConfigError(f"unknown torchsde method {method!r}; known: {sorted(_METHODS)}")
        return method

    @staticmethod
    def _times(times: Sequence[float] | torch.Tensor, dtype: torch.dtype, device) -> torch.Tensor:
        ts = torch.as_tensor(times, dtype=dtype, device=device)
        if ts.dim() != 1 or ts.numel() == 0:
            raise DataValidationError(
                "shape", f"times must be 1-D and non-empty, got {tuple(ts.shape)}"
            )
        if not torch.isfinite(ts).all():
            raise DataValidationError("finite", "times contains a non-finite value")
        if ts.numel() > 1 and not bool((ts[1:] > ts[:-1]).all()):
            k = int(torch.nonzero(ts[1:] <= ts[:-1])[0]) + 1
            raise DataValidationError("increasing-times", f"times do not increase at {k}", row=k)
        return ts

    def _param_dtype(self) -> tuple[torch.dtype, torch.device]:
        # A buffer follows .double()/.to() even when the coefficients are parameter-free lambdas.
        return self._anchor.dtype, self._anchor.device

    def brownian(
        self,
        n_paths: int,
        times: Sequence[float] | torch.Tensor,
        seed: int,
        *,
        dt: float | None = None,
        method: str | None = None,
        sde_type: str | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> torchsde.BrownianInterval:
        """The Brownian motion :meth:`simulate` uses for these arguments (a fresh copy).

        Querying it in the order the solver does (consecutive steps of ``dt`` from ``times[0]``)
        returns the increments that drove the simulation.
        """
        n_paths, seed = _check_counts(n_paths, seed)
        p_dtype, p_device = self._param_dtype()
        dtype = dtype or p_dtype
        device = device or p_device
        ts = self._times(times, dtype, device)
        if ts.numel() < 2:
            raise DataValidationError("min-obs", "a Brownian motion needs at least two times")
        sde_type = sde_type or self.sde_type
        method = self._resolve_method(sde_type, method)
        return torchsde.BrownianInterval(
            t0=float(ts[0]), t1=float(ts[-1]), size=(n_paths, self.brownian_size), dtype=dtype,
            device=device, entropy=seed, dt=float(dt or self.dt),
            levy_area_approximation=_LEVY_AREA.get(method, "none"),
        )

    def simulate(
        self,
        n_paths: int,
        times: Sequence[float] | torch.Tensor,
        seed: int,
        x0: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        *,
        dt: float | None = None,
        sde_type: str | None = None,
        method: str | None = None,
    ) -> torch.Tensor:
        """Simulate ``n_paths`` paths, reproducible bit for bit by ``seed``.

        Parameters
        ----------
        n_paths
            Number of paths.
        times
            Increasing 1-D output times; the paths start at ``times[0]``.
        seed
            Non-negative integer, the entropy of the Brownian motion.
        x0
            Initial state, (state_size,) or (n_paths, state_size); zeros by default.
        context
            Context, (context_size,) or (n_paths, context_size), when ``context_size > 0``.
        dt
            Solver step (the model's ``dt`` by default).
        sde_type
            Solve the same process written in this calculus (drift converted exactly).
        method
            torchsde method (defaults as in the constructor).

        Returns
        -------
        torch.Tensor
            (n_paths, len(times), state_size).
        """
        n_paths, seed = _check_counts(n_paths, seed)
        p_dtype, device = self._param_dtype()
        ts = self._times(times, p_dtype, device)
        sde_type = sde_type or self.sde_type
        if sde_type not in _SDE_TYPES:
            raise ConfigError(f"sde_type must be one of {_SDE_TYPES}, got {sde_type!r}")
        method = self._resolve_method(sde_type, method)
        dt = float(dt or self.dt)
        bm = self.brownian(n_paths, ts, seed, dt=dt, method=method, sde_type=sde_type) if (
            ts.numel() > 1
        ) else None
        if x0 is None:
            y0 = torch.zeros(n_paths, self.state_size, dtype=p_dtype, device=device)
        else:
            y0 = torch.as_tensor(x0, dtype=p_dtype, device=device)
            if y0.dim() == 1:
                y0 = y0.unsqueeze(0).expand(n_paths, -1)
            if y0.shape != (n_paths, self.state_size):
                raise DataValidationError(
                    "shape", f"x0 must be ({self.state_size},) or ({n_paths}, "
                    f"{self.state_size}), got {tuple(y0.shape)}"
                )
            if not torch.isfinite(y0).all():
                raise DataValidationError("finite", "x0 is not finite")
        ctx = self._context(context, n_paths, y0)
        if bm is None:
            return y0.unsqueeze(1)
        sde = _BoundSDE(self, sde_type, ctx)
        if self.adjoint:
            params = tuple(p for p in self.parameters() if p.requires_grad)
            if ctx is not None and ctx.requires_grad:
                params += (ctx,)
            ys = torchsde.sdeint_adjoint(
                sde, y0, ts, bm=bm, method=method, dt=dt, adjoint_params=params
            )
        else:
            ys = torchsde.sdeint(sde, y0, ts, bm=bm, method=method, dt=dt)
        return ys.permute(1, 0, 2)

    # -- training objective --------------------------------------------------------------------

    def transition_log_likelihood(
        self,
        paths: torch.Tensor,
        times: Sequence[float] | torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        reduction: str = "sum",
    ) -> torch.Tensor:
        """Gaussian Euler-Maruyama log-likelihood of observed transitions.

        ``log p = sum_k log N(y_{k+1}; y_k + f_ito(t_k, y_k) dt_k, g g'(t_k, y_k) dt_k)``.

        Parameters
        ----------
        paths
            Observed paths (n_paths, length, state_size), length >= 2, finite.
        times
            Observation times (length,) or (n_paths, length), strictly increasing.
        context
            (context_size,) or (n_paths, context_size) when the model has a context.
        reduction
            ``"sum"`` (total log-likelihood), ``"mean"`` (per transition and path) or
            ``"none"`` ((n_paths, length - 1)).

        Returns
        -------
        torch.Tensor
            The log-likelihood; minimise its negative to fit.
        """
        if reduction not in ("sum", "mean", "none"):
            raise ConfigError(f"reduction must be 'sum', 'mean' or 'none', got {reduction!r}")
        p_dtype, device = self._param_dtype()
        if not isinstance(paths, torch.Tensor) or paths.dim() != 3 or paths.shape[-1] != (
            self.state_size
        ):
            shape = tuple(paths.shape) if isinstance(paths, torch.Tensor) else type(paths).__name__
            raise DataValidationError(
                "shape", f"paths must be (n_paths, length, {self.state_size}), got {shape}"
            )
        n, length, d = paths.shape
        if length < 2:
            raise DataValidationError("min-obs", "paths need at least two observations")
        if not torch.isfinite(paths).all():
            raise DataValidationError("finite", "paths contain a non-finite value")
        paths = paths.to(p_dtype)
        ts = torch.as_tensor(times, dtype=p_dtype, device=device)
        if ts.dim() == 1:
            ts = ts.unsqueeze(0).expand(n, -1)
        if ts.shape != (n, length):
            raise DataValidationError(
                "shape", f"times must be ({length},) or ({n}, {length}), got {tuple(ts.shape)}"
            )
        gaps = ts[:, 1:] - ts[:, :-1]
        if not torch.isfinite(ts).all() or not bool((gaps > 0).all()):
            raise DataValidationError("increasing-times", "times must be finite and increasing")
        y0 = paths[:, :-1].reshape(-1, d)
        y1 = paths[:, 1:].reshape(-1, d)
        t0 = ts[:, :-1].reshape(-1)
        dt = gaps.reshape(-1, 1)
        ctx = self._context(context, n, paths)
        if ctx is not None:
            ctx = ctx.repeat_interleave(length - 1, dim=0)
        mean = y0 + self.drift(t0, y0, ctx, sde_type="ito") * dt
        g = self.diffusion(t0, y0, ctx)
        resid = y1 - mean
        if self.noise == "diagonal":
            var = g.pow(2) * dt
            logp = -0.5 * (resid.pow(2) / var + torch.log(var) + math.log(2 * math.pi)).sum(-1)
        else:
            cov = g @ g.transpose(-1, -2) * dt.unsqueeze(-1)
            chol, info = torch.linalg.cholesky_ex(cov)
            if bool((info != 0).any()):
                raise NumericalError(
                    "transition covariance g g' dt is singular (brownian_size < state_size or a "
                    "degenerate diffusion)"
                )
            z = torch.linalg.solve_triangular(chol, resid.unsqueeze(-1), upper=False).squeeze(-1)
            logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
            logp = -0.5 * (z.pow(2).sum(-1) + logdet + d * math.log(2 * math.pi))
        logp = logp.view(n, length - 1)
        if reduction == "sum":
            return logp.sum()
        if reduction == "mean":
            return logp.mean()
        return logp

    def extra_repr(self) -> str:
        return (
            f"state_size={self.state_size}, hidden_size={self.hidden_size}, noise={self.noise!r}, "
            f"sde_type={self.sde_type!r}, adjoint={self.adjoint}, context_size={self.context_size}"
        )
