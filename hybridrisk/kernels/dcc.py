"""DCC(1,1) correlation equations (Engle 2002) in torch, with time-varying ``a_t, b_t``.

For standardised residuals ``z_t`` (k-vectors, the first stage's ``eps_t / sigma_t``)::

    Q_t = (1 - a_t - b_t) Qbar + a_t z_{t-1} z_{t-1}' + b_t Q_{t-1},     Q_0 = Qbar
    R_t = diag(Q_t)^{-1/2} Q_t diag(Q_t)^{-1/2}

with correlation targeting ``Qbar = (1/T) sum_t z_t z_t'`` (the sample second moment of the
standardised residuals, not their correlation matrix). ``Q_t`` is linear in its past, so it runs
through the same :func:`~hybridrisk.kernels.garch.linear_recurrence` (analytical backward) as the
GARCH variance, one element of ``Q`` per channel.

Second-stage log-likelihood per observation: the log density ``ln g(z_t; R_t)`` of the
standardised residuals, all constants included (the convention of ``baselines.dcc``):

- Gaussian: ``-0.5 (k log 2 pi + log|R_t| + z_t' R_t^{-1} z_t)``; Engle's (2002) correlation
  component is this minus ``sum_i ln phi(z_it)``, i.e. ``-0.5 (log|R_t| + z'R^{-1}z - z'z)``;
- multivariate Student-t scaled to covariance ``R_t``, ``nu > 2``:
  ``lgamma((nu+k)/2) - lgamma(nu/2) - k/2 log(pi (nu-2)) - 0.5 log|R_t|
  - (nu+k)/2 log(1 + z_t' R_t^{-1} z_t / (nu-2))``.

The joint log-likelihood of the returns adds ``-sum_i ln sigma_it`` (the univariate scales).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.kernels.garch import linear_recurrence

__all__ = ["dcc_qbar", "dcc_q", "q_to_r", "dcc_correlation", "dcc_loglik", "DCC_DISTS"]

DCC_DISTS = ("normal", "t")


def dcc_qbar(z: torch.Tensor) -> torch.Tensor:
    """Correlation target ``(1/T) sum_t z_t z_t'`` of (T, k) or (B, T, k) residuals."""
    return torch.einsum("...ti,...tj->...ij", z, z) / z.shape[-2]


def _param(x: Any, like: torch.Tensor) -> torch.Tensor:
    """A scalar, (T,) or (B, T) parameter as a (B, T) tensor."""
    t = torch.as_tensor(x, dtype=like.dtype, device=like.device)
    return t.expand(like.shape[0], like.shape[1])


def dcc_q(
    z: torch.Tensor,
    a: Any,
    b: Any,
    *,
    qbar: torch.Tensor | None = None,
    prev_z: torch.Tensor | None = None,
    prev_q: torch.Tensor | None = None,
    method: str = "scan",
) -> torch.Tensor:
    """The quasi-correlation recursion ``Q_t``.

    Parameters
    ----------
    z
        Standardised residuals, (T, k) or (B, T, k), float64.
    a, b
        Scalars, (T,) or (B, T): the parameters that produce ``Q_t``.
    qbar
        Target (k, k) or (B, k, k); the sample second moment of ``z`` when None.
    prev_z, prev_q
        The residual (B, k) and ``Q`` (B, k, k) just before the first step, for a window that
        starts inside a sample; without them ``Q_0 = Qbar``.
    method
        ``"scan"`` or ``"loop"`` (see :func:`~hybridrisk.kernels.garch.linear_recurrence`).

    Returns
    -------
    Tensor
        ``Q`` of shape z.shape + (k,).
    """
    batched = z.dim() == 3
    zz = z if batched else z.unsqueeze(0)
    if zz.dim() != 3:
        raise DataValidationError("shape", f"z must be (T, k) or (B, T, k), got {tuple(z.shape)}")
    nb, length, k = zz.shape
    qb = dcc_qbar(zz) if qbar is None else torch.as_tensor(qbar, dtype=zz.dtype, device=zz.device)
    qb = qb.expand(nb, k, k)
    av, bv = _param(a, zz), _param(b, zz)
    outer = zz.unsqueeze(-1) * zz.unsqueeze(-2)  # (B, T, k, k)
    if prev_z is None and prev_q is None:
        # Q_0 = Qbar exactly: a zero-coefficient first step from any state.
        lag = torch.cat([qb.unsqueeze(1), outer[:, :-1]], dim=1)
        av = torch.cat([torch.zeros_like(av[:, :1]), av[:, 1:]], dim=1)
        bv = torch.cat([torch.zeros_like(bv[:, :1]), bv[:, 1:]], dim=1)
        s0 = qb
    elif prev_z is not None and prev_q is not None:
        pz = torch.as_tensor(prev_z, dtype=zz.dtype, device=zz.device).expand(nb, k)
        lag = torch.cat([(pz.unsqueeze(-1) * pz.unsqueeze(-2)).unsqueeze(1), outer[:, :-1]], 1)
        s0 = torch.as_tensor(prev_q, dtype=zz.dtype, device=zz.device).expand(nb, k, k)
    else:
        raise ConfigError("prev_z and prev_q go together")
    a4, b4 = av[..., None, None], bv[..., None, None]
    c = (1.0 - a4 - b4) * qb.unsqueeze(1) + a4 * lag
    q = linear_recurrence(
        c.reshape(nb, length, k * k),
        b4.reshape(nb, length, 1).expand(nb, length, k * k),
        s0.reshape(nb, k * k),
        method=method,
    ).reshape(nb, length, k, k)
    return q if batched else q.squeeze(0)


def q_to_r(q: torch.Tensor) -> torch.Tensor:
    """Normalise quasi-correlations to correlations, ``R = D^{-1/2} Q D^{-1/2}``."""
    d = torch.rsqrt(torch.diagonal(q, dim1=-2, dim2=-1))
    return q * d.unsqueeze(-1) * d.unsqueeze(-2)


def dcc_correlation(z: torch.Tensor, a: Any, b: Any, **kwargs: Any) -> torch.Tensor:
    """Conditional correlations ``R_t`` (see :func:`dcc_q` for the arguments)."""
    return q_to_r(dcc_q(z, a, b, **kwargs))


def dcc_loglik(
    z: torch.Tensor, r: torch.Tensor, *, dist: str = "normal", nu: Any = None
) -> torch.Tensor:
    """Per-observation log density ``ln g(z_t; R_t)`` (module docstring).

    Parameters
    ----------
    z
        Standardised residuals (..., T, k).
    r
        Correlations (..., T, k, k).
    dist
        ``"normal"`` or ``"t"``.
    nu
        Degrees of freedom (``"t"``), scalar or broadcastable to (..., T).

    Returns
    -------
    Tensor
        Shape (..., T).
    """
    k = z.shape[-1]
    chol = torch.linalg.cholesky(r)
    logdet = 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    w = torch.linalg.solve_triangular(chol, z.unsqueeze(-1), upper=False).squeeze(-1)
    quad = w.square().sum(-1)
    if dist == "normal":
        return -0.5 * (k * math.log(2.0 * math.pi) + logdet + quad)
    if dist == "t":
        if nu is None:
            raise ConfigError("dist='t' needs nu")
        nu = torch.as_tensor(nu, dtype=z.dtype, device=z.device)
        const = (torch.lgamma((nu + k) / 2) - torch.lgamma(nu / 2)
                 - 0.5 * k * torch.log(math.pi * (nu - 2)))
        return const - 0.5 * logdet - (nu + k) / 2 * torch.log1p(quad / (nu - 2))
    raise ConfigError(f"unknown DCC distribution {dist!r}; choose one of {DCC_DISTS}")
