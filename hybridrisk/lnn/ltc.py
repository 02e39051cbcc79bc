"""Liquid time-constant (LTC) network of Hasani et al. (2021), with a fused, memory-lean solver.

The cell follows the biophysical form of the paper ("Liquid Time-constant Networks", AAAI 2021,
Eq. 1 and its fused solver, Eq. 3). Each of the ``U`` neurons ``j`` has a membrane capacitance
``cm_j > 0``, a leak conductance ``gleak_j > 0`` and a leak potential ``vleak_j``. A synapse from
neuron ``i`` (or from mapped input ``i``) to neuron ``j`` has the conductance

    w_ij * sigmoid(sigma_ij * (v_i - mu_ij)),      w_ij > 0,

and the reversal potential ``E_ij``. One observation step of length ``dt`` is split into ``unfolds``
semi-implicit Euler sub-steps, each

    v_j <- (cm_t_j v_j + gleak_j vleak_j + sum_i act_ij E_ij)
           / (cm_t_j + gleak_j + sum_i act_ij + epsilon),          cm_t = cm / (dt / unfolds),

where ``act`` sums the recurrent synapses (re-evaluated at every sub-step) and the sensory synapses
(evaluated once per step from the mapped input ``u = x * input_w + input_b``). The output is the
state path, mapped by ``v * output_w + output_b`` when ``output_mapping`` is set.

``w``, ``sensory_w``, ``cm`` and ``gleak`` are the softplus of free parameters, so they stay
positive without clipping; at initialisation their values (not the free parameters) are drawn
uniformly from the ranges of the paper's reference code (``ncps``): gleak in [0.001, 1],
vleak in [-0.2, 0.2], cm in [0.4, 0.6], w and sensory_w in [0.001, 1], sigma and sensory_sigma in
[3, 8], mu and sensory_mu in [0.3, 0.8]; reversal potentials are +1 or -1 with probability 2/3 and
1/3, as ``ncps.wirings.FullyConnected`` draws them.

Two implementations of the same equations are offered. ``"fused"`` (the default) runs the whole
sequence inside one :class:`torch.autograd.Function`: the forward pass keeps only the state and
the denominator of every sub-step (batch x units numbers each) and the backward pass recomputes
the batch x units x units synapse activations sub-step by sub-step, with hand-derived gradients
of the semi-implicit update with respect to the state, every parameter, the input and the time
gaps. The sensory synapse sums of all steps are computed the same way (one chunked Function,
recomputed in the backward pass). Memory therefore grows like length x unfolds x batch x units
instead of length x unfolds x batch x units^2 for plain autograd. ``"reference"`` is the
plain-autograd transcription (what ``ncps`` does) used to test it; both agree to rounding
(about 1e-15 relative in float64). The sub-step loops of the fused solver run compiled where a
C++ compiler is available (:mod:`hybridrisk.lnn._cfc_ext`, bit-for-bit the same results), else
in Python.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from hybridrisk.errors import ConfigError
from hybridrisk.lnn._cfc_ext import use_loops
from hybridrisk.lnn.base import Encoder, check_encoder_input, time_deltas

__all__ = ["LTC", "ltc_fused", "ltc_reference"]

_INIT_RANGES = {
    "gleak": (0.001, 1.0),
    "vleak": (-0.2, 0.2),
    "cm": (0.4, 0.6),
    "w": (0.001, 1.0),
    "sigma": (3.0, 8.0),
    "mu": (0.3, 0.8),
}
_MAPPINGS = ("affine", "linear", None)


def _softplus_inverse(y: torch.Tensor) -> torch.Tensor:
    """Inverse of ``softplus`` for ``y > 0``: ``log(exp(y) - 1)``, written to be stable."""
    return y + torch.log(-torch.expm1(-y))


# Sensory synapses are evaluated for at most this many (source, target, sample) triples at once:
# small buffers are reused by the allocator instead of being mapped afresh on every call.
_CHUNK_ELEMENTS = 1 << 19


class _SynapseSums(torch.autograd.Function):
    """Synapse sums of many independent presynaptic vectors, with an analytical backward.

    For rows ``u_n`` (n = 1..N) and ``s_nij = sigmoid(sigma_ij u_ni + c_ij)`` it returns
    ``num_nj = sum_i s_nij we_ij`` and ``den_nj = sum_i s_nij w_ij``. The (i, j, n) synapse tensor
    is built in chunks of n and recomputed in the backward pass instead of being stored.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        u: torch.Tensor,
        sigma: torch.Tensor,
        c: torch.Tensor,
        w: torch.Tensor,
        we: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n_rows = u.shape[0]
        n_in, n_out = sigma.shape
        chunk = max(1, min(n_rows, _CHUNK_ELEMENTS // (n_in * n_out)))
        u_t = u.t()
        sig3 = sigma.unsqueeze(-1)
        c_full = c.unsqueeze(-1).expand(n_in, n_out, chunk).contiguous()
        w2t = torch.stack([we.t(), w.t()], dim=1).contiguous()
        out = u.new_empty(n_out, 2, n_rows)
        syn = u.new_empty(n_in, n_out, chunk)
        for a in range(0, n_rows, chunk):
            b = min(a + chunk, n_rows)
            s = syn[:, :, : b - a]
            torch.addcmul(c_full[:, :, : b - a], sig3, u_t[:, None, a:b], out=s)
            s.sigmoid_()
            out[:, :, a:b] = torch.bmm(w2t, s.transpose(0, 1))
        ctx.save_for_backward(u, sigma, c_full, w, we)
        return out[:, 0].t(), out[:, 1].t()

    @staticmethod
    @once_differentiable
    def backward(ctx, g_num: torch.Tensor, g_den: torch.Tensor):  # type: ignore[override]
        u, sigma, c_full, w, we = ctx.saved_tensors
        n_rows = u.shape[0]
        n_in, n_out, chunk = c_full.shape
        sig3 = sigma.unsqueeze(-1)
        sig_row = sigma.unsqueeze(1)
        q2 = torch.stack([g_num.t(), g_den.t()], dim=1)  # (j, 2, n)
        # Rows (u_n, 1): one matrix product gives the sigma and c gradients together.
        u2 = torch.stack([u.t(), torch.ones_like(u.t())], dim=1)  # (i, 2, n)
        acc_w = u.new_zeros(n_out, 2, n_in)  # [j, 0, i]: d/d(we)_ij, [j, 1, i]: d/dw_ij
        acc_s = u.new_zeros(n_in, 2, n_out)  # [i, 0, j]: d/dsigma_ij, [i, 1, j]: d/dc_ij
        du = u.new_empty(n_in, 1, n_rows)
        syn = u.new_empty(n_in, n_out, chunk)
        r = u.new_empty(n_in, n_out, chunk)
        for a in range(0, n_rows, chunk):
            b = min(a + chunk, n_rows)
            s, rr = syn[:, :, : b - a], r[:, :, : b - a]
            torch.addcmul(c_full[:, :, : b - a], sig3, u2[:, None, 0, a:b], out=s)
            s.sigmoid_()
            acc_w.baddbmm_(q2[:, :, a:b], s.permute(1, 2, 0))
            torch.mul(we.unsqueeze(-1), q2[None, :, 0, a:b], out=rr)
            rr.addcmul_(w.unsqueeze(-1), q2[None, :, 1, a:b])
            torch.ops.aten.sigmoid_backward.grad_input(rr, s, grad_input=rr)
            acc_s.baddbmm_(u2[:, :, a:b], rr.transpose(1, 2))
            du[:, :, a:b] = torch.bmm(sig_row, rr)
        return du[:, 0].t(), acc_s[:, 0], acc_s[:, 1], acc_w[:, 1].t(), acc_w[:, 0].t()


class _LTCFused(torch.autograd.Function):
    """Semi-implicit LTC solver over a whole sequence with an analytical backward pass.

    Internally the state is kept transposed as (units, 1, batch) and the synapse tensor is laid
    out (source i, target j, batch b), so that every reduction in both passes is one batched
    matrix product with a unit stride (no copies) and the state broadcasts against it as is.
    Sub-step ``n = t * unfolds + k`` is sub-step ``k`` of step ``t``; state ``n`` is the state
    before sub-step ``n``.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        v0: torch.Tensor,
        cmt: torch.Tensor,
        num0: torch.Tensor,
        den0: torch.Tensor,
        w: torch.Tensor,
        erev: torch.Tensor,
        sigma: torch.Tensor,
        c: torch.Tensor,
        unfolds: int,
    ) -> torch.Tensor:
        batch, length, units = cmt.shape
        n_sub = length * unfolds

        def steps(a: torch.Tensor) -> torch.Tensor:  # (b, t, u) -> (t, u, 1, b)
            return a.permute(1, 2, 0).unsqueeze(2).contiguous()

        cmt_t, num0_t, den0_t = steps(cmt), steps(num0), steps(den0)
        vs = cmt.new_empty(n_sub + 1, units, 1, batch)
        vs[0, :, 0] = v0.t()
        dens = cmt.new_empty(n_sub, units, 1, batch)
        # Broadcasting c inside addcmul is several times slower than reading it expanded.
        c_full = c.unsqueeze(-1).expand(units, units, batch).contiguous()
        sig3 = sigma.unsqueeze(-1)
        # Rows of w2t[j]: (w E)[:, j] and w[:, j]: one batched product gives both synapse sums.
        w2t = torch.stack([(w * erev).t(), w.t()], dim=1).contiguous()
        syn = cmt.new_empty(units, units, batch)
        nd = cmt.new_empty(units, 2, batch)  # numerator and denominator of the current sub-step
        loops = use_loops(cmt)
        if loops is not None:  # the same operations, compiled (csrc/lnn_loops.cpp)
            loops.ltc_forward_loop(vs, dens, cmt_t, num0_t, den0_t, c_full, sig3, w2t, syn, nd,
                                   unfolds)
        else:
            syn_t = syn.transpose(0, 1)
            num, den = nd[:, 0:1], nd[:, 1:2]
            n = 0
            for t in range(length):
                cmt_step, num0_step, den0_step = cmt_t[t], num0_t[t], den0_t[t]
                for _ in range(unfolds):
                    v = vs[n]
                    torch.addcmul(c_full, sig3, v, out=syn)
                    syn.sigmoid_()
                    torch.addcmul(num0_step, cmt_step, v, out=num)
                    den.copy_(den0_step)
                    nd.baddbmm_(w2t, syn_t)
                    dens[n].copy_(den)
                    torch.div(num, den, out=vs[n + 1])
                    n += 1
        ctx.save_for_backward(vs, dens, cmt_t, w, erev, sigma, c_full)
        ctx.unfolds = unfolds
        return vs[unfolds::unfolds, :, 0].permute(2, 0, 1).contiguous()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        vs, dens, cmt_t, w, erev, sigma, c_full = ctx.saved_tensors
        unfolds = ctx.unfolds
        n_sub, units, _, batch = dens.shape
        length = n_sub // unfolds
        g_all = grad_out.permute(1, 2, 0).unsqueeze(2)
        sig3 = sigma.unsqueeze(-1)
        e3 = erev.unsqueeze(-1)
        # With s' = s (1 - s), dL/dz_ijb = w_ij dz_ijb where dz_ijb = s'_ijb (E_ij q_jb - p_jb):
        # w is folded into the reductions of dz, which saves one pass over the synapse tensor.
        sigw_row = (sigma * w).unsqueeze(1)
        # q = dL/d(numerator), p = -dL/d(denominator) = q * v_next; the buffer holds (q, -p).
        qp = vs.new_empty(units, 2, batch)
        # (q, -p) of the sub-steps of the current step, summed per step into the gradients of
        # num0, den0 and cmt (a buffer per step, not per sub-step: less memory, no big tail).
        qps = vs.new_empty(unfolds, units, 2, batch)
        qv = vs.new_empty(unfolds, units, 1, batch)
        d_nd = vs.new_empty(length, units, 2, batch)
        d_cmt = vs.new_empty(length, units, 1, batch)
        zero = vs.new_zeros(units, 1, batch)
        acc_w = vs.new_zeros(units, 2, units)  # [j, 0, i]: d/d(w E)_ij, [j, 1, i]: -d/dw_ij
        acc_s = vs.new_zeros(units, 2, units)  # [i, :, j]: sums of v_bi dz_ijb and of dz_ijb
        syn = vs.new_empty(units, units, batch)
        dz = vs.new_empty(units, units, batch)
        dv = vs.new_empty(units, 1, batch)
        # Rows (v, 1) of the current sub-step: one product gives the sigma and c gradients.
        v1 = vs.new_ones(units, 2, batch)
        g = vs.new_zeros(units, 1, batch)
        loops = use_loops(vs, grad_out)
        if loops is not None:  # the same operations, compiled (csrc/lnn_loops.cpp)
            g = loops.ltc_backward_loop(vs, dens, cmt_t, g_all, c_full, sig3, e3, sigw_row, qp,
                                        qps, qv, d_nd, d_cmt, zero, acc_w, acc_s, syn, dz, dv,
                                        v1, g, unfolds)
        else:
            g = _LTCFused._backward_loop(vs, dens, cmt_t, g_all, c_full, sig3, e3, sigw_row, qp,
                                         qps, qv, d_nd, d_cmt, zero, acc_w, acc_s, syn, dz, dv,
                                         v1, g, unfolds)
        d_num0, d_den0, d_cmt = d_nd[:, :, 0], d_nd[:, :, 1], d_cmt[:, :, 0]
        d_we = acc_w[:, 0].t()
        d_w = acc_w[:, 1].t() + erev * d_we

        def back(a: torch.Tensor) -> torch.Tensor:
            return a.permute(2, 0, 1)

        return (
            g[:, 0].t(),
            back(d_cmt),
            back(d_num0),
            back(d_den0),
            d_w,
            w * d_we,
            w * acc_s[:, 0],
            w * acc_s[:, 1],
            None,
        )

    @staticmethod
    def _backward_loop(vs: torch.Tensor, dens: torch.Tensor, cmt_t: torch.Tensor,
                       g_all: torch.Tensor, c_full: torch.Tensor, sig3: torch.Tensor,
                       e3: torch.Tensor, sigw_row: torch.Tensor, qp: torch.Tensor,
                       qps: torch.Tensor, qv: torch.Tensor, d_nd: torch.Tensor,
                       d_cmt: torch.Tensor, zero: torch.Tensor, acc_w: torch.Tensor,
                       acc_s: torch.Tensor, syn: torch.Tensor, dz: torch.Tensor,
                       dv: torch.Tensor, v1: torch.Tensor, g: torch.Tensor,
                       unfolds: int) -> torch.Tensor:
        """The sub-step loop of the backward pass, in Python (``ltc_backward_loop`` compiled):
        fills ``d_nd``, ``d_cmt``, ``acc_w`` and ``acc_s`` and returns the gradient of the
        initial state."""
        n_sub, units = dens.shape[0], dens.shape[1]
        length = n_sub // unfolds
        q, p_neg = qp[:, 0:1], qp[:, 1:2]
        q_row, p_neg_row = qp[:, 0].unsqueeze(0), qp[:, 1].unsqueeze(0).expand(units, -1, -1)
        syn_p = syn.permute(1, 2, 0)
        dz_t = dz.transpose(1, 2)
        v1_v = v1[:, 0:1]
        n = n_sub
        for t in range(length - 1, -1, -1):
            g = g + g_all[t]
            cmt_step = cmt_t[t]
            for k in range(unfolds - 1, -1, -1):
                n -= 1
                v = vs[n]
                torch.div(g, dens[n], out=q)
                torch.addcmul(zero, q, vs[n + 1], value=-1.0, out=p_neg)
                qps[k].copy_(qp)
                # Recompute the synapse activations s of this sub-step.
                torch.addcmul(c_full, sig3, v, out=syn)
                syn.sigmoid_()
                acc_w.baddbmm_(qp, syn_p)
                torch.addcmul(p_neg_row, e3, q_row, out=dz)
                torch.ops.aten.sigmoid_backward.grad_input(dz, syn, grad_input=dz)
                v1_v.copy_(v)
                acc_s.baddbmm_(v1, dz_t)
                torch.bmm(sigw_row, dz, out=dv)
                g = torch.addcmul(dv, q, cmt_step)
            torch.sum(qps, 0, out=d_nd[t])
            torch.mul(qps[:, :, 0:1], vs[n: n + unfolds], out=qv)
            torch.sum(qv, 0, out=d_cmt[t])
        return g


def ltc_fused(
    v0: torch.Tensor,
    cmt: torch.Tensor,
    num0: torch.Tensor,
    den0: torch.Tensor,
    w: torch.Tensor,
    erev: torch.Tensor,
    sigma: torch.Tensor,
    c: torch.Tensor,
    unfolds: int,
) -> torch.Tensor:
    """Run the semi-implicit LTC solver over a sequence (fused, memory-lean backward).

    Every sub-step ``k`` of step ``t`` computes, with ``s_bij = sigmoid(sigma_ij v_bi + c_ij)``,

        v_bj <- (cmt_btj v_bj + num0_btj + sum_i s_bij w_ij E_ij)
                / (den0_btj + sum_i s_bij w_ij).

    Parameters
    ----------
    v0
        Initial state, (batch, units).
    cmt
        ``cm / (dt / unfolds)`` per sample, step and neuron, (batch, length, units).
    num0, den0
        The state-independent parts of numerator and denominator, (batch, length, units):
        ``gleak * vleak + sensory numerator`` and ``cmt + gleak + sensory denominator + eps``.
    w, erev
        Recurrent synapse weights ``w_ij > 0`` and reversal potentials ``E_ij``, (units, units),
        source first.
    sigma, c
        Slopes and offsets of the synapse sigmoids, ``c = -sigma * mu``, (units, units).
    unfolds
        Number of sub-steps per observation step.

    Returns
    -------
    torch.Tensor
        The state after each step, (batch, length, units).
    """
    return _LTCFused.apply(v0, cmt, num0, den0, w, erev, sigma, c, int(unfolds))


def ltc_reference(
    v0: torch.Tensor,
    cmt: torch.Tensor,
    num0: torch.Tensor,
    den0: torch.Tensor,
    w: torch.Tensor,
    erev: torch.Tensor,
    sigma: torch.Tensor,
    c: torch.Tensor,
    unfolds: int,
) -> torch.Tensor:
    """Plain-autograd transcription of :func:`ltc_fused` (same arguments and result).

    It keeps a (batch, units, units) synapse tensor per sub-step for autograd, as ``ncps`` does,
    and exists to test the fused solver against.
    """
    v = v0
    we = w * erev
    out = []
    for t in range(cmt.shape[1]):
        for _ in range(unfolds):
            s = torch.sigmoid(sigma * v.unsqueeze(-1) + c)  # (batch, source i, target j)
            num = cmt[:, t] * v + num0[:, t] + (s * we).sum(1)
            den = den0[:, t] + (s * w).sum(1)
            v = num / den
        out.append(v)
    return torch.stack(out, dim=1)


class LTC(Encoder):
    """Liquid time-constant network (Hasani et al. 2021), fully connected, batch first.

    Parameters
    ----------
    input_size
        Number of input features.
    hidden_size
        Number of neurons (units).
    unfolds
        Semi-implicit Euler sub-steps per observation step (the paper's and ``ncps``' default 6).
    input_mapping, output_mapping
        ``"affine"`` (``x * w + b``, default), ``"linear"`` (``x * w``) or ``None`` (identity),
        per feature, as in ``ncps``.
    epsilon
        Added to the denominator of every sub-step, as in ``ncps`` (the denominator is already
        positive by construction; this only guards against softplus underflow).
    implementation
        ``"fused"`` (default) or ``"reference"``, see the module docstring.
    device, dtype
        Where and in which floating type to create the parameters.

    Notes
    -----
    Call as ``ltc(x, times=None, h0=None)`` with ``x`` of shape (batch, length, input_size) and
    ``times`` of shape (batch, length); the result has shape (batch, length, hidden_size). Each
    sample uses its own time gaps (see :func:`hybridrisk.lnn.base.time_deltas`).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        unfolds: int = 6,
        *,
        input_mapping: str | None = "affine",
        output_mapping: str | None = "affine",
        epsilon: float = 1e-8,
        implementation: str = "fused",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("unfolds", unfolds)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name, value in (("input_mapping", input_mapping), ("output_mapping", output_mapping)):
            if value not in _MAPPINGS:
                raise ConfigError(f"{name} must be one of {_MAPPINGS}, got {value!r}")
        if implementation not in ("fused", "reference"):
            raise ConfigError(
                f"implementation must be 'fused' or 'reference', got {implementation!r}"
            )
        if not (epsilon >= 0.0 and math.isfinite(epsilon)):
            raise ConfigError(f"epsilon must be finite and non-negative, got {epsilon!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.unfolds = unfolds
        self.input_mapping = input_mapping
        self.output_mapping = output_mapping
        self.epsilon = float(epsilon)
        self.implementation = implementation
        kw = {"device": device, "dtype": dtype}
        n, m = input_size, hidden_size

        def par(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(*shape, **kw))

        self.gleak_raw = par(m)
        self.vleak = par(m)
        self.cm_raw = par(m)
        self.w_raw = par(m, m)
        self.sigma = par(m, m)
        self.mu = par(m, m)
        self.erev = par(m, m)
        self.sensory_w_raw = par(n, m)
        self.sensory_sigma = par(n, m)
        self.sensory_mu = par(n, m)
        self.sensory_erev = par(n, m)
        self.input_w = par(n) if input_mapping is not None else None
        self.input_b = par(n) if input_mapping == "affine" else None
        self.output_w = par(m) if output_mapping is not None else None
        self.output_b = par(m) if output_mapping == "affine" else None
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Draw the parameters from the initial ranges given in the module docstring."""

        def uniform(p: torch.Tensor, key: str) -> torch.Tensor:
            lo, hi = _INIT_RANGES[key]
            return p.uniform_(lo, hi)

        self.gleak_raw.copy_(_softplus_inverse(uniform(self.gleak_raw, "gleak")))
        uniform(self.vleak, "vleak")
        self.cm_raw.copy_(_softplus_inverse(uniform(self.cm_raw, "cm")))
        self.w_raw.copy_(_softplus_inverse(uniform(self.w_raw, "w")))
        self.sensory_w_raw.copy_(_softplus_inverse(uniform(self.sensory_w_raw, "w")))
        for p in (self.sigma, self.sensory_sigma):
            uniform(p, "sigma")
        for p in (self.mu, self.sensory_mu):
            uniform(p, "mu")
        for p in (self.erev, self.sensory_erev):
            # Excitatory (+1) with probability 2/3, inhibitory (-1) with 1/3, like ncps.
            p.copy_(torch.where(torch.rand_like(p) < 1.0 / 3.0, -1.0, 1.0))
        for p in (self.input_w, self.output_w):
            if p is not None:
                p.fill_(1.0)
        for p in (self.input_b, self.output_b):
            if p is not None:
                p.zero_()

    @property
    def gleak(self) -> torch.Tensor:
        """Leak conductances, positive, (hidden_size,)."""
        return F.softplus(self.gleak_raw)

    @property
    def cm(self) -> torch.Tensor:
        """Membrane capacitances, positive, (hidden_size,)."""
        return F.softplus(self.cm_raw)

    @property
    def w(self) -> torch.Tensor:
        """Recurrent synapse weights ``w[i, j]`` from neuron i to j, positive."""
        return F.softplus(self.w_raw)

    @property
    def sensory_w(self) -> torch.Tensor:
        """Sensory synapse weights ``sensory_w[i, j]`` from input i to neuron j, positive."""
        return F.softplus(self.sensory_w_raw)

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, unfolds={self.unfolds}, "
            f"input_mapping={self.input_mapping!r}, output_mapping={self.output_mapping!r}, "
            f"implementation={self.implementation!r}"
        )

    def forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor | None = None,
        h0: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run the network over ``x`` (batch, length, input_size); see the class notes."""
        check_encoder_input(x, self.input_size)
        dt = time_deltas(times, x)
        v0 = self.initial_state(x, h0)
        u = x
        if self.input_w is not None:
            u = u * self.input_w
        if self.input_b is not None:
            u = u + self.input_b
        # Sensory synapses depend on the input only: evaluated once per step, for all steps at once.
        sens_sigma, sens_c = self.sensory_sigma, -self.sensory_sigma * self.sensory_mu
        sens_w = self.sensory_w
        sens_we = sens_w * self.sensory_erev
        u_rows = u.reshape(-1, self.input_size)
        if self.implementation == "fused":
            sens_num, sens_den = _SynapseSums.apply(u_rows, sens_sigma, sens_c, sens_w, sens_we)
        else:
            s_act = torch.sigmoid(sens_sigma * u_rows.unsqueeze(-1) + sens_c)
            sens_num, sens_den = (s_act * sens_we).sum(1), (s_act * sens_w).sum(1)
        sens_num = sens_num.view(*u.shape[:2], -1)
        sens_den = sens_den.view(*u.shape[:2], -1)
        gleak = self.gleak
        cmt = self.cm * (self.unfolds / dt).unsqueeze(-1)
        num0 = gleak * self.vleak + sens_num
        den0 = cmt + gleak + sens_den + self.epsilon
        solver = ltc_fused if self.implementation == "fused" else ltc_reference
        v = solver(v0, cmt, num0, den0, self.w, self.erev, self.sigma, -self.sigma * self.mu,
                   self.unfolds)
        if self.output_w is not None:
            v = v * self.output_w
        if self.output_b is not None:
            v = v + self.output_b
        return v
