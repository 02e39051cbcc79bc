"""Closed-form continuous-time (CfC) network of Hasani et al. (2022), with a fused backward pass.

The cell follows "Closed-form continuous-time neural networks" (Nature Machine Intelligence 4,
2022, Eq. 10) and its reference code (``ncps``). At step ``t`` with gap ``dt`` a backbone MLP reads
``z = [x_t, h_{t-1}]`` (``backbone_layers`` dense layers of ``backbone_units`` with an activation;
with 0 layers ``z`` is used as is) and four heads read its output ``y``:

    ff1 = tanh(W1 y + b1),  ff2 = tanh(W2 y + b2),  sig = sigmoid((Wa y + ba) dt + (Wb y + bb)),

    gated (default):  h_t = ff1 * (1 - sig) + sig * ff2
    no_gate:          h_t = ff1 + sig * ff2

The ``pure`` mode is the closed-form solution of the liquid ODE with one head ``f = W1 y + b1``
(no tanh), a time constant ``w_tau`` and an amplitude ``A`` per neuron:

    pure:             h_t = A - A * exp(-dt (|w_tau| + |f|)) * f

Initialisation is that of ``ncps``: Xavier-uniform weights (each head separately), PyTorch's
default biases, and in pure mode ``w_tau`` and ``A`` drawn Xavier-uniform as (1, hidden)
matrices, as ncps does for every 2-d parameter (a ``w_tau`` of exactly 0 would never train:
the gradient of ``|w_tau|`` is 0 there).

Two implementations of the same equations are offered. ``"fused"`` (the default) computes the
input half of the first layer for the whole sequence in one matrix product, keeps the four heads in
one matrix, and runs the recurrence inside one :class:`torch.autograd.Function` whose backward pass
is hand-derived (the weight gradients are one matrix product each over the whole sequence). To cut
the number of small operations per step, its forward pass evaluates ``tanh`` through the exact
identity ``tanh(a) = 2 sigmoid(2 a) - 1`` (torch's CPU ``tanh`` is about ten times slower than its
``sigmoid``) with the affine constants folded into the weights; see ``_CfCFused``. The results
agree with ``"reference"``, the plain-autograd transcription with ``torch.tanh``, to rounding
(about 1e-13 absolute in float64, 1e-6 in float32; the tests check both).

The step loops of the fused forward and backward passes run compiled where a C++ compiler is
available (:mod:`hybridrisk.lnn._cfc_ext`: the same ATen operations on the same buffers, called
from C++, which gives bit-for-bit the same results without the interpreter's cost per small
operation), else in Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from hybridrisk.errors import ConfigError
from hybridrisk.lnn._cfc_ext import use_loops
from hybridrisk.lnn.base import Encoder, check_encoder_input, time_deltas

__all__ = ["CfC", "MODES", "ACTIVATIONS"]

MODES = ("gated", "no_gate", "pure")
_LECUN_A, _LECUN_B = 1.7159, 0.666


def _tanh_into(a: torch.Tensor, out: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """``scale * tanh(a)`` written into ``out`` as ``scale * (2 sigmoid(2 a) - 1)``.

    The identity is exact; in floating point the result is within about one unit roundoff of
    ``scale`` of ``torch.tanh`` (doubling is exact and ``2 s - 1`` loses nothing for s >= 1/4).
    It is used because torch's CPU tanh is about ten times slower than its sigmoid.
    """
    torch.mul(a, 2.0, out=out).sigmoid_()
    return out.mul_(2.0 * scale).sub_(scale)


def _lecun_tanh(a: torch.Tensor) -> torch.Tensor:
    return _LECUN_A * torch.tanh(_LECUN_B * a)


def _lecun_tanh_into(a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return _tanh_into(torch.mul(a, _LECUN_B, out=out), out, _LECUN_A)


def _relu_into(a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return torch.clamp(a, min=0.0, out=out)


def _silu_into(a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return out.copy_(F.silu(a))


def _gelu_into(a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return out.copy_(F.gelu(a))


# Derivatives from the pre-activation a and the activation y = f(a), whichever is cheaper.
def _lecun_tanh_grad(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # f' = A B (1 - tanh^2) = A B - (B / A) y^2
    return torch.addcmul(y.new_tensor(_LECUN_A * _LECUN_B), y, y, value=-_LECUN_B / _LECUN_A)


def _tanh_grad(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(y.new_tensor(1.0), y, y, value=-1.0)


def _relu_grad(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (a > 0).to(a.dtype)


def _silu_grad(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(a)
    return s * (1.0 + a * (1.0 - s))


def _gelu_grad(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # Exact (erf) GELU: Phi(a) + a * phi(a).
    return 0.5 * (1.0 + torch.erf(a / math.sqrt(2.0))) + a * torch.exp(-0.5 * a * a) / math.sqrt(
        2.0 * math.pi
    )


_Act = Callable[..., torch.Tensor]
# name -> (activation f(a), the same written into a buffer f(a, out), derivative f'(a, f(a)))
ACTIVATIONS: dict[str, tuple[_Act, _Act, _Act]] = {
    "lecun_tanh": (_lecun_tanh, _lecun_tanh_into, _lecun_tanh_grad),
    "tanh": (torch.tanh, _tanh_into, _tanh_grad),
    "relu": (torch.relu, _relu_into, _relu_grad),
    "silu": (F.silu, _silu_into, _silu_grad),
    "gelu": (F.gelu, _gelu_into, _gelu_grad),
}


def _head_order(hidden: int, device: torch.device) -> torch.Tensor:
    """Row order ff1, ff2, time_b, time_a of the heads (a swap: its own inverse)."""
    idx = torch.arange(4 * hidden, device=device)
    return torch.cat([idx[: 2 * hidden], idx[3 * hidden:], idx[2 * hidden: 3 * hidden]])


# Activations of the form y = p * sigmoid(q * a) + r: tanh(a) = 2 sigmoid(2 a) - 1.
_SIGMOID_FORM = {
    "lecun_tanh": (2.0 * _LECUN_A, 2.0 * _LECUN_B, -_LECUN_A),
    "tanh": (2.0, 2.0, -1.0),
}
# Codes of the compiled loops (csrc/lnn_loops.cpp): modes, and the backbone activations as the
# forward loop applies them (0: a tanh-like activation, stored as a sigmoid).
_MODE_CODES = {"gated": 0, "no_gate": 1, "pure": 2}
_ACT_CODES = {"lecun_tanh": 0, "tanh": 0, "relu": 1, "silu": 2, "gelu": 3}


class _CfCFused(torch.autograd.Function):
    """The CfC recurrence over a whole sequence, with an analytical backward pass.

    Linear layer 0 reads ``[x_t, h_{t-1}]`` through ``w0x`` and ``w0h`` (bias ``b0``); layers
    1..n_lin-1 are ``(weight, bias)`` pairs in ``rest``. The last linear layer is the head (4
    stacked heads, or 1 in pure mode); every earlier one is followed by the activation. In pure
    mode ``rest`` ends with ``w_tau`` and ``A``.

    To keep the number of small operations per step low (they dominate the run time), the
    forward pass evaluates the same function with affine constants folded into the weights:
    tanh-like activations as ``p * sigmoid(q a) + r`` (``q`` scales the producing layer, ``p`` and
    ``r`` the consuming one; ``tanh(a) = 2 sigmoid(2 a) - 1``), the ff heads as
    ``2 sigmoid(2 a) - 1``, and in gated mode the state as ``h = 2 l - 1`` with
    ``l = lerp(sigmoid(2 ff1_pre), sigmoid(2 ff2_pre), sig)``. Folding is exact in exact arithmetic;
    the rounding errors are those of the matrix products (bounded by the sums of absolute terms).
    The input half of layer 0 is one matrix product over the whole sequence. The backward pass
    works with the original weights. Everything runs time-major internally.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        mode: str,
        activation: str,
        n_lin: int,
        x: torch.Tensor,
        dt: torch.Tensor,
        h0: torch.Tensor,
        w0x: torch.Tensor,
        w0h: torch.Tensor,
        b0: torch.Tensor,
        *rest: torch.Tensor,
    ) -> torch.Tensor:
        act_into = ACTIVATIONS[activation][1]
        sig_form = _SIGMOID_FORM.get(activation)
        batch, length, _ = x.shape
        h = h0.shape[1]
        weights = [w0h] + [rest[2 * i] for i in range(n_lin - 1)]
        biases = [b0] + [rest[2 * i + 1] for i in range(n_lin - 1)]
        gated = mode == "gated"
        perm = _head_order(h, w0h.device) if mode != "pure" else None
        # Effective weights of the forward loop. The input of a layer is in_p * stored + in_r
        # (stored: the loop state, or the sigmoids of a tanh-like layer).
        in_p, in_r = (2.0, -1.0) if gated else (1.0, 0.0)
        w_eff, b_eff = [], []
        for i, (wt, b) in enumerate(zip(weights, biases, strict=True)):
            we = wt * in_p if in_p != 1.0 else wt
            be = b + in_r * wt.sum(1) if in_r != 0.0 else b
            if i < n_lin - 1:
                q: float | torch.Tensor = sig_form[1] if sig_form else 1.0
                in_p, in_r = (sig_form[0], sig_form[2]) if sig_form else (1.0, 0.0)
            elif mode == "pure":
                q = 1.0
            else:  # head: tanh(a) = 2 sigmoid(2 a) - 1 for the rows of ff1 and ff2
                q = torch.cat([be.new_full((2 * h,), 2.0), be.new_ones(2 * h)])
            wx = w0x if i == 0 else None
            if isinstance(q, torch.Tensor):
                we, be = we * q.unsqueeze(1), be * q
                wx = None if wx is None else wx * q.unsqueeze(1)
            elif q != 1.0:
                we, be = we * q, be * q
                wx = None if wx is None else wx * q
            if i == n_lin - 1 and perm is not None:
                we, be = we[perm], be[perm]
                wx = None if wx is None else wx[perm]
            if i == 0:
                w0x_eff = wx
            w_eff.append(we.t())
            b_eff.append(be)
        x_t = x.transpose(0, 1).contiguous()
        pre = F.linear(x_t, w0x_eff, b_eff[0])
        dt_t = dt.t().unsqueeze(-1)
        # Stored per step: pre-activations (generic activations) or sigmoids (tanh-like ones) of
        # the backbone layers, and the heads (with the ff rows doubled).
        acts = [x.new_empty(length, batch, wt.shape[0]) for wt in weights[:-1]]
        pre_acts = [] if sig_form else [torch.empty_like(a) for a in acts]
        heads = x.new_empty(length, batch, weights[-1].shape[0])
        state = x.new_empty(length + 1, batch, h)
        if gated:
            torch.add(h0, 1.0, out=state[0]).mul_(0.5)
        else:
            state[0].copy_(h0)
        # The outputs of the backbone layers when their pre-activations are not kept.
        scratch = [] if pre_acts else [x.new_empty(batch, wt.shape[0]) for wt in weights[:-1]]
        none = x.new_empty(0)
        if mode == "pure":
            w_tau, amp = rest[-2], rest[-1]
            rate = w_tau.abs()
            decay = x.new_empty(length, batch, h)
            sigs = ff = none
        else:
            # Internal head order ff1, ff2, time_b, time_a: the gate pre-activation
            # time_a dt + time_b overwrites time_b, and one sigmoid covers ff1, ff2 and the gate:
            # sigs = (sigmoid(2 ff1_pre), sigmoid(2 ff2_pre), sig), where sigmoid(2 a) is
            # (1 + tanh(a)) / 2.
            sigs = x.new_empty(length, batch, 3 * h)
            ff = x.new_empty(batch, 2 * h) if mode == "no_gate" else none
            decay = rate = amp = none
        act_code = 0 if sig_form else _ACT_CODES.get(activation)
        loops = use_loops(x) if act_code is not None else None
        if loops is not None:  # the same operations, compiled (csrc/lnn_loops.cpp)
            loops.cfc_forward_loop(pre, state, w_eff, b_eff, acts, pre_acts, scratch, heads,
                                   sigs, dt_t, decay, rate, amp, ff, _MODE_CODES[mode], act_code)
        else:
            _CfCFused._forward_loop(mode, act_into, sig_form, pre, state, w_eff, b_eff, acts,
                                    pre_acts, scratch, heads, sigs, dt_t, decay, rate, amp, ff)
        saved = [x_t, dt_t, state, w0x, *weights, heads, *acts, *pre_acts]
        saved += [decay, w_tau, amp] if mode == "pure" else [sigs]
        ctx.save_for_backward(*saved)
        ctx.cfg = (mode, activation, n_lin)
        if not gated:
            return state[1:].transpose(0, 1).contiguous()
        out = x.new_empty(batch, length, h)
        return torch.mul(state[1:].transpose(0, 1), 2.0, out=out).sub_(1.0)

    @staticmethod
    def _forward_loop(mode: str, act_into: _Act, sig_form: tuple[float, float, float] | None,
                      pre: torch.Tensor, state: torch.Tensor, w_eff: list[torch.Tensor],
                      b_eff: list[torch.Tensor], acts: list[torch.Tensor],
                      pre_acts: list[torch.Tensor], scratch: list[torch.Tensor],
                      heads: torch.Tensor, sigs: torch.Tensor, dt_t: torch.Tensor,
                      decay: torch.Tensor, rate: torch.Tensor, amp: torch.Tensor,
                      ff: torch.Tensor) -> None:
        """The step loop of the forward pass, in Python (``cfc_forward_loop`` compiled)."""
        length, h, n_lin = heads.shape[0], state.shape[2], len(w_eff)
        gated = mode == "gated"
        pre_l, dt_l = pre.unbind(0), dt_t.unbind(0)
        st_l, heads_l = state.unbind(0), heads.unbind(0)
        acts_l = [a.unbind(0) for a in acts]
        pre_acts_l = [a.unbind(0) for a in pre_acts]
        # Where each linear layer writes its output at every step.
        outs = [heads_l if i == n_lin - 1 else (
            pre_acts_l[i] if pre_acts else [scratch[i]] * length) for i in range(n_lin)]
        if mode == "pure":
            decay_l = decay.unbind(0)
        else:
            sigs_l, z_l = sigs.unbind(0), heads[:, :, : 3 * h].unbind(0)
            tb_l, ta_l = heads[:, :, 2 * h: 3 * h].unbind(0), heads[:, :, 3 * h:].unbind(0)
            f1_l, f2_l = sigs[:, :, :h].unbind(0), sigs[:, :, h: 2 * h].unbind(0)
            s_l = sigs[:, :, 2 * h:].unbind(0)
        w_eff0, outs0 = w_eff[0], outs[0]
        for t in range(length):
            a = torch.addmm(pre_l[t], st_l[t], w_eff0, out=outs0[t])
            for i in range(1, n_lin):
                y = torch.sigmoid(a, out=acts_l[i - 1][t]) if sig_form else act_into(
                    a, out=acts_l[i - 1][t])
                a = torch.addmm(b_eff[i], y, w_eff[i], out=outs[i][t])
            if mode == "pure":
                # h = A - A * exp(-dt (|w_tau| + |f|)) * f
                e = torch.add(rate, a.abs(), out=decay_l[t]).mul_(dt_l[t]).neg_().exp_()
                torch.addcmul(amp, amp, e * a, value=-1.0, out=st_l[t + 1])
                continue
            torch.addcmul(tb_l[t], ta_l[t], dt_l[t], out=tb_l[t])
            torch.sigmoid(z_l[t], out=sigs_l[t])
            if gated:  # l = lerp(f1, f2, s) = (h + 1) / 2
                torch.lerp(f1_l[t], f2_l[t], s_l[t], out=st_l[t + 1])
            else:  # h = ff1 + s ff2
                torch.mul(sigs_l[t][:, : 2 * h], 2.0, out=ff).sub_(1.0)
                torch.addcmul(ff[:, :h], s_l[t], ff[:, h:], out=st_l[t + 1])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        mode, activation, n_lin = ctx.cfg
        act_grad = ACTIVATIONS[activation][2]
        sig_form = _SIGMOID_FORM.get(activation)
        sig_bw = torch.ops.aten.sigmoid_backward
        saved = list(ctx.saved_tensors)
        x_t, dt_t, state, w0x = saved[:4]
        weights = saved[4: 4 + n_lin]
        heads = saved[4 + n_lin]
        n_b = n_lin - 1
        acts = saved[5 + n_lin: 5 + n_lin + n_b]
        pre_acts = [] if sig_form else saved[5 + n_lin + n_b: 5 + n_lin + 2 * n_b]
        extra = saved[5 + n_lin + (n_b if sig_form else 2 * n_b):]
        length, batch, hidden = state.shape[0] - 1, state.shape[1], state.shape[2]
        gated = mode == "gated"
        loops = use_loops(grad_out, state)
        # d(loss)/d(heads)_t = g_t * coef_t (g_t = d(loss)/dh_t): everything in coef depends on the
        # forward pass only, so it is built for all steps at once before the recurrence.
        if mode != "pure" and loops is not None:  # the expressions below, in one compiled pass
            coef = loops.cfc_gate_coefficients(extra[0], dt_t, gated)
        elif mode == "pure":
            decay, w_tau, amp = extra
            f_abs = heads.abs()
            coef = torch.mul(dt_t, f_abs).sub_(1.0).mul_(decay).mul_(amp).unsqueeze(2)
        else:
            # sigs = ((1 + ff1) / 2, (1 + ff2) / 2, sig), so 1 - ff^2 = 4 f (1 - f) below; the
            # internal head order is ff1, ff2, time_b, time_a.
            (sigs,) = extra
            f1, f2, sig = sigs[..., :hidden], sigs[..., hidden: 2 * hidden], sigs[..., 2 * hidden:]
            coef = state.new_empty(length, batch, 4, hidden)
            c1, c2, c_b, c_a = coef.unbind(2)
            if gated:  # h = ff1 (1 - sig) + sig ff2
                sig_bw.grad_input(torch.rsub(sig, 4.0, alpha=4.0), f1, grad_input=c1)
                sig_bw.grad_input(torch.sub(f2, f1).mul_(2.0), sig, grad_input=c_b)
            else:  # h = ff1 + sig ff2
                sig_bw.grad_input(torch.full_like(sig, 4.0), f1, grad_input=c1)
                sig_bw.grad_input(torch.mul(f2, 2.0).sub_(1.0), sig, grad_input=c_b)
            sig_bw.grad_input(torch.mul(sig, 4.0), f2, grad_input=c2)
            torch.mul(c_b, dt_t, out=c_a)
        if sig_form:  # acts are the sigmoids s, y = p s + r, dy/da = p q s (1 - s)
            p, q, r = sig_form
            if loops is not None:  # the same expression, compiled
                act_d = list(loops.cfc_sigmoid_grads(acts, p * q))
            else:
                act_d = [sig_bw(torch.full_like(a, p * q), a) for a in acts]
        else:  # acts are the activations y
            act_d = [act_grad(a, y) for a, y in zip(pre_acts, acts, strict=True)]
        perm = _head_order(hidden, state.device) if mode != "pure" else None
        if perm is not None:  # the loop below runs in the internal head order
            weights = [*weights[:-1], weights[-1][perm]]
            if n_lin == 1:
                w0x = w0x[perm]
        # The loss gradients overwrite coef and act_d step by step (less memory traffic).
        d_all = act_d + [coef.view(length, batch, -1)]
        # g_t = dL/dh_t = grad_out_t + (path through step t + 1), kept in gs for the tail below.
        gs = state.new_empty(length, batch, hidden)
        if loops is not None:  # the same operations, compiled (csrc/lnn_loops.cpp)
            g = loops.cfc_backward_loop(coef, act_d, weights, grad_out.transpose(0, 1), gs)
        else:
            g = _CfCFused._backward_loop(coef, act_d, weights, grad_out.transpose(0, 1), gs)
        # Weight gradients: one matrix product each over all steps and samples. An input of the
        # form y = p s + r (tanh-like sigmoids s; the gated state h = 2 l - 1) gives
        # d^T y = p d^T s + r (column sums of d, the bias gradient).
        inputs = [state[:length], *acts]
        scales = [(2.0, -1.0) if gated else None] + [(p, r) if sig_form else None] * n_b
        grads = []
        for i in range(n_lin):
            d2 = d_all[i].reshape(-1, d_all[i].shape[-1])
            gw = (inputs[i].reshape(-1, inputs[i].shape[-1]).t() @ d2).t()
            gb = d2.sum(0)
            if scales[i] is not None:
                gw = torch.addr(gw, gb, gw.new_ones(gw.shape[1]), beta=scales[i][0],
                                alpha=scales[i][1])
            grads.append((gw, gb))
        d_pre = d_all[0]
        d_w0x = (x_t.reshape(-1, x_t.shape[-1]).t() @ d_pre.reshape(-1, d_pre.shape[-1])).t()
        if perm is not None:  # back to the order ff1, ff2, time_a, time_b (perm is its inverse)
            grads[-1] = (grads[-1][0][perm], grads[-1][1][perm])
            if n_lin == 1:
                d_w0x = d_w0x[perm]
        need = ctx.needs_input_grad
        d_x = (d_pre @ w0x).transpose(0, 1) if need[3] else None
        if mode == "pure":
            f = heads
            ge_f = gs * decay * f
            d_dt = (ge_f * (w_tau.abs() + f_abs) * amp).sum(-1)
            d_amp = (gs - ge_f).sum((0, 1))
            d_wtau = (ge_f * dt_t).sum((0, 1)) * amp * torch.sign(w_tau)
            tail = [d_wtau, d_amp]
        else:
            d_dt = (coef[:, :, 2] * heads[..., 3 * hidden:]).sum(-1) if need[4] else None
            tail = []
        rest_grads = [gr for pair in grads[1:] for gr in pair] + tail
        return (None, None, None, d_x, None if d_dt is None else d_dt.t(), g, d_w0x, grads[0][0],
                grads[0][1], *rest_grads)

    @staticmethod
    def _backward_loop(coef: torch.Tensor, act_d: list[torch.Tensor],
                       weights: list[torch.Tensor], g_out: torch.Tensor,
                       gs: torch.Tensor) -> torch.Tensor:
        """The step loop of the backward pass, in Python (``cfc_backward_loop`` compiled):
        overwrites ``coef`` and ``act_d`` with the loss gradients of the heads and backbone
        pre-activations, fills ``gs`` and returns the gradient of the initial state."""
        length, batch, n_lin = coef.shape[0], coef.shape[1], len(weights)
        g_out_l, gs_l = g_out.unbind(0), gs.unbind(0)
        coef_l = coef.unbind(0)
        d_l = [d.unbind(0) for d in act_d]
        w0 = weights[0]
        gs_l[length - 1].copy_(g_out_l[length - 1])
        for t in range(length - 1, -1, -1):
            d = coef_l[t].mul_(gs_l[t].unsqueeze(1)).view(batch, -1)
            for i in range(n_lin - 1, 0, -1):
                d = d_l[i - 1][t].mul_(d @ weights[i])
            if t > 0:
                torch.addmm(g_out_l[t - 1], d, w0, out=gs_l[t - 1])
            else:
                g = d @ w0
        return g


class CfC(Encoder):
    """Closed-form continuous-time network (Hasani et al. 2022), batch first.

    Parameters
    ----------
    input_size
        Number of input features.
    hidden_size
        Number of hidden units.
    mode
        ``"gated"`` (default; ``ncps``' ``"default"``), ``"no_gate"`` or ``"pure"``; see the module
        docstring.
    backbone_units
        Width of every backbone layer (``ncps``' default 128).
    backbone_layers
        Number of backbone layers (default 1; 0 feeds ``[x_t, h_{t-1}]`` to the heads directly).
    backbone_activation
        One of :data:`ACTIVATIONS` (default ``"lecun_tanh"``, ``1.7159 * tanh(0.666 a)``).
    implementation
        ``"fused"`` (default) or ``"reference"``, see the module docstring.
    device, dtype
        Where and in which floating type to create the parameters.

    Notes
    -----
    Call as ``cfc(x, times=None, h0=None)`` with ``x`` of shape (batch, length, input_size) and
    ``times`` of shape (batch, length); the result is the hidden path, (batch, length,
    hidden_size). Each sample uses its own time gaps (see
    :func:`hybridrisk.lnn.base.time_deltas`).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        mode: str = "gated",
        backbone_units: int = 128,
        backbone_layers: int = 1,
        backbone_activation: str = "lecun_tanh",
        implementation: str = "fused",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, value, low in (("input_size", input_size, 1), ("hidden_size", hidden_size, 1),
                                 ("backbone_units", backbone_units, 1),
                                 ("backbone_layers", backbone_layers, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
        if mode == "default":  # the name ncps uses
            mode = "gated"
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
        if backbone_activation not in ACTIVATIONS:
            raise ConfigError(
                f"backbone_activation must be one of {tuple(ACTIVATIONS)}, "
                f"got {backbone_activation!r}"
            )
        if implementation not in ("fused", "reference"):
            raise ConfigError(
                f"implementation must be 'fused' or 'reference', got {implementation!r}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.mode = mode
        self.backbone_units = backbone_units
        self.backbone_layers = backbone_layers
        self.backbone_activation = backbone_activation
        self.implementation = implementation
        kw = {"device": device, "dtype": dtype}
        width = input_size + hidden_size
        layers = []
        for _ in range(backbone_layers):
            layers.append(nn.Linear(width, backbone_units, **kw))
            width = backbone_units
        self.backbone = nn.ModuleList(layers)
        self.n_heads = 1 if mode == "pure" else 4
        # Rows of head: ff1, ff2, time_a, time_b (blocks of hidden_size), or f alone in pure mode.
        self.head = nn.Linear(width, self.n_heads * hidden_size, **kw)
        if mode == "pure":
            self.w_tau = nn.Parameter(torch.zeros(hidden_size, **kw))
            self.A = nn.Parameter(torch.ones(hidden_size, **kw))
        else:
            self.w_tau = None
            self.A = None
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Initialise as ``ncps``: Xavier-uniform weights per layer and per head."""
        for layer in self.backbone:
            layer.reset_parameters()
            nn.init.xavier_uniform_(layer.weight)
        self.head.reset_parameters()
        for block in self.head.weight.split(self.hidden_size, dim=0):
            nn.init.xavier_uniform_(block)
        if self.mode == "pure":  # ncps draws these too: they are 2-d there, (1, hidden)
            nn.init.xavier_uniform_(self.w_tau.view(1, -1))
            nn.init.xavier_uniform_(self.A.view(1, -1))

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, mode={self.mode!r}, "
            f"backbone_units={self.backbone_units}, backbone_layers={self.backbone_layers}, "
            f"backbone_activation={self.backbone_activation!r}, "
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
        h = self.initial_state(x, h0)
        if self.implementation == "reference":
            return self._forward_reference(x, dt, h)
        n_in = self.input_size
        first = self.backbone[0] if self.backbone_layers else self.head
        rest: list[torch.Tensor] = []
        for layer in list(self.backbone[1:]) + ([self.head] if self.backbone_layers else []):
            rest += [layer.weight, layer.bias]
        if self.mode == "pure":
            rest += [self.w_tau, self.A]
        return _CfCFused.apply(
            self.mode, self.backbone_activation, self.backbone_layers + 1, x, dt, h,
            first.weight[:, :n_in], first.weight[:, n_in:], first.bias, *rest,
        )

    def _forward_reference(self, x: torch.Tensor, dt: torch.Tensor, h: torch.Tensor
                           ) -> torch.Tensor:
        act = ACTIVATIONS[self.backbone_activation][0]
        m = self.hidden_size
        out = []
        for t in range(x.shape[1]):
            y = torch.cat([x[:, t], h], dim=1)
            for layer in self.backbone:
                y = act(layer(y))
            heads = self.head(y)
            ts = dt[:, t].unsqueeze(-1)
            if self.mode == "pure":
                h = -self.A * torch.exp(-ts * (self.w_tau.abs() + heads.abs())) * heads + self.A
            else:
                ff1 = torch.tanh(heads[:, :m])
                ff2 = torch.tanh(heads[:, m: 2 * m])
                sig = torch.sigmoid(heads[:, 2 * m: 3 * m] * ts + heads[:, 3 * m:])
                h = ff1 * (1.0 - sig) + sig * ff2 if self.mode == "gated" else ff1 + sig * ff2
            out.append(h)
        return torch.stack(out, dim=1)
