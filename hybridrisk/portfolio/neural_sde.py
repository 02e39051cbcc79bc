"""A Neural SDE scenario generator trained on the factor history.

The state is the day's vector of standardised factor changes ``y_t = (x_t - m) / s`` (sample
mean and standard deviation of the training window). One day is one unit of time, and the
generator is the Ito SDE ``dY = f(Y) dt + g(Y) dW`` of :class:`hybridrisk.lnn.NeuralSDE` with
general noise (as many Brownian motions as factors, so ``g g'`` carries the correlations),
solved by Euler-Maruyama with a step of one day. Its one-day transition is then exactly the
Gaussian ``y_{t+1} ~ N(y_t + f(y_t), g g'(y_t))`` whose likelihood
(:meth:`~hybridrisk.lnn.NeuralSDE.transition_log_likelihood`) the training maximises over
the history's consecutive days (full batch, Adam).

The networks are written so that the untrained generator is the i.i.d. normal one: the drift
is ``f(y) = -y + MLP_f(y)`` and the diffusion ``g(y) = diag(softplus(MLP_g(y) + c)) L``, both
MLPs' last layers starting at zero, ``c = ln(e - 1)`` (the scales start at 1) and the
lower-triangular ``L`` starting at the Cholesky factor of the standardised changes'
correlation. Training moves away from it: a state-dependent scale lets a large move raise the
next day's spread (volatility clustering of a first-order, ARCH(1)-like kind).

A path starts from the last observed day's state; ``generate`` returns its daily changes in
the factors' units, like every :class:`~hybridrisk.portfolio.scenarios.ScenarioGenerator`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from hybridrisk.errors import ConfigError, NumericalError
from hybridrisk.portfolio.scenarios import ScenarioGenerator

__all__ = ["NeuralSDEGenerator"]

_ONE = float(np.log(np.e - 1.0))  # softplus(_ONE) = 1


def _mlp(k: int, hidden: int) -> torch.nn.Sequential:
    net = torch.nn.Sequential(torch.nn.Linear(k, hidden), torch.nn.Tanh(),
                              torch.nn.Linear(hidden, k))
    torch.nn.init.zeros_(net[2].weight)
    torch.nn.init.zeros_(net[2].bias)
    return net.double()


class _Drift(torch.nn.Module):
    """``f(y) = -y + MLP(y)``: the next day's mean, ``y + f(y)``, starts at zero."""

    def __init__(self, k: int, hidden: int) -> None:
        super().__init__()
        self.mlp = _mlp(k, hidden)

    def forward(self, t: object, y: torch.Tensor, context: object) -> torch.Tensor:
        return -y + self.mlp(y)


class _Diffusion(torch.nn.Module):
    """``g(y) = diag(softplus(MLP(y) + c)) L`` with ``L`` lower triangular."""

    def __init__(self, k: int, hidden: int, chol: np.ndarray) -> None:
        super().__init__()
        self.mlp = _mlp(k, hidden)
        self.chol = torch.nn.Parameter(torch.as_tensor(chol, dtype=torch.float64))

    def forward(self, t: object, y: torch.Tensor, context: object) -> torch.Tensor:
        scale = torch.nn.functional.softplus(self.mlp(y) + _ONE)
        return scale.unsqueeze(-1) * torch.tril(self.chol)


class NeuralSDEGenerator(ScenarioGenerator):
    """Neural SDE generator of daily factor changes (see the module docstring).

    Parameters
    ----------
    changes
        Daily factor changes, a DataFrame with a DatetimeIndex.
    hidden_size
        Width of the drift and diffusion networks.
    steps, lr
        Adam steps and learning rate of the full-batch training.
    seed
        Fixes the networks' initial weights.
    window
        Train on the last ``window`` days (default all).

    Attributes
    ----------
    loss_history
        Negative mean transition log-likelihood (per day) after each step; the first entry is
        the i.i.d. normal generator's.
    """

    name = "Neural SDE"

    def __init__(self, changes: pd.DataFrame, *, hidden_size: int = 16, steps: int = 200,
                 lr: float = 1e-2, seed: int = 0, window: int | None = None) -> None:
        from hybridrisk.lnn import NeuralSDE

        super().__init__(changes, window=window)
        if steps < 1:
            raise ConfigError(f"steps must be >= 1, got {steps}")
        x = self.data.to_numpy()
        self.mean, self.scale = x.mean(axis=0), x.std(axis=0, ddof=1)
        if (self.scale <= 0).any():
            bad = self.names[int(np.flatnonzero(self.scale <= 0)[0])]
            raise ConfigError(f"factor {bad!r} never changes in the window: nothing to learn")
        z = (x - self.mean) / self.scale
        y = torch.as_tensor(z, dtype=torch.float64).unsqueeze(0)
        k = len(self.names)
        chol = np.linalg.cholesky(np.corrcoef(z, rowvar=False))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            self.model = NeuralSDE(k, hidden_size, noise="general", method="euler", dt=1.0,
                                   drift=_Drift(k, hidden_size),
                                   diffusion=_Diffusion(k, hidden_size, chol)).double()
        times = torch.arange(y.shape[1], dtype=torch.float64)
        opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.loss_history: list[float] = []
        for step in range(int(steps)):
            opt.zero_grad()
            loss = -self.model.transition_log_likelihood(y, times, reduction="mean")
            if not torch.isfinite(loss):
                raise NumericalError(f"Neural SDE training: non-finite loss at step {step}")
            loss.backward()
            opt.step()
            self.loss_history.append(float(loss.detach()))
        self.y_last = y[0, -1].detach()

    def _draw(self, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
        seed = int(rng.integers(0, 2**62))
        times = torch.arange(horizon + 1, dtype=torch.float64)
        with torch.no_grad():
            ys = self.model.simulate(n, times, seed, x0=self.y_last)
        y = ys[:, 1:, :].numpy()
        if not np.isfinite(y).all():
            raise NumericalError("the Neural SDE produced a non-finite path")
        return self.mean + y * self.scale
