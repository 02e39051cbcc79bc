"""LNN-SABR: nesting of the interpolated classical surface, constraints, the arbitrage penalty,
save/load, seeds, bad inputs; and the calendar-time variant on simulated smiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from baselines.sabr import fit_sabr_surface
from hybridrisk.errors import ConfigError, DataValidationError, InsufficientDataError
from hybridrisk.hybrids.sabr import LNNSABR, LNNSABRResult, desk_interpolation
from hybridrisk.kernels.sabr import implied_vol
from hybridrisk.kernels.smile_arbitrage import check_surface

F = 100.0


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _surface(params: dict[float, tuple[float, float, float]], noise_bp: float = 0.0,
             lo: float = -0.5, hi: float = 0.3, n: int = 9, scale: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for t, (a, r, nu) in params.items():
        k = F * np.exp(np.linspace(lo, hi, n) * (np.sqrt(t) if scale else 1.0))
        v = implied_vol(F, torch.tensor(k), t, a, 1.0, r, nu).numpy()
        v = v + noise_bp * 1e-4 * rng.standard_normal(n)
        rows.append(pd.DataFrame({"expiry": t, "strike": k, "vol": v, "forward": F}))
    return pd.concat(rows, ignore_index=True)


TRUE = {0.1: (0.24, -0.5, 1.6), 0.25: (0.23, -0.55, 1.2), 0.5: (0.22, -0.6, 0.9),
        1.0: (0.22, -0.65, 0.7), 2.0: (0.23, -0.7, 0.5)}


@pytest.fixture(scope="module")
def quotes() -> pd.DataFrame:
    return _surface(TRUE, noise_bp=15.0)


@pytest.fixture(scope="module")
def table(quotes) -> pd.DataFrame:
    return fit_sabr_surface(quotes, beta=1.0)


@pytest.fixture(scope="module")
def trained(quotes, table) -> LNNSABRResult:
    return LNNSABR(hidden_size=4).fit(quotes, init=table, epochs=25, lr=1e-2, seed=3)


def _classical_vols(table: pd.DataFrame, k: np.ndarray, t: float) -> np.ndarray:
    """The interpolated classical surface, computed here independently of the hybrid."""
    knots = table.index.to_numpy()
    a, r, n = (float(np.interp(t, knots, table[c])) for c in ("alpha", "rho", "nu"))
    return implied_vol(F, torch.tensor(k), t, a, 1.0, r, n).numpy()


def test_network_off_is_the_interpolated_classical_surface(quotes, table, trained):
    untrained = LNNSABR(hidden_size=4).fit(quotes, init=table, epochs=0)
    k = F * np.exp(np.linspace(-0.6, 0.4, 11))
    for t in [*table.index, 0.05, 0.17, 0.7, 1.5, 3.0]:  # quoted, between, beyond
        ref = _classical_vols(table, k, t)
        np.testing.assert_allclose(trained.benchmark.implied_vol(k, t, forward=F), ref,
                                   rtol=0, atol=1e-12)
        # the untrained network is the benchmark through the transforms' round trip
        np.testing.assert_allclose(untrained.implied_vol(k, t, forward=F), ref, rtol=0,
                                   atol=1e-12)
    np.testing.assert_allclose(trained.benchmark.params[["alpha", "rho", "nu"]],
                               table[["alpha", "rho", "nu"]], rtol=0, atol=0)
    assert trained.benchmark.benchmark is trained.benchmark
    # equal weights, no penalty: the joint offset stays off, the quoted smiles are classical
    for t, g in quotes.groupby("expiry"):
        k = g["strike"].to_numpy()
        np.testing.assert_allclose(trained.implied_vol(k, t), _classical_vols(table, k, t),
                                   rtol=0, atol=1e-12)
    # trained, the network moved the path between expiries (the test can fail)
    mid = trained.param_path([0.17, 0.7]).to_numpy()
    assert not np.allclose(mid, trained.benchmark.param_path([0.17, 0.7]).to_numpy(),
                           atol=1e-6)


def test_desk_interpolation_is_linear_in_t_and_flat_beyond():
    knots, p = np.array([1.0, 2.0]), np.array([[1.0, -0.5], [3.0, 0.5]])
    out = desk_interpolation(knots, p, [0.5, 1.5, 2.5])
    np.testing.assert_array_equal(out, [[1.0, -0.5], [2.0, 0.0], [3.0, 0.5]])


def test_log_rule_interpolates_head_coordinates_in_log_t():
    knots = np.array([0.25, 1.0])
    p = np.array([[0.2, -0.3, 1.5], [0.3, -0.7, 0.5]])
    out = desk_interpolation(knots, p, [0.1, 0.5, 4.0], "log")
    # by hand: softplus^-1 / artanh at the knots, halfway in log T at 0.5 = sqrt(0.25 * 1)
    inv = lambda x: np.log(np.expm1(x))  # noqa: E731
    mid = [np.log1p(np.exp(0.5 * (inv(0.2) + inv(0.3)))),
           np.tanh(0.5 * (np.arctanh(-0.3) + np.arctanh(-0.7))),
           np.log1p(np.exp(0.5 * (inv(1.5) + inv(0.5))))]
    np.testing.assert_allclose(out[1], mid, rtol=1e-14)
    np.testing.assert_allclose(out[[0, 2]], p, rtol=1e-14)  # flat beyond the knots
    with pytest.raises(ConfigError, match="interpolation"):
        desk_interpolation(knots, p, [0.5], "cubic")


def test_network_off_nests_the_log_rule(quotes, table):
    res = LNNSABR(hidden_size=4, interpolation="log").fit(  # no early stop: it must move
        quotes, init=table, epochs=20, lr=1e-2, seed=1, val_fraction=0.0)
    knots, p = table.index.to_numpy(), table[["alpha", "rho", "nu"]].to_numpy()
    k = F * np.exp(np.linspace(-0.6, 0.4, 11))
    for t in [*knots, 0.05, 0.17, 0.7, 1.5, 3.0]:
        a, r, n = desk_interpolation(knots, p, [t], "log")[0]
        ref = implied_vol(F, torch.tensor(k), t, a, 1.0, r, n).numpy()
        np.testing.assert_allclose(res.benchmark.implied_vol(k, t, forward=F), ref, rtol=0,
                                   atol=1e-12)
    # it differs from the linear rule between the knots, and the network moved it
    cols = ["alpha", "rho", "nu"]
    assert not np.allclose(res.benchmark.param_path([0.17])[cols].to_numpy(),
                           desk_interpolation(knots, p, [0.17]), atol=1e-4)
    assert not np.allclose(res.param_path([0.17, 0.7]).to_numpy(),
                           res.benchmark.param_path([0.17, 0.7]).to_numpy(), atol=1e-6)
    with pytest.raises(ConfigError, match="interpolation"):
        LNNSABR(interpolation="spline")


def test_constraints_hold_by_construction(quotes, table):
    res = LNNSABR(hidden_size=4).fit(quotes, init=table, epochs=0)
    with torch.no_grad():  # wild read-out weights: the head's raw outputs become huge
        res.net.head.out.weight.copy_(1e4 * torch.randn_like(res.net.head.out.weight))
        res.net.head.out.bias.copy_(1e3 * torch.randn_like(res.net.head.out.bias))
    res.__dict__.pop("_ev", None)
    path = res.param_path(np.geomspace(1e-3, 50.0, 60))
    assert np.isfinite(path.to_numpy()).all()
    assert (path["alpha"] > 0).all() and (path["nu"] > 0).all()
    assert (path["rho"].abs() < 1).all()
    assert path["rho"].abs().max() > 0.99  # the constraint, not luck, kept it inside


def test_query_independence_and_params_frame(trained):
    one = trained.param_path([0.7])
    many = trained.param_path([0.05, 0.7, 3.0])
    np.testing.assert_allclose(one.to_numpy(), many.loc[[0.7]].to_numpy(), rtol=0, atol=1e-13)
    p = trained.params
    assert list(p.columns) == ["forward", "alpha", "beta", "rho", "nu"]
    assert list(p.index) == sorted(TRUE)
    assert "LNN-SABR" in str(trained.summary())
    assert trained.num_params > trained.benchmark.num_params == 15


def test_arbitrage_penalty_reduces_violations_inside_the_quotes():
    # the longest expiry's true smile has negative density inside the quotes (Hagan, nu = 2)
    params = {0.5: (0.2, -0.5, 0.8), 1.0: (0.2, -0.6, 0.9), 2.0: (0.2, -0.9, 2.0)}
    q = _surface(params, lo=-1.5, hi=0.8, n=15, scale=False)
    tab = fit_sabr_surface(q, beta=1.0)
    kw = dict(init=tab, epochs=40, lr=2e-2, seed=0, val_fraction=0.0, loo=0.0)

    def inside(res: LNNSABRResult) -> int:
        smiles = {}
        for t, g in q.groupby("expiry"):
            smiles[t] = (lambda k, t=t: res.implied_vol(k, t, forward=F), F, g["strike"])
        c = check_surface(smiles).counts
        return int(c.loc["butterfly", "points_in_quotes"])

    plain = LNNSABR(hidden_size=4).fit(q, arbitrage=0.0, **kw)
    fixed = LNNSABR(hidden_size=4).fit(q, arbitrage=1.0, **kw)
    before = inside(plain.benchmark)
    assert before > 0
    assert inside(plain) == before  # without the penalty nothing pushes the fit away
    assert inside(fixed) < 0.5 * before
    assert fixed.rmse_bp < 200.0  # ... at a bounded cost in fit


def test_vega_weights_switch_the_joint_offset_on(quotes, table):
    from hybridrisk.hybrids.sabr import SmileQuotes, vega_weights

    w = vega_weights(SmileQuotes.from_frame(quotes))
    assert np.allclose(w.max(axis=1), 1.0) and (w > 0).all()
    res = LNNSABR(hidden_size=2).fit(quotes, init=table, weight="vega", epochs=5, lr=1e-2)
    assert res.train["offset"] and res.weight == "vega"
    assert np.isfinite(res.rmse_bp) and "vega" in str(res.summary())


def test_save_load_round_trip(trained, tmp_path):
    path = trained.save(tmp_path / "lnn_sabr")
    again = LNNSABRResult.load(path)
    k = F * np.exp(np.linspace(-0.5, 0.3, 7))
    for t in (0.1, 0.37, 4.0):
        np.testing.assert_array_equal(again.implied_vol(k, t), trained.implied_vol(k, t))
        np.testing.assert_array_equal(again.benchmark.implied_vol(k, t),
                                      trained.benchmark.implied_vol(k, t))
    pd.testing.assert_frame_equal(again.params, trained.params)
    assert again.history.best_epoch == trained.history.best_epoch
    raw = (path / "config.json").read_text()
    assert "LNNSABRResult" in raw and "pickle" not in raw


def test_seed_reproducibility(quotes, table, trained):
    again = LNNSABR(hidden_size=4).fit(quotes, init=table, epochs=25, lr=1e-2, seed=3)
    grid = [0.05, 0.17, 0.7, 3.0]
    np.testing.assert_array_equal(again.param_path(grid), trained.param_path(grid))
    other = LNNSABR(hidden_size=4).fit(quotes, init=table, epochs=25, lr=1e-2, seed=4)
    assert not np.array_equal(other.param_path(grid), trained.param_path(grid))


def test_bad_inputs_raise_hybridrisk_errors(quotes, table):
    m = LNNSABR(hidden_size=2)
    bad = quotes.copy()
    bad.loc[3, "vol"] = np.nan
    with pytest.raises(DataValidationError, match="vol"):
        m.fit(bad, init=table, epochs=0)
    bad = quotes.copy()
    bad.loc[5, "vol"] = -0.1
    with pytest.raises(DataValidationError, match="vol > 0"):
        m.fit(bad, init=table, epochs=0)
    with pytest.raises(DataValidationError, match="columns"):
        m.fit(quotes.drop(columns="forward"), init=table, epochs=0)
    one = quotes[quotes["expiry"] == 0.5]
    with pytest.raises(InsufficientDataError):
        m.fit(one, init=table.loc[[0.5]], epochs=0)
    with pytest.raises(ConfigError, match="expiries"):
        m.fit(quotes, init=table.iloc[1:], epochs=0)
    mixed = table.copy()
    mixed.iloc[0, mixed.columns.get_loc("beta")] = 0.5
    with pytest.raises(ConfigError, match="beta"):
        m.fit(quotes, init=mixed, epochs=0)
    with pytest.raises(ConfigError):
        LNNSABR(vol_type="black")
    with pytest.raises(ConfigError):
        m.fit(quotes, init=table, epochs=0, arbitrage=-1.0)
    res = m.fit(quotes, init=table, epochs=0)
    with pytest.raises(DataValidationError):
        res.param_path([0.0])


def test_calendar_variant_recovers_alpha_on_simulated_paths():
    from baselines.sabr import fit_sabr
    from hybridrisk.hybrids.sabr_calendar import LNNSABRCalendar, simulate_smile_history

    sim = simulate_smile_history(500, seed=1)
    v, split = sim["vols"], 350
    x = np.asarray(v.columns, dtype=float)
    const = fit_sabr(np.exp(x), v.iloc[:split].mean().to_numpy(), 1.0, sim["expiry"],
                     beta=1.0).params
    fit = LNNSABRCalendar("cfc", 4).fit(
        v.iloc[:split], sim["returns"].iloc[:split], sim["log_range"].iloc[:split],
        expiry=sim["expiry"], init=const, seed=0, epochs=30, patience=30, progress=False)
    cov = pd.concat([sim["returns"], sim["log_range"]], axis=1)
    test = slice(split, None)
    truth = sim["alpha"].iloc[test]
    hyb = fit.param_path(cov)["alpha"].iloc[test]
    flat = fit.param_path(cov, network_off=True)["alpha"].iloc[test]
    assert np.allclose(flat, const["alpha"], rtol=0, atol=1e-14)  # network off: constant
    assert np.sqrt(np.mean((hyb - truth) ** 2)) < 0.7 * np.sqrt(np.mean((flat - truth) ** 2))
