"""The dependence family's margin models: GJR and Hansen skew-t filters, and the BIC choice.

References: arch's ``SkewStudent`` (distribution function and quantiles) and ``arch_model``
(one-step variance forecast at the end of the training span); ``baselines.garch_pits`` (the
fit's own PITs over the training span).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from arch.univariate import SkewStudent, StudentsT
from arch.utility.exceptions import ConvergenceWarning
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines.garch import fit_garch
from baselines.garch_constrained import TOL, constraint_slack
from baselines.margins import garch_pits
from hybridrisk.errors import ConfigError
from hybridrisk.kernels.distributions import std_dist_cdf, std_dist_ppf
from validation.families.dependence import DependenceFamily
from validation.families.dependence_margins import (
    MARGIN_SPECS,
    NESTED,
    fit_margin,
    fit_margins,
    margin_cdf,
    margin_ppf,
)
from validation.families.dependence_tasks import TASKS, simulate_portfolio
from validation.windows import WalkForward


@pytest.fixture(scope="module")
def equities() -> pd.DataFrame:
    """S&P 500 and NASDAQ percent log returns, the last 2,021 days of the bundled sample."""
    return DependenceFamily().load("sp500_nasdaq").iloc[-2021:]


@pytest.fixture(scope="module")
def window(equities: pd.DataFrame):
    return WalkForward(refit=21, oos=21).plan(equities.index)[0]


# ---------------------------------------------------------------- skew t against arch


def test_skewt_cdf_and_ppf_equal_arch_with_a_parameter_per_row() -> None:
    rng = np.random.default_rng(3)
    n = 400
    eta, lam = rng.uniform(2.2, 40.0, n), rng.uniform(-0.97, 0.97, n)
    z = np.r_[rng.standard_normal(n - 6) * 3.0, -60.0, -8.0, 0.0, 1e-12, 8.0, 60.0]
    u = np.r_[rng.random(n - 4), 1e-12, 0.5, 1 - 1e-12, 0.999]
    d = SkewStudent()
    for i in range(n):
        p = np.array([eta[i], lam[i]])
        assert abs(std_dist_cdf("skewt", [eta, lam], z)[i] - d.cdf(z[i:i + 1], p)[0]) <= 1e-15
        ref = d.ppf(u[i:i + 1], p)[0]
        assert abs(std_dist_ppf("skewt", [eta, lam], u)[i] - ref) <= 1e-13 * max(1, abs(ref))
    t = StudentsT().cdf(z, np.array([5.5]))
    np.testing.assert_allclose(std_dist_cdf("t", [5.5], z), t, rtol=0, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(st.floats(2.05, 200.0), st.floats(-0.99, 0.99), st.floats(1e-10, 1 - 1e-10))
def test_margin_ppf_inverts_margin_cdf(nu: float, lam: float, u: float) -> None:
    for skew in (0.0, lam):
        z = margin_ppf(np.array([u]), nu, skew)
        assert abs(margin_cdf(z, nu, skew)[0] - u) <= 1e-9 * min(u, 1 - u) + 1e-15


def test_skewt_refuses_parameters_outside_the_domain() -> None:
    with pytest.raises(Exception, match="lambda"):
        std_dist_cdf("skewt", [5.0, 1.0], [0.0])
    with pytest.raises(Exception, match="eta"):
        std_dist_ppf("skewt", [2.0, 0.1], [0.5])


# ---------------------------------------------------------------- the margins of a window


@pytest.mark.parametrize("spec", list(MARGIN_SPECS))
def test_margins_reproduce_the_fit_and_arch_forecast(equities, window, spec) -> None:
    m = fit_margins(equities, window, spec)
    train = equities.iloc[: window.train_end + 1]
    opts = MARGIN_SPECS[spec]
    ref_u, fits = garch_pits(train, return_fits=True, **opts)
    # over the training span the fixed-parameter filter is the fit itself
    np.testing.assert_allclose(m.u_train.to_numpy(), ref_u.to_numpy(), rtol=0, atol=1e-10)
    for j, c in enumerate(equities.columns):
        res = fits[c]
        fc = res.arch_result.forecast(horizon=1, reindex=False)
        # the first block day's one-step volatility is arch's forecast from the training span
        assert m.sigma_block[0, j] == pytest.approx(
            float(np.sqrt(fc.variance.iloc[-1, 0])), rel=1e-12)
        assert m.specs[j] == spec
        skew = opts["dist"] == "skewt"
        assert m.lam[j] == (float(res.params["lambda"]) if skew else 0.0)
    assert m.u_block.shape == (window.block_end - window.block_start + 1, 2)


def test_bic_picks_the_smallest_bic_per_series(equities) -> None:
    train = equities["SP500"].iloc[:-21]
    bics = {n: fit_garch(train, **o).bic for n, o in MARGIN_SPECS.items()}
    spec, res = fit_margin(train, "bic")
    assert spec == min(bics, key=bics.get)
    assert res.bic == pytest.approx(bics[spec], rel=1e-12)
    # equity returns: leverage and left skew are both supported by the criterion
    assert spec == "gjr-skewt"


def test_default_margins_are_garch_t(equities, window) -> None:
    a, b = fit_margins(equities, window), fit_margins(equities, window, "garch-t")
    np.testing.assert_array_equal(a.u_block.to_numpy(), b.u_block.to_numpy())
    assert a.specs == ("garch-t", "garch-t") and not a.lam.any()


def test_skew_margins_change_the_portfolio_tail(equities, window) -> None:
    """Same copula, same uniforms: left-skewed margins give a larger 99% VaR than lam = 0."""
    frame = TASKS["static-copula"](margins="gjr-skewt", copula_window=1000, n_draws=500)(
        equities, window, 11)
    assert (frame[["lam_1", "lam_2"]].to_numpy() < 0).all()
    w = np.random.default_rng(0).random((len(frame), 4000, 2))
    skew = -np.quantile(simulate_portfolio(frame, w), 0.01, axis=1)
    sym = -np.quantile(simulate_portfolio(frame.assign(lam_1=0.0, lam_2=0.0), w), 0.01, axis=1)
    assert (skew > sym).all()
    # frames without lam columns (a user's plug-in task) are the symmetric t
    np.testing.assert_array_equal(
        simulate_portfolio(frame.drop(columns=["lam_1", "lam_2"]), w),
        simulate_portfolio(frame.assign(lam_1=0.0, lam_2=0.0), w))


def test_dcc_first_stage_uses_the_family_margins(equities, window) -> None:
    task = TASKS["dcc"](margins="gjr-skewt", copula_window=1000, n_draws=200)
    frame = task(equities, window, 5)
    static = TASKS["static-copula"](margins="gjr-skewt", copula_window=1000, n_draws=200)(
        equities, window, 5)
    np.testing.assert_array_equal(frame[["u_1", "u_2"]].to_numpy(),
                                  static[["u_1", "u_2"]].to_numpy())
    assert (frame["margin_1"] == list(MARGIN_SPECS).index("gjr-skewt")).all()


def test_bad_margins_and_mixed_campaigns_are_refused(equities, window) -> None:
    with pytest.raises(ConfigError, match="margins must be one of"):
        TASKS["gas"](margins="egarch-t")
    fam = DependenceFamily()
    f = {n: TASKS["static-copula"](margins=m, copula_window=1000, n_draws=200)(
        equities, window, 1) for n, m in (("a", "garch-t"), ("b", "gjr-t"))}
    fam.register({n: TASKS["static-copula"]() for n in f})
    with pytest.raises(ConfigError, match="same margins option"):
        fam.score(f, equities, seed=0)


# ---------------------------------------------------------------- fits below a nested model


@pytest.fixture(scope="module")
def eurchf() -> pd.Series:
    """EUR/CHF percent log returns: the January 2015 jump lies in every training span."""
    return DependenceFamily().load("ecb_fx:USD,CHF")["EURCHF"]


def _plain(y: pd.Series, name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_garch(y, **MARGIN_SPECS[name])


def test_a_fit_below_its_nested_model_is_refitted_inside_the_constraints(eurchf) -> None:
    y = eurchf.loc[:"2022-11-07"]
    garch, gjr = _plain(y, "garch-t"), _plain(y, "gjr-t")
    # arch: GJR-t ends 1.4 below the GARCH-t it nests (benchmarks/margin_convergence.py)
    assert gjr.loglik < garch.loglik - 1.0
    spec, res = fit_margin(y, "gjr-t")
    assert spec == "gjr-t" and res.loglik >= fit_margin(y, "garch-t")[1].loglik
    assert constraint_slack(res) >= -TOL
    # arch's GJR skew-t there breaks a constraint (slack -3.5e-6): refitted, and only just moved
    raw = _plain(y, "gjr-skewt")
    _, skew = fit_margin(y, "gjr-skewt")
    assert constraint_slack(raw) < -TOL <= constraint_slack(skew)
    assert abs(skew.loglik - raw.loglik) < 0.05


@pytest.mark.parametrize("end", ["2022-11-07", "2023-08-03", "2024-05-02", "2025-07-25"])
def test_no_margin_fit_ends_below_the_model_it_nests(eurchf, end) -> None:
    # spans where arch's fits broke the ordering (benchmarks/margin_convergence.py); inside the
    # constraints every nesting model reaches at least its nested model's likelihood
    y = eurchf.loc[:end]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fits = {n: fit_margin(y, n)[1] for n in MARGIN_SPECS}
    for model, nested in NESTED.items():
        assert fits[model].loglik >= fits[nested].loglik - 1e-9, (model, nested)
    assert all(constraint_slack(f) >= -TOL for f in fits.values())
