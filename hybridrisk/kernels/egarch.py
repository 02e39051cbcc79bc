"""EGARCH(1,1,1) with time-varying parameters: the log-variance recursion and its adjoint.

For residuals ``eps_t = r_t - mu`` and parameters ``theta_t = (omega_t, alpha_t, gamma_t,
beta_t)`` (``theta_t`` produces ``sigma2_t``, so it must be known at ``t-1``)::

    ln sigma2_t = omega_t + alpha_t (|z_{t-1}| - sqrt(2/pi)) + gamma_t z_{t-1}
                  + beta_t ln sigma2_{t-1},            z_t = eps_t / sigma_t

This is arch's ``EGARCH(p=1, o=1, q=1)``, with arch's order of operations (``omega``, then
the size term, the sign term, the persistence term) and arch's constant ``sqrt(2/pi)``, the
``E|z|`` of a *standard normal*, which arch subtracts whatever the innovation distribution
(:data:`~hybridrisk.kernels.garch.SQRT2_OV_PI`, its Cython value). arch's backcast is on the
log scale: the first step uses ``ln sigma2_{-1} = ln(backcast variance)`` and no news terms.
Here every start is a triple ``(ln sigma2_{-1}, z_{-1}, |z_{-1}|)``; arch's backcast start is
``(ln bc, 0, sqrt(2/pi))``, whose news terms ``alpha * 0`` and ``gamma * 0`` add exact zeros, so
it reproduces arch's first step bit for bit; a window that starts inside a sample uses the
observed ``z`` of the step before it.

arch bounds each variance into loose data-based limits (``1e-6..1e6`` times an EWMA variance)
and caps the log variance below overflow; nothing here clips (the hybrids' tests check that
arch's bounds never bind at the benchmark's estimates).

The recursion is not linear in the state (``z_{t-1}`` depends on ``sigma2_{t-1}``), so the
forward pass is a sequential loop, vectorised over the batch of windows (through numpy on
CPU, where the per-step overhead is the cost). Its derivative with
respect to the previous log variance, ``D_t = beta_t - (alpha_t |z_{t-1}| + gamma_t z_{t-1})
/ 2``, makes the adjoint a *linear* recurrence run backward in time, which
:class:`EGARCHRecurrence` evaluates with the blocked scan of
:mod:`hybridrisk.kernels.garch`; ``method="loop"`` is the plain autograd loop it is tested
against.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from hybridrisk.errors import ConfigError
from hybridrisk.kernels.garch import ARCH_NAMES, SQRT2_OV_PI, _blocked_scan

__all__ = [
    "EGARCHRecurrence",
    "egarch_initial",
    "egarch_log_variance",
    "egarch_names",
    "log_backcast",
]


def egarch_names(dist: str, mean: str = "constant") -> dict[str, str]:
    """Plain names of an EGARCH(1,1,1) model's parameters -> arch's names, in arch's order.

    ``mu`` (constant mean only), ``omega``, ``alpha[1]``, ``gamma[1]``, ``beta[1]``, then
    ``nu`` (t) or ``eta``, ``lambda`` (skew t: arch's ``eta`` is the plain ``nu``).
    """
    names = ["mu"] if mean == "constant" else []
    names += ["omega", "alpha", "gamma", "beta"]
    try:
        names += {"normal": [], "t": ["nu"], "skewt": ["nu", "lambda"]}[dist]
    except KeyError:
        raise ConfigError(f"unknown distribution {dist!r}; choose normal, t or skewt") from None
    out = {n: ARCH_NAMES[n] for n in names}
    if dist == "skewt":
        out["nu"] = "eta"
    return out


def egarch_initial(
    batch: int,
    *,
    backcast: Any = None,
    prev_eps: Any = None,
    prev_sigma2: Any = None,
    like: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The start ``(ln sigma2_{-1}, z_{-1}, |z_{-1}|)``, each of shape (batch,).

    Parameters
    ----------
    batch
        Number of rows.
    backcast
        arch's backcast start: a *log* variance (scalar or (batch,)); no news terms.
    prev_eps, prev_sigma2
        Or the residual and the variance of the step before the first one.
    like
        A tensor whose dtype and device the start takes.
    """
    def cast(v: Any) -> torch.Tensor:
        return torch.as_tensor(v, dtype=like.dtype, device=like.device).expand(batch)

    if prev_eps is not None or prev_sigma2 is not None:
        if prev_eps is None or prev_sigma2 is None:
            raise ConfigError("prev_eps and prev_sigma2 go together")
        ps = cast(prev_sigma2)
        z = cast(prev_eps) / torch.sqrt(ps)
        return torch.log(ps), z, z.abs()
    if backcast is None:
        raise ConfigError("give a backcast (a log variance) or prev_eps and prev_sigma2")
    ln0 = cast(backcast)
    return ln0, torch.zeros_like(ln0), torch.full_like(ln0, SQRT2_OV_PI)


def _forward_loop(e: torch.Tensor, om: torch.Tensor, al: torch.Tensor, ga: torch.Tensor,
                  be: torch.Tensor, ln0: torch.Tensor, z0: torch.Tensor, a0: torch.Tensor,
                  *, record: bool) -> torch.Tensor:
    """The recursion step by step, in arch's order of operations.

    ``record=False`` writes into a preallocated output (no autograd graph: the custom
    function's forward); ``record=True`` stacks the steps so that autograd can follow them.
    """
    ln_prev, z_prev, a_prev = ln0, z0, a0
    steps: list[torch.Tensor] = []
    out = None if record else torch.empty_like(e)
    for t in range(e.shape[1]):
        x = om[:, t] + al[:, t] * (a_prev - SQRT2_OV_PI)
        x = x + ga[:, t] * z_prev
        x = x + be[:, t] * ln_prev
        if out is None:
            steps.append(x)
        else:
            out[:, t] = x
        z_prev = e[:, t] / torch.sqrt(torch.exp(x))
        a_prev = z_prev.abs()
        ln_prev = x
    if out is not None:
        return out
    return torch.stack(steps, dim=1) if steps else e.clone()


def _forward_numpy(e: torch.Tensor, om: torch.Tensor, al: torch.Tensor, ga: torch.Tensor,
                   be: torch.Tensor, ln0: torch.Tensor, z0: torch.Tensor, a0: torch.Tensor
                   ) -> torch.Tensor:
    """:func:`_forward_loop` on CPU through numpy, whose per-step overhead on small arrays is
    a tenth of torch's (the recursion is sequential, so that overhead is its cost). The same
    operations in the same order; ``exp`` may round differently in the last place."""
    cols = [x.detach().numpy().T.copy() for x in (e, om, al, ga, be)]  # (T, B): rows by step
    ee, oo, aa, gg, bb = cols
    out = np.empty_like(ee)
    ln_prev, z_prev, a_prev = (x.detach().numpy().copy() for x in (ln0, z0, a0))
    for t in range(ee.shape[0]):
        x = oo[t] + aa[t] * (a_prev - SQRT2_OV_PI)
        x += gg[t] * z_prev
        x += bb[t] * ln_prev
        out[t] = x
        z_prev = ee[t] / np.sqrt(np.exp(x))
        a_prev = np.abs(z_prev)
        ln_prev = x
    return torch.from_numpy(np.ascontiguousarray(out.T))


class EGARCHRecurrence(torch.autograd.Function):
    """EGARCH log variances with an analytical backward pass (all inputs (B, T) or (B,)).

    Inputs ``eps, omega, alpha, gamma, beta`` of shape (B, T) and the start ``ln0, z0, a0``
    (``ln sigma2_{-1}``, ``z_{-1}``, ``|z_{-1}|``) of shape (B,); output ``ln sigma2`` (B, T).
    With ``lam`` the adjoint of ``ln sigma2`` (``lam_t = g_t + D_{t+1} lam_{t+1}``)::

        dL/domega_t = lam_t              dL/dalpha_t = lam_t (|z_{t-1}| - sqrt(2/pi))
        dL/dgamma_t = lam_t z_{t-1}      dL/dbeta_t  = lam_t ln sigma2_{t-1}
        dL/deps_t   = lam_{t+1} (alpha_{t+1} sign(z_t) + gamma_{t+1}) / sigma_t
        dL/dln0 = beta_0 lam_0,  dL/dz0 = gamma_0 lam_0,  dL/da0 = alpha_0 lam_0
    """

    @staticmethod
    def forward(ctx, eps, omega, alpha, gamma, beta, ln0, z0, a0):  # type: ignore[override]
        if eps.device.type == "cpu":
            ln = _forward_numpy(eps, omega, alpha, gamma, beta, ln0, z0, a0)
        else:
            ln = _forward_loop(eps, omega, alpha, gamma, beta, ln0, z0, a0, record=False)
        ctx.save_for_backward(eps, alpha, gamma, beta, ln0, z0, a0, ln)
        return ln

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # type: ignore[override]
        eps, al, ga, be, ln0, z0, a0, ln = ctx.saved_tensors
        inv_sd = torch.rsqrt(torch.exp(ln))
        z = eps * inv_sd
        # the lagged state each step reads: (ln, z, |z|) of the step before, the start at t = 0
        ln_lag = torch.cat([ln0.unsqueeze(1), ln[:, :-1]], dim=1)
        z_lag = torch.cat([z0.unsqueeze(1), z[:, :-1]], dim=1)
        a_lag = torch.cat([a0.unsqueeze(1), z[:, :-1].abs()], dim=1)
        # D_{t+1} = d ln_{t+1} / d ln_t (z_t = eps_t exp(-ln_t / 2)); zero past the end
        d_next = be[:, 1:] - 0.5 * (al[:, 1:] * z[:, :-1].abs() + ga[:, 1:] * z[:, :-1])
        d_next = torch.cat([d_next, torch.zeros_like(d_next[:, :1])], dim=1)
        lam = _blocked_scan(grad.flip(1).unsqueeze(-1), d_next.flip(1).unsqueeze(-1),
                            torch.zeros_like(ln0).unsqueeze(-1)).squeeze(-1).flip(1)
        lam_next = torch.cat([lam[:, 1:], torch.zeros_like(lam[:, :1])], dim=1)
        al_next = torch.cat([al[:, 1:], torch.zeros_like(al[:, :1])], dim=1)
        ga_next = torch.cat([ga[:, 1:], torch.zeros_like(ga[:, :1])], dim=1)
        g_eps = lam_next * (al_next * torch.sign(z) + ga_next) * inv_sd
        lam0 = lam[:, 0]
        return (g_eps, lam, lam * (a_lag - SQRT2_OV_PI), lam * z_lag, lam * ln_lag,
                be[:, 0] * lam0, ga[:, 0] * lam0, al[:, 0] * lam0)


def _as_2d(x: Any, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=like.dtype, device=like.device)
    return t.expand_as(like)


def egarch_log_variance(
    eps: torch.Tensor,
    omega: Any,
    alpha: Any,
    gamma: Any,
    beta: Any,
    *,
    backcast: Any = None,
    prev_eps: Any = None,
    prev_sigma2: Any = None,
    initial: tuple[Any, Any, Any] | None = None,
    method: str = "adjoint",
) -> torch.Tensor:
    """Log conditional variances of EGARCH(1,1,1) with time-varying parameters.

    Parameters
    ----------
    eps
        Residuals, shape (T,) or (B, T), float64.
    omega, alpha, gamma, beta
        Scalars, (T,) or (B, T) tensors (``theta_t`` produces ``ln sigma2_t``).
    backcast
        arch's start: the log of the backcast variance (scalar or (B,)); the first step has
        no news terms.
    prev_eps, prev_sigma2
        Or the residual and variance just before the first step (windows inside a sample).
    initial
        Or the start ``(ln sigma2_{-1}, z_{-1}, |z_{-1}|)`` directly, per row (batches that
        mix backcast and in-sample starts; see :func:`egarch_initial`).
    method
        ``"adjoint"`` (:class:`EGARCHRecurrence`, analytical backward, the default) or
        ``"loop"`` (plain autograd, the reference). The same operations in the same order;
        on CPU the adjoint's forward runs through numpy, whose ``exp`` may round differently
        from torch's in the last place.

    Returns
    -------
    Tensor
        ``ln sigma2`` with the shape of ``eps``.
    """
    e = eps if eps.dim() == 2 else eps.unsqueeze(0)
    batch = e.shape[0]
    if initial is not None:
        ln0, z0, a0 = (torch.as_tensor(v, dtype=e.dtype, device=e.device).expand(batch)
                       for v in initial)
    else:
        ln0, z0, a0 = egarch_initial(batch, backcast=backcast, prev_eps=prev_eps,
                                     prev_sigma2=prev_sigma2, like=e)
    om, al, ga, be = (_as_2d(p, e) for p in (omega, alpha, gamma, beta))
    if method == "adjoint":
        ln = EGARCHRecurrence.apply(e.contiguous(), om.contiguous(), al.contiguous(),
                                    ga.contiguous(), be.contiguous(), ln0.contiguous(),
                                    z0.contiguous(), a0.contiguous())
    elif method == "loop":
        ln = _forward_loop(e, om, al, ga, be, ln0, z0, a0, record=True)
    else:
        raise ConfigError(f"unknown method {method!r}; choose 'adjoint' or 'loop'")
    return ln if eps.dim() == 2 else ln.squeeze(0)


def log_backcast(variance: float) -> float:
    """arch's EGARCH backcast from a variance backcast: ``np.log`` of it, as arch takes it."""
    return float(np.log(variance))
