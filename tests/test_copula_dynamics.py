"""Dynamic copulas (Patton 2006; GAS, Creal-Koopman-Lucas 2013): references and real data.

References: autograd of the kernel's log density (scores), exact moments of the elliptical
radial law (Fisher information), pyvinecopulib (static nesting and the path log-likelihood), a
second implementation of both recursions in plain numpy loops written from the papers'
formulas, and parameter recovery on simulated paths. No bundled data set matches a published
table (Patton 2006 uses DM/USD and yen/USD 1991-2001, CKL 2013 do not tabulate a copula on
bundled data), so no published estimate is reproduced.

Real data: GARCH(1,1)-t PITs (IFM) of the S&P 500 and NASDAQ daily returns and of the ECB
EUR/USD and EUR/GBP daily log returns (``100 * diff(log(rate))``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import pyvinecopulib as pv
import torch
from scipy import special

from baselines.copula_dynamics import CopulaPathSimulation, DynamicCopulaResult
from baselines.copula_gas import fit_gas_copula, gas_copula_filter, simulate_gas_copula
from baselines.copula_patton import (
    fit_patton_copula,
    patton_copula_filter,
    simulate_patton_copula,
)
from baselines.margins import garch_pits
from hybridrisk import datasets
from hybridrisk.errors import (
    ConfigError,
    DataValidationError,
    InsufficientDataError,
    ParameterDomainError,
)
from hybridrisk.kernels import copula_dynamics as CD
from hybridrisk.kernels import copulas as K
from hybridrisk.results import Summary

CASES = [("gaussian", 0), ("student", 0), ("clayton", 0), ("clayton", 90), ("clayton", 180),
         ("gumbel", 0), ("gumbel", 180), ("gumbel", 270)]


@pytest.fixture(scope="module")
def pits() -> dict[str, pd.DataFrame]:
    eq = pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1, join="inner")
    rates = datasets.ecb_fx(["USD", "GBP"])
    fx = 100 * np.log(rates).diff().iloc[1:]
    return {"sp500_nasdaq": garch_pits(eq), "eurusd_eurgbp": garch_pits(fx)}


def pv_bicop(family: str, rotation: int, theta: float, nu: float | None = None) -> pv.Bicop:
    par = np.array([[theta]] if nu is None else [[theta], [nu]])
    return pv.Bicop(family=getattr(pv.BicopFamily, family), rotation=rotation, parameters=par)


def kernel_theta(family: str, theta: float, nu: float | None) -> list[float] | float:
    return [theta, nu] if family == "student" else theta


def some_u(n: int = 400, seed: int = 3) -> torch.Tensor:
    u = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    u = 1e-7 + (1 - 2e-7) * u
    corners = torch.tensor([[1e-9, 2e-9], [1 - 1e-9, 1 - 3e-9], [1e-8, 1 - 1e-8],
                            [0.5, 0.5]], dtype=torch.float64)
    return torch.cat([corners, u])


# ---------------------------------------------------------------- kernel


@pytest.mark.parametrize(("family", "rotation"), CASES)
def test_score_equals_autograd_of_the_kernel_density(family: str, rotation: int) -> None:
    u = some_u()
    n = u.shape[0]
    values = {"gaussian": [-0.95, 0.0, 0.6, 0.99], "student": [-0.9, 0.3, 0.98],
              "clayton": [0.05, 1.5, 20.0], "gumbel": [1.001, 2.0, 15.0]}[family]
    for v in values:
        th = torch.full((n,), v, dtype=torch.float64, requires_grad=True)
        arg = (th, torch.tensor(4.5, dtype=torch.float64)) if family == "student" else th
        (g,) = torch.autograd.grad(K.log_density(family, u, arg, rotation).sum(), th)
        s = CD.score(family, u, kernel_theta(family, v, 4.5), rotation)
        np.testing.assert_allclose(s.numpy(), g.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("family", CD.DYNAMIC_FAMILIES)
@pytest.mark.parametrize("scaling", CD.SCALINGS)
def test_scalar_score_equals_torch_score(family: str, scaling: str) -> None:
    if family in ("clayton", "gumbel") and scaling != "unit":
        with pytest.raises(ConfigError, match="closed form"):
            CD.gas_score_function(family, scaling=scaling)
        return
    u = some_u(100)
    nu = 6.0 if family == "student" else None
    rotation = 180 if family in ("clayton", "gumbel") else 0
    f = torch.linspace(-2.0, 2.5, u.shape[0], dtype=torch.float64)
    s = CD.scaled_score(family, u, f, nu=nu, rotation=rotation, scaling=scaling).numpy()
    s1, s2 = CD.score_statistics(family, u, rotation, nu)
    step = CD.gas_score_function(family, nu, scaling)
    scalar = [step(a, b, c) for a, b, c in zip(s1.tolist(), s2.tolist(), f.tolist(),
                                                strict=True)]
    np.testing.assert_allclose(scalar, s, rtol=1e-13, atol=1e-13)
    # the definition: the score in f times its scaling
    th = CD.gas_link(family, f)
    gp = CD.gas_link_derivative(family, f)
    g = CD.score(family, u, (th, torch.tensor(nu, dtype=torch.float64))
                 if nu else th, rotation) * gp
    if scaling != "unit":
        info = CD.fisher_information(family, (th, torch.tensor(nu, dtype=torch.float64))
                                     if nu else th) * gp ** 2
        g = g / (info if scaling == "fisher" else info.sqrt())
    np.testing.assert_allclose(s, g.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("family", "rotation"), [("gaussian", 0), ("clayton", 90),
                                                  ("gumbel", 180)])
def test_scaled_score_and_maps_are_differentiable(family: str, rotation: int) -> None:
    u = some_u(20)[4:]
    f = torch.linspace(-1.0, 1.5, u.shape[0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x: CD.scaled_score(family, u, x, rotation=rotation), (f,))
    x = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: CD.patton_map(family, z)[1], (x,))


@pytest.mark.parametrize("nu", [None, 3.0, 8.5])
@pytest.mark.parametrize("rho", [0.0, 0.45, -0.8, 0.97])
def test_fisher_information_equals_exact_moments_of_the_score(nu: float | None,
                                                              rho: float) -> None:
    """E[score] = 0 and E[score^2] = I(rho) under the copula, computed exactly.

    An elliptical pair is x = R L (cos phi, sin phi) with phi uniform and R independent. At
    fixed phi the score is affine in B = R^2 (Gaussian, R^2 ~ chi2_2: E B = 2, E B^2 = 8) or in
    B = R^2 / (nu + R^2) (t, B ~ Beta(1, nu/2)), so two evaluations of the kernel's score per
    angle and the moments of B give the expectations; the score is a trigonometric polynomial
    of degree 4 in phi, which the trapezoid rule on 16 angles integrates exactly.
    """
    family = "gaussian" if nu is None else "student"
    phi = 2 * np.pi * np.arange(16) / 16
    chol = np.array([[1.0, 0.0], [rho, math.sqrt(1 - rho * rho)]])
    direction = np.stack([np.cos(phi), np.sin(phi)], axis=1) @ chol.T
    b_vals = (0.5, 2.0) if nu is None else (0.25, 0.5)
    cols = []
    for b in b_vals:
        r2 = b if nu is None else nu * b / (1 - b)
        x = math.sqrt(r2) * direction
        u = special.ndtr(x) if nu is None else special.stdtr(nu, x)
        cols.append(CD.score(family, u, kernel_theta(family, rho, nu)).numpy())
    c1 = (cols[1] - cols[0]) / (b_vals[1] - b_vals[0])
    c0 = cols[0] - c1 * b_vals[0]
    m1, m2 = (2.0, 8.0) if nu is None else (2 / (nu + 2), 8 / ((nu + 2) * (nu + 4)))
    mean = np.mean(c0 + c1 * m1)
    second = np.mean(c0 ** 2 + 2 * c0 * c1 * m1 + c1 ** 2 * m2)
    info = float(CD.fisher_information(family, kernel_theta(family, rho, nu)))
    assert abs(mean) < 1e-10 * info
    assert second == pytest.approx(info, rel=1e-10)


@pytest.mark.parametrize("family", CD.DYNAMIC_FAMILIES)
def test_links_and_patton_maps_invert(family: str) -> None:
    f = torch.linspace(-3, 3, 13, dtype=torch.float64)
    np.testing.assert_allclose(CD.gas_link_inverse(family, CD.gas_link(family, f)).numpy(),
                               f.numpy(), rtol=1e-12, atol=1e-12)
    x = torch.linspace(-4, 4, 17, dtype=torch.float64)
    state, theta = CD.patton_map(family, x)
    np.testing.assert_allclose(CD.patton_index(family, state).numpy(), x.numpy(), atol=1e-12)
    np.testing.assert_allclose(CD.patton_state(family, theta).numpy(), state.numpy(),
                               rtol=1e-12, atol=1e-14)
    # the state is the dependence measure Patton's equation names
    if family in ("clayton", "gumbel"):
        lower, upper = K.tail_dependence(family, theta)
        np.testing.assert_allclose((lower if family == "clayton" else upper).numpy(),
                                   state.numpy(), rtol=1e-12)
    # floats give the same numbers as tensors
    assert CD.patton_map_function(family)(0.7)[1] == pytest.approx(
        float(CD.patton_map(family, torch.tensor(0.7, dtype=torch.float64))[1]), rel=1e-14)


# ---------------------------------------------------------------- nesting (pyvinecopulib)


@pytest.mark.parametrize(("family", "rotation"), CASES)
def test_constant_dynamics_equal_the_static_copula(pits: dict[str, pd.DataFrame], family: str,
                                                   rotation: int) -> None:
    u = pits["sp500_nasdaq"]
    arr = u.to_numpy()
    theta = {"gaussian": 0.6, "student": 0.7, "clayton": 1.8, "gumbel": 2.2}[family]
    nu = 6.5 if family == "student" else None
    ref = pv_bicop(family, rotation, theta, nu).loglik(arr)
    extra = [nu] if nu else []
    # GAS with A = 0: f stays at omega / (1 - B)
    b = 0.9
    f = float(CD.gas_link_inverse(family, theta))
    gas = gas_copula_filter(u, family, [f * (1 - b), 0.0, b, *extra], rotation)
    assert gas["loglik"].sum() == pytest.approx(ref, abs=1e-10)
    # Patton with alpha = beta = 0: theta_t = Lambda(omega) from theta_1 = theta
    x = float(CD.patton_index(family, CD.patton_state(family, theta)))
    pat = patton_copula_filter(u, family, [x, 0.0, 0.0, *extra], rotation, initial=theta)
    assert pat["loglik"].sum() == pytest.approx(ref, abs=1e-10)
    assert pat.iloc[:, 0].to_numpy() == pytest.approx(theta, rel=1e-13)
    print(f"nesting {family} {rotation}: GAS {gas['loglik'].sum() - ref:.2e}, "
          f"Patton {pat['loglik'].sum() - ref:.2e}")


# ---------------------------------------------------------------- a second implementation


def np_quantiles(family: str, u: np.ndarray, nu: float | None) -> np.ndarray:
    return special.ndtri(u) if family == "gaussian" else special.stdtrit(nu, u)


def np_base(u: np.ndarray, rotation: int) -> tuple[np.ndarray, np.ndarray]:
    u1, u2 = u[:, 0], u[:, 1]
    return {0: (u1, u2), 90: (u2, 1 - u1), 180: (1 - u1, 1 - u2), 270: (1 - u2, u1)}[rotation]


def np_score(family: str, a: float, b: float, th: float, nu: float | None) -> float:
    """d log c / d theta written out from the copula densities (textbook forms)."""
    if family in ("gaussian", "student"):
        s, p, d = a * a + b * b, a * b, 1 - th * th
        if family == "gaussian":
            return (th * d + (1 + th * th) * p - th * s) / d ** 2
        q = (s - 2 * th * p) / d
        return th / d - (nu + 2) * (th * s - (1 + th * th) * p) / ((nu + q) * d ** 2)
    if family == "clayton":
        big = a ** -th + b ** -th - 1
        dbig = -(a ** -th) * np.log(a) - b ** -th * np.log(b)
        return (1 / (1 + th) - np.log(a * b) + np.log(big) / th ** 2
                - (2 + 1 / th) * dbig / big)
    x, y = -np.log(a), -np.log(b)
    m = x ** th + y ** th
    big = m ** (1 / th)
    dlog_big = -np.log(m) / th ** 2 + (x ** th * np.log(x) + y ** th * np.log(y)) / (th * m)
    dbig = big * dlog_big
    return (-dbig + np.log(x) + np.log(y) - 2 * np.log(big) + (1 - 2 * th) * dlog_big
            + (dbig + 1) / (big + th - 1))


def np_gas(family: str, u: np.ndarray, params: list[float], rotation: int) -> np.ndarray:
    omega, a_, b_ = params[:3]
    nu = params[3] if family == "student" else None
    link = {"gaussian": np.tanh, "student": np.tanh, "clayton": np.exp,
            "gumbel": lambda f: 1 + np.exp(f)}[family]
    if family in ("gaussian", "student"):
        x = np_quantiles(family, u, nu)
        c1, c2 = x[:, 0], x[:, 1]
    else:
        c1, c2 = np_base(u, rotation)
    f = omega / (1 - b_)
    path = np.empty(len(u))
    for t in range(len(u)):
        th = link(f)
        path[t] = th
        g = np_score(family, c1[t], c2[t], th, nu)
        if family == "gaussian":
            s = g * (1 - th * th) / (1 + th * th)  # (dtheta/df) g / ((dtheta/df)^2 I)
        elif family == "student":
            info = ((nu + 2) * (1 + th * th) - 2 * th * th) / ((nu + 4) * (1 - th * th) ** 2)
            s = g / (info * (1 - th * th))
        else:
            s = g * (th if family == "clayton" else th - 1)  # unit scaling
        f = omega + a_ * s + b_ * f
    return path


def np_patton(family: str, u: np.ndarray, params: list[float], rotation: int,
              initial: float) -> np.ndarray:
    omega, alpha, beta = params[:3]
    nu = params[3] if family == "student" else None
    if family in ("gaussian", "student"):
        x = np_quantiles(family, u, nu)
        forcing = x[:, 0] * x[:, 1]
    else:
        a, b = np_base(u, rotation)
        forcing = np.abs(a - b)
    path = np.empty(len(u))
    path[0] = initial
    if family in ("gaussian", "student"):
        state = initial
    elif family == "clayton":
        state = 2 ** (-1 / initial)
    else:
        state = 2 - 2 ** (1 / initial)
    for t in range(1, len(u)):
        z = omega + beta * state + alpha * np.mean(forcing[max(0, t - 10):t])
        if family in ("gaussian", "student"):
            state = (1 - np.exp(-z)) / (1 + np.exp(-z))
            path[t] = state
        else:
            state = 1 / (1 + np.exp(-z))
            path[t] = (-np.log(2) / np.log(state) if family == "clayton"
                       else np.log(2) / np.log(2 - state))
    return path


def pv_path_loglik(family: str, rotation: int, u: np.ndarray, path: np.ndarray,
                   nu: float | None) -> float:
    return sum(pv_bicop(family, rotation, th, nu).loglik(u[t: t + 1])
               for t, th in enumerate(path))


REIMPL = {
    ("gaussian", 0): ([0.03, 0.06, 0.96], [0.1, 0.6, 1.2]),
    ("student", 0): ([0.05, 0.05, 0.95, 6.0], [0.2, 0.4, 1.0, 6.0]),
    ("clayton", 180): ([0.02, 0.05, 0.97], [-0.5, -3.0, 2.5]),
    ("gumbel", 90): ([0.01, 0.04, 0.98], [-0.4, -2.5, 2.0]),
}


@pytest.mark.parametrize(("family", "rotation"), list(REIMPL))
def test_filters_equal_a_numpy_reimplementation(pits: dict[str, pd.DataFrame], family: str,
                                                rotation: int) -> None:
    u = pits["eurusd_eurgbp"].iloc[:1200]
    arr = u.to_numpy()
    if rotation in (90, 270):
        arr = np.column_stack([arr[:, 0], 1 - arr[:, 1]])  # negative dependence
        u = pd.DataFrame(arr, index=u.index, columns=u.columns)
    gas_p, pat_p = REIMPL[(family, rotation)]
    nu = gas_p[3] if family == "student" else None
    name = K.PARAM_NAMES[family][0]
    gas = gas_copula_filter(u, family, gas_p, rotation)
    ref = np_gas(family, arr, gas_p, rotation)
    np.testing.assert_allclose(gas[name].to_numpy(), ref, rtol=1e-12, atol=1e-12)
    assert gas["loglik"].sum() == pytest.approx(pv_path_loglik(family, rotation, arr, ref, nu),
                                                abs=1e-10)
    initial = {"gaussian": 0.45, "student": 0.45, "clayton": 0.7, "gumbel": 1.4}[family]
    pat = patton_copula_filter(u, family, pat_p, rotation, initial=initial)
    ref = np_patton(family, arr, pat_p, rotation, initial)
    np.testing.assert_allclose(pat[name].to_numpy(), ref, rtol=1e-12, atol=1e-12)
    assert pat["loglik"].sum() == pytest.approx(pv_path_loglik(family, rotation, arr, ref, nu),
                                                abs=1e-10)
    # the path moves (the comparison is not of constants)
    assert pat[name].std() > 0.01 and gas[name].std() > 0.01


# ---------------------------------------------------------------- recovery


def within(res: DynamicCopulaResult, truth: list[float], k: float = 3.0) -> pd.Series:
    z = (res.params - np.asarray(truth)) / res.std_errors
    assert np.all(np.isfinite(z)), res.std_errors
    assert np.all(np.abs(z) < k), (res.params, res.std_errors)
    return z


def test_gas_gaussian_recovers_its_parameters() -> None:
    truth = [0.02, 0.05, 0.97]
    sim = simulate_gas_copula("gaussian", truth, 5000, seed=11)
    res = fit_gas_copula(sim.u, "gaussian")
    assert res.converged
    print("GAS recovery z:", within(res, truth).round(2).to_dict())


def test_patton_gaussian_recovers_its_parameters() -> None:
    truth = [0.2, 0.8, 1.5]
    sim = simulate_patton_copula("gaussian", truth, 5000, initial=0.5, seed=12)
    res = fit_patton_copula(sim.u, "gaussian", initial=0.5)
    assert res.converged
    print("Patton recovery z:", within(res, truth).round(2).to_dict())


# ---------------------------------------------------------------- real data


@pytest.mark.parametrize("data", ["sp500_nasdaq", "eurusd_eurgbp"])
def test_real_data_dynamic_gaussian_copulas_beat_the_static_one(
        pits: dict[str, pd.DataFrame], data: str) -> None:
    u = pits[data]
    for fit in (fit_patton_copula, fit_gas_copula):
        res = fit(u, "gaussian")
        assert res.converged
        lr = res.likelihood_ratio()
        assert lr["statistic"] > 20 and lr["pvalue"] < 1e-4
        assert res.static.loglik == pytest.approx(pv_bicop(
            "gaussian", 0, float(res.static.params["rho"])).loglik(u.to_numpy()), abs=1e-8)
        rho = res.filtered["rho"]
        assert rho.index.equals(u.index)
        assert np.all(np.abs(rho) < 1) and rho.std() > 0.01
        assert np.all(np.isfinite(res.std_errors)) and np.all(res.std_errors > 0)
        assert res.loglik == pytest.approx(res.filtered["loglik"].sum())
        print(f"{data} {res.model}: {res.params.round(5).to_dict()} loglik {res.loglik:.3f} "
              f"static {res.static.loglik:.3f} LR {lr['statistic']:.1f}")


def test_real_data_gas_gumbel_survival_stays_in_its_domain(
        pits: dict[str, pd.DataFrame]) -> None:
    u = pits["sp500_nasdaq"]  # equities: lower tail dependence, the survival Gumbel's
    res = fit_gas_copula(u, "gumbel", 180)
    assert res.converged and res.likelihood_ratio()["statistic"] > 20
    theta = res.filtered["theta"]
    assert np.all(theta > 1) and np.all(np.isfinite(theta))
    lower = res.filtered["lower_tail"]  # the survival Gumbel's tail is the lower one
    assert np.all((lower > 0) & (lower < 1)) and np.all(res.filtered["upper_tail"] == 0)


# ---------------------------------------------------------------- result API


@pytest.fixture(scope="module")
def small_fits(pits: dict[str, pd.DataFrame]) -> dict[str, DynamicCopulaResult]:
    u = pits["eurusd_eurgbp"].iloc[-800:-100]
    return {"gas": fit_gas_copula(u, "student"), "patton": fit_patton_copula(u, "clayton")}


@pytest.mark.parametrize("model", ["gas", "patton"])
def test_forecast_filter_and_simulate(pits: dict[str, pd.DataFrame],
                                      small_fits: dict[str, DynamicCopulaResult],
                                      model: str) -> None:
    res = small_fits[model]
    full = pits["eurusd_eurgbp"].iloc[-800:]
    new = full.iloc[-100:]
    out = res.filter(new)
    assert out.index.equals(new.index)
    name = K.PARAM_NAMES[res.family][0]
    # the one-step forecast is the filter's first out-of-sample parameter
    fc = res.forecast()
    assert fc[name].iloc[0] == pytest.approx(out[name].iloc[0], rel=1e-14)
    # filtering new data equals running the recursion over the whole sample
    if model == "gas":
        ref = gas_copula_filter(full, res.family, res.params, res.rotation)
    else:
        ref = patton_copula_filter(full, res.family, res.params, res.rotation,
                                   initial=res.initial)
    np.testing.assert_allclose(out["loglik"].to_numpy(), ref["loglik"].to_numpy()[-100:],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.filtered["loglik"].to_numpy(),
                               ref["loglik"].to_numpy()[:-100], rtol=1e-12, atol=1e-12)
    # log scores by pyvinecopulib at the filtered parameters
    nu = res.params.get("nu")
    pv_scores = [pv_bicop(res.family, res.rotation, th, nu).loglik(new.to_numpy()[t: t + 1])
                 for t, th in enumerate(out[name])]
    np.testing.assert_allclose(out["loglik"].to_numpy(), pv_scores, rtol=1e-9, atol=1e-9)
    # simulation: seeded, inside the unit square, starting from the forecast
    sim = res.simulate(300, seed=5)
    assert isinstance(sim, CopulaPathSimulation)
    assert sim.u.shape == (300, 2) and list(sim.u.columns) == res.columns
    assert np.all((sim.u.to_numpy() > 0) & (sim.u.to_numpy() < 1))
    assert sim.params[name].iloc[0] == pytest.approx(fc[name].iloc[0], rel=1e-14)
    pd.testing.assert_frame_equal(sim.u, res.simulate(300, seed=5).u)
    assert not sim.u.equals(res.simulate(300, seed=6).u)
    # reporting
    text = str(res.summary())
    assert isinstance(res.summary(), Summary) and "Log-Likelihood" in text
    assert res.aic == pytest.approx(-2 * res.loglik + 2 * res.num_params)
    assert res.bic == pytest.approx(-2 * res.loglik + res.num_params * math.log(res.nobs))
    assert list(res.params.index) == list(res.std_errors.index)


def test_gas_multistep_forecast_reverts_to_the_unconditional_mean(
        small_fits: dict[str, DynamicCopulaResult]) -> None:
    res = small_fits["gas"]
    fc = res.forecast(500)
    omega, _, b = res.params[["omega", "A", "B"]]
    assert fc.index[0] == 1 and len(fc) == 500
    assert fc["rho"].iloc[-1] == pytest.approx(math.tanh(omega / (1 - b)), abs=0.02)
    with pytest.raises(ConfigError, match="simulate"):
        small_fits["patton"].forecast(2)


def test_simulated_gas_path_uses_the_recursion() -> None:
    sim = simulate_gas_copula("clayton", [0.05, 0.1, 0.95], 400, rotation=180, seed=1)
    ref = gas_copula_filter(sim.u, "clayton", [0.05, 0.1, 0.95], 180)
    np.testing.assert_allclose(sim.params["theta"].to_numpy(), ref["theta"].to_numpy(),
                               rtol=1e-12)
    sim = simulate_patton_copula("gumbel", [-0.5, -2.0, 2.0], 400, initial=1.5, seed=2)
    ref = patton_copula_filter(sim.u, "gumbel", [-0.5, -2.0, 2.0], initial=1.5)
    np.testing.assert_allclose(sim.params["theta"].to_numpy(), ref["theta"].to_numpy(),
                               rtol=1e-12)


# ---------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors() -> None:
    rng = np.random.default_rng(0)
    u = rng.uniform(0.01, 0.99, size=(200, 2))
    bad = u.copy()
    bad[7, 1] = 1.0
    with pytest.raises(DataValidationError, match="strictly inside") as err:
        fit_gas_copula(bad)
    assert err.value.row == 7 and err.value.column == 1
    bad[7, 1] = np.nan
    with pytest.raises(DataValidationError, match="finite|NaN"):
        fit_patton_copula(bad)
    with pytest.raises(DataValidationError, match="2 columns"):
        fit_gas_copula(rng.uniform(size=(200, 3)))
    with pytest.raises(InsufficientDataError):
        fit_gas_copula(u[:20])
    with pytest.raises(ConfigError, match="dynamic copulas are defined"):
        fit_gas_copula(u, "frank")
    with pytest.raises(ConfigError, match="dynamic copulas are defined"):
        fit_patton_copula(u, "joe")
    with pytest.raises(ConfigError, match="rotation"):
        fit_gas_copula(u, "gaussian", 90)
    with pytest.raises(ConfigError, match="closed form"):
        fit_gas_copula(u, "clayton", scaling="fisher")
    with pytest.raises(ConfigError, match="scaling"):
        fit_gas_copula(u, "gaussian", scaling="hessian")
    with pytest.raises(ParameterDomainError, match="B"):
        gas_copula_filter(u, "gaussian", [0.0, 0.1, 1.0])
    with pytest.raises(ConfigError, match="3 finite values"):
        gas_copula_filter(u, "gaussian", [0.0, 0.1])
    with pytest.raises(ParameterDomainError):
        patton_copula_filter(u, "clayton", [0.0, 0.1, 0.2], initial=-1.0)
    with pytest.raises(ConfigError, match="positive integer"):
        simulate_gas_copula("gaussian", [0.0, 0.1, 0.5], 0)
    with pytest.raises(DataValidationError):
        CD.score("gaussian", u[:, :1], 0.5)
