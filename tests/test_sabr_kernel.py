"""SABR kernel against QuantLib 1.44 (and a 50-digit evaluation where QuantLib loses digits)."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import QuantLib as ql
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridrisk import datasets
from hybridrisk.errors import ConfigError, ParameterDomainError
from hybridrisk.kernels.sabr import implied_vol

EPS = np.finfo(float).eps
SHIFT = 0.02


# ---------------------------------------------------------------- the random grid


def _grid(seed: int = 20260301, n: int = 3000) -> dict[str, np.ndarray]:
    """Rates-like forwards, deep wings (K/F from 0.08 to 12), 1-day expiries, exact ATM points."""
    rng = np.random.default_rng(seed)
    f = np.exp(rng.uniform(np.log(0.005), np.log(0.1), n))
    m = np.exp(rng.uniform(-2.5, 2.5, n))
    m[:60] = 1.0  # exact ATM
    t = np.exp(rng.uniform(np.log(1 / 365), np.log(30), n))
    t[rng.random(n) < 0.2] = 1.0 / 365.0  # 1-day expiries
    b = rng.uniform(0.0, 1.0, n)
    b[60:90], b[90:120] = 0.0, 1.0
    r = rng.uniform(-0.99, 0.99, n)
    r[120:140], r[140:160] = -0.999, 0.999
    nu = np.exp(rng.uniform(np.log(1e-4), np.log(3.0), n))
    nu[160:180] = 0.0
    a = rng.uniform(0.05, 0.6, n) * f ** (1.0 - b)  # ATM lognormal vols of 5% to 60%
    return {"f": f, "k": f * m, "t": t, "a": a, "b": b, "r": r, "n": nu}


G = _grid()


def _x_rounding(z: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Relative rounding bound of QuantLib's ``log((sqrt(B) + z - rho) / (1 - rho))``.

    It cancels for small nonzero ``z`` (the log of a number near 1) and when ``z - rho`` is
    large and negative (``sqrt(B) + z - rho``); QuantLib switches to its series only for
    ``z^2 < 10 eps``.
    """
    sb = np.sqrt(1.0 - 2.0 * rho * z + z * z)
    num = sb + z - rho
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(num / (1.0 - rho))
        out = EPS * (sb + np.abs(z - rho)) / num / np.abs(x)
    return np.where(z * z > 10 * EPS, out, 0.0)


def _z(g: dict[str, np.ndarray], alpha: np.ndarray, shift: float = 0.0) -> np.ndarray:
    f, k = g["f"] + shift, g["k"] + shift
    return g["n"] / alpha * (f * k) ** ((1 - g["b"]) / 2) * np.log(f / k)


# ---------------------------------------------------------------- variants

def _variant(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ours, QuantLib, QuantLib's rounding bound) on the grid for one variant."""
    g = G
    f, k, t, b, r, n = g["f"], g["k"], g["t"], g["b"], g["r"], g["n"]
    a = g["a"]
    if name in ("normal", "shifted_normal"):
        a = a * f ** b  # a normal vol of the same size
    if name == "lognormal":
        q = [ql.sabrVolatility(*v) for v in zip(k, f, t, a, b, n, r, strict=True)]
        ours = implied_vol(f, k, t, a, b, r, n)
        bound = _x_rounding(_z(g, a), r)
    elif name == "normal":
        q = [ql.sabrVolatility(*v, ql.Normal) for v in zip(k, f, t, a, b, n, r, strict=True)]
        ours = implied_vol(f, k, t, a, b, r, n, vol_type="normal")
        bound = _x_rounding(_z(g, a), r)
    elif name in ("shifted_lognormal", "shifted_normal"):
        vt = ql.Normal if name == "shifted_normal" else ql.ShiftedLognormal
        q = [ql.shiftedSabrVolatility(*v, SHIFT, vt)
             for v in zip(k - SHIFT, f - SHIFT, t, a, b, n, r, strict=True)]  # negative rates
        ours = implied_vol(f - SHIFT, k - SHIFT, t, a, b, r, n, shift=SHIFT,
                           vol_type="normal" if name == "shifted_normal" else "lognormal")
        bound = _x_rounding(_z(g, a), r)
    else:
        q = [ql.sabrFlochKennedyVolatility(*v) for v in zip(k, f, t, a, b, n, r, strict=True)]
        ours = implied_vol(f, k, t, a, b, r, n, approx="floch_kennedy")
        bound = _fk_rounding(g)
    return ours.numpy(), np.array(q), bound


def _fk_rounding(g: dict[str, np.ndarray]) -> np.ndarray:
    """Rounding bound of QuantLib's Le Floc'h-Kennedy closed form (0 inside its Taylor band).

    Its ``y = (F^(1-b) - k^(1-b)) / (1-b)`` cancels near the money and is 0/0 at ``beta = 1``,
    its ``Dint`` cancels like ``x(z)`` (and is 0/0 at ``nu = 0``), the ``T``-correction
    subtracts two O(1) logarithms whose difference is O((k-F)^2), divided by ``Dint^2``, and
    the vol is the difference of two terms. A factor 4 covers what this first-order count misses.
    """
    f, k, t, a, b, r, n = (g[c] for c in "fktabrn")
    with np.errstate(all="ignore"):
        y = (k ** (1 - b) - f ** (1 - b)) / (1 - b)
        ky = EPS * (f ** (1 - b) + k ** (1 - b)) / np.abs(k ** (1 - b) - f ** (1 - b))
        zeta = -n * y / a
        kx = _x_rounding(zeta, r)
        x = np.log((np.sqrt(1 - 2 * r * zeta + zeta**2) + zeta - r) / (1 - r))
        d_int = x / n
        w0 = np.log(f / k) / d_int
        dk = np.sqrt(a * a + 2 * a * r * n * y + n * n * y * y) * k**b
        logs = np.abs(np.log(w0)) + 0.5 * np.abs(np.log(f * k / (a * f**b * dk))) + 1.0
        first = w0 * (1 + r * n * a * (k**b - f**b) / (k - f) * t / 4)
        bracket = np.log(w0) + 0.5 * np.log(f * k / (a * f**b * dk))
        corr = w0 / d_int**2 * bracket * t
        vol = np.abs(first - corr)
        kb = EPS * t * logs * np.abs(w0) / d_int**2 / vol
        ks = EPS * (np.abs(first) + np.abs(corr)) / vol
        kw = ky + kx  # relative error of omega0, absolute in log(omega0) inside the bracket
        total = 4 * (kw * (np.abs(first) + np.abs(corr) * (1 + 1 / np.abs(bracket))) / vol
                     + kb + ks)
        out = np.where(np.isfinite(total), total, np.inf)
    band = (f / k >= 0.9975) & (f / k <= 1.0025)
    return np.where(band, 0.0, out)


VARIANTS = ["lognormal", "normal", "shifted_lognormal", "shifted_normal", "floch_kennedy"]
WELL_CONDITIONED = 3e-13  # QuantLib's own rounding bound below which we demand 1e-12


def max_rel_diff(name: str) -> tuple[float, float]:
    """Largest |ours/QuantLib - 1| where QuantLib is well conditioned, and the share kept."""
    ours, q, bound = _variant(name)
    keep = bound < WELL_CONDITIONED
    return float(np.max(np.abs(ours[keep] / q[keep] - 1.0))), float(keep.mean())


@pytest.mark.parametrize("name", VARIANTS)
def test_equals_quantlib_on_random_grid(name: str) -> None:
    ours, q, bound = _variant(name)
    keep = bound < WELL_CONDITIONED
    atm = G["k"] == G["f"]
    ratio = G["k"] / G["f"]
    # the comparison covers the exact ATM point, both deep wings and 1-day expiries
    assert keep[atm].all()
    assert keep.mean() > 0.6  # 63% (Le Floc'h-Kennedy) to 87% (normal) of this harsh grid
    assert (keep & (ratio < 0.1)).any() and (keep & (ratio > 10)).any()
    assert (keep & (G["t"] == 1 / 365)).sum() > 100
    rel = np.abs(ours[keep] / q[keep] - 1.0)
    assert rel.max() < 1e-12, (name, rel.max())


# ---------------------------------------------------------------- 50 digits where QuantLib is not


mp.mp.dps = 50


def _mp_z_over_x(z: mp.mpf, rho: mp.mpf) -> mp.mpf:
    if z == 0:
        return mp.mpf(1)
    return z / mp.log((mp.sqrt(1 - 2 * rho * z + z * z) + z - rho) / (1 - rho))


def _mp_hagan(k, f, t, a, b, n, r, normal: bool) -> float:
    k, f, t, a, b, n, r = (mp.mpf(float(v)) for v in (k, f, t, a, b, n, r))
    lm = mp.log(f / k)
    sq = (f * k) ** ((1 - b) / 2)
    c = (1 - b) ** 2 * lm**2
    mult = _mp_z_over_x(n / a * sq * lm, r)
    second = r * b * n * a / (4 * sq) + (2 - 3 * r * r) * n * n / 24
    den = 1 + c / 24 + c * c / 1920
    if normal:
        e = (1 + lm**2 / 24 + lm**4 / 1920) / den
        drift = -b * (2 - b) * a * a / (24 * sq**2)
        return float(a * (f * k) ** (b / 2) * e * mult * (1 + t * (drift + second)))
    return float(a / (sq * den) * mult * (1 + t * ((1 - b) ** 2 * a * a / (24 * sq**2) + second)))


def _mp_fk(k, f, t, a, b, n, r) -> float:
    k, f, t, a, b, n, r = (mp.mpf(float(v)) for v in (k, f, t, a, b, n, r))
    y = mp.log(k / f) if b == 1 else (k ** (1 - b) - f ** (1 - b)) / (1 - b)
    d_int = -(y / a) / _mp_z_over_x(-n * y / a, r)
    w0 = mp.log(f / k) / d_int
    dk = mp.sqrt(a * a + 2 * a * r * n * y + n * n * y * y) * k**b
    corr = w0 / d_int**2 * (mp.log(w0) + mp.log(f * k / (a * f**b * dk)) / 2) * t
    return float(w0 * (1 + r * n * a * (k**b - f**b) / (k - f) * t / 4) - corr)


@pytest.mark.parametrize("name", ["lognormal", "normal", "floch_kennedy"])
def test_accurate_where_quantlib_loses_digits(name: str) -> None:
    """Off the well-conditioned set, ours is within 1e-12 of a 50-digit value; QuantLib is not."""
    ours, q, bound = _variant(name)
    off = np.flatnonzero(bound >= WELL_CONDITIONED)
    if name == "floch_kennedy":  # QuantLib's closed form is NaN at beta = 1 and nu = 0
        off = off[(G["b"][off] < 1) & (G["n"][off] > 0)]
    off = off[:: max(1, off.size // 60)]
    g = G
    a = g["a"] * (g["f"] ** g["b"] if name == "normal" else 1.0)
    ref = np.array([
        _mp_fk(g["k"][i], g["f"][i], g["t"][i], a[i], g["b"][i], g["n"][i], g["r"][i])
        if name == "floch_kennedy" else
        _mp_hagan(g["k"][i], g["f"][i], g["t"][i], a[i], g["b"][i], g["n"][i], g["r"][i],
                  name == "normal") for i in off])
    ours_err = np.abs(ours[off] / ref - 1)
    ql_err = np.abs(q[off] / ref - 1)
    if name == "floch_kennedy":
        # the closed form's own cancellation near the band edge bounds any float64 evaluation
        assert np.all(ours_err <= np.maximum(ql_err, 1e-12) + _fk_own_bound(off))
    else:
        assert np.all(ours_err < 1e-12 + _hagan_own_bound(off, a[off], name == "normal"))
    assert ql_err.max() > 1e-12  # these points really are where QuantLib's formula rounds


def _hagan_own_bound(idx: np.ndarray, a: np.ndarray, normal: bool) -> np.ndarray:
    """Rounding of Hagan's factor ``1 + T(...)`` where its terms nearly cancel (any float64
    evaluation of the formula loses these digits: the vol itself is nearly zero there)."""
    f, k, t, b, r, n = (G[c][idx] for c in "fktbrn")
    sq = (f * k) ** ((1 - b) / 2)
    drift = (-b * (2 - b) if normal else (1 - b) ** 2) * a * a / (24 * sq**2)
    terms = [drift, r * b * n * a / (4 * sq), (2 - 3 * r * r) * n * n / 24]
    d = 1 + t * sum(terms)
    return 4 * EPS * (1 + t * sum(np.abs(x) for x in terms)) / np.abs(d)


def _fk_own_bound(idx: np.ndarray) -> np.ndarray:
    sub = {c: G[c][idx] for c in G}
    sub["b"] = np.where(sub["b"] == 1, 1 - 1e-9, sub["b"])
    return _fk_rounding(sub)


# ---------------------------------------------------------------- published tables


def test_reproduces_quantlib_reference_smile() -> None:
    d = datasets.sabr_hagan_reference()
    row = d.iloc[0]
    vols = implied_vol(row["forward"], torch.tensor(d["strike"].to_numpy()), row["expiry"],
                       row["alpha"], row["beta"], row["rho"], row["nu"]).numpy()
    assert np.max(np.abs(vols / d["sabr_black_vol"].to_numpy() - 1)) < 1e-12


def test_lefloch_kennedy_table() -> None:
    """Table 3 (beta = 1): Hagan equals QuantLib; Le Floc'h-Kennedy equals QuantLib inside the
    Taylor band and, outside it where QuantLib's closed form is 0/0 at beta = 1, the 50-digit
    closed form with its beta -> 1 limit ``y = log(k/F)``."""
    for _, p in datasets.lefloch_kennedy_sabr_params().iterrows():
        f, t, a, b, n, r = (float(p[c])
                            for c in ("forward", "expiry", "alpha", "beta", "nu", "rho"))
        k = f * np.exp(np.linspace(-0.6, 0.6, 13))
        k = np.append(k, [f, f * 1.002])
        hagan = implied_vol(f, k, t, a, b, r, n).numpy()
        q = np.array([ql.sabrVolatility(x, f, t, a, b, n, r) for x in k])
        assert np.max(np.abs(hagan / q - 1)) < 1e-12
        fk = implied_vol(f, k, t, a, b, r, n, approx="floch_kennedy").numpy()
        qfk = np.array([ql.sabrFlochKennedyVolatility(x, f, t, a, b, n, r) for x in k])
        band = np.isfinite(qfk)
        assert band.sum() == 3  # ATM, k = 1.002 F and the 13-point grid's centre
        assert np.max(np.abs(fk[band] / qfk[band] - 1)) < 1e-12
        ref = np.array([_mp_fk(x, f, t, a, b, n, r) for x in k[~band]])
        assert np.max(np.abs(fk[~band] / ref - 1)) < 1e-12
        # and beta = 1 is the continuous limit of beta < 1
        near = implied_vol(f, k, t, a, 1 - 1e-9, r, n, approx="floch_kennedy").numpy()
        assert np.max(np.abs(near / fk - 1)) < 1e-7


# ---------------------------------------------------------------- gradients and dtypes


def _args(dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    # ATM, near ATM, rho near +-1, nu = 0, 1-day expiry, wings; the shift is an argument too
    cols = [
        [0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03],         # forward
        [0.03, 0.0300001, 0.02, 0.06, 0.012, 0.045, 0.027],  # strike
        [1.0, 0.5, 2.0, 1 / 365, 1.0, 3.0, 10.0],           # expiry
        [0.1, 0.1, 0.1, 0.2, 0.05, 0.1, 0.08],              # alpha
        [0.5, 0.5, 0.3, 0.9, 0.3, 0.7, 0.6],                # beta
        [-0.3, 0.999, -0.999, 0.2, 0.0, -0.5, 0.4],         # rho
        [0.4, 0.0, 0.5, 1.0, 1e-3, 0.6, 0.3],               # nu
    ]
    return [torch.tensor(c, dtype=dtype, requires_grad=dtype == torch.float64) for c in cols]


@pytest.mark.parametrize(("vol_type", "approx", "shift"), [
    ("lognormal", "hagan", 0.0), ("normal", "hagan", 0.0), ("lognormal", "hagan", 0.01),
    ("normal", "hagan", 0.02), ("lognormal", "floch_kennedy", 0.0)])
def test_gradcheck_all_arguments(vol_type: str, approx: str, shift: float) -> None:
    args = _args()
    if approx == "floch_kennedy":  # keep the finite-difference probes off the Taylor band edge
        args[1] = torch.tensor([0.03, 0.03005, 0.02, 0.06, 0.012, 0.045, 0.027],
                               dtype=torch.float64, requires_grad=True)
    s = torch.tensor(shift, dtype=torch.float64, requires_grad=True)

    def fn(*a: torch.Tensor) -> torch.Tensor:
        # validate=False: probes of nu = 0 step to nu < 0, where the formula is still smooth
        return implied_vol(*a[:-1], vol_type=vol_type, approx=approx, shift=a[-1], validate=False)

    assert torch.autograd.gradcheck(fn, (*args, s), eps=1e-7, atol=1e-7, rtol=1e-4)
    out = fn(*args, s).sum()
    grads = torch.autograd.grad(out, [*args, s])
    assert all(torch.isfinite(g).all() for g in grads)


def test_exact_atm_gradients_are_finite_both_branches() -> None:
    k = torch.tensor([0.03, 0.03], dtype=torch.float64, requires_grad=True)
    nu = torch.tensor([0.4, 0.0], dtype=torch.float64, requires_grad=True)
    v = implied_vol(0.03, k, 1.0, 0.1, 0.5, -0.3, nu)
    gk, gn = torch.autograd.grad(v.sum(), [k, nu])
    assert torch.isfinite(gk).all() and torch.isfinite(gn).all()


@pytest.mark.parametrize(("vol_type", "approx"), [
    ("lognormal", "hagan"), ("normal", "hagan"), ("lognormal", "floch_kennedy")])
def test_float32_runs_and_is_close_to_float64(vol_type: str, approx: str) -> None:
    a64 = [x.detach() for x in _args()]
    a32 = [x.float() for x in a64]
    v64 = implied_vol(*a64, vol_type=vol_type, approx=approx, shift=0.01)
    v32 = implied_vol(*a32, vol_type=vol_type, approx=approx, shift=0.01)
    assert v32.dtype == torch.float32
    assert torch.max(torch.abs(v32.double() / v64 - 1)) < 1e-5


def test_broadcasts_over_any_batch() -> None:
    k = torch.linspace(0.01, 0.06, 5, dtype=torch.float64)
    nu = torch.tensor([[0.2], [0.4], [0.6]], dtype=torch.float64)
    v = implied_vol(0.03, k, 1.0, 0.1, 0.5, -0.2, nu)
    assert v.shape == (3, 5)
    assert torch.equal(v[1], implied_vol(0.03, k, 1.0, 0.1, 0.5, -0.2, 0.4))


# ---------------------------------------------------------------- domains


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.floats(max_value=-1.0), st.floats(min_value=1.0), st.just(math.nan)))
def test_rho_off_domain_raises(rho: float) -> None:
    with pytest.raises(ParameterDomainError, match="rho"):
        implied_vol(0.03, 0.03, 1.0, 0.1, 0.5, rho, 0.4)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"alpha": 0.0}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"beta": 1.5}, "beta"),
    ({"beta": -0.1}, "beta"), ({"nu": -0.01}, "nu"), ({"expiry": -1.0}, "expiry"),
    ({"strike": -0.01}, "strike"), ({"forward": 0.0}, "forward"),
    ({"strike": -0.01, "shift": 0.005}, "strike"), ({"strike": math.inf}, "strike"),
    ({"forward": math.nan}, "forward")])
def test_domain_errors_name_the_argument(kwargs: dict, name: str) -> None:
    args = {"forward": 0.03, "strike": 0.03, "expiry": 1.0, "alpha": 0.1, "beta": 0.5,
            "rho": 0.0, "nu": 0.4} | kwargs
    with pytest.raises(ParameterDomainError, match=f"'{name}'"):
        implied_vol(**args)


def test_negative_rates_need_a_shift() -> None:
    v = implied_vol(-0.002, torch.tensor([-0.01, 0.0, 0.01]), 1.0, 0.005, 0.0, 0.1, 0.3,
                    vol_type="normal", shift=0.03)
    assert torch.isfinite(v).all()
    with pytest.raises(ParameterDomainError, match="forward"):
        implied_vol(-0.002, 0.01, 1.0, 0.005, 0.0, 0.1, 0.3, vol_type="normal")


def test_bad_options_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="vol_type"):
        implied_vol(0.03, 0.03, 1.0, 0.1, 0.5, 0.0, 0.4, vol_type="black")
    with pytest.raises(ConfigError, match="approx"):
        implied_vol(0.03, 0.03, 1.0, 0.1, 0.5, 0.0, 0.4, approx="obloj")
    with pytest.raises(ConfigError, match="lognormal"):
        implied_vol(0.03, 0.03, 1.0, 0.1, 0.5, 0.0, 0.4, vol_type="normal", approx="floch_kennedy")
