"""GARCH(1,1), GJR-GARCH(1,1,1) and EGARCH(1,1) equations in torch, with ``arch``'s conventions.

Parameters may vary over time: each of ``omega, alpha, gamma, beta`` is a scalar, a tensor of
shape (T,) or one of shape (batch, T); ``theta_t`` is the parameter that produces ``sigma2_t``
(it must be known at t-1). For residuals ``eps_t = r_t - mu``:

GARCH / GJR (``gamma=None`` is GARCH)::

    sigma2_t = omega_t + alpha_t eps_{t-1}^2 + gamma_t eps_{t-1}^2 1[eps_{t-1} < 0]
               + beta_t sigma2_{t-1}

EGARCH (log variance, ``SQRT2_OV_PI = E|z|`` of a standard normal, whatever the distribution)::

    ln sigma2_t = omega_t + alpha_t (|z_{t-1}| - sqrt(2/pi)) + gamma_t z_{t-1}
                  + beta_t ln sigma2_{t-1},        z = eps / sigma

Start of the recursion (arch's backcast): at ``t = 0`` GARCH uses ``eps_{-1}^2 = sigma2_{-1} =
backcast`` and the asymmetric term ``gamma * backcast / 2``; EGARCH uses ``ln sigma2_{-1} =
backcast`` (a log variance) and drops the news terms. arch's backcast is
:func:`arch_backcast`: an exponentially weighted mean of the first ``min(75, T)`` squared
residuals with weights ``0.94^k`` (normalised), the residuals taken at the mean model's
*starting* values (the sample mean for a constant mean, the data for a zero mean), and its log
for EGARCH. A window that starts inside a sample can instead start from an observed previous
residual and variance (``prev_eps``, ``prev_sigma2``).

arch also passes the variance through loose bounds (1e-6..1e6 times an EWMA variance) during
estimation; they never bind at fitted parameters on real data (the tests check it), and this
kernel applies none: nothing is clipped.

The GARCH/GJR recursion is linear in ``sigma2``, ``s_t = c_t + beta_t s_{t-1}``; it runs through
:class:`LinearRecurrence`, a custom autograd function with an analytical backward pass (the
adjoint recursion runs backward in time) that evaluates both passes with a two-level blocked
scan: ``32 + T/32`` sequential steps, each vectorised over the batch and over the blocks.
``method="loop"`` is the plain autograd loop it is tested against.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from hybridrisk.errors import ConfigError, DataValidationError

__all__ = [
    "SQRT2_OV_PI",
    "BACKCAST_DECAY",
    "BACKCAST_TAU",
    "arch_backcast",
    "linear_recurrence",
    "LinearRecurrence",
    "garch_news",
    "garch_variance",
    "egarch_variance",
    "VOLS",
]

#: E|z| for a standard normal z, the constant arch subtracts in EGARCH (its Cython value).
SQRT2_OV_PI = 0.79788456080286535587989211
#: arch's backcast weights: ``BACKCAST_DECAY ** k`` over the first ``BACKCAST_TAU`` residuals.
BACKCAST_DECAY = 0.94
BACKCAST_TAU = 75
#: Block length of the two-level scan (sequential steps: SCAN_BLOCK + T / SCAN_BLOCK).
SCAN_BLOCK = 32
#: Volatility processes of this module.
VOLS = ("garch", "gjr", "egarch")


def arch_backcast(resids: Any, vol: str = "garch") -> float:
    """arch's backcast value from residuals (numpy or torch, 1-d).

    Parameters
    ----------
    resids
        Residuals at the mean model's starting values: ``r - r.mean()`` for a constant mean,
        ``r`` for a zero mean (that is what ``arch_model(...).fit()`` uses).
    vol
        ``"garch"``/``"gjr"`` (a variance) or ``"egarch"`` (the log of it).

    Returns
    -------
    float
        ``sum_k w_k e_k^2`` with ``w_k = 0.94^k / sum_j 0.94^j`` over ``k < min(75, T)``.
    """
    e = np.asarray(resids.detach().cpu() if isinstance(resids, torch.Tensor) else resids,
                   dtype=np.float64).ravel()
    if e.size == 0:
        raise DataValidationError("min-obs", "backcast needs at least one residual")
    tau = min(BACKCAST_TAU, e.shape[0])
    w = BACKCAST_DECAY ** np.arange(tau)
    w = w / sum(w)  # arch normalises with Python's sum; same rounding
    bc = float(np.sum((e[:tau] ** 2.0) * w))
    if vol == "egarch":
        return float(np.log(bc))
    if vol not in VOLS:
        raise ConfigError(f"unknown vol {vol!r}; choose one of {VOLS}")
    return bc


# ---------------------------------------------------------------- the linear recurrence


def _blocked_scan(c: torch.Tensor, b: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:
    """``s_t = c_t + b_t s_{t-1}`` along dim 1 of (B, T, D) tensors, ``s_{-1} = s0`` (B, D).

    Blocks of length ``SCAN_BLOCK``: a zero-start scan inside every block (all blocks at once),
    the cumulative products of ``b`` inside each block, one sequential pass over the block ends
    for the carries, and a vectorised correction. No division, so no overflow for small ``b``.
    """
    batch, length, dim = c.shape
    if length == 0:
        return c.clone()
    # A fixed block length (not ~sqrt(T)) makes the result on a prefix of the sample
    # bit-identical whatever follows it: filters give the same numbers on any horizon.
    size = min(SCAN_BLOCK, length)
    nblk = -(-length // size)
    pad = nblk * size - length
    if pad:
        # Padding with c = 0, b = 1 keeps the state constant; the padded tail is dropped.
        c = torch.cat([c, c.new_zeros(batch, pad, dim)], dim=1)
        b = torch.cat([b, b.new_ones(batch, pad, dim)], dim=1)
    c4 = c.reshape(batch, nblk, size, dim)
    b4 = b.reshape(batch, nblk, size, dim)
    local = torch.empty_like(c4)
    prev = c4[:, :, 0]
    local[:, :, 0] = prev
    for k in range(1, size):
        prev = torch.addcmul(c4[:, :, k], b4[:, :, k], prev)
        local[:, :, k] = prev
    prods = torch.cumprod(b4, dim=2)
    ends = local[:, :, -1]
    pend = prods[:, :, -1]
    starts = torch.empty(batch, nblk, dim, dtype=c.dtype, device=c.device)
    prev = s0
    for j in range(nblk):
        starts[:, j] = prev
        prev = torch.addcmul(ends[:, j], pend[:, j], prev)
    out = torch.addcmul(local, prods, starts.unsqueeze(2))
    return out.reshape(batch, nblk * size, dim)[:, :length]


class LinearRecurrence(torch.autograd.Function):
    """``s_t = c_t + b_t s_{t-1}``, ``s_{-1} = s0``, with an analytical backward pass.

    Inputs ``c, b`` of shape (B, T, D) and ``s0`` of shape (B, D). The adjoint
    ``lam_t = g_t + b_{t+1} lam_{t+1}`` is the same recurrence run backward in time, and
    ``dL/dc_t = lam_t``, ``dL/db_t = lam_t s_{t-1}``, ``dL/ds0 = b_0 lam_0``.
    """

    @staticmethod
    def forward(ctx, c: torch.Tensor, b: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out = _blocked_scan(c, b, s0)
        ctx.save_for_backward(b, s0, out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        b, s0, out = ctx.saved_tensors
        # Coefficient of lam_{t+1} in lam_t is b_{t+1}; reversing time makes it a forward scan.
        b_next = torch.cat([b[:, 1:], torch.zeros_like(b[:, :1])], dim=1)
        lam = _blocked_scan(
            grad.flip(1), b_next.flip(1), torch.zeros_like(s0)
        ).flip(1)
        prev = torch.cat([s0.unsqueeze(1), out[:, :-1]], dim=1)
        return lam, lam * prev, b[:, 0] * lam[:, 0]


def linear_recurrence(
    c: torch.Tensor, b: torch.Tensor, s0: torch.Tensor, *, method: str = "scan"
) -> torch.Tensor:
    """Solve ``s_t = c_t + b_t s_{t-1}`` along dim 1.

    Parameters
    ----------
    c, b
        Tensors of shape (B, T) or (B, T, D); ``b`` is broadcast to ``c``'s shape.
    s0
        State before the first step, shape (B,) or (B, D) (broadcastable).
    method
        ``"scan"`` (custom autograd function, blocked scan) or ``"loop"`` (plain autograd loop,
        the reference).

    Returns
    -------
    Tensor
        ``s`` with the shape of ``c``.
    """
    squeeze = c.dim() == 2
    c3 = c.unsqueeze(-1) if squeeze else c
    b3 = (b.unsqueeze(-1) if b.dim() == 2 and squeeze else b).expand_as(c3)
    s03 = s0.unsqueeze(-1) if squeeze and s0.dim() == 1 else s0
    s03 = s03.expand(c3.shape[0], c3.shape[2])
    if method == "scan":
        out = LinearRecurrence.apply(c3, b3.contiguous(), s03.contiguous())
    elif method == "loop":
        prev = s03
        steps = []
        for t in range(c3.shape[1]):
            prev = c3[:, t] + b3[:, t] * prev
            steps.append(prev)
        out = torch.stack(steps, dim=1) if steps else c3.clone()
    else:
        raise ConfigError(f"unknown method {method!r}; choose 'scan' or 'loop'")
    return out.squeeze(-1) if squeeze else out


# ---------------------------------------------------------------- GARCH / GJR


def _as_2d(x: Any, like: torch.Tensor) -> torch.Tensor:
    """A parameter (scalar, (T,) or (B, T)) broadcast to ``like``'s (B, T) shape."""
    t = torch.as_tensor(x, dtype=like.dtype, device=like.device)
    return t.expand_as(like) if t.dim() <= 2 else t


def _initial(
    eps2d: torch.Tensor, backcast: Any, prev_eps: Any, prev_sigma2: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(eps_{-1}^2, eps_{-1}^2 1[eps_{-1}<0], sigma2_{-1})``, each of shape (B,)."""
    batch = eps2d.shape[0]
    if prev_eps is not None or prev_sigma2 is not None:
        if prev_eps is None or prev_sigma2 is None:
            raise ConfigError("prev_eps and prev_sigma2 go together")
        pe = torch.as_tensor(prev_eps, dtype=eps2d.dtype, device=eps2d.device).expand(batch)
        ps = torch.as_tensor(prev_sigma2, dtype=eps2d.dtype, device=eps2d.device).expand(batch)
        e2 = pe.square()
        return e2, e2 * (pe < 0), ps
    if backcast is None:
        raise ConfigError("give a backcast (arch_backcast) or prev_eps and prev_sigma2")
    bc = torch.as_tensor(backcast, dtype=eps2d.dtype, device=eps2d.device).expand(batch)
    return bc, 0.5 * bc, bc


def garch_news(
    eps: torch.Tensor,
    *,
    backcast: Any = None,
    prev_eps: Any = None,
    prev_sigma2: Any = None,
    initial: tuple[Any, Any, Any] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The lagged news terms of the GARCH/GJR recursion.

    ``initial = (sq0, neg0, s0)`` gives the three first-step terms directly (per batch row),
    for batches that mix backcast starts and in-sample starts.

    Returns
    -------
    sq, neg, s0
        ``sq_t = eps_{t-1}^2`` and ``neg_t = eps_{t-1}^2 1[eps_{t-1} < 0]`` of ``eps``'s
        (B, T) shape, with arch's backcast convention at ``t = 0`` (or ``prev_eps``), and the
        variance before the first step ``s0`` of shape (B,).
    """
    e = eps if eps.dim() == 2 else eps.unsqueeze(0)
    if initial is not None:
        e2_0, neg_0, s0 = (
            torch.as_tensor(v, dtype=e.dtype, device=e.device).expand(e.shape[0])
            for v in initial
        )
    else:
        e2_0, neg_0, s0 = _initial(e, backcast, prev_eps, prev_sigma2)
    lag = e[:, :-1]
    sq = torch.cat([e2_0.unsqueeze(1), lag.square()], dim=1)
    neg = torch.cat([neg_0.unsqueeze(1), lag.square() * (lag < 0)], dim=1)
    return sq, neg, s0


def garch_variance(
    eps: torch.Tensor,
    omega: Any,
    alpha: Any,
    beta: Any,
    gamma: Any = None,
    *,
    backcast: Any = None,
    prev_eps: Any = None,
    prev_sigma2: Any = None,
    initial: tuple[Any, Any, Any] | None = None,
    method: str = "scan",
) -> torch.Tensor:
    """Conditional variances of GARCH(1,1) (``gamma=None``) or GJR-GARCH(1,1,1).

    Parameters
    ----------
    eps
        Residuals, shape (T,) or (B, T), float64.
    omega, alpha, beta, gamma
        Parameters: scalars, (T,) or (B, T) tensors (``theta_t`` produces ``sigma2_t``).
    backcast
        arch's backcast (:func:`arch_backcast`), a float or a (B,) tensor: used at ``t = 0``.
    prev_eps, prev_sigma2
        Alternatively the residual and variance just before the first step (windows that start
        inside a sample).
    initial
        Or the first-step terms ``(eps_{-1}^2, eps_{-1}^2 1[eps_{-1}<0], sigma2_{-1})``
        directly (see :func:`garch_news`).
    method
        ``"scan"`` (analytical backward, the default) or ``"loop"`` (plain autograd).

    Returns
    -------
    Tensor
        ``sigma2`` with the shape of ``eps``.
    """
    e = eps if eps.dim() == 2 else eps.unsqueeze(0)
    sq, neg, s0 = garch_news(e, backcast=backcast, prev_eps=prev_eps, prev_sigma2=prev_sigma2,
                             initial=initial)
    c = _as_2d(omega, e) + _as_2d(alpha, e) * sq
    if gamma is not None:
        c = c + _as_2d(gamma, e) * neg
    out = linear_recurrence(c, _as_2d(beta, e), s0, method=method)
    return out if eps.dim() == 2 else out.squeeze(0)


def egarch_variance(
    eps: torch.Tensor,
    omega: Any,
    alpha: Any,
    beta: Any,
    gamma: Any = None,
    *,
    backcast: Any = None,
    prev_eps: Any = None,
    prev_sigma2: Any = None,
) -> torch.Tensor:
    """Conditional variances of EGARCH(1,1) (``gamma=None``) or EGARCH(1,1,1), plain autograd.

    ``backcast`` is arch's EGARCH backcast, a *log* variance (``arch_backcast(e, "egarch")``);
    with ``prev_eps``/``prev_sigma2`` (a variance) the first step uses the observed news.
    """
    e = eps if eps.dim() == 2 else eps.unsqueeze(0)
    om, al, be = _as_2d(omega, e), _as_2d(alpha, e), _as_2d(beta, e)
    ga = _as_2d(gamma, e) if gamma is not None else None
    batch = e.shape[0]
    if prev_eps is not None:
        if prev_sigma2 is None:
            raise ConfigError("prev_eps and prev_sigma2 go together")
        ps = torch.as_tensor(prev_sigma2, dtype=e.dtype, device=e.device).expand(batch)
        pe = torch.as_tensor(prev_eps, dtype=e.dtype, device=e.device).expand(batch)
        lnprev = torch.log(ps)
        zprev: torch.Tensor | None = pe / torch.sqrt(ps)
    else:
        if backcast is None:
            raise ConfigError("give a backcast (log variance) or prev_eps and prev_sigma2")
        lnprev = torch.as_tensor(backcast, dtype=e.dtype, device=e.device).expand(batch)
        zprev = None
    steps = []
    for t in range(e.shape[1]):
        ln = om[:, t] + be[:, t] * lnprev
        if zprev is not None:
            ln = ln + al[:, t] * (zprev.abs() - SQRT2_OV_PI)
            if ga is not None:
                ln = ln + ga[:, t] * zprev
        s2 = torch.exp(ln)
        steps.append(s2)
        zprev = e[:, t] / torch.sqrt(s2)
        lnprev = ln
    out = torch.stack(steps, dim=1)
    return out if eps.dim() == 2 else out.squeeze(0)


# ---------------------------------------------------------------- the whole model


def _param(params: Any, *names: str) -> Any:
    for n in names:
        if n in params:
            return params[n]
    raise ConfigError(f"parameter {names[0]!r} missing (have {sorted(params)})")


def garch_loglik(
    returns: Any,
    params: Any,
    *,
    vol: str = "garch",
    dist: str = "normal",
    mean: str = "constant",
    backcast: Any = "arch",
    method: str = "scan",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-observation log-likelihood of a GARCH-family model, arch's conventions.

    Parameters
    ----------
    returns
        (T,) or (B, T) float64 tensor or array.
    params
        Mapping with ``mu`` (constant mean only), ``omega``, ``alpha``, ``beta``, ``gamma`` (GJR
        and asymmetric EGARCH), ``nu`` (t, skew-t) and ``lambda`` (skew-t); arch's names
        (``alpha[1]``, ``gamma[1]``, ``beta[1]``, ``eta``) are accepted too. Values are scalars or
        tensors broadcastable to the returns (time-varying parameters).
    vol
        ``"garch"``, ``"gjr"`` or ``"egarch"`` (``"egarch"`` is asymmetric when ``gamma`` is
        given).
    dist
        ``"normal"``, ``"t"`` or ``"skewt"``.
    mean
        ``"constant"`` or ``"zero"``.
    backcast
        ``"arch"`` (arch's default, from the residuals at the sample mean), a float (a
        variance: arch's user ``backcast``, log-transformed for EGARCH as arch does) or None
        with the same meaning as ``"arch"``.
    method
        GARCH/GJR recursion method, see :func:`garch_variance`.

    Returns
    -------
    loglik, sigma2, eps
        Tensors with the shape of ``returns``.
    """
    from hybridrisk.kernels.distributions import log_density, shape_names

    if isinstance(returns, torch.Tensor):
        r = returns.to(torch.float64)
    else:  # a copy: pandas may hand out read-only views
        r = torch.tensor(np.asarray(returns, dtype=np.float64))
    if mean == "constant":
        mu = torch.as_tensor(_param(params, "mu", "Const"), dtype=r.dtype, device=r.device)
        start_resid = r - r.mean(dim=-1, keepdim=True)
    elif mean == "zero":
        mu = torch.zeros((), dtype=r.dtype, device=r.device)
        start_resid = r
    else:
        raise ConfigError(f"unknown mean {mean!r}; choose 'constant' or 'zero'")
    eps = r - mu
    if backcast is None or (isinstance(backcast, str) and backcast == "arch"):
        rows = start_resid if r.dim() == 2 else start_resid.unsqueeze(0)
        bc = torch.tensor([arch_backcast(row, vol) for row in rows], dtype=r.dtype,
                          device=r.device)
        bc = bc if r.dim() == 2 else bc[0]
    else:
        value = float(backcast)
        if not value > 0:
            raise DataValidationError("positive", f"backcast must be a positive variance, got "
                                      f"{backcast!r}")
        bc = torch.as_tensor(math.log(value) if vol == "egarch" else value, dtype=r.dtype,
                             device=r.device)
    om = _param(params, "omega")
    al = _param(params, "alpha", "alpha[1]")
    be = _param(params, "beta", "beta[1]")
    ga = None
    if vol == "gjr" or (vol == "egarch" and ("gamma" in params or "gamma[1]" in params)):
        ga = _param(params, "gamma", "gamma[1]")
    if vol in ("garch", "gjr"):
        sigma2 = garch_variance(eps, om, al, be, ga, backcast=bc, method=method)
    elif vol == "egarch":
        sigma2 = egarch_variance(eps, om, al, be, ga, backcast=bc)
    else:
        raise ConfigError(f"unknown vol {vol!r}; choose one of {VOLS}")
    shape = {}
    for n in shape_names(dist):
        shape[n] = _param(params, n, "eta") if n == "nu" else _param(params, n)
    ll = log_density(dist, eps, sigma2, shape)
    return ll, sigma2, eps
