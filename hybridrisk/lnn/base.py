"""The encoder interface every liquid cell keeps.

An encoder maps a batch-first input path ``x`` of shape (batch, length, input_size), observed at
``times`` of shape (batch, length), to the hidden path at those times, (batch, length, hidden_size).
Time steps may differ per sample and per step.

Convention for the first step: the state starts at ``h0`` (zeros by default) one gap before the
first observation, where that gap is the sample's first observed gap ``t_1 - t_0`` (1.0 for a
single observation or ``times=None``). With ``times=None`` every gap is 1.0, so unit-spaced
explicit times give exactly the same result as no times.
"""

from __future__ import annotations

import torch
from torch import nn

from hybridrisk.errors import DataValidationError

__all__ = ["Encoder", "time_deltas", "check_encoder_input"]


def check_encoder_input(x: torch.Tensor, input_size: int) -> None:
    """Raise a clear error for a wrongly shaped or non-finite input batch."""
    if not isinstance(x, torch.Tensor):
        raise DataValidationError("type", f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3:
        raise DataValidationError(
            "shape", f"x must be (batch, length, input_size), got shape {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise DataValidationError(
            "shape", f"x has {x.shape[-1]} input features, the cell expects {input_size}"
        )
    if x.shape[1] == 0:
        raise DataValidationError("min-obs", "x has length 0")
    if not torch.isfinite(x).all():
        b, t, f = (int(i) for i in torch.nonzero(~torch.isfinite(x))[0])
        raise DataValidationError(
            "finite", f"x is not finite at batch {b}, step {t}", column=f, row=t
        )


def time_deltas(times: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    """Per-sample, per-step time gaps of shape (batch, length), see the module docstring.

    Raises
    ------
    DataValidationError
        If ``times`` has the wrong shape, is not finite or not strictly increasing.
    """
    batch, length = x.shape[0], x.shape[1]
    if times is None:
        return torch.ones(batch, length, dtype=x.dtype, device=x.device)
    times = torch.as_tensor(times, dtype=x.dtype, device=x.device)
    if times.dim() == 1:
        times = times.unsqueeze(0).expand(batch, -1)
    if times.shape != (batch, length):
        raise DataValidationError(
            "shape", f"times must be (batch, length) = {(batch, length)}, got {tuple(times.shape)}"
        )
    if not torch.isfinite(times).all():
        raise DataValidationError("finite", "times contains a non-finite value")
    gaps = times[:, 1:] - times[:, :-1]
    if (gaps <= 0).any():
        b, k = (int(i) for i in torch.nonzero(gaps <= 0)[0])
        raise DataValidationError(
            "increasing-times", f"times of sample {b} do not increase at step {k + 1}", row=k + 1
        )
    first = gaps[:, :1] if length > 1 else torch.ones(batch, 1, dtype=x.dtype, device=x.device)
    return torch.cat([first, gaps], dim=1)


class Encoder(nn.Module):
    """Base class: ``forward(x, times=None, h0=None) -> (batch, length, hidden_size)``."""

    input_size: int
    hidden_size: int

    def initial_state(self, x: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
        if h0 is None:
            return x.new_zeros(x.shape[0], self.hidden_size)
        if h0.shape != (x.shape[0], self.hidden_size):
            raise DataValidationError(
                "shape", f"h0 must be (batch, hidden) = {(x.shape[0], self.hidden_size)}, "
                f"got {tuple(h0.shape)}"
            )
        return h0
