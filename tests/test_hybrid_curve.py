"""LNN-DNS: nesting of Diebold-Li (baselines / statsmodels), continuous horizons, missing tenors,
irregular dates, reproducibility, persistence and input validation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from baselines.dns import HORIZONS, diebold_li_factors, fit_diebold_li
from baselines.random_walk import random_walk_forecast
from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError, NumericalError
from hybridrisk.hybrids._training import make_windows
from hybridrisk.hybrids.dns import LNNDNS, LNNDNSResult
from hybridrisk.kernels.dns import DIEBOLD_LI_TAU, OUDynamics, ns_loadings, observe_factors
from hybridrisk.results import Simulation, Summary

COLS = ["SVENY01", "SVENY02", "SVENY03", "SVENY05", "SVENY07", "SVENY10", "SVENY20", "SVENY30"]
SMALL = {"epochs": 2, "batch_size": 8, "window": 48, "burn_in": 16, "progress": False}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def curves() -> pd.DataFrame:
    y = datasets.gsw_zero_yields().loc["2016":"2019", COLS]
    return y.loc[~y.isna().all(axis=1)]


@pytest.fixture(scope="module")
def dl(curves):
    return {d: fit_diebold_li(curves, dynamics=d) for d in ("var", "ar")}


@pytest.fixture(scope="module")
def trained(curves, dl):
    return LNNDNS("cfc", 4).fit(curves, init=dl["var"], seed=3, **SMALL)


def _max(a, b) -> float:
    return float(np.abs(np.asarray(a, float) - np.asarray(b, float)).max())


# ------------------------------------------------------------------------------------ nesting


@pytest.mark.parametrize("dynamics", ["var", "ar"])
def test_network_off_is_diebold_li(curves, dl, dynamics):
    ref = dl[dynamics].forecast(HORIZONS)
    res = LNNDNS("cfc", 4, dynamics=dynamics).fit(curves, init=dl[dynamics], epochs=0,
                                                  progress=False)
    assert isinstance(res.benchmark, LNNDNSResult) and res.benchmark.network_off
    assert res.benchmark.benchmark is res.benchmark and not res.network_off
    for r in (res.benchmark, res):  # frozen head, and the untrained head (exact init)
        ours = r.forecast(HORIZONS)
        assert _max(ours.mean, ref.mean) < 1e-12
        for k in HORIZONS:
            assert _max(ours.cov[k], ref.cov[k]) < 1e-12
        # one vocabulary: labels, columns, maturities and horizons as Diebold-Li's
        assert list(ours.mean.index) == list(ref.mean.index) == list(ours.cov)
        assert list(ours.mean.columns) == list(ref.mean.columns) == COLS
        np.testing.assert_array_equal(ours.maturities, ref.maturities)
        assert ours.horizons == ref.horizons and ours.origin == ref.origin
        assert _max(ours.factors, ref.factors) < 1e-12
    # from every origin of an out-of-sample block, against DL's forecast(factors=...)
    new = datasets.gsw_zero_yields().loc["2020-01-01":"2020-01-20", COLS].dropna(how="all")
    got = res.benchmark.filter(new, horizons=HORIZONS)
    both = pd.concat([curves, new])
    fac, _ = diebold_li_factors(both)
    for t in got.index[:5]:
        origin = both.index[both.index.get_loc(t) - 1]
        exp = dl[dynamics].forecast(HORIZONS, factors=fac.loc[origin].to_numpy()).mean
        row = np.array([[got.loc[t, f"{h}|{c}"] for c in COLS] for h in HORIZONS])
        assert _max(row, exp) < 1e-12


def test_default_benchmark_is_statsmodels_ols_on_the_training_span(curves):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 2016-18 has a slightly explosive root
        res = LNNDNS("cfc", 4).fit(curves, epochs=0, val_fraction=0.25, progress=False)
    ref = fit_diebold_li(curves.iloc[: res.split], dynamics="var")
    # the same statsmodels estimation (hybridrisk.kernels.dns.estimate_dynamics): identical
    np.testing.assert_array_equal(res.ou.transition, ref.transition)
    np.testing.assert_array_equal(res.ou.intercept, ref.intercept)
    np.testing.assert_array_equal(res.ou.innovation_cov, ref.innovation_cov)
    assert res.ou.measurement_var == ref.measurement_var
    f_last = res.factors.iloc[-1].to_numpy()
    exp = ref.forecast(HORIZONS, factors=f_last).mean
    assert _max(res.benchmark.forecast(HORIZONS).mean, exp) < 1e-12


def test_trained_model_still_nests_with_the_network_off(trained, dl):
    ref = dl["var"].forecast(HORIZONS)
    assert _max(trained.benchmark.forecast(HORIZONS).mean, ref.mean) < 1e-12
    h = trained.history
    assert h.best_val_loss <= h.initial_val_loss  # the benchmark is the first candidate
    p = trained.params
    assert list(p.columns[:3]) == ["level", "slope", "curvature"]
    assert {"mu_level", "speed_level", "carry", "carry_halflife"} <= set(p.columns)
    assert np.isfinite(p.to_numpy()).all()


def test_benchmark_loglik_is_diebold_li_predictive_density(curves, dl):
    """The network-off log-likelihood is the Gaussian density of Diebold-Li's 1d forecasts."""
    from scipy.stats import multivariate_normal

    res = LNNDNS("cfc", 4).fit(curves, init=dl["var"], epochs=0, progress=False)
    ll = res.benchmark.loglik_contributions
    fac = res.factors
    for k in (0, 100, len(ll) - 1):
        fc = dl["var"].forecast({"1d": 1}, factors=fac.iloc[k].to_numpy())
        y = curves.dropna(how="all").iloc[k + 1].to_numpy()
        ref = multivariate_normal(fc.mean.loc["1d"].to_numpy(), fc.cov["1d"]).logpdf(y)
        assert ll.iloc[k] == pytest.approx(ref, rel=1e-12)
    assert res.loglik == pytest.approx(res.benchmark.loglik, rel=1e-14)  # untrained head
    assert res.benchmark.num_params == 19 and res.num_params == 19 + res.net.num_params()
    assert res.aic == -2 * res.loglik + 2 * res.num_params


def test_one_forecast_vocabulary_across_the_family(curves, dl, trained):
    """Random walk, Diebold-Li and the hybrid return the same CurveForecast layout."""
    hz = {"1d": 1, "1m": 21}
    out = [random_walk_forecast(curves, hz), dl["var"].forecast(hz), trained.forecast(hz),
           trained.benchmark.forecast(hz)]
    for fc in out:
        assert list(fc.mean.index) == ["1d", "1m"] and list(fc.mean.columns) == COLS
        assert fc.horizons == {"1d": 1.0, "1m": 21.0} and list(fc.cov) == ["1d", "1m"]
        np.testing.assert_array_equal(fc.maturities, [1, 2, 3, 5, 7, 10, 20, 30])
        assert fc.origin == curves.index[-1]


def test_no_real_logarithm_raises():
    phi = np.diag([0.99, -0.5, 0.98])
    with pytest.raises(NumericalError, match="logarithm|OU"):
        OUDynamics("var", DIEBOLD_LI_TAU, np.zeros(3), phi, np.eye(3), 0.01)
    with pytest.raises(NumericalError):
        OUDynamics("ar", DIEBOLD_LI_TAU, np.zeros(3), phi, np.eye(3), 0.01)


# ------------------------------------------------------------------ anchored at the random walk


@pytest.mark.parametrize("dynamics", ["var", "ar"])
def test_anchored_network_off_is_the_random_walk(curves, dl, dynamics):
    model = LNNDNS("cfc", 4, dynamics=dynamics, anchor="random_walk")
    res = model.fit(curves, init=dl[dynamics], epochs=0, progress=False)
    ref = random_walk_forecast(curves, HORIZONS)
    for r in (res.benchmark, res):  # frozen head, and the untrained head (weight exactly 0)
        ours = r.forecast(HORIZONS)
        assert _max(ours.mean, ref.mean) == 0.0
        assert list(ours.mean.index) == list(ref.mean.index)
        assert list(ours.mean.columns) == list(ref.mean.columns)
        # every in-sample origin: the curve of the observation before
        fit = r.fitted_forecasts(HORIZONS)
        for h in HORIZONS:
            assert _max(fit[[f"{h}|{c}" for c in COLS]].iloc[:-1], curves.iloc[:-1]) == 0.0
    assert model.name == f"LNN-DNS-{dynamics.upper()}-RW (cfc)"
    assert {"anchor", "anchor_scale"} <= set(res.params.columns)
    assert (res.params["anchor"] == 0.0).all()
    # out of sample, with a tenor unpublished at some origins: the previous day's yields
    new = datasets.gsw_zero_yields().loc["2020-01-01":"2020-02-20", COLS].dropna(how="all")
    new.iloc[5:9, 7] = np.nan  # 30y unpublished on a few days
    got = res.benchmark.filter(new, horizons=HORIZONS, with_params=True)
    both = pd.concat([curves, new])
    theirs = both.shift(1).loc[new.index].to_numpy()  # as the curve campaign's RandomWalkTask
    pub = np.isfinite(theirs)
    # where the origin has no quote (no random-walk forecast): the day's Nelson-Siegel fit
    fac, _ = diebold_li_factors(both.iloc[len(curves) + 5: len(curves) + 9])
    fitted = fac.to_numpy() @ ns_loadings(res.maturities, DIEBOLD_LI_TAU).T
    for h in HORIZONS:
        ours = got[[f"{h}|{c}" for c in COLS]].to_numpy()
        assert (~pub).sum() == 4 and _max(ours[pub], theirs[pub]) == 0.0
        assert _max(ours[~pub], fitted[:, 7]) < 1e-12
    assert (got["theta_anchor"] == 0.0).all() and "theta_anchor_scale" in got
    # the in-sample RMSE and the loss weights are the random walk's
    rm = res.benchmark.rmse()
    y = curves.to_numpy()
    for h in res.spec["horizons"]:
        d = 100.0 * (y[h: res.split] - y[: res.split - h])
        assert rm.loc["train", f"h={h}"] == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-12)
    assert _max(res.rmse(), rm) == 0.0
    assert res.loglik == res.benchmark.loglik


def test_anchor_weight_one_is_diebold_li(curves, dl, monkeypatch):
    """lambda = 1 and eta -> 0 with the DNS outputs at their start: Diebold-Li exactly."""
    plain = LNNDNS("cfc", 4).fit(curves, init=dl["var"], epochs=0, progress=False)
    start = LNNDNS.head_init

    def at_one(ou, anchor=None):
        return {**start(ou, anchor), **({"anchor": 1.0, "anchor_scale": 1e-3} if anchor else {})}

    monkeypatch.setattr(LNNDNS, "head_init", staticmethod(at_one))
    res = LNNDNS("cfc", 4, anchor="random_walk").fit(curves, init=dl["var"], epochs=0,
                                                     progress=False)
    assert res.params["anchor"].eq(1.0).all()
    ref = dl["var"].forecast(HORIZONS)
    for r in (res.benchmark, res):
        assert _max(r.forecast(HORIZONS).mean, ref.mean) < 1e-12
        # training loss path (window_errors) and the in-sample forecasts: as the plain model's
        assert _max(r.rmse(), plain.rmse()) < 1e-9
        assert _max(r.fitted_forecasts(HORIZONS), plain.fitted_forecasts(HORIZONS)) < 1e-12
    new = datasets.gsw_zero_yields().loc["2020-01-01":"2020-01-20", COLS].dropna(how="all")
    assert _max(res.filter(new, horizons=HORIZONS), plain.filter(new, horizons=HORIZONS)) < 1e-12
    assert res.loglik == pytest.approx(plain.loglik, rel=1e-12)


def test_anchored_training_and_save_load(curves, dl, tmp_path):
    res = LNNDNS("cfc", 4, anchor="random_walk").fit(curves, init=dl["var"], seed=3, **SMALL)
    h = res.history
    assert h.best_val_loss <= h.initial_val_loss  # the random walk is the first candidate
    assert res.params["anchor"].abs().max() > 0  # the weight has moved
    # trained or not, the network off is still the random walk
    assert _max(res.benchmark.forecast(HORIZONS).mean,
                random_walk_forecast(curves, HORIZONS).mean) == 0.0
    path = res.save(tmp_path / "lnn-dns-rw")
    back = LNNDNSResult.load(path)
    assert back.spec["anchor"] == "random_walk" and back.anchor == "random_walk"
    np.testing.assert_array_equal(back.forecast({"x": 7.5, "1m": 21}).mean,
                                  res.forecast({"x": 7.5, "1m": 21}).mean)
    np.testing.assert_array_equal(back.params, res.params)
    new = datasets.gsw_zero_yields().loc["2020-01-01":"2020-02-01", COLS]
    pd.testing.assert_frame_equal(back.filter(new, with_params=True),
                                  res.filter(new, with_params=True))
    assert back.loglik == res.loglik and back.benchmark.loglik == res.benchmark.loglik
    assert "-RW" in str(back.summary())


def test_files_saved_without_the_anchor_key_load(trained, tmp_path):
    import json

    path = trained.save(tmp_path / "old")
    cfg = path / "config.json" if path.is_dir() else path
    meta = json.loads(cfg.read_text())
    assert meta["spec"].pop("anchor") is None
    cfg.write_text(json.dumps(meta))
    back = LNNDNSResult.load(path)
    assert back.anchor is None and back.net.head.names == trained.net.head.names
    np.testing.assert_array_equal(back.forecast().mean, trained.forecast().mean)
    with pytest.raises(ConfigError, match="anchor"):
        LNNDNS(anchor="diebold_li")


# ------------------------------------------------------------------------- continuous time


def test_non_integer_horizons_interpolate_continuously(curves, dl):
    res = LNNDNS("cfc", 4, dynamics="ar").fit(curves, init=dl["ar"], epochs=0, progress=False)
    grid = np.linspace(1.0, 2.0, 101)
    fc = res.benchmark.forecast(list(grid))
    f = fc.factors.to_numpy()
    for j in range(3):  # OU with a positive speed: each factor moves monotonically to mu
        d = np.diff(f[:, j])
        assert (d >= -1e-15).all() or (d <= 1e-15).all()
    ints = res.benchmark.forecast({"1": 1, "2": 2}).mean.to_numpy()
    assert _max(fc.mean.iloc[[0, -1]], ints) < 1e-13
    jumps = np.abs(np.diff(fc.mean.to_numpy(), axis=0)).max()
    assert jumps < 0.02 * np.abs(ints[1] - ints[0]).max() + 1e-12  # no jump on a fine grid
    # the VAR's OU form: a semigroup, so 1.5 + 1.5 steps = 3 steps exactly
    rv = LNNDNS("cfc", 4).fit(curves, init=dl["var"], epochs=0, progress=False)
    off = rv.benchmark
    half = off.forecast({"a": 1.5}).factors.to_numpy()[0]
    th = off._ev["theta"][-1:]
    again = off._curve(half[None], np.zeros((1, len(COLS))), th, np.array([1.5]),
                       off.panel.loadings)[1][0, 0]
    three = off.forecast({"3": 3}).factors.to_numpy()[0]
    assert _max(again, three) < 1e-12
    with pytest.raises(ConfigError):
        rv.forecast({"bad": -1.0})


# --------------------------------------------------------------------------- missing tenors


def test_missing_tenors_are_never_read(curves, dl):
    rng = np.random.default_rng(0)
    hidden = pd.DataFrame(rng.random(curves.shape) > 0.15, index=curves.index,
                          columns=curves.columns)
    hidden.iloc[:, :3] = True  # keep at least three tenors every day
    other = curves.where(hidden, curves + rng.normal(0, 50, curves.shape))  # junk where hidden
    a = LNNDNS("cfc", 4).fit(curves, published=hidden, init=dl["var"], seed=1, **SMALL)
    b = LNNDNS("cfc", 4).fit(other, published=hidden, init=dl["var"], seed=1, **SMALL)
    np.testing.assert_array_equal(a.factors, b.factors)
    assert a.history.train_loss == b.history.train_loss
    np.testing.assert_array_equal(a.forecast().mean, b.forecast().mean)
    np.testing.assert_array_equal(a.params, b.params)
    # factors: least squares on the published tenors of each day, nothing filled
    load = ns_loadings(np.array([1, 2, 3, 5, 7, 10, 20, 30.0]), DIEBOLD_LI_TAU)
    for k in (0, 17, 300):
        pub = hidden.iloc[k].to_numpy()
        ref, *_ = np.linalg.lstsq(load[pub], curves.iloc[k].to_numpy()[pub], rcond=None)
        assert _max(a.factors.iloc[k], ref) < 1e-12
    # the loss: any value at an unpublished target leaves it unchanged
    eng = a._engine(a.panel, [])
    w = make_windows(0, a.split, 48, 16)
    s0, c0 = eng.window_errors(w, a.split, (1, 5, 21), nested=False)
    eng.y[~eng.pub] = 1e6
    s1, c1 = eng.window_errors(w, a.split, (1, 5, 21), nested=False)
    assert torch.equal(s0, s1) and torch.equal(c0, c1)


def test_nan_tenors_and_empty_days(curves, dl):
    y = curves.copy()
    y.iloc[10:40, [6, 7]] = np.nan  # 20y and 30y unpublished for a while
    y.iloc[50] = np.nan  # a holiday row: dropped, never filled
    res = LNNDNS("cfc", 4).fit(y, init=dl["var"], epochs=0, progress=False)
    assert res.panel.dropped_days == 1 and len(res.factors) == len(y) - 1
    ref, _ = diebold_li_factors(y.dropna(how="all"))
    assert _max(res.factors, ref) < 1e-12
    bad = y.copy()
    bad.iloc[5, 2:] = np.nan  # two tenors only
    with pytest.raises(DataValidationError, match="min-tenors"):
        LNNDNS().fit(bad, init=dl["var"], epochs=0, progress=False)


# ----------------------------------------------------------------------------- irregular time


def test_per_sample_irregular_times(curves, dl):
    rng = np.random.default_rng(5)
    keep = np.sort(rng.choice(len(curves), size=len(curves) * 3 // 4, replace=False))
    y = curves.iloc[keep]  # gaps of several business days, different in every window
    res = LNNDNS("cfc", 4, clock="business").fit(y, init=dl["var"], seed=2, **SMALL)
    eng = res._engine(res.panel, [])
    w = make_windows(0, len(y), 48, 16)
    gaps = {tuple(np.diff(res.panel.times[w.index[i].numpy()])) for i in range(len(w))}
    assert len(gaps) == len(w)  # every window has its own time grid
    with torch.no_grad():
        batch = eng.theta(w, nested=False)
        for i in (0, 3, len(w) - 1):
            one = eng.theta(w.subset([i]), nested=False)[0]
            assert torch.allclose(batch[i], one, atol=1e-12, rtol=0)
    # a target k observations ahead is forecast at the elapsed business days, not at k
    t = res.panel.times
    k = int(np.flatnonzero(np.diff(t) > 1)[0])
    gap = t[k + 1] - t[k]
    th = res.benchmark._ev["theta"][k:k + 1]
    f0 = res.panel.factors[k:k + 1]
    got = res._curve(f0, np.zeros((1, len(COLS))), th, np.array([gap]),
                     res.panel.loadings)[1][0, 0]
    a, phi = dl["var"].intercept, dl["var"].transition
    exp = f0[0]
    for _ in range(int(gap)):
        exp = a + phi @ exp
    assert _max(got, exp) < 1e-12


def test_cde_with_a_mixed_frequency_series(curves, dl):
    y = curves.iloc[-300:]
    monthly = curves["SVENY10"].resample("ME").last().rename("monthly10")
    monthly.index = monthly.index - pd.Timedelta(days=3)  # its own calendar
    res = LNNDNS("cde", 4, width=8).fit(
        y, covariates=monthly, init=dl["var"], seed=0, epochs=1, batch_size=16, window=32,
        burn_in=8, progress=False)
    assert "monthly10" in res.inputs.names
    ref = dl["var"].forecast(HORIZONS, factors=res.factors.iloc[-1].to_numpy())
    assert _max(res.benchmark.forecast(HORIZONS).mean, ref.mean) < 1e-12
    assert np.isfinite(res.forecast(HORIZONS).mean.to_numpy()).all()


# ------------------------------------------------------------------ reproducibility and io


def test_same_seed_same_numbers(curves, dl, trained):
    again = LNNDNS("cfc", 4).fit(curves, init=dl["var"], seed=3, **SMALL)
    assert again.history.train_loss == trained.history.train_loss
    np.testing.assert_array_equal(again.params, trained.params)
    other = LNNDNS("cfc", 4).fit(curves, init=dl["var"], seed=4, **SMALL)
    assert other.history.train_loss != trained.history.train_loss


def test_save_load_identical(trained, tmp_path):
    path = trained.save(tmp_path / "lnn-dns")
    back = LNNDNSResult.load(path)
    np.testing.assert_array_equal(back.forecast({"x": 7.5, "1m": 21}).mean,
                                  trained.forecast({"x": 7.5, "1m": 21}).mean)
    np.testing.assert_array_equal(back.params, trained.params)
    new = datasets.gsw_zero_yields().loc["2020-01-01":"2020-02-01", COLS]
    pd.testing.assert_frame_equal(back.filter(new, with_params=True),
                                  trained.filter(new, with_params=True))
    summary = back.summary()
    assert isinstance(summary, Summary) and "LNN-DNS" in str(summary)
    assert back.loglik == trained.loglik and back.benchmark.loglik == trained.benchmark.loglik
    assert back.aic == trained.aic
    sims = back.simulate(5, 10, seed=1)
    assert isinstance(sims, Simulation) and sims.returns.shape == (5, 10, len(COLS))
    assert sims.columns == list(COLS) and sims.variance is None
    np.testing.assert_array_equal(sims.returns, trained.simulate(5, 10, seed=1).returns)


# ------------------------------------------------------------------------------ bad input


def test_bad_input(curves, dl, trained):
    fit = lambda y, **kw: LNNDNS("cfc", 4).fit(y, epochs=0, progress=False, **kw)  # noqa: E731
    with pytest.raises(DataValidationError):
        fit(curves["SVENY10"])
    bad = curves.copy()
    bad.iloc[3, 2] = np.inf
    with pytest.raises(DataValidationError):
        fit(bad)
    with pytest.raises(DataValidationError):
        fit(curves.iloc[::-1])
    with pytest.raises(ConfigError):
        fit(curves.rename(columns={"SVENY10": "ten"}))
    with pytest.raises(ConfigError, match="dynamics"):
        fit(curves, init=dl["ar"])
    with pytest.raises(ConfigError):
        fit(curves, init={"intercept": [0, 0, 0]})
    for kw in ({"dynamics": "var2"}, {"clock": "lunar"},
               {"horizons": (0, 5)}, {"hidden_size": 0}, {"tau": -1.0}, {"cell": "gru"}):
        with pytest.raises(ConfigError):
            LNNDNS(**kw)
    with pytest.raises(ConfigError):
        LNNDNS().fit(curves, epochs=0, window=1)
    with pytest.raises(DataValidationError, match="sorted-index"):
        trained.filter(curves.iloc[-5:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataValidationError):
            observe_factors(np.zeros((2, 3)), np.array([[1, 1, 0], [1, 1, 1]], bool),
                            np.ones((3, 3)))
