"""Log-linear Realized GARCH(1,1) (Hansen, Huang & Shek 2012) with time-varying parameters.

For returns ``r_t = mu + sqrt(h_t) z_t`` and a realised measure ``x_t`` of day ``t``'s variance::

    log h_t = omega_t + beta_t log h_{t-1} + gamma_t log x_{t-1}
    log x_t = xi + phi log h_t + tau1 z_t + tau2 (z_t^2 - 1) + u_t,     u_t ~ N(0, sigma_u^2)

The variance recursion does not involve ``z``: it is a linear recurrence in ``log h`` driven
by ``log x`` (:func:`~hybridrisk.kernels.garch.linear_recurrence`, with its analytical
adjoint). The first day of a sample has no recursion: ``log h_0`` is given (the baseline
uses the log of the sample variance of the returns). The Gaussian quasi-likelihood is the sum
of the returns' part and the measurement equation's part, as in
:func:`baselines.realized_garch.realized_garch_loglik`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from hybridrisk.kernels.garch import linear_recurrence

__all__ = ["MEASUREMENT", "realized_log_variance", "realized_loglik_terms"]

#: The measurement equation's parameters, in the baseline's order.
MEASUREMENT = ("xi", "phi", "tau1", "tau2", "sigma_u")
_LOG2PI = math.log(2.0 * math.pi)


def _as_2d(x: Any, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device).expand_as(like)


def realized_log_variance(
    logx_prev: torch.Tensor,
    omega: Any,
    beta: Any,
    gamma: Any,
    *,
    start: Any,
    first: Any = False,
    method: str = "scan",
) -> torch.Tensor:
    """``log h`` of a Realized GARCH(1,1) with time-varying ``(omega, beta, gamma)``.

    Parameters
    ----------
    logx_prev
        ``log x_{t-1}``, the log measure of the day before each step, shape (T,) or (B, T).
    omega, beta, gamma
        Scalars or tensors broadcastable to ``logx_prev`` (``theta_t`` produces ``log h_t``).
    start
        Per row (scalar or (B,)): ``log h`` of the step before the first, or, where ``first``
        holds, ``log h`` of the first step itself (the sample's first day).
    first
        Bool, scalar or (B,): rows whose first step is the sample's first day.
    method
        ``"scan"`` (blocked scan with an analytical backward pass) or ``"loop"`` (plain
        autograd, the reference).

    Returns
    -------
    Tensor
        ``log h`` with the shape of ``logx_prev``.
    """
    lx = logx_prev if logx_prev.dim() == 2 else logx_prev.unsqueeze(0)
    om, be, ga = (_as_2d(p, lx) for p in (omega, beta, gamma))
    batch = lx.shape[0]
    s0 = torch.as_tensor(start, dtype=lx.dtype, device=lx.device).expand(batch)
    is_first = torch.as_tensor(first, device=lx.device).expand(batch)
    drive = om + ga * lx
    # the sample's first day: log h_0 = start, reached as drive = start with no carry
    drive = torch.cat([torch.where(is_first, s0, drive[:, 0]).unsqueeze(1), drive[:, 1:]], 1)
    coef = torch.cat([torch.where(is_first, torch.zeros_like(be[:, 0]), be[:, 0]).unsqueeze(1),
                      be[:, 1:]], 1)
    out = linear_recurrence(drive.contiguous(), coef.contiguous(), s0.contiguous(),
                            method=method)
    return out if logx_prev.dim() == 2 else out[0]


def realized_loglik_terms(
    eps: torch.Tensor, logx: torch.Tensor, logh: torch.Tensor, xi: Any, phi: Any, tau1: Any,
    tau2: Any, sigma_u: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-day Gaussian log-likelihood of the returns and of the measurement equation.

    Parameters
    ----------
    eps
        ``r_t - mu``.
    logx, logh
        ``log x_t`` and ``log h_t`` (same shape as ``eps``).
    xi, phi, tau1, tau2, sigma_u
        The measurement equation (scalars or broadcastable tensors).

    Returns
    -------
    (Tensor, Tensor)
        ``-1/2 (log 2pi + log h_t + z_t^2)`` and
        ``-1/2 (log 2pi + log sigma_u^2 + u_t^2 / sigma_u^2)``.
    """
    z = eps * torch.exp(-0.5 * logh)
    u = logx - xi - phi * logh - tau1 * z - tau2 * (z * z - 1.0)
    su = torch.as_tensor(sigma_u, dtype=eps.dtype, device=eps.device)
    lr = -0.5 * (_LOG2PI + logh + z * z)
    lx = -0.5 * (_LOG2PI + 2.0 * torch.log(su) + (u / su) ** 2)
    return lr, lx
