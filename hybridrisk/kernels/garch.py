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
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from hybridrisk.errors import ConfigError, DataValidationError, ParameterDomainError

__all__ = [
    "ARCH_NAMES",
    "GARCHSpec",
    "arch_names",
    "backcast_value",
    "ols_resid",
    "resolve_backcast",
    "VarianceUpdater",
    "expected_variance",
    "simulate_paths",
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

# ---------------------------------------------------------------- specification and names

MeanKind = Literal["constant", "zero"]
VolKind = Literal["garch", "egarch"]
DistKind = Literal["normal", "t", "skewt"]
_ARCH_MEAN = {"constant": "Constant", "zero": "Zero"}
_ARCH_VOL = {"garch": "GARCH", "egarch": "EGARCH"}
_DIST_TITLE = {"normal": "Normal", "t": "Standardized Student's t",
               "skewt": "Standardized Skew Student's t"}
#: A hybrid's plain parameter names (its head's) -> arch's names of the (1,1,1) model.
ARCH_NAMES = {"mu": "mu", "omega": "omega", "alpha": "alpha[1]", "gamma": "gamma[1]",
              "beta": "beta[1]", "nu": "nu", "lambda": "lambda"}


@dataclass(frozen=True)
class GARCHSpec:
    """A univariate GARCH specification: mean, volatility process, orders and distribution."""

    mean: MeanKind = "constant"
    vol: VolKind = "garch"
    p: int = 1
    o: int = 0
    q: int = 1
    dist: DistKind = "normal"

    def __post_init__(self) -> None:
        if self.mean not in _ARCH_MEAN:
            raise ConfigError(f"mean must be one of {sorted(_ARCH_MEAN)}, got {self.mean!r}")
        if self.vol not in _ARCH_VOL:
            raise ConfigError(f"vol must be one of {sorted(_ARCH_VOL)}, got {self.vol!r}")
        if self.dist not in _DIST_TITLE:
            raise ConfigError(f"dist must be one of {sorted(_DIST_TITLE)}, got {self.dist!r}")
        for k in ("p", "o", "q"):
            v = getattr(self, k)
            if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 0:
                raise ConfigError(f"{k} must be a non-negative integer, got {v!r}")
        if self.p == 0 and self.o == 0:
            raise ConfigError("one of p or o must be positive")

    @property
    def n_mean(self) -> int:
        return 1 if self.mean == "constant" else 0

    @property
    def n_vol(self) -> int:
        return 1 + self.p + self.o + self.q

    @property
    def n_dist(self) -> int:
        return {"normal": 0, "t": 1, "skewt": 2}[self.dist]

    @property
    def n_params(self) -> int:
        return self.n_mean + self.n_vol + self.n_dist

    def param_names(self) -> list[str]:
        """Parameter names in arch's order and spelling."""
        names = ["mu"] if self.mean == "constant" else []
        names.append("omega")
        names += [f"alpha[{i + 1}]" for i in range(self.p)]
        names += [f"gamma[{i + 1}]" for i in range(self.o)]
        names += [f"beta[{i + 1}]" for i in range(self.q)]
        names += {"normal": [], "t": ["nu"], "skewt": ["eta", "lambda"]}[self.dist]
        return names

    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split a parameter vector into its mean, volatility and distribution parts."""
        a, b = self.n_mean, self.n_mean + self.n_vol
        return params[:a], params[a:b], params[b:]

    @property
    def vol_name(self) -> str:
        if self.vol == "egarch":
            return "EGARCH"
        if self.q == 0:
            return "ARCH" if self.o == 0 else "GJR-ARCH"
        return "GARCH" if self.o == 0 else "GJR-GARCH"

    def describe(self) -> str:
        """Short label such as ``GJR-GARCH(1,1,1)-t``."""
        return f"{self.vol_name}({self.p},{self.o},{self.q})-{self.dist}"

    def arch_model(self, y: Any) -> Any:
        """The matching (unfitted) :func:`arch.arch_model`."""
        from arch import arch_model

        return arch_model(
            y, mean=_ARCH_MEAN[self.mean], vol=_ARCH_VOL[self.vol], p=self.p, o=self.o,
            q=self.q, dist=self.dist,
        )


def arch_names(vol: str, dist: str, mean: str = "constant") -> dict[str, str]:
    """Plain names of a (GJR-)GARCH(1,1) model's parameters -> arch's names, in arch's order.

    The shape parameter ``nu`` is arch's ``nu`` for the t and ``eta`` for the skew t.
    """
    names = ["mu"] if mean == "constant" else []
    names += ["omega", "alpha"] + (["gamma"] if vol == "gjr" else []) + ["beta"]
    names += {"normal": [], "t": ["nu"], "skewt": ["nu", "lambda"]}[dist]
    out = {n: ARCH_NAMES[n] for n in names}
    if dist == "skewt":
        out["nu"] = "eta"
    return out


# ---------------------------------------------------------------- backcast rules


def ols_resid(mean: str, y: np.ndarray) -> np.ndarray:
    """Residuals at arch's starting values: demeaned for a constant mean, raw for zero mean."""
    return y - y.mean() if mean == "constant" else y.copy()


def resolve_backcast(mean: str, y: np.ndarray, backcast: Any) -> tuple[str, float | None]:
    """A user's ``backcast`` -> ``(mode, value)``.

    ``None`` or ``"arch"``: arch's rule (:func:`arch_backcast` of :func:`ols_resid`);
    ``"sample-variance"``: the mean squared residual at the current ``mu`` (value ``None``:
    it moves with ``mu``; the FCP/TSP benchmark convention); a positive float: that value.
    """
    if backcast is None or (isinstance(backcast, str) and backcast == "arch"):
        return "arch", arch_backcast(ols_resid(mean, y))
    if isinstance(backcast, str):
        if backcast != "sample-variance":
            raise ConfigError(
                f"backcast must be None, 'arch', 'sample-variance' or a positive float, got "
                f"{backcast!r}")
        return "sample-variance", None
    v = float(backcast)
    if not (math.isfinite(v) and v > 0):
        raise ParameterDomainError("backcast", backcast, "0 < backcast < inf")
    return "fixed", v


def backcast_value(mean: str, y: np.ndarray, backcast: Any, mu: float = 0.0) -> float:
    """The pre-sample variance under a backcast rule at mean ``mu`` (see
    :func:`resolve_backcast`)."""
    mode, value = resolve_backcast(mean, y, backcast)
    if mode == "sample-variance":
        return float(np.mean((y - (mu if mean == "constant" else 0.0)) ** 2))
    return float(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------- forecasts and simulation

#: arch's EGARCH overflow guard on the log variance.
LNSIGMA_MAX = float(np.log(np.finfo(np.double).max) - 0.1)


class VarianceUpdater:
    """Steps the variance recursion forward for many paths at once.

    Parameters
    ----------
    spec, params
        The model and its parameters.
    e_hist, h_hist
        In-sample residuals and variances; their last values are the starting state.
    n_paths
        Number of paths stepped in parallel.
    """

    def __init__(
        self, spec: GARCHSpec, params: np.ndarray, e_hist: np.ndarray, h_hist: np.ndarray,
        n_paths: int,
    ) -> None:
        self.spec = spec
        _, self.vp, _ = spec.split(np.asarray(params, dtype=float))
        self.m = max(spec.p, spec.o, 1)
        self.q = spec.q
        e_last = np.asarray(e_hist[-self.m:], dtype=float)
        h_last = np.asarray(h_hist[-max(self.q, self.m):], dtype=float)
        if spec.vol == "egarch":
            z = e_last / np.sqrt(h_hist[-self.m:])
            self.lag_e = np.tile(z, (n_paths, 1))  # standardized residuals
            self.lag_h = np.tile(np.log(h_last[-self.q:]) if self.q else np.empty(0),
                                 (n_paths, 1))
        else:
            self.lag_e = np.tile(e_last, (n_paths, 1))
            self.lag_h = np.tile(h_last[-self.q:] if self.q else np.empty(0), (n_paths, 1))

    def next_variance(self) -> np.ndarray:
        """Conditional variance of the next step, one value per path."""
        spec, vp, p, o, q = self.spec, self.vp, self.spec.p, self.spec.o, self.q
        le, lh = self.lag_e, self.lag_h
        s = np.full(le.shape[0], vp[0])
        if spec.vol == "egarch":
            for i in range(p):
                s = s + vp[1 + i] * (np.abs(le[:, -1 - i]) - SQRT2_OV_PI)
            for j in range(o):
                s = s + vp[1 + p + j] * le[:, -1 - j]
            for k in range(q):
                s = s + vp[1 + p + o + k] * lh[:, -1 - k]
            return np.exp(np.minimum(s, LNSIGMA_MAX))
        for i in range(p):
            s = s + vp[1 + i] * le[:, -1 - i] ** 2
        for j in range(o):
            s = s + vp[1 + p + j] * le[:, -1 - j] ** 2 * (le[:, -1 - j] < 0)
        for k in range(q):
            s = s + vp[1 + p + o + k] * lh[:, -1 - k]
        return s

    def push(self, e: np.ndarray, h: np.ndarray) -> None:
        """Record the residuals ``e`` realised with variances ``h``."""
        if self.spec.vol == "egarch":
            new_e, new_h = e / np.sqrt(h), np.log(h)
        else:
            new_e, new_h = e, h
        self.lag_e = np.column_stack([self.lag_e[:, 1:], new_e])
        if self.q:
            self.lag_h = np.column_stack([self.lag_h[:, 1:], new_h])


def expected_variance(params: dict[str, float], first: float, horizon: int) -> np.ndarray:
    """GARCH/GJR variance forecasts ``1..horizon`` in expectation from the one-step ``first``.

    ``sigma2_{h+1} = omega + (alpha + gamma/2 + beta) sigma2_h`` (arch's analytic forecast,
    ``E[eps^2 1[eps<0]] = sigma2 / 2``); ``params`` by plain name (``gamma`` optional).
    """
    persist = params["alpha"] + params["beta"] + 0.5 * params.get("gamma", 0.0)
    out = np.empty(int(horizon))
    out[0] = first
    for h in range(1, int(horizon)):
        out[h] = params["omega"] + persist * out[h - 1]
    return out


def simulate_paths(
    spec: GARCHSpec, params: np.ndarray, e_hist: np.ndarray, h_hist: np.ndarray,
    n_paths: int, horizon: int, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Return and variance paths (n_paths, horizon) continuing a filtered sample.

    Innovations are drawn with :func:`~hybridrisk.kernels.distributions.std_dist_rvs` from
    ``rng``; the first step's variance is the one-step forecast from the last residual and
    variance of ``e_hist``/``h_hist``.
    """
    from hybridrisk.kernels.distributions import std_dist_rvs

    mp, _, dp = spec.split(np.asarray(params, dtype=float))
    mu = float(mp[0]) if spec.n_mean else 0.0
    upd = VarianceUpdater(spec, params, e_hist, h_hist, n_paths)
    z = std_dist_rvs(spec.dist, dp, (n_paths, horizon), rng)
    rets = np.empty((n_paths, horizon))
    var = np.empty((n_paths, horizon))
    for k in range(horizon):
        hk = upd.next_variance()
        ek = np.sqrt(hk) * z[:, k]
        upd.push(ek, hk)
        var[:, k] = hk
        rets[:, k] = mu + ek
    return rets, var
