"""Parameter heads: exact initialisation at the benchmark, constraints, freeze, penalty."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridrisk.errors import ConfigError, DataValidationError, NumericalError, ParameterDomainError
from hybridrisk.lnn.heads import (
    Bounded,
    Correlation,
    GreaterThan,
    ParameterHead,
    Positive,
    Real,
    SignedAsymmetry,
    Simplex,
    softplus,
    softplus_inverse,
)

F64 = torch.float64


def garch_head(**kw) -> ParameterHead:
    return ParameterHead(
        6,
        {"omega": Positive(), "ab": Simplex(("alpha", "beta")), "nu": GreaterThan(2.0)},
        init={"omega": 0.02, "alpha": 0.08, "beta": 0.9, "nu": 7.0},
        dtype=F64,
        **kw,
    )


def hs(seed: int, shape=(5, 6), scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * scale


def assert_close_rel(value, target: float, scale: float | None = None) -> None:
    scale = abs(target) if scale is None else scale
    err = float((torch.as_tensor(value).detach() - target).abs().max())
    assert err <= 1e-14 * scale, (err, target)


# -- the documented example ------------------------------------------------------------------------


def test_example_keys_shapes_and_exact_init():
    head = garch_head()
    init = {"omega": 0.02, "alpha": 0.08, "beta": 0.9, "nu": 7.0}
    h = hs(0, (4, 3, 6))
    theta = head(h)
    assert set(theta) == set(init) and head.names == ("omega", "alpha", "beta", "nu")
    const = head.constant()
    for name, value in init.items():
        assert theta[name].shape == (4, 3)
        assert_close_rel(const[name], value)
        # W = 0 exactly, so head(h) is the constant bit for bit, whatever h.
        assert (theta[name] == const[name]).all()
    assert head.init == init


@pytest.mark.parametrize("scale", [1e-300, 1.0, 1e6, 1e300])
def test_init_holds_for_any_finite_h(scale):
    head = garch_head()
    const = head.constant()
    for name, value in head(hs(1, scale=scale)).items():
        assert (value == const[name]).all()


def test_init_exact_with_hidden_layers_and_gjr_weights():
    head = ParameterHead(
        3,
        {"ab": Simplex(("alpha", "gamma", "beta"), weights=(1.0, 0.5, 1.0)), "rho": Correlation(),
         "mu": Real(), "x": Bounded(-1.0, 3.0)},
        init={"alpha": 0.05, "gamma": 0.1, "beta": 0.88, "rho": -0.3, "mu": 1e-4, "x": 2.5},
        hidden_layers=(8, 4),
        dtype=F64,
    )
    out = head(hs(2, (7, 3), scale=1e3))
    for name, value in head.init.items():
        assert_close_rel(out[name], value)


def test_defaults_without_init():
    head = ParameterHead(
        2, {"p": Positive(), "b": Bounded(0.0, 4.0), "s": Simplex(("a", "c"))}, dtype=F64
    )
    c = head.constant()
    assert math.isclose(c["p"], math.log(2.0), rel_tol=1e-15)
    assert math.isclose(c["b"], 2.0, rel_tol=1e-15)
    assert math.isclose(c["a"], 1 / 3, rel_tol=1e-15)


# -- property tests: exact round trip, constraints hold, never NaN --------------------------------

positive_values = st.floats(1e-10, 1e10)
lows = st.floats(-100.0, 100.0)


@st.composite
def head_specs(draw):
    low = draw(lows)
    gt = low + draw(st.floats(1e-6, 1e6))
    blo = draw(lows)
    bhi = blo + draw(st.floats(1e-3, 1e3))
    b = blo + (bhi - blo) * draw(st.floats(1e-9, 1 - 1e-9))
    n = draw(st.integers(1, 3))
    weights = tuple(draw(st.floats(0.1, 10.0)) for _ in range(n))
    total = draw(st.floats(0.01, 100.0))
    shares = [draw(st.floats(1e-6, 1.0)) for _ in range(n + 1)]  # last one: the slack
    ps = [total * s / sum(shares) / w for s, w in zip(shares[:-1], weights, strict=True)]
    names = tuple(f"p{i}" for i in range(n))
    spec = {
        "pos": Positive(), "gt": GreaterThan(low), "bd": Bounded(blo, bhi),
        "rho": Correlation(), "re": Real(), "sx": Simplex(names, weights=weights, total=total),
    }
    init = {"pos": draw(positive_values), "gt": gt, "bd": b,
            "rho": draw(st.floats(-0.999999, 0.999999)), "re": draw(st.floats(-1e6, 1e6)),
            **dict(zip(names, ps, strict=True))}
    scales = {"gt": max(abs(gt), abs(low)), "bd": max(abs(b), abs(blo), abs(bhi))}
    return spec, init, scales


@settings(max_examples=60, deadline=None)
@given(head_specs(), st.integers(0, 2**31 - 1), st.sampled_from([1e-3, 1.0, 1e4, 1e200]))
def test_property_round_trip_exact(spec_init, seed, scale):
    spec, init, scales = spec_init
    head = ParameterHead(4, spec, init=init, dtype=F64)
    out = head(hs(seed, (3, 4), scale=scale))
    const = head.constant()
    for name, value in init.items():
        assert_close_rel(out[name], value, max(scales.get(name, abs(value)), 1e-300))
        assert (out[name] == const[name]).all()


def check_constraints(spec, out, dtype):
    assert all(not torch.isnan(v).any() and v.dtype == dtype for v in out.values())
    assert (out["pos"] > 0).all()
    assert (out["gt"] > spec["gt"].low).all()
    assert ((out["bd"] > spec["bd"].low) & (out["bd"] < spec["bd"].high)).all()
    assert (out["rho"].abs() < 1).all()
    sx = spec["sx"]
    ps = [out[n] for n in sx.param_names]
    assert all((p > 0).all() for p in ps)
    # The weighted sum, computed in the working dtype as a user would, stays below total.
    wsum = sum(w * p for w, p in zip(sx.weights, ps, strict=True))
    assert (wsum < torch.tensor(sx.total, dtype=dtype)).all()


@settings(max_examples=60, deadline=None)
@given(
    head_specs(),
    st.integers(0, 2**31 - 1),
    st.floats(1e-3, 1e6),
    st.floats(0.1, 30.0),
    st.sampled_from([torch.float32, torch.float64]),
)
def test_property_constraints_hold_for_random_network(spec_init, seed, scale, wscale, dtype):
    spec, init, _ = spec_init
    head = ParameterHead(4, spec, init=init, dtype=dtype)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head.out.weight.copy_(torch.randn(head.out.weight.shape, generator=g) * wscale)
    h = torch.randn(64, 4, generator=g, dtype=F64) * scale
    out = head(h.to(dtype))
    check_constraints(spec, out, dtype)


def test_saturated_transforms_stay_strictly_inside():
    spec = {"pos": Positive(), "gt": GreaterThan(2.0), "bd": Bounded(0.0, 1.0),
            "rho": Correlation(), "sx": Simplex(("a", "b"), weights=(1.0, 0.5))}
    for dtype in (torch.float32, torch.float64):
        head = ParameterHead(1, spec, dtype=dtype)
        raw = torch.tensor([[-1e30] * 6, [1e30] * 6, [-800.0] * 6, [800.0] * 6,
                            [1e30, -1e30, 50.0, 1e30, 1e30, 40.0]], dtype=dtype)
        out = head._transform(raw)
        check_constraints(spec, out, dtype)
    # gradients at saturation are finite
    raw = torch.tensor([[-1e4] * 6, [1e4] * 6], dtype=F64, requires_grad=True)
    out = ParameterHead(1, spec, dtype=F64)._transform(raw)
    sum(v.sum() for v in out.values()).backward()
    assert torch.isfinite(raw.grad).all()


def test_softplus_exact_and_stable():
    z = torch.tensor([-1000.0, -30.0, 0.0, 25.0, 1000.0], dtype=F64, requires_grad=True)
    y = softplus(z)
    assert torch.isfinite(y).all() and float(y[-1].detach()) == 1000.0
    # no threshold switch: softplus(25) = 25 + log1p(exp(-25)), not 25
    assert float(y[3].detach()) == 25.0 + math.log1p(math.exp(-25.0))
    y.sum().backward()
    assert float(z.grad[2]) == 0.5
    for v in (1e-12, 1e-3, 0.7, 1.0, 30.0, 1e8):
        assert math.isclose(float(softplus(torch.tensor(softplus_inverse(v), dtype=F64))), v,
                            rel_tol=1e-14)


# -- domain errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "init", "name", "rule"),
    [
        ({"w": Positive()}, {"w": 0.0}, "w", "Positive"),
        ({"w": Positive()}, {"w": -1.0}, "w", "value > 0"),
        ({"nu": GreaterThan(2.0)}, {"nu": 2.0}, "nu", "value > 2.0"),
        ({"x": Bounded(0.0, 1.0)}, {"x": 1.0}, "x", "0.0 < value < 1.0"),
        ({"r": Correlation()}, {"r": -1.0}, "r", "-1 < value < 1"),
        ({"ab": Simplex(("alpha", "beta"))}, {"alpha": 0.1, "beta": 0.9}, "alpha + beta", "< 1.0"),
        ({"ab": Simplex(("alpha", "beta"))}, {"alpha": -0.1, "beta": 0.5}, "alpha", "each > 0"),
        ({"g": Simplex(("a", "g", "b"), weights=(1, 0.5, 1))}, {"a": 0.05, "g": 0.2, "b": 0.9},
         "a + 0.5*g + b", "< 1.0"),
        ({"w": Positive()}, {"w": float("nan")}, "w", "finite"),
        ({"w": Real()}, {"w": "abc"}, "w", "a real number"),
    ],
)
def test_out_of_domain_init_raises(spec, init, name, rule):
    with pytest.raises(ParameterDomainError) as info:
        ParameterHead(2, spec, init=init)
    assert info.value.name == name and rule in str(info.value) and repr(name) in str(info.value)


def test_config_errors():
    with pytest.raises(ConfigError, match="not outputs"):
        ParameterHead(2, {"w": Positive()}, init={"v": 1.0})
    with pytest.raises(ConfigError, match="repeat"):
        ParameterHead(2, {"alpha": Positive(), "ab": Simplex(("alpha", "beta"))})
    with pytest.raises(ConfigError, match="part of the group"):
        ParameterHead(2, {"ab": Simplex(("alpha", "beta"))}, init={"alpha": 0.1})
    with pytest.raises(ConfigError):
        Bounded(1.0, 1.0)
    with pytest.raises(ConfigError):
        Simplex(("a", "b"), weights=(1.0, -1.0))
    with pytest.raises(ConfigError):
        ParameterHead(2, {"w": "positive"})


def test_bad_h():
    head = garch_head()
    with pytest.raises(DataValidationError):
        head(torch.zeros(3, 5, dtype=F64))
    with pytest.raises(NumericalError):
        head(torch.tensor([[float("inf")] * 6], dtype=F64))


# -- nesting: freeze, penalty, reset -----------------------------------------------------------


def test_freeze_switches_network_off_and_keeps_constant_trainable():
    head = garch_head()
    with torch.no_grad():
        head.out.weight.normal_()
    h1, h2 = hs(3), hs(4)
    assert not torch.equal(head(h1)["omega"], head(h2)["omega"])
    head.freeze()
    const = head.constant()
    out = head(h1)
    for name in head.names:
        assert (out[name] == const[name]).all() and out[name].shape == (5,)
    sum(v.sum() for v in out.values()).backward()
    assert head.out.weight.grad is None and head.out.bias.grad is not None
    head.unfreeze()
    assert not torch.equal(head(h1)["omega"], head(h2)["omega"])


@torch.no_grad()
def test_penalty():
    head = garch_head()
    assert float(head.penalty()) == 0.0 and float(head.penalty(bias=1.0)) == 0.0
    head.out.weight.fill_(0.1)
    head.out.bias.add_(0.2)
    assert math.isclose(float(head.penalty()), 0.01 * head.out.weight.numel())
    assert math.isclose(float(head.penalty(bias=2.0)), 0.01 * 24 + 2.0 * 0.04 * 4)
    head.reset_to_init()
    assert float(head.penalty(bias=1.0)) == 0.0


def test_reset_to_init_after_dtype_change():
    spec = {"w": Positive(), "r": Correlation()}
    head = ParameterHead(3, spec, init={"w": 0.123456789, "r": 0.3})
    assert head.out.bias.dtype == torch.get_default_dtype()
    head = head.double()
    assert abs(head.constant()["w"] - 0.123456789) > 1e-12  # float32 bias: not exact
    head.reset_to_init()
    for name, value in head.init.items():
        assert_close_rel(head.constant()[name], value)


def test_gradients_reach_network_and_are_finite():
    head = garch_head(hidden_layers=(5,))
    with torch.no_grad():
        head.out.weight.normal_(std=0.1)
    out = head(hs(5, scale=1e4))
    sum(v.sum() for v in out.values()).backward()
    grads = [p.grad for p in head.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert list(head.network_parameters())[-1] is head.out.weight
    np.testing.assert_array_equal(head.out.weight.shape, (4, 5))


@given(alpha=st.floats(1e-6, 0.3), share=st.floats(-0.99, 3.0), beta=st.floats(1e-3, 0.95),
       scale=st.floats(-3.0, 3.0))
@settings(max_examples=150, deadline=None)
def test_signed_asymmetry_round_trip_and_domain(alpha, share, beta, scale):
    """arch's GJR domain (gamma may be negative down to -alpha): the init is returned exactly
    (to rounding) and any network output stays inside the domain."""
    gamma = share * alpha
    if not alpha + 0.5 * gamma + beta < 0.999:
        return
    c = SignedAsymmetry()
    head = ParameterHead(3, {"p": c}, {"alpha": alpha, "gamma": gamma, "beta": beta},
                         dtype=torch.float64)
    out = head(torch.zeros(2, 3, dtype=torch.float64))
    assert out["alpha"][0].item() == pytest.approx(alpha, rel=1e-13)
    assert out["beta"][0].item() == pytest.approx(beta, rel=1e-13)
    assert out["gamma"][0].item() == pytest.approx(gamma, rel=1e-12, abs=1e-15)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        head.out.weight.normal_(std=10.0 ** scale, generator=gen)
    out = head(torch.randn(50, 3, generator=gen, dtype=torch.float64))
    a, g, b = out["alpha"], out["gamma"], out["beta"]
    # alpha + gamma is the Simplex component (> 0); gamma = it - alpha carries one rounding
    assert (a > 0).all() and (b > 0).all() and (a + g >= -4e-16 * a).all()
    assert (a + 0.5 * g + b < 1).all()


def test_signed_asymmetry_rejects_points_off_the_domain():
    c = SignedAsymmetry()
    with pytest.raises(ParameterDomainError, match=r"alpha \+ gamma"):
        c.check(c.names("p"), [0.05, -0.06, 0.9])
    with pytest.raises(ParameterDomainError, match=r"alpha \+ 0.5\*gamma \+ beta"):
        c.check(c.names("p"), [0.05, 0.1, 0.95])
    c.check(c.names("p"), [0.05, -0.04, 0.9])  # negative gamma inside the domain
    with pytest.raises(ConfigError):
        SignedAsymmetry(("alpha", "alpha", "beta"))
