"""Nelson-Siegel-Svensson curve equations in torch (float64, differentiable).

Gürkaynak-Sack-Wright convention: maturities in years, yields in percent, continuously
compounded. Parameters are ordered ``(beta0, beta1, beta2, beta3, tau1, tau2)`` along the last
axis; a Nelson-Siegel curve is the special case ``beta3 = 0``.

    y(m) = b0 + b1 L1(m/t1) + b2 [L1(m/t1) - e^{-m/t1}] + b3 [L1(m/t2) - e^{-m/t2}],
    L1(x) = (1 - e^{-x}) / x.
"""

from __future__ import annotations

import torch

__all__ = ["PARAM_NAMES", "nss_loadings", "nss_yield", "nss_discount", "nss_forward"]

PARAM_NAMES = ("beta0", "beta1", "beta2", "beta3", "tau1", "tau2")


def _l1(x: torch.Tensor) -> torch.Tensor:
    # (1 - e^{-x}) / x with its limit 1 at x = 0; -expm1 keeps full precision for small x.
    small = x.abs() < 1e-8
    safe = torch.where(small, torch.ones_like(x), x)
    return torch.where(small, 1.0 - x / 2.0, -torch.expm1(-safe) / safe)


def nss_loadings(m: torch.Tensor, tau1: torch.Tensor, tau2: torch.Tensor) -> torch.Tensor:
    """Factor loadings of shape ``broadcast(m, tau).shape + (4,)`` for (b0, b1, b2, b3)."""
    x1, x2 = torch.broadcast_tensors(m / tau1, m / tau2)
    l1, l2 = _l1(x1), _l1(x2)
    return torch.stack([torch.ones_like(l1), l1, l1 - torch.exp(-x1), l2 - torch.exp(-x2)], dim=-1)


def _split(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    params = torch.as_tensor(params)
    return params[..., :4], params[..., 4:5], params[..., 5:6]


def nss_yield(m: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Zero yields in percent at maturities ``m`` (years).

    Parameters
    ----------
    m
        Maturities, shape (n,) or broadcastable against ``params.shape[:-1] + (n,)``.
    params
        Shape (..., 6).

    Returns
    -------
    Tensor of shape ``params.shape[:-1] + (n,)``.
    """
    betas, tau1, tau2 = _split(params)
    m = torch.as_tensor(m, dtype=betas.dtype, device=betas.device)
    load = nss_loadings(m, tau1, tau2)
    return (load * betas.unsqueeze(-2)).sum(-1)


def nss_discount(t: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Discount factors ``exp(-y(t) t / 100)`` at times ``t`` (years)."""
    t = torch.as_tensor(t, dtype=torch.as_tensor(params).dtype)
    return torch.exp(-nss_yield(t, params) * t / 100.0)


def nss_forward(m: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Instantaneous forward rates in percent: ``f(m) = d/dm [m y(m)]``."""
    betas, tau1, tau2 = _split(params)
    m = torch.as_tensor(m, dtype=betas.dtype, device=betas.device)
    x1, x2 = m / tau1, m / tau2
    e1, e2 = torch.exp(-x1), torch.exp(-x2)
    return (
        betas[..., 0:1]
        + betas[..., 1:2] * e1
        + betas[..., 2:3] * x1 * e1
        + betas[..., 3:4] * x2 * e2
    )
