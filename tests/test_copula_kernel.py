"""The bivariate copula kernel against pyvinecopulib, with mpmath as the arbiter.

Reference test: on an 11 x 11 grid of ``u`` that includes 1e-10 and 1 - 1e-10, for each family
at ordinary and extreme parameters (pyvinecopulib's bounds) and every rotation, the kernel's
log density, h-functions and h-inverses are compared with ``pyvinecopulib.Bicop`` (absolute
difference of the log density; absolute difference of h and h-inverse values). Where the two
differ by more than 1e-10, pyvinecopulib is the one that is off (it clamps the density to
[DBL_MIN, DBL_MAX], evaluates its generators with cancellation near the corners and inverts
the Gumbel/Frank h-functions by bisection): at those points the kernel must equal a 40-digit
mpmath evaluation of the textbook formulas to 1e-10 instead. ``python
tests/test_copula_kernel.py`` prints the table of differences.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import pyvinecopulib as pv
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hybridrisk.errors import ConfigError, DataValidationError, ParameterDomainError
from hybridrisk.kernels import copulas as K

TOL = 1e-10
EPS = float(np.finfo(float).eps)
GRID = np.array([1e-10, 1e-6, 1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 1 - 1e-3, 1 - 1e-6, 1 - 1e-10])
U = np.array([(a, b) for a in GRID for b in GRID])
CASES: dict[str, list[tuple[float, ...]]] = {
    "gaussian": [(0.0,), (0.5,), (-0.7,), (0.99,), (-0.999,)],
    "student": [(0.0, 4.0), (0.5, 2.0), (-0.7, 10.0), (0.99, 50.0), (-0.999, 2.5), (0.3, 50.0)],
    "clayton": [(1e-10,), (1e-4,), (0.5,), (3.0,), (28.0,)],
    "gumbel": [(1.0,), (1.0001,), (2.0,), (10.0,), (50.0,)],
    "frank": [(-35.0,), (-5.0,), (-1e-7,), (1e-5,), (0.5,), (5.0,), (35.0,)],
}
FUNCS = ("log_density", "hfunc1", "hfunc2", "hinv1", "hinv2")


def rotations(family: str) -> list[int]:
    return [0, 90, 180, 270] if family in K.ROTATABLE else [0]


def theta_of(family: str, par: tuple[float, ...]) -> list[float] | float:
    return list(par) if family == "student" else par[0]


def bicop(family: str, par: tuple[float, ...], rotation: int) -> pv.Bicop:
    return pv.Bicop(family=getattr(pv.BicopFamily, family), rotation=rotation,
                    parameters=np.array(par, dtype=float).reshape(-1, 1))


# ---------------------------------------------------------------- 40-digit references

mp.mp.dps = 40


def _tcdf(x: mp.mpf, nu: mp.mpf) -> mp.mpf:
    tail = mp.betainc(nu / 2, mp.mpf(1) / 2, 0, nu / (nu + x * x), regularized=True) / 2
    return tail if x < 0 else 1 - tail


def _tppf(u: mp.mpf, nu: mp.mpf) -> mp.mpf:
    from scipy import special

    x = mp.mpf(float(special.stdtrit(float(nu), float(u))))
    for _ in range(100):
        pdf = mp.exp(mp.loggamma((nu + 1) / 2) - mp.loggamma(nu / 2) - mp.log(nu * mp.pi) / 2
                     - (nu + 1) / 2 * mp.log(1 + x * x / nu))
        step = (_tcdf(x, nu) - u) / pdf
        x -= step
        if abs(step) <= mp.mpf(10) ** -35 * max(1, abs(x)):
            break
    return x


def _nppf(u: mp.mpf) -> mp.mpf:
    return mp.sqrt(2) * mp.erfinv(2 * u - 1)


def _ncdf(z: mp.mpf) -> mp.mpf:
    return mp.erfc(-z / mp.sqrt(2)) / 2


def mp_logpdf(fam: str, a: mp.mpf, b: mp.mpf, par: list[mp.mpf]) -> mp.mpf:
    if fam == "gaussian":
        r = par[0]
        x1, x2 = _nppf(a), _nppf(b)
        return (-mp.log(1 - r * r) / 2
                - (r * r * (x1 * x1 + x2 * x2) - 2 * r * x1 * x2) / (2 * (1 - r * r)))
    if fam == "student":
        r, nu = par
        x1, x2 = _tppf(a, nu), _tppf(b, nu)
        return (mp.loggamma((nu + 2) / 2) + mp.loggamma(nu / 2) - 2 * mp.loggamma((nu + 1) / 2)
                - mp.log(1 - r * r) / 2
                - (nu + 2) / 2 * mp.log(1 + (x1 * x1 + x2 * x2 - 2 * r * x1 * x2)
                                        / (nu * (1 - r * r)))
                + (nu + 1) / 2 * (mp.log(1 + x1 * x1 / nu) + mp.log(1 + x2 * x2 / nu)))
    th = par[0]
    if fam == "clayton":
        return (mp.log(1 + th) - (1 + th) * (mp.log(a) + mp.log(b))
                - (2 + 1 / th) * mp.log(a ** -th + b ** -th - 1))
    if fam == "gumbel":
        x, y = -mp.log(a), -mp.log(b)
        big_a = (x ** th + y ** th) ** (1 / th)
        return (-big_a + x + y + (th - 1) * (mp.log(x) + mp.log(y))
                + (1 - 2 * th) * mp.log(big_a) + mp.log(big_a + th - 1))
    den = (1 - mp.exp(-th)) - (1 - mp.exp(-th * a)) * (1 - mp.exp(-th * b))
    return mp.log(th * (1 - mp.exp(-th))) - th * (a + b) - 2 * mp.log(abs(den))


def mp_h1(fam: str, a: mp.mpf, b: mp.mpf, par: list[mp.mpf]) -> mp.mpf:
    """P(U2 <= b | U1 = a)."""
    if fam == "gaussian":
        r = par[0]
        return _ncdf((_nppf(b) - r * _nppf(a)) / mp.sqrt(1 - r * r))
    if fam == "student":
        r, nu = par
        x1, x2 = _tppf(a, nu), _tppf(b, nu)
        return _tcdf((x2 - r * x1) / mp.sqrt((nu + x1 * x1) * (1 - r * r) / (nu + 1)), nu + 1)
    th = par[0]
    if fam == "clayton":
        return a ** (-th - 1) * (a ** -th + b ** -th - 1) ** (-1 / th - 1)
    if fam == "gumbel":
        x, y = -mp.log(a), -mp.log(b)
        big_a = (x ** th + y ** th) ** (1 / th)
        return mp.exp(x - big_a + (th - 1) * (mp.log(x) - mp.log(big_a)))
    den = (1 - mp.exp(-th)) - (1 - mp.exp(-th * a)) * (1 - mp.exp(-th * b))
    return mp.exp(-th * a) * (1 - mp.exp(-th * b)) / den


def mp_hinv1(fam: str, a: mp.mpf, p: mp.mpf, par: list[mp.mpf]) -> mp.mpf:
    """The v with P(U2 <= v | U1 = a) = p."""
    if fam == "gaussian":
        r = par[0]
        return _ncdf(r * _nppf(a) + mp.sqrt(1 - r * r) * _nppf(p))
    if fam == "student":
        r, nu = par
        x1 = _tppf(a, nu)
        scale = mp.sqrt((nu + x1 * x1) * (1 - r * r) / (nu + 1))
        return _tcdf(_tppf(p, nu + 1) * scale + r * x1, nu)
    th = par[0]
    if fam == "clayton":
        return ((p * a ** (th + 1)) ** (-th / (1 + th)) - a ** -th + 1) ** (-1 / th)
    if fam == "frank":
        return -mp.log(1 - (1 - mp.exp(-th)) / (1 + mp.exp(-th * a) * (1 - p) / p)) / th
    # Gumbel: Newton on x expm1(d) + (th - 1) d + log p = 0 (A = x e^d), then certified by
    # the h-function itself so that the reference does not rest on that algebra
    x, lp = -mp.log(a), mp.log(p)
    d = min(mp.log(1 - lp / x), -lp / (th - 1) if th > 1 else mp.inf)
    for _ in range(200):
        step = (x * mp.expm1(d) + (th - 1) * d + lp) / (x * mp.exp(d) + th - 1)
        d -= step
        if abs(step) <= mp.mpf(10) ** -38 * abs(d):
            break
    v = mp.exp(-x * mp.expm1(th * d) ** (1 / th))
    assert abs(mp_h1("gumbel", a, v, par) - p) <= mp.mpf(10) ** -30 * (1 + p)
    return v


def truth(name: str, fam: str, par: tuple[float, ...], rot: int, row: np.ndarray) -> float:
    """40-digit value of a rotated function, rotating the data in double as both codes do."""
    u1, u2 = float(row[0]), float(row[1])
    a, b = {0: (u1, u2), 90: (u2, 1 - u1), 180: (1 - u1, 1 - u2), 270: (1 - u2, u1)}[rot]
    a, b = mp.mpf(a), mp.mpf(b)
    p = [mp.mpf(x) for x in par]
    if name == "log_density":
        return float(mp_logpdf(fam, a, b, p))
    first = rot in (0, 180)
    if name == "hfunc1":
        v = mp_h1(fam, a, b, p) if first else mp_h1(fam, b, a, p)
        return float(1 - v if rot in (180, 270) else v)
    if name == "hfunc2":
        v = mp_h1(fam, b, a, p) if first else mp_h1(fam, a, b, p)
        return float(1 - v if rot in (90, 180) else v)
    if name == "hinv1":
        v = mp_hinv1(fam, a, b, p) if first else mp_hinv1(fam, b, a, p)
        return float(1 - v if rot in (180, 270) else v)
    v = mp_hinv1(fam, b, a, p) if first else mp_hinv1(fam, a, b, p)
    return float(1 - v if rot in (90, 180) else v)


def compare(family: str) -> list[dict[str, object]]:
    """One row per (parameters, rotation, function): differences against both references."""
    rows = []
    ut = torch.from_numpy(U.copy())
    for par in CASES[family]:
        th = theta_of(family, par)
        for rot in rotations(family):
            b = bicop(family, par, rot)
            refs = {"log_density": lambda x, b=b: np.log(b.pdf(x)), "hfunc1": b.hfunc1,
                    "hfunc2": b.hfunc2, "hinv1": b.hinv1, "hinv2": b.hinv2}
            for name in FUNCS:
                ours = getattr(K, name)(family, ut, th, rot).numpy()
                theirs = refs[name](U)
                diff = np.abs(ours - theirs)
                off = np.flatnonzero(~(diff <= TOL))
                vs_truth, pv_err = 0.0, 0.0
                for k in off:
                    t = truth(name, family, par, rot, U[k])
                    vs_truth = max(vs_truth, abs(ours[k] - t))
                    pv_err = max(pv_err, abs(theirs[k] - t) if np.isfinite(theirs[k]) else np.inf)
                rows.append({"family": family, "params": par, "rotation": rot, "function": name,
                             "max_diff_pv": float(np.max(diff, where=diff <= TOL, initial=0.0)),
                             "n_arbitrated": len(off), "max_diff_mpmath": vs_truth,
                             "pv_error": pv_err})
    return rows


@pytest.mark.parametrize("family", K.FAMILIES)
def test_kernel_equals_pyvinecopulib_or_mpmath(family: str) -> None:
    rows = compare(family)
    bad = [r for r in rows if r["max_diff_pv"] > TOL or r["max_diff_mpmath"] > TOL]
    assert not bad, bad
    # arbitration only ever sides with the kernel: every disagreement is pyvinecopulib's error
    assert all(r["pv_error"] > TOL for r in rows if r["n_arbitrated"])


def test_frank_at_zero_is_independence() -> None:
    # pyvinecopulib returns NaN for Frank with theta = 0; the limit is the independence copula
    ut = torch.from_numpy(U.copy())
    assert torch.equal(K.log_density("frank", ut, 0.0), torch.zeros(len(U), dtype=torch.float64))
    assert torch.equal(K.hfunc1("frank", ut, 0.0), ut[:, 1])
    assert torch.equal(K.hinv1("frank", ut, 0.0), ut[:, 1])


def test_pyvinecopulib_clamps_pits_the_kernel_does_not() -> None:
    # the kernel evaluates u = 1e-13 where it is; pyvinecopulib moves it to 1e-10 first
    u = np.array([[0.2, 1e-13]])
    b = bicop("student", (0.3, 8.0), 0)
    ours = float(K.log_density("student", torch.from_numpy(u), [0.3, 8.0])[0])
    assert ours == pytest.approx(truth("log_density", "student", (0.3, 8.0), 0, u[0]), abs=TOL)
    assert np.log(b.pdf(u))[0] == pytest.approx(np.log(b.pdf(np.array([[0.2, 1e-10]])))[0])


# ---------------------------------------------------------------- round trips


def test_round_trips_hold_to_the_conditioning_of_double_precision() -> None:
    """h(hinv(p)) = p to 1e-10, except where no double can do better.

    An h-inverse within ~1e-10 of 0 or 1 is only known to about one ulp of 1 (~1e-16) after a
    rotation's ``1 - v``; where the density there is ~1e9 or more, h moves by more than 1e-10
    across that ulp. The bound is therefore 1e-10 + 4 eps c(u1, v); the inverses themselves
    match the 40-digit references to 1e-10 (previous test).
    """
    ut = torch.from_numpy(U.copy())
    n_plain, n_total = 0, 0
    for family, pars in CASES.items():
        for par in pars:
            th = theta_of(family, par)
            for rot in rotations(family):
                for inv, h, keep in (("hinv1", "hfunc1", 0), ("hinv2", "hfunc2", 1)):
                    v = getattr(K, inv)(family, ut, th, rot)
                    pts = ut.clone()
                    pts[:, 1 - keep] = v
                    ok = (v > 0) & (v < 1)  # 0 or 1 when the exact inverse rounds there
                    back = getattr(K, h)(family, pts[ok], th, rot)
                    err = (back - ut[ok, 1 - keep]).abs()
                    dens = torch.exp(K.log_density(family, pts[ok], th, rot))
                    assert bool((err <= TOL + 4 * EPS * dens).all()), (family, par, rot, inv)
                    n_plain += int((err <= TOL).sum())
                    n_total += int(ok.sum())
    assert n_plain / n_total > 0.95


# ---------------------------------------------------------------- dependence measures


@pytest.mark.parametrize("family", K.FAMILIES)
def test_tau_and_tail_dependence_equal_pyvinecopulib(family: str) -> None:
    for par in CASES[family]:
        th = theta_of(family, par)
        for rot in rotations(family):
            b = bicop(family, par, rot)
            p = np.array(par, dtype=float).reshape(-1, 1)
            if not (family == "frank" and abs(par[0]) < 0.1):  # pyvinecopulib: 0 or 1e-11
                assert float(K.kendall_tau(family, th, rot)) == pytest.approx(
                    b.parameters_to_tau(p), abs=1e-14)
            np.testing.assert_allclose(K.tail_dependence_matrix(family, th, rot).numpy(),
                                       b.parameters_to_taildep(p), atol=1e-14)


def test_tail_dependence_closed_forms() -> None:
    lo, up = K.tail_dependence("clayton", 2.0)
    assert (float(lo), float(up)) == (2 ** -0.5, 0.0)
    lo, up = K.tail_dependence("clayton", 2.0, rotation=180)
    assert (float(lo), float(up)) == (0.0, 2 ** -0.5)
    lo, up = K.tail_dependence("gumbel", 3.0)
    assert float(lo) == 0.0 and float(up) == pytest.approx(2 - 2 ** (1 / 3), abs=1e-15)
    lo, up = K.tail_dependence("student", [0.5, 4.0])
    ref = 2 * stats.t.cdf(-math.sqrt(5 * 0.5 / 1.5), 5)
    assert float(lo) == float(up) == pytest.approx(ref, rel=1e-13)
    for fam, th in (("gaussian", 0.9), ("frank", 10.0)):
        assert [float(x) for x in K.tail_dependence(fam, th)] == [0.0, 0.0]
    lo, up = K.tail_dependence("gumbel", 3.0, rotation=90)  # moved to the off-diagonal
    assert float(lo) == float(up) == 0.0


def test_frank_tau_equals_debye_quadrature() -> None:
    mp.mp.dps = 30
    for th in (-30.0, -2.0, -0.999, -1e-7, 1e-6, 1e-5, 0.3, 1.0, 1.001, 4.0, 60.0):
        debye = mp.quad(lambda t: t / mp.expm1(t), [0, th]) / th
        ref = float(1 - 4 / mp.mpf(th) + 4 * debye / th)
        assert float(K.kendall_tau("frank", th)) == pytest.approx(ref, rel=1e-13, abs=1e-17)
    mp.mp.dps = 40


@pytest.mark.parametrize("family", K.FAMILIES)
def test_tau_inversion(family: str) -> None:
    taus = [0.05, 0.4, 0.8, 0.97]
    for rot in rotations(family):
        sign = -1.0 if rot in (90, 270) else 1.0
        signs = [1.0, -1.0] if family in ("gaussian", "student", "frank") else [sign]
        for s in signs:
            for tau in taus:
                th = K.tau_to_parameter(family, s * tau, rot)
                par = [float(th), 5.0] if family == "student" else float(th)
                assert float(K.kendall_tau(family, par, rot)) == pytest.approx(s * tau, abs=1e-14)
                if family != "student" and abs(float(th)) < 28:  # inside pyvinecopulib's bounds
                    ref = bicop(family, (1.0,) if family != "frank" else (0.0,), rot)
                    assert float(th) == pytest.approx(
                        ref.tau_to_parameters(s * tau)[0, 0], rel=1e-6)
    with pytest.raises(ParameterDomainError, match="tau"):
        K.tau_to_parameter("clayton", -0.3)
    with pytest.raises(ParameterDomainError, match="tau"):
        K.tau_to_parameter("gumbel", 0.3, rotation=90)
    with pytest.raises(ParameterDomainError, match="tau"):
        K.tau_to_parameter("gaussian", 1.0)


# ---------------------------------------------------------------- simulation


@pytest.mark.parametrize(("family", "theta", "rotation"), [
    ("gaussian", 0.6, 0), ("student", [-0.5, 4.0], 0), ("clayton", 3.0, 0),
    ("clayton", 2.0, 90), ("gumbel", 2.5, 180), ("gumbel", 1.5, 270), ("frank", -6.0, 0),
])
def test_simulation_is_seeded_and_has_the_right_tau(family: str, theta: object,
                                                     rotation: int) -> None:
    a = K.simulate(family, theta, 20_000, rotation=rotation, seed=11)
    b = K.simulate(family, theta, 20_000, rotation=rotation, seed=11)
    c = K.simulate(family, theta, 20_000, rotation=rotation, seed=12)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (20_000, 2) and bool(((a > 0) & (a < 1)).all())
    tau_hat = stats.kendalltau(a[:, 0].numpy(), a[:, 1].numpy()).statistic
    # the standard error of tau-hat is below 0.005 here: 0.02 is four of them
    assert tau_hat == pytest.approx(float(K.kendall_tau(family, theta, rotation)), abs=0.02)


def test_simulation_with_one_parameter_per_draw_and_a_generator() -> None:
    theta = torch.linspace(1.0, 5.0, 500, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    a = K.simulate("clayton", theta, 500, generator=g)
    b = K.simulate("clayton", theta, 500, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    with pytest.raises(DataValidationError, match="rows"):
        K.simulate("clayton", theta, 400, seed=1)
    with pytest.raises(ConfigError):
        K.simulate("clayton", 1.0, 10, seed=1, generator=g)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize(("family", "theta", "rotation"), [
    ("gaussian", [0.4], 0), ("student", [0.4, 5.0], 0), ("clayton", [2.0], 0),
    ("clayton", [1.3], 270), ("gumbel", [1.7], 0), ("gumbel", [2.2], 90), ("frank", [-3.0], 0),
    ("frank", [0.0], 0), ("frank", [5e-7], 0),
])
def test_gradcheck(family: str, theta: list[float], rotation: int) -> None:
    gen = torch.Generator().manual_seed(0)
    u = (torch.rand(5, 2, generator=gen, dtype=torch.float64) * 0.9 + 0.05).requires_grad_(True)
    th = torch.tensor(theta, dtype=torch.float64).repeat(5, 1)
    th = (th if family == "student" else th[:, 0]).requires_grad_(True)
    for name in FUNCS:
        f = getattr(K, name)
        assert torch.autograd.gradcheck(lambda uu, tt, f=f: f(family, uu, tt, rotation),
                                        (u, th), eps=1e-6, atol=1e-8, rtol=1e-5)
    one = torch.tensor(theta if family == "student" else theta[0], dtype=torch.float64,
                       requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: K.kendall_tau(family, t, rotation), (one,))
    assert torch.autograd.gradcheck(lambda t: K.tail_dependence_matrix(family, t, rotation),
                                    (one,))


def test_gradcheck_tau_inverse() -> None:
    for fam, tau in (("gaussian", 0.3), ("clayton", 0.4), ("gumbel", 0.5), ("frank", -0.6),
                     ("frank", 0.05)):
        t = torch.tensor(tau, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, fam=fam: K.tau_to_parameter(fam, x), (t,))


# ---------------------------------------------------------------- bad input


def test_bad_u_raises_naming_row_column_and_rule() -> None:
    good = torch.full((4, 2), 0.5, dtype=torch.float64)
    for bad_value, rule in ((0.0, "open-unit-interval"), (1.0, "open-unit-interval"),
                            (-0.2, "open-unit-interval"), (float("nan"), "finite"),
                            (float("inf"), "finite")):
        u = good.clone()
        u[2, 1] = bad_value
        with pytest.raises(DataValidationError) as err:
            K.log_density("gaussian", u, 0.3)
        assert (err.value.rule, err.value.row, err.value.column) == (rule, 2, 1)
    for shape in ((4, 3), (4,), (2, 2, 2)):
        with pytest.raises(DataValidationError) as err:
            K.hfunc1("frank", torch.full(shape, 0.5, dtype=torch.float64), 1.0)
        assert err.value.rule == "shape"


@pytest.mark.parametrize(("family", "theta", "name"), [
    ("gaussian", 1.0, "rho"), ("gaussian", -1.5, "rho"), ("student", [0.2, 0.0], "nu"),
    ("student", [1.0, 4.0], "rho"), ("clayton", 0.0, "theta"), ("clayton", -0.5, "theta"),
    ("gumbel", 0.99, "theta"), ("frank", float("nan"), "theta"),
    ("clayton", [1.0, 2.0, -1.0, 3.0], "theta[2]"),
])
def test_parameters_outside_the_domain_raise(family: str, theta: object, name: str) -> None:
    u = torch.full((4, 2), 0.5, dtype=torch.float64)
    with pytest.raises(ParameterDomainError) as err:
        K.log_density(family, u, theta)
    assert err.value.name == name


def test_bad_family_rotation_and_shapes_raise() -> None:
    u = torch.full((3, 2), 0.5, dtype=torch.float64)
    with pytest.raises(ConfigError, match="unknown copula family"):
        K.log_density("joe", u, 2.0)
    for fam, rot in (("clayton", 45), ("gaussian", 90), ("frank", 180), ("student", 270)):
        with pytest.raises(ConfigError, match="rotation"):
            K.log_density(fam, u, [0.5, 4.0] if fam == "student" else 0.5, rot)
    with pytest.raises(DataValidationError, match="shape"):
        K.log_density("student", u, [0.5, 4.0, 1.0])
    with pytest.raises(DataValidationError, match="rows"):
        K.log_density("gaussian", u, [0.1, 0.2])


# ---------------------------------------------------------------- properties

# dyadic values: 1 - (1 - u) == u exactly, so rotations can be compared to the last bit
unit = st.integers(1, 2**20 - 1).map(lambda k: k / 2**20)
params = {
    "gaussian": st.floats(-0.99, 0.99),
    "student": st.tuples(st.floats(-0.99, 0.99), st.floats(2.0, 50.0)).map(list),
    "clayton": st.floats(1e-3, 28.0),
    "gumbel": st.floats(1.0, 50.0),
    "frank": st.floats(-35.0, 35.0),
}
draw = st.sampled_from(K.FAMILIES).flatmap(lambda f: st.tuples(
    st.just(f), params[f], st.sampled_from(rotations(f)), unit, unit))


@settings(max_examples=150, deadline=None)
@given(draw)
def test_properties(case: tuple) -> None:
    family, theta, rot, u1, u2 = case
    u = torch.tensor([[u1, u2]], dtype=torch.float64, requires_grad=True)
    # d h1 / d u2 is the density
    h1 = K.hfunc1(family, u, theta, rot)
    (g,) = torch.autograd.grad(h1.sum(), u)
    dens = torch.exp(K.log_density(family, u.detach(), theta, rot))
    assert float(g[0, 1]) == pytest.approx(float(dens[0]), rel=1e-7, abs=TOL)
    assert 0.0 <= float(h1.detach()) <= 1.0
    # round trips, within the conditioning of double precision
    ud = u.detach()
    v = K.hinv1(family, ud, theta, rot)
    if 0 < float(v) < 1:
        back = K.hfunc1(family, torch.stack([ud[:, 0], v], 1), theta, rot)
        c = torch.exp(K.log_density(family, torch.stack([ud[:, 0], v], 1), theta, rot))
        assert abs(float(back) - u2) <= TOL + 4 * EPS * float(c)
    # rotation by 180 degrees is the survival copula; 90 and 270 are reflections
    base = K.log_density(family, ud, theta, 0)
    if family in K.ROTATABLE:
        flip = torch.stack([1 - ud[:, 0], 1 - ud[:, 1]], 1)
        assert float(K.log_density(family, flip, theta, 180)) == pytest.approx(
            float(base), rel=1e-12, abs=1e-12)
    # exchangeability of all five base families
    swap = ud.flip(1)
    assert float(K.log_density(family, swap, theta, 0)) == pytest.approx(
        float(base), rel=1e-12, abs=1e-12)


if __name__ == "__main__":  # the table of differences for the note
    import pandas as pd

    table = pd.DataFrame([r for f in K.FAMILIES for r in compare(f)])
    summary = table.groupby(["family", "function"]).agg(
        max_diff_pv=("max_diff_pv", "max"), arbitrated=("n_arbitrated", "sum"),
        max_diff_mpmath=("max_diff_mpmath", "max"), max_pv_error=("pv_error", "max"))
    with pd.option_context("display.float_format", "{:.1e}".format, "display.width", 120):
        print(summary)
