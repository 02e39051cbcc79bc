// Step loops of the fused CfC and LTC solvers (hybridrisk/lnn/cfc.py, hybridrisk/lnn/ltc.py).
//
// Each function is an operation-for-operation transcription of the Python loop it replaces: the
// same ATen CPU kernels, called with the same arguments, on the same buffers and views, in the
// same order. The results are therefore bit-for-bit those of the Python loops; what goes is the
// interpreter's cost of every small operation (argument parsing, dispatch, view objects), which
// dominates the CfC and is a third of the LTC. The kernels are called through at::cpu:: (the CPU
// kernels the dispatcher would pick), under AutoDispatchBelowADInplaceOrView (the loops run
// inside a torch.autograd.Function, on buffers that never require a gradient), and the per-step
// slices are views that move along their buffer (Steps) instead of new tensors every step.
// Two elementwise passes of the CfC's backward (gate coefficients, sigmoid gradients) are plain
// loops instead: each result is the same sequence of IEEE operations as the ATen expressions they
// replace (see the comment above cfc_gate_coefficients), so they too agree bit for bit.
//
// Built at first use by hybridrisk/lnn/_cfc_ext.py (torch.utils.cpp_extension.load); the Python
// loops remain the fallback and the reference.

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/add_cpu_dispatch.h>
#include <ATen/ops/addcmul_cpu_dispatch.h>
#include <ATen/ops/addmm_cpu_dispatch.h>
#include <ATen/ops/alias.h>
#include <ATen/ops/baddbmm_cpu_dispatch.h>
#include <ATen/ops/bmm_cpu_dispatch.h>
#include <ATen/ops/clamp_cpu_dispatch.h>
#include <ATen/ops/div_cpu_dispatch.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/exp_cpu_dispatch.h>
#include <ATen/ops/gelu_cpu_dispatch.h>
#include <ATen/ops/lerp_cpu_dispatch.h>
#include <ATen/ops/mm_cpu_dispatch.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/mul_cpu_dispatch.h>
#include <ATen/ops/neg_cpu_dispatch.h>
#include <ATen/ops/sigmoid_backward_cpu_dispatch.h>
#include <ATen/ops/sigmoid_cpu_dispatch.h>
#include <ATen/ops/silu_cpu_dispatch.h>
#include <ATen/ops/sum_cpu_dispatch.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/library.h>

#include <vector>

namespace {

using at::Tensor;

// Activation codes shared with hybridrisk/lnn/cfc.py (_ACT_CODES).
constexpr int64_t kSigmoidForm = 0;  // tanh-like: the stored value is a sigmoid
constexpr int64_t kRelu = 1;
constexpr int64_t kSilu = 2;
constexpr int64_t kGelu = 3;
// Mode codes (_MODE_CODES).
constexpr int64_t kGated = 0;
constexpr int64_t kNoGate = 1;
constexpr int64_t kPure = 2;

// base.select(0, t) for t = 0, 1, 2, ...: one view whose storage offset moves along the first
// dimension of base (`step` elements at a time, by default base's first stride). Each position is
// the very tensor select() would give, without a new tensor (and a dispatcher call) per step. A
// walker is positioned once per operation: the reference it returns moves with it.
class Steps {
 public:
  explicit Steps(const Tensor& base)
      : view_(base.select(0, 0)), offset0_(view_.storage_offset()), step_(base.stride(0)) {}
  // Position t is `first` moved by t * step elements (step 0: always `first`).
  Steps(const Tensor& first, int64_t step)
      : view_(first.alias()), offset0_(first.storage_offset()), step_(step) {}
  Tensor& operator[](int64_t t) {
    view_.unsafeGetTensorImpl()->set_storage_offset(offset0_ + t * step_);
    return view_;
  }

 private:
  Tensor view_;
  int64_t offset0_;
  int64_t step_;
};

// cfc.py: _relu_into, _silu_into, _gelu_into.
void act_into(int64_t act, const Tensor& a, Tensor& out) {
  if (act == kRelu) {
    at::cpu::clamp_out(out, a, std::optional<at::Scalar>(0.0), std::optional<at::Scalar>());
  } else if (act == kSilu) {
    out.copy_(at::cpu::silu(a));
  } else if (act == kGelu) {
    out.copy_(at::cpu::gelu(a));
  } else {
    TORCH_CHECK(false, "hybridrisk_lnn: unknown activation code ", act);
  }
}

// _CfCFused._forward_loop. pre: (L, B, W0) input half of layer 0 with its bias; state:
// (L + 1, B, H) with state[0] set; w_eff/b_eff: the folded weights (transposed) and biases of
// the n_lin linear layers; acts (and pre_acts for generic activations): (L, B, units) per
// backbone layer; scratch: one (B, units) buffer per backbone layer, the outputs of the backbone
// layers when pre_acts is empty; heads: (L, B, n_heads * H); sigs: (L, B, 3H) (gated and
// no_gate); dt: (L, B, 1); decay, rate, amp: pure mode; ff: (B, 2H) (no_gate).
void cfc_forward_loop(const Tensor& pre, const Tensor& state, at::TensorList w_eff,
                      at::TensorList b_eff, at::TensorList acts, at::TensorList pre_acts,
                      at::TensorList scratch, const Tensor& heads, const Tensor& sigs,
                      const Tensor& dt, const Tensor& decay, const Tensor& rate,
                      const Tensor& amp, const Tensor& ff, int64_t mode, int64_t act) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t length = heads.size(0);
  const int64_t n_lin = static_cast<int64_t>(w_eff.size());
  const int64_t h = state.size(2);
  const bool generic = !pre_acts.empty();
  const bool pure = mode == kPure;
  TORCH_CHECK(pure || mode == kGated || mode == kNoGate, "hybridrisk_lnn: unknown mode ", mode);
  Steps pre_s(pre), st_s(state), st_next_s(state), dt_s(dt);
  // Where each linear layer writes its output (a walker, or the one scratch buffer).
  std::vector<Steps> out_s, acts_s;
  for (int64_t i = 0; i < n_lin; ++i) {
    if (i == n_lin - 1) {
      out_s.emplace_back(heads);
    } else if (generic) {
      out_s.emplace_back(pre_acts[i]);
    } else {
      out_s.emplace_back(scratch[i], 0);  // the same buffer at every step
    }
  }
  for (int64_t i = 0; i + 1 < n_lin; ++i) acts_s.emplace_back(acts[i]);
  std::vector<Steps> gate;  // tb, ta, z, sigs, f1, f2, s (and ff1/ff2 sigmoids for no_gate)
  if (!pure) {
    for (const Tensor& base :
         {heads.narrow(2, 2 * h, h), heads.narrow(2, 3 * h, h), heads.narrow(2, 0, 3 * h), sigs,
          sigs.narrow(2, 0, h), sigs.narrow(2, h, h), sigs.narrow(2, 2 * h, h),
          sigs.narrow(2, 0, 2 * h)}) {
      gate.emplace_back(base);
    }
  }
  std::vector<Steps> decay_s;
  if (pure) decay_s.emplace_back(decay);
  const bool no_gate = mode == kNoGate;
  const Tensor ff1 = no_gate ? ff.narrow(1, 0, h) : Tensor();
  const Tensor ff2 = no_gate ? ff.narrow(1, h, h) : Tensor();
  Tensor ffm = ff;
  for (int64_t t = 0; t < length; ++t) {
    Tensor a = out_s[0][t];
    at::cpu::addmm_out(a, pre_s[t], st_s[t], w_eff[0]);
    for (int64_t i = 1; i < n_lin; ++i) {
      Tensor y = acts_s[i - 1][t];
      if (act == kSigmoidForm) {
        at::cpu::sigmoid_out(y, a);
      } else {
        act_into(act, a, y);
      }
      Tensor o = out_s[i][t];
      at::cpu::addmm_out(o, b_eff[i], y, w_eff[i]);
      a = o;
    }
    Tensor st_next = st_next_s[t + 1];
    const Tensor& dt_t = dt_s[t];
    if (pure) {
      // h = A - A * exp(-dt (|w_tau| + |f|)) * f
      Tensor e = decay_s[0][t];
      at::cpu::add_out(e, rate, at::abs(a));
      at::cpu::mul_(e, dt_t);
      at::cpu::neg_(e);
      at::cpu::exp_(e);
      at::cpu::addcmul_out(st_next, amp, amp, at::cpu::mul(e, a), at::Scalar(-1.0));
      continue;
    }
    Tensor tb = gate[0][t];
    at::cpu::addcmul_out(tb, tb, gate[1][t], dt_t);
    Tensor sig_t = gate[3][t];
    at::cpu::sigmoid_out(sig_t, gate[2][t]);
    if (mode == kGated) {
      at::cpu::lerp_out(st_next, gate[4][t], gate[5][t], gate[6][t]);
    } else {
      at::mul_out(ffm, gate[7][t], at::Scalar(2.0));
      ffm.sub_(1.0);
      at::cpu::addcmul_out(st_next, ff1, gate[6][t], ff2);
    }
  }
}

// _CfCFused._backward_loop. coef: (L, B, n_heads, H), overwritten with the head gradients;
// d_acts: (L, B, units) per backbone layer, overwritten with the gradients of the backbone
// pre-activations; weights: the original weights (the head in the internal order); g_out:
// (L, B, H) view of the output gradient; gs: (L, B, H) buffer of dL/dh_t. Returns the gradient
// of the initial state.
Tensor cfc_backward_loop(const Tensor& coef, at::TensorList d_acts, at::TensorList weights,
                         const Tensor& g_out, const Tensor& gs) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t length = coef.size(0);
  const int64_t batch = coef.size(1);
  const int64_t n_lin = static_cast<int64_t>(weights.size());
  const Tensor& w0 = weights[0];
  Steps coef_s(coef), d_s(coef.view({length, batch, -1})), gs_row_s(gs.unsqueeze(2)),
      gs_s(gs), g_out_s(g_out);
  std::vector<Steps> d_acts_s;
  for (const Tensor& d : d_acts) d_acts_s.emplace_back(d);
  gs.select(0, length - 1).copy_(g_out.select(0, length - 1));
  Tensor g;
  for (int64_t t = length - 1; t >= 0; --t) {
    at::cpu::mul_(coef_s[t], gs_row_s[t]);
    Tensor d = d_s[t];
    for (int64_t i = n_lin - 1; i > 0; --i) {
      Tensor da = d_acts_s[i - 1][t];
      d = at::cpu::mul_(da, at::cpu::mm(d, weights[i]));
    }
    if (t > 0) {
      Tensor o = gs_s[t - 1];
      at::cpu::addmm_out(o, g_out_s[t - 1], d, w0);
    } else {
      g = at::cpu::mm(d, w0);
    }
  }
  return g;
}

// Elementwise loops whose every result is one IEEE operation after another in the order ATen
// evaluates them (products by 2 and 4 are exact, so fused and unfused multiply-adds agree):
// bit-for-bit the ATen expressions they replace, in one pass instead of seven.
constexpr int64_t kGrain = 32768;  // ATen's grain size for elementwise kernels

// The head coefficients of _CfCFused.backward (gated and no_gate): from sigs = (f1, f2, s),
// (L, B, 3H), and dt, (L, B, 1), the (L, B, 4, H) tensor of c1, c2, c_b, c_a with
//   gated:   c1 = sigmoid_backward(4 - 4 s, f1),  c_b = sigmoid_backward((f2 - f1) * 2, s)
//   no_gate: c1 = sigmoid_backward(4, f1),        c_b = sigmoid_backward(2 f2 - 1, s)
//   c2 = sigmoid_backward(s * 4, f2),  c_a = c_b * dt,  sigmoid_backward(g, y) = g * (1 - y) * y.
template <typename T, bool kGatedMode>
void gate_coefficient_rows(const T* __restrict__ sp, const T* __restrict__ dp, T* __restrict__ cp,
                           int64_t begin, int64_t end, int64_t batch, int64_t h, int64_t dt_l,
                           int64_t dt_b) {
  const T one = 1, two = 2, four = 4;
  for (int64_t r = begin; r < end; ++r) {
    const T* __restrict__ f1 = sp + r * 3 * h;
    const T* __restrict__ f2 = f1 + h;
    const T* __restrict__ s = f2 + h;
    T* __restrict__ c1 = cp + r * 4 * h;
    T* __restrict__ c2 = c1 + h;
    T* __restrict__ cb = c2 + h;
    T* __restrict__ ca = cb + h;
    const T d = dp[(r / batch) * dt_l + (r % batch) * dt_b];
    for (int64_t j = 0; j < h; ++j) {
      const T g1 = kGatedMode ? T(four - four * s[j]) : four;
      const T gb = kGatedMode ? T((f2[j] - f1[j]) * two) : T(f2[j] * two - one);
      const T b = gb * (one - s[j]) * s[j];
      c1[j] = g1 * (one - f1[j]) * f1[j];
      c2[j] = (s[j] * four) * (one - f2[j]) * f2[j];
      cb[j] = b;
      ca[j] = b * d;
    }
  }
}

Tensor cfc_gate_coefficients(const Tensor& sigs, const Tensor& dt, bool gated) {
  TORCH_CHECK(sigs.is_contiguous() && sigs.dim() == 3, "hybridrisk_lnn: sigs must be contiguous");
  const int64_t length = sigs.size(0), batch = sigs.size(1), h = sigs.size(2) / 3;
  Tensor coef = at::empty({length, batch, 4, h}, sigs.options());
  const int64_t dt_l = dt.stride(0), dt_b = dt.stride(1);
  AT_DISPATCH_FLOATING_TYPES(sigs.scalar_type(), "cfc_gate_coefficients", [&] {
    const scalar_t* sp = sigs.const_data_ptr<scalar_t>();
    const scalar_t* dp = dt.const_data_ptr<scalar_t>();
    scalar_t* cp = coef.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, length * batch, std::max<int64_t>(1, kGrain / (4 * h)),
                     [&](int64_t begin, int64_t end) {
      if (gated) {
        gate_coefficient_rows<scalar_t, true>(sp, dp, cp, begin, end, batch, h, dt_l, dt_b);
      } else {
        gate_coefficient_rows<scalar_t, false>(sp, dp, cp, begin, end, batch, h, dt_l, dt_b);
      }
    });
  });
  return coef;
}

template <typename T>
void sigmoid_grad_range(const T* __restrict__ ap, T* __restrict__ gp, T c, int64_t begin,
                        int64_t end) {
  const T one = 1;
  for (int64_t i = begin; i < end; ++i) gp[i] = c * (one - ap[i]) * ap[i];
}

// sigmoid_backward(full_like(a, pq), a) = pq * (1 - a) * a for each (contiguous) a.
std::vector<Tensor> cfc_sigmoid_grads(at::TensorList acts, double pq) {
  std::vector<Tensor> out;
  for (const Tensor& a : acts) {
    TORCH_CHECK(a.is_contiguous(), "hybridrisk_lnn: activations must be contiguous");
    Tensor g = at::empty(a.sizes(), a.options());
    AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "cfc_sigmoid_grads", [&] {
      const scalar_t* ap = a.const_data_ptr<scalar_t>();
      scalar_t* gp = g.mutable_data_ptr<scalar_t>();
      const scalar_t c = static_cast<scalar_t>(pq);
      at::parallel_for(0, a.numel(), kGrain, [&](int64_t begin, int64_t end) {
        sigmoid_grad_range(ap, gp, c, begin, end);
      });
    });
    out.push_back(std::move(g));
  }
  return out;
}

// _LTCFused.forward, the loop over sub-steps. vs: (n_sub + 1, U, 1, B) with vs[0] set; dens:
// (n_sub, U, 1, B); cmt_t, num0_t, den0_t: (L, U, 1, B); c_full: (U, U, B); sig3: (U, U, 1);
// w2t: (U, 2, U); syn: (U, U, B) buffer; nd: (U, 2, B) buffer.
void ltc_forward_loop(const Tensor& vs, const Tensor& dens, const Tensor& cmt_t,
                      const Tensor& num0_t, const Tensor& den0_t, const Tensor& c_full,
                      const Tensor& sig3, const Tensor& w2t, const Tensor& syn, const Tensor& nd,
                      int64_t unfolds) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t length = cmt_t.size(0);
  Tensor syn_m = syn;
  Tensor nd_m = nd;
  Tensor syn_t = syn.transpose(0, 1);
  Tensor num = nd.narrow(1, 0, 1);
  Tensor den = nd.narrow(1, 1, 1);
  Steps v_s(vs), v_next_s(vs), dens_s(dens), cmt_s(cmt_t), num0_s(num0_t), den0_s(den0_t);
  int64_t n = 0;
  for (int64_t t = 0; t < length; ++t) {
    const Tensor& cmt_step = cmt_s[t];
    const Tensor& num0_step = num0_s[t];
    const Tensor& den0_step = den0_s[t];
    for (int64_t k = 0; k < unfolds; ++k) {
      const Tensor& v = v_s[n];
      at::cpu::addcmul_out(syn_m, c_full, sig3, v);
      at::cpu::sigmoid_(syn_m);
      at::cpu::addcmul_out(num, num0_step, cmt_step, v);
      den.copy_(den0_step);
      at::cpu::baddbmm_(nd_m, w2t, syn_t);
      dens_s[n].copy_(den);
      Tensor v_next = v_next_s[n + 1];
      at::cpu::div_out(v_next, num, den);
      ++n;
    }
  }
}

// _LTCFused._backward_loop, the loop over sub-steps (backwards); see ltc.py for the names.
// Writes d_nd, d_cmt, acc_w and acc_s and returns the gradient of the initial state, (U, 1, B).
Tensor ltc_backward_loop(const Tensor& vs, const Tensor& dens, const Tensor& cmt_t,
                         const Tensor& g_all, const Tensor& c_full, const Tensor& sig3,
                         const Tensor& e3, const Tensor& sigw_row, const Tensor& qp,
                         const Tensor& qps, const Tensor& qv, const Tensor& d_nd,
                         const Tensor& d_cmt, const Tensor& zero, const Tensor& acc_w,
                         const Tensor& acc_s, const Tensor& syn, const Tensor& dz,
                         const Tensor& dv, const Tensor& v1, const Tensor& g0,
                         int64_t unfolds) {
  at::AutoDispatchBelowADInplaceOrView guard;
  const int64_t n_sub = dens.size(0);
  const int64_t units = dens.size(1);
  const int64_t length = n_sub / unfolds;
  Tensor q = qp.narrow(1, 0, 1);
  Tensor p_neg = qp.narrow(1, 1, 1);
  Tensor q_row = qp.select(1, 0).unsqueeze(0);
  Tensor p_neg_row = qp.select(1, 1).unsqueeze(0).expand({units, -1, -1});
  Tensor syn_m = syn;
  Tensor syn_p = syn.permute({1, 2, 0});
  Tensor dz_m = dz;
  Tensor dz_t = dz.transpose(1, 2);
  Tensor dv_m = dv;
  Tensor acc_w_m = acc_w;
  Tensor acc_s_m = acc_s;
  Tensor qv_m = qv;
  Tensor v1_v = v1.narrow(1, 0, 1);
  Tensor qps_q = qps.narrow(2, 0, 1);
  Steps v_s(vs), v_next_s(vs), dens_s(dens), cmt_s(cmt_t), g_all_s(g_all), qps_s(qps),
      d_nd_s(d_nd), d_cmt_s(d_cmt), v_block_s(vs.narrow(0, 0, unfolds), vs.stride(0));
  Tensor g = g0;
  int64_t n = n_sub;
  const std::vector<int64_t> dim0{0};
  for (int64_t t = length - 1; t >= 0; --t) {
    g = at::cpu::add(g, g_all_s[t]);
    const Tensor& cmt_step = cmt_s[t];
    for (int64_t k = unfolds - 1; k >= 0; --k) {
      --n;
      const Tensor& v = v_s[n];
      at::cpu::div_out(q, g, dens_s[n]);
      at::cpu::addcmul_out(p_neg, zero, q, v_next_s[n + 1], at::Scalar(-1.0));
      qps_s[k].copy_(qp);
      at::cpu::addcmul_out(syn_m, c_full, sig3, v);
      at::cpu::sigmoid_(syn_m);
      at::cpu::baddbmm_(acc_w_m, qp, syn_p);
      at::cpu::addcmul_out(dz_m, p_neg_row, e3, q_row);
      at::cpu::sigmoid_backward_out(dz_m, dz_m, syn_m);
      v1_v.copy_(v);
      at::cpu::baddbmm_(acc_s_m, v1, dz_t);
      at::cpu::bmm_out(dv_m, sigw_row, dz_m);
      g = at::cpu::addcmul(dv_m, q, cmt_step);
    }
    Tensor dnd_t = d_nd_s[t];
    at::cpu::sum_out(dnd_t, qps, dim0, false, std::nullopt);
    at::cpu::mul_out(qv_m, qps_q, v_block_s[n]);
    Tensor dcmt_t = d_cmt_s[t];
    at::cpu::sum_out(dcmt_t, qv_m, dim0, false, std::nullopt);
  }
  return g;
}

}  // namespace

TORCH_LIBRARY(hybridrisk_lnn, m) {
  m.def("cfc_forward_loop", &cfc_forward_loop);
  m.def("cfc_backward_loop", &cfc_backward_loop);
  m.def("cfc_gate_coefficients", &cfc_gate_coefficients);
  m.def("cfc_sigmoid_grads", &cfc_sigmoid_grads);
  m.def("ltc_forward_loop", &ltc_forward_loop);
  m.def("ltc_backward_loop", &ltc_backward_loop);
}
