"""Torch pricer vs QuantLib: prices to 1e-10, DV01 and key-rate durations vs bump-and-reprice."""

from __future__ import annotations

import numpy as np
import pytest
import QuantLib as ql
import torch

from hybridrisk.errors import DataValidationError, ParameterDomainError
from hybridrisk.kernels.nss import nss_discount, nss_forward, nss_yield
from hybridrisk.pricing import (
    TorchPricer,
    cashflow_table,
    fixed_rate_bond,
    nss_term_structure,
    price_with_quantlib,
    quantlib_dv01,
    quantlib_key_rate_durations,
    tent_weights,
    vanilla_swap,
)

TODAY = ql.Date(16, 1, 2024)
KEYS = [ql.Period(x) for x in ("3M", "1Y", "2Y", "5Y", "10Y", "20Y", "30Y")]


@pytest.fixture(autouse=True)
def evaluation_date():
    ql.Settings.instance().evaluationDate = TODAY
    yield


def builders():
    return [
        lambda c: fixed_rate_bond(TODAY, 2, 0.045),
        lambda c: fixed_rate_bond(TODAY, 10, 0.04),
        lambda c: fixed_rate_bond(TODAY, 30, 0.05, frequency=ql.Annual),
        lambda c: vanilla_swap(5, 0.04, c),
        lambda c: vanilla_swap(20, 0.041, c, payer=False, spread=0.001),
    ]


def scenario_params(n, seed=0):
    """Plausible NSS curves around a real-world shape (percent, years)."""
    rng = np.random.default_rng(seed)
    base = np.array([4.5, -1.5, -2.0, 2.5, 1.8, 9.0])
    noise = rng.normal(size=(n, 6)) * np.array([0.8, 1.0, 2.0, 2.0, 0.0, 0.0])
    taus = np.exp(rng.normal(size=(n, 2)) * 0.4) * base[4:]
    out = base + noise
    out[:, 4:] = taus
    return out


def test_quantlib_curve_reproduces_the_nss_kernel():
    p = scenario_params(5, seed=1)
    times = np.array([0.01, 0.25, 1.0, 2.5, 7.0, 15.0, 30.0, 45.0])
    for row in p:
        curve = nss_term_structure(row, TODAY).currentLink()
        ql_d = np.array([curve.discount(t) for t in times])
        ours = nss_discount(torch.tensor(times), torch.tensor(row)).numpy()
        np.testing.assert_allclose(ours, ql_d, rtol=1e-14)
        ql_z = np.array([curve.zeroRate(t, ql.Continuous).rate() for t in times]) * 100
        np.testing.assert_allclose(
            nss_yield(torch.tensor(times), torch.tensor(row)), ql_z, rtol=1e-11
        )


def test_forward_is_derivative_of_m_times_yield():
    p = torch.tensor(scenario_params(3, seed=2))
    m = torch.linspace(0.1, 30, 50, dtype=torch.float64, requires_grad=True)
    (nss_yield(m, p) * m).sum().backward()
    np.testing.assert_allclose(m.grad, nss_forward(m.detach(), p).sum(0), rtol=1e-12)


def test_torch_prices_equal_quantlib_on_many_curves():
    params = scenario_params(40)
    base = nss_term_structure(params[0], TODAY)
    pricer = TorchPricer([cashflow_table(b(base), base) for b in builders()])
    ours = pricer.price(torch.tensor(params)).numpy()
    for s, row in enumerate(params):
        curve = nss_term_structure(row, TODAY)
        ref = np.array([price_with_quantlib(b(curve), curve) for b in builders()])
        scale = np.maximum(np.abs(ref), np.array([100.0, 100.0, 100.0, 1e6, 1e6]) * 1e-2)
        np.testing.assert_array_less(np.abs(ours[s] - ref) / scale, 1e-10)


def test_dv01_and_key_rates_match_quantlib_bump_and_reprice():
    row = scenario_params(1, seed=3)[0]
    curve = nss_term_structure(row, TODAY)
    pricer = TorchPricer([cashflow_table(b(curve), curve) for b in builders()])
    p = torch.tensor(row)
    dv01 = pricer.dv01(p)[0].numpy()
    key_times = [curve.timeFromReference(TODAY + k) for k in KEYS]
    krd = pricer.key_rate_durations(p, key_times)[0].numpy()
    for i, build in enumerate(builders()):
        assert dv01[i] == pytest.approx(quantlib_dv01(build, curve), rel=1e-9)
        ref = np.array(quantlib_key_rate_durations(build, curve, KEYS))
        np.testing.assert_allclose(krd[i], ref, rtol=1e-7, atol=1e-9 * abs(dv01[i]))
    np.testing.assert_allclose(krd.sum(-1), dv01, rtol=1e-12)
    assert dv01[1] < 0 < dv01[3]  # long bond loses, payer swap gains when rates rise


def test_tents_partition_unity_and_flat_ends():
    keys = torch.tensor([0.25, 1.0, 2.0, 5.0], dtype=torch.float64)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0, 3.5, 5.0, 30.0], dtype=torch.float64)
    w = tent_weights(t, keys)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(w[0], [1, 0, 0, 0])
    np.testing.assert_allclose(w[2], [2 / 3, 1 / 3, 0, 0])
    np.testing.assert_allclose(w[4], [0, 0, 0.5, 0.5])
    np.testing.assert_allclose(w[-1], [0, 0, 0, 1])


def test_bad_inputs():
    with pytest.raises(ParameterDomainError, match="tau1"):
        nss_term_structure([4, -1, 1, 1, -1.0, 5], TODAY)
    with pytest.raises(ParameterDomainError, match="beta3"):
        nss_term_structure([4, -1, 1, np.nan, 1.0, 5], TODAY)
    curve = nss_term_structure(scenario_params(1)[0], TODAY)
    pricer = TorchPricer([cashflow_table(builders()[0](curve), curve)])
    with pytest.raises(DataValidationError, match="params must be"):
        pricer.price(torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(DataValidationError, match="key_times"):
        pricer.key_rate_durations(torch.tensor(scenario_params(1)[0]), [2.0, 1.0])
    with pytest.raises(DataValidationError, match="no instruments"):
        TorchPricer([])


def test_nelson_siegel_parameters_are_nss_with_zero_beta3():
    ns = {"beta0": 4.0, "beta1": 1.0, "beta2": -2.0, "tau1": 1.5}
    curve = nss_term_structure(ns, TODAY).currentLink()
    full = torch.tensor([4.0, 1.0, -2.0, 0.0, 1.5, 1.5], dtype=torch.float64)
    for t in (0.5, 3.0, 20.0):
        assert curve.discount(t) == pytest.approx(float(nss_discount(torch.tensor([t]), full)[0]),
                                                  rel=1e-14)
