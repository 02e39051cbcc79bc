"""Static copula baselines against pyvinecopulib and scipy on the bundled real data.

Data: GARCH(1,1)-t PITs (IFM) of the S&P 500 and NASDAQ daily returns (common dates) and of
the ECB EUR/USD and EUR/GBP daily log returns (``ecb_fx`` gives rates in units per euro; the
returns are ``100 * diff(log(rate))``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import pyvinecopulib as pv
import torch
from scipy import special, stats

from baselines.copula_multivariate import (
    fit_gaussian_copula,
    fit_student_copula,
    fit_vine,
    vine_loglik,
)
from baselines.copulas import FIT_BOUNDS, CopulaResult, fit_copula, select_copula
from baselines.margins import garch_pits
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.kernels import copulas as K
from hybridrisk.results import Summary

MLE = pv.FitControlsBicop(parametric_method="mle")
CASES = [("gaussian", 0), ("student", 0), ("clayton", 0), ("clayton", 180), ("gumbel", 0),
         ("gumbel", 180), ("frank", 0)]


def fx_returns(currencies: list[str]) -> pd.DataFrame:
    rates = datasets.ecb_fx(currencies)
    return 100 * np.log(rates).diff().iloc[1:]


@pytest.fixture(scope="module")
def pits() -> dict[str, pd.DataFrame]:
    eq = pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1, join="inner")
    return {"sp500_nasdaq": garch_pits(eq), "eurusd_eurgbp": garch_pits(fx_returns(["USD", "GBP"]))}


@pytest.fixture(scope="module")
def fx4() -> pd.DataFrame:
    return garch_pits(fx_returns(["USD", "GBP", "JPY", "CHF"]))


def pv_fit(u: np.ndarray, family: str, rotation: int) -> pv.Bicop:
    b = pv.Bicop(family=getattr(pv.BicopFamily, family), rotation=rotation)
    b.fit(u, MLE)
    return b


# ---------------------------------------------------------------- bivariate MLE


@pytest.mark.parametrize("data", ["sp500_nasdaq", "eurusd_eurgbp"])
@pytest.mark.parametrize(("family", "rotation"), CASES)
def test_fit_equals_pyvinecopulib(pits: dict[str, pd.DataFrame], data: str, family: str,
                                  rotation: int) -> None:
    u = pits[data]
    arr = u.to_numpy()
    ours = fit_copula(u, family, rotation)
    theirs = pv_fit(arr, family, rotation)
    # log-likelihood at our estimates, by pyvinecopulib
    assert ours.loglik == pytest.approx(ours.to_pyvinecopulib().loglik(arr), abs=1e-8)
    assert ours.converged and not ours.at_bounds
    diff = np.abs(ours.params.to_numpy() - theirs.parameters.ravel())
    window = fit_copula(u, family, rotation, tau_window=True)
    if window.at_bounds:
        # pyvinecopulib searches one-parameter families only where Kendall's tau is within 0.1
        # of the sample's, and its answer is that window's edge: reproduce it, and check that
        # the unrestricted maximum is higher by pyvinecopulib's own likelihood
        assert np.abs(window.params.to_numpy() - theirs.parameters.ravel()).max() <= 1e-4
        assert ours.loglik > theirs.loglik(arr) + 1.0
    else:
        assert diff.max() <= 1e-4
        np.testing.assert_allclose(window.params, ours.params, rtol=0, atol=1e-8)


def test_result_api(pits: dict[str, pd.DataFrame]) -> None:
    u = pits["sp500_nasdaq"]
    res = fit_copula(u, "student")
    assert isinstance(res, CopulaResult)
    assert list(res.params.index) == ["rho", "nu"] and res.nobs == len(u)
    assert res.aic == pytest.approx(-2 * res.loglik + 4)
    assert res.bic == pytest.approx(-2 * res.loglik + 2 * np.log(len(u)))
    assert res.tau == pytest.approx(2 / np.pi * np.arcsin(res.params["rho"]))
    td = res.tail_dependence
    rho, nu = res.params
    ref = 2 * stats.t.cdf(-np.sqrt((nu + 1) * (1 - rho) / (1 + rho)), nu + 1)
    assert td["lower"] == pytest.approx(ref, rel=1e-12) and td["upper"] == td["lower"]
    assert (res.std_errors > 0).all() and np.isfinite(res.pvalues).all()
    s = res.summary()
    assert isinstance(s, Summary) and "Student-t Copula Results" in str(s) and "nu" in str(s)
    sim = res.simulate(1000, seed=5)
    assert list(sim.columns) == ["sp500", "nasdaq"] and sim.equals(res.simulate(1000, seed=5))
    ll = res.log_density(u).sum()
    assert ll == pytest.approx(res.loglik, rel=1e-13)
    assert float(K.loglik("student", torch.tensor(u.to_numpy()), res.theta)) == pytest.approx(
        res.loglik, rel=1e-13)


def test_estimate_on_a_search_bound_is_reported(pits: dict[str, pd.DataFrame]) -> None:
    # Clayton rotated by 90 degrees (negative dependence) on positively dependent data
    res = fit_copula(pits["sp500_nasdaq"], "clayton", 90)
    assert res.at_bounds == ["theta"] and res.params["theta"] == FIT_BOUNDS["clayton"][0][0]
    assert np.isnan(res.std_errors["theta"])
    assert "search bound" in str(res.summary())


def test_select_copula_agrees_with_pyvinecopulib(pits: dict[str, pd.DataFrame]) -> None:
    u = pits["eurusd_eurgbp"]
    sel = select_copula(u, criterion="aic")
    table = sel.table
    assert list(table["aic"]) == sorted(table["aic"]) and len(table) == 7
    assert set(table.loc[table.family == "clayton", "rotation"]) == {0, 180}
    ref = pv.Bicop.from_data(u.to_numpy(), controls=pv.FitControlsBicop(
        family_set=[getattr(pv.BicopFamily, f) for f in K.FAMILIES],
        parametric_method="mle", selection_criterion="aic"))
    best = sel.best
    assert (best.family, best.rotation) == (ref.family.name, ref.rotation)
    bic = select_copula(u, families=["gaussian", "frank"], criterion="bic", rotations=False)
    assert list(bic.table["bic"]) == sorted(bic.table["bic"])
    with pytest.raises(ConfigError):
        select_copula(u, criterion="loglik")


def test_fit_rejects_bad_input(pits: dict[str, pd.DataFrame]) -> None:
    u = pits["eurusd_eurgbp"].iloc[:50].copy()
    for value, rule in ((1.0, "open-unit-interval"), (0.0, "open-unit-interval"),
                        (np.nan, "finite")):
        bad = u.copy()
        bad.iloc[7, 0] = value
        with pytest.raises(DataValidationError) as err:
            fit_copula(bad, "gaussian")
        assert (err.value.rule, err.value.column) == (rule, "USD")
        assert err.value.row == u.index[7].isoformat()
    with pytest.raises(DataValidationError, match="columns"):
        fit_copula(np.full((10, 3), 0.5), "gaussian")
    with pytest.raises(ConfigError):
        fit_copula(u, "joe")
    with pytest.raises(ConfigError):
        fit_copula(u, "frank", 90)


# ---------------------------------------------------------------- Gaussian and t copulas


def test_gaussian_copula_loglik_equals_scipy(fx4: pd.DataFrame) -> None:
    u = fx4.iloc[:, :3]
    res = fit_gaussian_copula(u)
    z = special.ndtri(u.to_numpy())
    r = res.corr.to_numpy()
    ref = (stats.multivariate_normal(mean=np.zeros(3), cov=r).logpdf(z).sum()
           - stats.norm.logpdf(z).sum())
    assert res.loglik == pytest.approx(ref, abs=1e-8)
    assert res.num_params == 3 and res.converged
    assert np.all(np.linalg.eigvalsh(r) > 0) and np.allclose(np.diag(r), 1)
    # the MLE beats the Kendall's-tau correlations, and with two columns it is fit_copula's
    assert res.loglik >= fit_gaussian_copula(u, method="itau").loglik
    two = fit_gaussian_copula(u.iloc[:, :2])
    assert two.params.iloc[0] == pytest.approx(
        fit_copula(u.iloc[:, :2], "gaussian").params["rho"], abs=1e-6)
    assert isinstance(res.summary(), Summary) and "rho[USD,GBP]" in str(res.summary())


def test_student_copula_loglik_equals_scipy(fx4: pd.DataFrame) -> None:
    u = fx4.iloc[:3000, :3]
    res = fit_student_copula(u)
    x = special.stdtrit(res.nu, u.to_numpy())
    r = res.corr.to_numpy()
    ref = (stats.multivariate_t(loc=np.zeros(3), shape=r, df=res.nu).logpdf(x).sum()
           - stats.t.logpdf(x, res.nu).sum())
    assert res.loglik == pytest.approx(ref, abs=1e-8)
    assert 2 < res.nu < 50 and res.num_params == 4
    itau = fit_student_copula(u, method="itau")
    assert itau.loglik <= res.loglik + 1e-6 and np.isnan(itau.std_errors).all()
    sim = res.simulate(500, seed=2)
    assert sim.shape == (500, 3) and sim.equals(res.simulate(500, seed=2))


# ---------------------------------------------------------------- vines


@pytest.mark.parametrize("structure", ["dvine", "rvine"])
def test_vine_reproduces_pyvinecopulibs_loglik(fx4: pd.DataFrame, structure: str) -> None:
    fx4 = fx4.loc["2013":"2016"]  # four years around the Swiss franc's floor removal
    res = fit_vine(fx4, structure=structure)
    arr = fx4.to_numpy()
    assert res.loglik == pytest.approx(res.vine.loglik(arr), abs=1e-9)
    assert res.aic == pytest.approx(-2 * res.loglik + 2 * res.num_params, abs=1e-8)
    assert [len(t) for t in res.families] == [3, 2, 1]
    # the same pair copulas evaluated through this package's kernel: pyvinecopulib clamps
    # every pair copula's arguments to [1e-10, 1 - 1e-10] (the CHF series has a PIT of
    # 4.7e-13, 15 Jan 2015), which the kernel reproduces on request and otherwise does not
    ours = vine_loglik(res.vine, arr, pyvinecopulib_trim=True)
    assert ours == pytest.approx(res.loglik, abs=1e-8)
    assert arr.min() < 1e-10 and vine_loglik(res.vine, arr) != pytest.approx(res.loglik)
    # without a PIT that close to 0 or 1 no clamping happens and the numbers agree as they are
    three = fx4[["USD", "GBP", "JPY"]]
    sub = fit_vine(three, structure=structure)
    assert vine_loglik(sub.vine, three) == pytest.approx(sub.loglik, abs=1e-8)


def test_dvine_order_and_bad_options(fx4: pd.DataFrame) -> None:
    res = fit_vine(fx4, structure="dvine", order=[4, 3, 2, 1], families=["gaussian", "indep"])
    assert list(res.vine.order) == [4, 3, 2, 1]
    assert set(res.pair_copulas["family"]) <= {"gaussian", "indep"}
    with pytest.raises(ConfigError):
        fit_vine(fx4, structure="cvine")
    with pytest.raises(ConfigError):
        fit_vine(fx4, structure="dvine", order=[1, 2, 3])
