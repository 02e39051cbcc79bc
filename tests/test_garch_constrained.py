"""GARCH fits re-maximised inside arch's constraints (``baselines.garch_constrained``).

References: arch itself -- its log-likelihood at the re-maximised estimates (``fix``), and its
own optimiser restarted there, which finds nothing higher inside the constraints.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from arch.utility.exceptions import ConvergenceWarning

from baselines.dcc import fit_dcc
from baselines.garch import fit_garch
from baselines.garch_constrained import TOL, constraint_slack, refit_inside_constraints
from baselines.garch_likelihood import garch_loglik
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError
from validation.families.dependence import DependenceFamily


@pytest.fixture(scope="module")
def eurchf() -> pd.Series:
    """EUR/CHF percent log returns to 2023-08-03: persistence wants to be 1 (the 2015 jump)."""
    return DependenceFamily().load("ecb_fx:USD,CHF")["EURCHF"].loc[:"2023-08-03"]


def _arch(y: pd.Series, **spec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_garch(y, **spec)


@pytest.mark.parametrize("spec", [{"o": 0, "dist": "t"}, {"o": 1, "dist": "t"},
                                  {"o": 0, "dist": "skewt"}])
def test_a_fit_outside_the_constraints_is_remaximised_inside_them(eurchf, spec) -> None:
    raw = _arch(eurchf, **spec)
    assert constraint_slack(raw) < -1e-5  # arch's estimates break persistence <= 1
    fit = refit_inside_constraints(raw)
    assert fit is not raw and constraint_slack(fit) >= -TOL
    assert any(c.endswith("beta[1] <= 1") for c in fit.active_constraints)  # persistence 1
    # arch's likelihood at the new estimates, same backcast, equals ours (garch_loglik)
    assert fit.loglik == pytest.approx(float(fit.arch_result.loglikelihood), rel=1e-12)
    ours = garch_loglik(fit.params, eurchf, backcast=fit.backcast_value, **spec)
    assert ours == pytest.approx(fit.loglik, rel=1e-10)
    # arch's optimiser restarted at the new estimates finds nothing higher inside them
    am = fit.spec.arch_model(eurchf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = am.fit(disp="off", starting_values=fit.params.to_numpy(),
                       backcast=fit.backcast_value, show_warning=False)
    if np.min(_slacks(am, again.params.to_numpy(), eurchf)) >= -TOL:
        assert float(again.loglikelihood) <= fit.loglik + 1e-6
    assert fit.loglik >= raw_inside_loglik(raw, eurchf, spec) - 1e-9
    # the conditional variances are the recursion at the new estimates
    h = fit.conditional_volatility.to_numpy() ** 2
    assert np.allclose(h, np.asarray(fit.arch_result.conditional_volatility) ** 2, rtol=1e-10)


def _slacks(am, x: np.ndarray, y: pd.Series) -> np.ndarray:
    from baselines.garch import _constraint_system, ols_resid

    bounds, a, b = _constraint_system(am, ols_resid("constant", y.to_numpy()))
    lo = np.array([bd[0] for bd in bounds])
    hi = np.array([bd[1] for bd in bounds])
    return np.concatenate([x - lo, hi - x, a @ x - b])


def raw_inside_loglik(raw, y: pd.Series, spec: dict) -> float:
    """Likelihood at arch's estimates with the persistence scaled back to 1 - 1e-6."""
    x = raw.params.copy()
    names = [n for n in ("alpha[1]", "beta[1]") if n in x.index]
    pers = sum(x[n] for n in names) + 0.5 * x.get("gamma[1]", 0.0)
    if pers > 1.0 - 1e-6:
        for n in [*names, "gamma[1]"]:
            if n in x.index:
                x[n] *= (1.0 - 1e-6) / pers
    return float(garch_loglik(x, y, backcast=raw.backcast_value, **spec))


def test_a_fit_inside_the_constraints_is_returned_as_it_is() -> None:
    y = datasets.sp500_returns().iloc[-2500:]
    raw = _arch(y, o=1, dist="t")
    assert raw.converged and constraint_slack(raw) >= -TOL
    assert refit_inside_constraints(raw) is raw


def test_further_starts_are_tried_and_the_best_kept(eurchf) -> None:
    raw = _arch(eurchf, o=1, dist="t")
    nested = refit_inside_constraints(_arch(eurchf, o=0, dist="t"))
    start = np.r_[nested.params.to_numpy()[:3], 0.0, nested.params.to_numpy()[3:]]
    fit = refit_inside_constraints(raw, starts=[start])
    assert fit.loglik >= refit_inside_constraints(raw).loglik - 1e-9
    assert fit.loglik >= nested.loglik - 1e-9  # GJR nests GARCH


def test_a_sample_variance_fit_is_refused() -> None:
    y = datasets.dem_gbp_returns()
    with pytest.raises(ValueError, match="sample-variance"):
        refit_inside_constraints(fit_garch(y, backcast="sample-variance"), always=True)


def test_dcc_takes_stage_one_fits_as_given(eurchf) -> None:
    fx = DependenceFamily().load("ecb_fx:USD,CHF").loc[:"2023-08-03"]
    spec = {"o": 0, "dist": "t"}
    plain = {c: _arch(fx[c], **spec) for c in fx.columns}
    # the plain fits given are the plain DCC, bit for bit
    ref = fit_dcc(fx, dist="t", univariate=spec)
    same = fit_dcc(fx, dist="t", stage1=plain)
    assert np.array_equal(same.params.to_numpy(), ref.params.to_numpy())
    # the EUR/CHF fit inside the constraints moves the DCC's correlation parameters
    inside = {c: refit_inside_constraints(f) for c, f in plain.items()}
    moved = fit_dcc(fx, dist="t", stage1=inside)
    assert np.array_equal(moved.univariate["EURCHF"].params.to_numpy(),
                          inside["EURCHF"].params.to_numpy())
    assert not np.array_equal(moved.params.to_numpy(), ref.params.to_numpy())
    with pytest.raises(ConfigError, match="one fit per column"):
        fit_dcc(fx, dist="t", stage1={"EURUSD": plain["EURUSD"]})
    with pytest.raises(DataValidationError, match="not made on these returns"):
        fit_dcc(fx.iloc[1:], dist="t", stage1={c: plain[c] for c in fx.columns})
