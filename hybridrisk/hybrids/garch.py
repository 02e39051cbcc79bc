"""LNN-GARCH: a liquid network produces the time-varying parameters of a GARCH model.

For returns ``r_t`` (percent) and ``eps_t = r_t - mu``, the hybrid is the GARCH(1,1) or
GJR-GARCH(1,1,1) recursion of :mod:`hybridrisk.kernels.garch` with time-varying parameters::

    theta_t = (omega_t, alpha_t, [gamma_t], beta_t, [nu_t], [lambda_t]) = head(h_t)
    h = encoder(x_0, ..., x_t)   (CfC, LTC or CTRNN; observation times = information dates)

where ``x_t`` holds only what was known at the close of day ``t-1``: ``r_{t-1}``, ``|r_{t-1}|``
and each covariate's latest value published at or before that date (as-of alignment on the
covariate's own calendar, e.g. VIX; see :class:`~hybridrisk.hybrids._skeleton.Features`). The
head keeps ``omega_t > 0``, ``alpha_t, beta_t (, gamma_t) > 0`` with
``alpha_t + gamma_t/2 + beta_t < 1`` (a Simplex) and ``nu_t > 2``, ``-1 < lambda_t < 1`` by
construction; nothing is clipped. Where the GJR benchmark's ``gamma`` is negative (exchange
rates), ``asymmetry="auto"`` gives the head arch's own domain instead (``alpha_t > 0``,
``alpha_t + gamma_t > 0``; :class:`~hybridrisk.lnn.heads.SignedAsymmetry`). The mean ``mu``
is the benchmark's (constant or zero) and is not trained: the network acts on the variance
and shape. Parameters are reported under arch's names (``alpha[1]``, ``gamma[1]``,
``beta[1]``; the skew t's ``nu`` is arch's ``eta``).

Nesting. The head starts at the classical MLE (``init``), so with the network switched off the
model *is* the benchmark: ``result.benchmark`` evaluates the model with the head frozen at
``init`` through the same code path, and its log-likelihood equals ``arch``'s for the same model
and backcast (tested to about 1e-12 relative). Two documented details: a Simplex component of
``init`` at the boundary (arch's GJR ``alpha`` is often exactly 0) is raised to
``SIMPLEX_FLOOR = 1e-12``, which moves the log-likelihood by far less than 1e-12 relative; and
the backcast (the variance before the first observation) is the benchmark's rule
(:func:`~hybridrisk.kernels.garch.backcast_value`), arch's by default.

Training. Overlapping windows (:mod:`hybridrisk.hybrids._training`): each window starts its
variance recursion from the *classical* filter (at ``init``) at the window start, its encoder
from zero, and scores the log-likelihood after a burn-in. Adam, gradient-norm clipping, a
penalty toward the benchmark, early stopping on the last ``val_fraction`` of the sample. The
reported path, log-likelihood and forecasts come from one full sequential pass from the start
of the sample. A benchmark estimated on the whole sample sits at the optimum of the validation
block's constant-parameter likelihood, which makes early stopping conservative; a callable
``init`` (e.g. ``functools.partial(baselines.fit_garch, o=1, dist="t")``) is estimated on the
training span only.

Forecasts. One step: the model's own ``sigma2_{T+1}`` from ``theta_{T+1} = head(h_{T+1})``.
Beyond one step the covariates are unknown, so ``theta`` is held at ``theta_{T+1}`` and the
recursion is iterated in expectation exactly as arch's analytic forecast does. VaR and ES are
positive losses from the fitted innovation distribution, computed by the same functions as the
classical models' (:func:`~hybridrisk.kernels.distributions.tail_risk`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError, NumericalError
from hybridrisk.hybrids._io import load_device, load_verified, restore_net
from hybridrisk.hybrids._skeleton import (
    SIMPLEX_FLOOR,
    Features,
    HybridModel,
    HybridResult,
    ThetaNet,
    floored,
    index_unit,
    params_mapping,
    series_from_payload,
    series_payload,
    train_likelihood,
)
from hybridrisk.hybrids._training import (
    TrainConfig,
    TrainHistory,
    Windows,
    collect_series,
    extend_covariates,
    fit_config,
    seeded,
    split_index,
)
from hybridrisk.kernels.distributions import log_density, shape_names, tail_risk
from hybridrisk.kernels.garch import (
    GARCHSpec,
    arch_names,
    backcast_value,
    expected_variance,
    garch_variance,
    simulate_paths,
)
from hybridrisk.lnn.heads import Bounded, GreaterThan, Positive, SignedAsymmetry, Simplex
from hybridrisk.results import (
    LEVELS,
    Simulation,
    Summary,
    VolatilityForecast,
    es_column,
    horizon_index,
    var_column,
)

__all__ = ["LNNGARCH", "LNNGARCHResult"]

_VOLS = ("garch", "gjr")
_MEANS = ("constant", "zero")
_ASYMMETRIES = ("auto", "positive", "signed")


def _simplex(vol: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    if vol == "gjr":
        return ("alpha", "gamma", "beta"), (1.0, 0.5, 1.0)
    return ("alpha", "beta"), (1.0, 1.0)


def _canonical_init(init: Any, *, vol: str, dist: str, mean: str) -> dict[str, float]:
    """Benchmark parameters under the head's plain names, from arch's or plain names."""
    raw = params_mapping(init)
    out: dict[str, float] = {}
    for plain, arch in arch_names(vol, dist, mean).items():
        hit = [a for a in (arch, plain, "Const" if plain == "mu" else arch) if a in raw]
        if not hit:
            raise ConfigError(f"init lacks {arch!r}; it has {sorted(raw)}")
        out[plain] = raw[hit[0]]
    return out


def _benchmark_backcast(init: Any, backcast: Any) -> Any:
    """``backcast=None`` follows a benchmark result's own rule when it records one."""
    if backcast is not None:
        return backcast
    rule = getattr(init, "backcast", None)
    if isinstance(rule, str | float | int) and not isinstance(rule, bool):
        return rule
    return None


def _rule_label(backcast: Any) -> str:
    if backcast is None:
        return "arch"
    return backcast if isinstance(backcast, str) else "user"


def _variance(theta: Mapping[str, torch.Tensor], eps: torch.Tensor, vol: str,
              **start: Any) -> torch.Tensor:
    return garch_variance(eps, theta["omega"], theta["alpha"], theta["beta"],
                          theta["gamma"] if vol == "gjr" else None, **start)


class LNNGARCH(HybridModel):
    """LNN-GARCH: a liquid network produces the time-varying parameters of a GARCH model.

    Parameters
    ----------
    cell, hidden_size, device, use_times, max_staleness, on_stale, head_layers, **cell_kwargs
        The encoder and covariate settings of :class:`~hybridrisk.hybrids._skeleton.HybridModel`
        (e.g. ``unfolds=6`` for LTC, ``method="rk4"`` for CTRNN).
    vol
        ``"garch"`` (GARCH(1,1)) or ``"gjr"`` (GJR-GARCH(1,1,1)).
    dist
        ``"normal"``, ``"t"`` or ``"skewt"``.
    mean
        ``"constant"`` or ``"zero"`` (the benchmark's mean, held fixed).

    Examples
    --------
    >>> import baselines
    >>> from hybridrisk import datasets
    >>> r = datasets.sp500_returns()
    >>> champion = baselines.fit_garch(r, o=1, dist="t")                # doctest: +SKIP
    >>> res = LNNGARCH("cfc", 16, vol="gjr", dist="t").fit(
    ...     r, covariates=datasets.sp500_range(), init=champion)          # doctest: +SKIP
    >>> res.benchmark.loglik == champion.loglik                           # doctest: +SKIP
    """

    family_keys = ("vol", "dist", "mean")

    def __init__(self, cell: str = "cfc", hidden_size: int = 16, vol: str = "garch",
                 dist: str = "normal", mean: str = "constant",
                 device: str | torch.device = "cpu", *, asymmetry: str = "auto",
                 **kwargs: Any) -> None:
        if vol not in _VOLS:
            raise ConfigError(f"vol must be one of {_VOLS}, got {vol!r}")
        if mean not in _MEANS:
            raise ConfigError(f"mean must be one of {_MEANS}, got {mean!r}")
        if asymmetry not in _ASYMMETRIES:
            raise ConfigError(f"asymmetry must be one of {_ASYMMETRIES}, got {asymmetry!r}")
        shape_names(dist)
        self.vol, self.dist, self.mean = vol, dist, mean
        self.asymmetry = asymmetry
        # "auto" is resolved by fit() from the benchmark's gamma (see _resolve_asymmetry)
        self._asymmetry = "positive" if asymmetry == "auto" else asymmetry
        super().__init__(cell, hidden_size, device, **kwargs)

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "asymmetry": self._asymmetry}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], device: str | torch.device = "cpu"
                  ) -> LNNGARCH:
        # files saved before the option existed used the positive Simplex
        model = super().from_spec(spec, device)
        model.asymmetry = model._asymmetry = str(spec.get("asymmetry", "positive"))
        return model  # type: ignore[return-value]

    def _resolve_asymmetry(self, init: Mapping[str, float]) -> None:
        """``auto``: GJR's ``gamma > 0`` head (a Simplex) when the benchmark's gamma is
        positive, else the head of arch's own domain, where ``gamma`` may be negative."""
        if self.asymmetry == "auto":
            pos = self.vol != "gjr" or init.get("gamma", 1.0) > 0
            self._asymmetry = "positive" if pos else "signed"

    @property
    def name(self) -> str:
        v = {"garch": "GARCH", "gjr": "GJR-GARCH"}[self.vol]
        return f"LNN-{v}-{self.dist} ({self.cell.upper()}, {self.hidden_size} units)"

    def head_spec(self) -> dict[str, Any]:
        names, weights = _simplex(self.vol)
        persistence = (SignedAsymmetry(names) if self.vol == "gjr" and self._asymmetry == "signed"
                       else Simplex(names, weights))
        spec: dict[str, Any] = {"omega": Positive(), "persistence": persistence}
        if self.dist in ("t", "skewt"):
            spec["nu"] = GreaterThan(2.0)
        if self.dist == "skewt":
            spec["lambda"] = Bounded(-1.0, 1.0)
        return spec

    def _net(self, n_inputs: int, init: Mapping[str, float]) -> ThetaNet:
        if self.vol == "gjr" and self._asymmetry == "signed":
            head_init = floored(init, ("alpha", "beta"))
            # the floor applies to alpha + gamma, the Simplex component, not to gamma
            head_init["gamma"] = max(init["gamma"], SIMPLEX_FLOOR - head_init["alpha"])
        else:
            head_init = floored(init, _simplex(self.vol)[0])
        return self.build_net(n_inputs, {k: v for k, v in head_init.items() if k != "mu"})

    def _features(self, covariates: list[pd.Series]) -> Features:
        return Features(["r_lag", "abs_r_lag"], covariates, max_staleness=self.max_staleness,
                        on_stale=self.on_stale)

    def fit(
        self,
        returns: pd.Series,
        covariates: Any = None,
        *,
        init: Any,
        backcast: Any = None,
        seed: int = 0,
        **train: Any,
    ) -> LNNGARCHResult:
        """Fit by windowed maximum likelihood, warm-started and regularised at ``init``.

        Parameters
        ----------
        returns
            Percent returns with a DatetimeIndex.
        covariates
            None, a Series, a DataFrame, a dict or a list of Series, each on its own calendar
            (e.g. ``datasets.sp500_range()``, ``datasets.vix()``); aligned as of the previous
            close.
        init
            The benchmark: a fitted result with ``.params`` (``baselines.fit_garch``, arch's
            ``ARCHModelResult``), a Series or a dict in arch's or plain names, or a callable
            that estimates it from the training span's returns (the validation block
            excluded), e.g. ``functools.partial(baselines.fit_garch, o=1, dist="t")``.
        backcast
            None (the benchmark result's own rule when it records one, as
            ``baselines.fit_garch`` does, else arch's), ``"arch"``, ``"sample-variance"``
            (``mean((r - mu)^2)`` at the benchmark's mu) or a positive float. The nesting
            property needs the benchmark's rule.
        seed
            Seeds the network initialisation and the window shuffling (bit-for-bit on CPU).
        **train
            Training settings of :class:`~hybridrisk.hybrids._training.TrainConfig` (its
            defaults: ``epochs=30, lr=1e-2, window=100, burn_in=25, val_fraction=0.2,
            patience=8, penalty=1e-2, batch_size=None, grad_clip=1.0, progress=True``).

        Raises
        ------
        DataValidationError
            Bad returns or covariates (named column, row and rule).
        ConfigError
            An ``init`` that lacks a parameter of the model.
        NumericalError
            Training failed numerically; ``err.checkpoint`` holds the last good state (also
            kept as ``self.checkpoint_``).
        """
        config = fit_config(**train)
        r, covs, split, init, init_source = fit_inputs(returns, covariates, init, config)
        n, rv = len(r), r.to_numpy()
        backcast = _benchmark_backcast(init, backcast)
        init_map = _canonical_init(init, vol=self.vol, dist=self.dist, mean=self.mean)
        self._resolve_asymmetry(init_map)
        bc = backcast_value(self.mean, rv, backcast, init_map.get("mu", 0.0))
        feats, net, xt, tt, eps = fit_tensors(self, r, covs, split, init_map, seed)
        dev = self.device
        with torch.no_grad():  # the classical filter gives every window its starting variance
            th0 = net.theta(xt[:n].unsqueeze(0), None, nested=True)
            s2_cl = _variance(th0, eps.unsqueeze(0), self.vol, backcast=bc)[0]
        var_cap = 1e6 * float(np.max(rv**2) + np.var(rv))

        def window_ll(w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
            idx, a = w.index, w.start
            theta = net.theta(xt[idx], None if tt is None else tt[idx])
            e = eps[idx]
            first = a == 0
            prev = (a - 1).clamp(min=0)
            pe, ps = eps[prev], s2_cl[prev]
            bcv = torch.full_like(pe, bc)
            sq0 = torch.where(first, bcv, pe.square())
            neg0 = torch.where(first, 0.5 * bcv, pe.square() * (pe < 0))
            s0 = torch.where(first, bcv, ps)
            s2 = _variance(theta, e, self.vol, initial=(sq0, neg0, s0))
            top = float(s2.detach().max())
            if not bool(torch.isfinite(s2.detach()).all()) or top > var_cap:
                raise NumericalError(f"exploding conditional variance (max {top:.3g})")
            ll = log_density(self.dist, e, s2, {k: theta[k] for k in shape_names(self.dist)})
            return ll, w.mask

        history = train_likelihood(self, net, window_ll, split, n, config, seed,
                                   f"LNN-{self.vol}-{self.dist}")
        return LNNGARCHResult(
            spec=self.spec(), net=net, returns=r, covariates=covs, features=feats,
            init=init_map, init_source=init_source, backcast=bc,
            backcast_rule=_rule_label(backcast), split=split, history=history,
            config=config.to_dict(), seed=int(seed), device=dev,
        )


def fit_inputs(returns: pd.Series, covariates: Any, init: Any, config: TrainConfig
               ) -> tuple[pd.Series, list[pd.Series], int, Any, str]:
    """Checked returns, collected covariates, the train/validation split and the benchmark
    (a callable ``init`` estimated on the training span), for LNN-GARCH and LNN-EGARCH."""
    r = check_timeseries(returns, name="returns", min_obs=100)
    if not isinstance(r, pd.Series):
        raise DataValidationError("type", "returns must be a pandas Series")
    r = r.rename(str(r.name) if r.name is not None else "returns")
    split = split_index(len(r), config.val_fraction, min_train=100)
    if callable(init):
        return r, collect_series(covariates), split, init(r.iloc[:split]), \
            "estimated on the training span"
    return r, collect_series(covariates), split, init, type(init).__name__


def fit_tensors(model: Any, r: pd.Series, covs: list[pd.Series], split: int,
                init_map: Mapping[str, float], seed: int
                ) -> tuple[Features, ThetaNet, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """The encoder's features (standardised on the training span), the seeded network at
    ``init_map``, and the input, time and demeaned-return tensors on the model's device."""
    rv = r.to_numpy()
    feats = model._features(covs)
    raw = feats.raw(np.column_stack([rv, np.abs(rv)]), r.index)
    feats.fit_stats(raw, split)
    x = feats.standardise(raw)
    with seeded(seed):  # the seed fixes the initial weights, privately
        net = model._net(x.shape[1], init_map)
    dev = model.device
    xt = torch.as_tensor(x, device=dev)
    tt = torch.as_tensor(Features.times(r.index), device=dev) if model.use_times else None
    eps = torch.as_tensor(rv - init_map.get("mu", 0.0), device=dev)
    return feats, net, xt, tt, eps


class LNNGARCHResult(HybridResult):
    """A fitted LNN-GARCH model (see :class:`LNNGARCH` and the module docstring).

    Attributes
    ----------
    params
        DataFrame of the parameter path ``theta_t`` over the fit sample (arch's names).
    loglik, nobs, aic, bic, num_params
        Full-sample log-likelihood and information criteria counting every network
        parameter (encoder and head) plus the benchmark mean.
    benchmark
        The same model with the network off: the classical GARCH at ``init``.
    conditional_volatility, resid, std_resid
        Series over the fit sample.
    history
        The training history (losses per epoch, best epoch, seconds).
    init
        The benchmark parameters the head started from (plain names, after
        ``SIMPLEX_FLOOR``).
    """

    def __init__(self, *, spec: dict[str, Any], net: ThetaNet, returns: pd.Series,
                 covariates: list[pd.Series], features: Features, init: dict[str, float],
                 init_source: str, backcast: float, backcast_rule: str, split: int,
                 history: TrainHistory, config: dict[str, Any], seed: int,
                 device: torch.device) -> None:
        self.spec, self.net, self.returns = spec, net, returns
        self.covariates, self.features = covariates, features
        self.init, self.init_source = dict(init), init_source
        self.backcast, self.backcast_rule = float(backcast), backcast_rule
        self.split, self.history, self.config = int(split), history, config
        self.seed, self.device = seed, device
        self.vol, self.dist, self.mean = spec["vol"], spec["dist"], spec["mean"]
        self.mu = float(init.get("mu", 0.0))
        self.names = self._names()
        self.extra_num_params = 1 if self.mean == "constant" else 0
        self.benchmark_num_params = len(self.names)

    def _names(self) -> dict[str, str]:
        """Plain name -> reported name of every benchmark parameter the head or mean uses."""
        return arch_names(self.vol, self.dist, self.mean)

    # -- evaluation ----------------------------------------------------------------------------

    @property
    def param_names(self) -> tuple[str, ...]:
        """The time-varying parameters, under arch's names."""
        return tuple(a for p, a in self.names.items() if p != "mu")

    def _inputs(self, r: pd.Series, covs: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
        rv = r.to_numpy()
        x = self.features.like(covs).inputs(np.column_stack([rv, np.abs(rv)]), r.index)
        return x, Features.times(r.index)

    @torch.no_grad()
    def _evaluate(self, r: pd.Series | None = None, covs: list[pd.Series] | None = None
                  ) -> dict[str, Any]:
        """One full pass: theta and sigma2 for steps 0..T (T = one-step forecast), ll 0..T-1."""
        r = self.returns if r is None else r
        x, times = self._inputs(r, self.covariates if covs is None else covs)
        dev = self.device
        xt = torch.as_tensor(x, device=dev).unsqueeze(0)
        tt = torch.as_tensor(times, device=dev).unsqueeze(0) if self.spec["use_times"] else None
        eps = torch.as_tensor(r.to_numpy() - self.mu, device=dev)
        theta = self.net.theta(xt, tt, nested=self.network_off)
        e = torch.cat([eps, eps.new_zeros(1)]).unsqueeze(0)
        s2 = _variance(theta, e, self.vol, backcast=self.backcast)[0]
        if not bool(torch.isfinite(s2).all()):
            raise NumericalError("non-finite conditional variance in the full pass")
        shape = {k: theta[k][0, :-1] for k in shape_names(self.dist)}
        ll = log_density(self.dist, eps, s2[:-1], shape)
        th = {k: v[0].cpu().numpy().copy() for k, v in theta.items()}
        return {"theta": th, "sigma2": s2.cpu().numpy(), "ll": ll.cpu().numpy()}

    def _theta_frame(self, theta: Mapping[str, np.ndarray], rows: slice,
                     index: pd.Index) -> pd.DataFrame:
        return pd.DataFrame({a: theta[p][rows] for p, a in self.names.items() if p != "mu"},
                            index=index)

    @property
    def params(self) -> pd.DataFrame:
        """Parameter path ``theta_t`` (the parameters that produced ``sigma2_t``)."""
        return self._theta_frame(self._ev["theta"], slice(0, self.nobs), self.returns.index)

    @property
    def next_params(self) -> pd.Series:
        """``theta_{T+1}``, the parameters of the one-step forecast."""
        return self._theta_frame(self._ev["theta"], slice(-1, None), ["next"]).iloc[0]

    @property
    def conditional_volatility(self) -> pd.Series:
        return pd.Series(np.sqrt(self._ev["sigma2"][:-1]), index=self.returns.index,
                         name="cond_vol")

    @property
    def resid(self) -> pd.Series:
        return (self.returns - self.mu).rename("resid")

    @property
    def std_resid(self) -> pd.Series:
        return (self.resid / self.conditional_volatility).rename("std_resid")

    @property
    def loglik_contributions(self) -> pd.Series:
        return pd.Series(self._ev["ll"], index=self.returns.index, name="loglik")

    @property
    def loglik(self) -> float:
        """Full-sample log-likelihood (all ``nobs`` observations)."""
        return float(np.sum(self._ev["ll"]))

    @property
    def nobs(self) -> int:
        return len(self.returns)

    def split_loglik(self) -> dict[str, float]:
        """Log-likelihood over the training span and the validation block separately."""
        ll = self._ev["ll"]
        return {"train": float(ll[: self.split].sum()), "validation": float(ll[self.split:].sum())}

    # -- forecasts -----------------------------------------------------------------------------

    def _risk(self, theta: Mapping[str, Any], var: np.ndarray,
              levels: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """VaR and ES (rows x levels) as positive losses for variances ``var``; shape
        parameters per row or held (scalars)."""
        shape = {k: theta[k] for k in shape_names(self.dist)}
        q, es = tail_risk(self.dist, levels, shape, n=len(var))
        sd = np.sqrt(var)[:, None]
        return -(self.mu + sd * q), -(self.mu + sd * es)

    def forecast(self, horizon: int = 1, *, levels: Sequence[float] = LEVELS
                 ) -> VolatilityForecast:
        """Variance, VaR and ES forecasts from the end of the fit sample.

        ``horizon`` days ahead: 1 is the model's own one-step forecast; beyond, theta is held
        at ``theta_{T+1}`` and the recursion iterated in expectation, as arch does.
        """
        if int(horizon) < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon!r}")
        ev = self._ev
        th = {k: float(v[-1]) for k, v in ev["theta"].items()}
        var = expected_variance(th, float(ev["sigma2"][-1]), int(horizon))
        return self._forecast_frame(var, levels, "analytic")

    def _forecast_frame(self, var: np.ndarray, levels: Sequence[float], method: str
                        ) -> VolatilityForecast:
        """The forecast object for variances ``var`` (steps 1..h), shapes at ``theta_{T+1}``."""
        th = {k: float(v[-1]) for k, v in self._ev["theta"].items()}
        idx = horizon_index(len(var))
        value_at_risk, es = self._risk(th, var, levels)
        cols = pd.Index([float(lv) for lv in levels], name="level")
        return VolatilityForecast(
            mean=pd.Series(self.mu, index=idx, name="mean"),
            variance=pd.Series(var, index=idx, name="variance"),
            value_at_risk=pd.DataFrame(value_at_risk, index=idx, columns=cols),
            expected_shortfall=pd.DataFrame(es, index=idx, columns=cols),
            method=method, origin=self.returns.index[-1], params=self.next_params,
        )

    def _simulated_forecast(self, horizon: int, levels: Sequence[float], simulations: int,
                            seed: int | None) -> VolatilityForecast:
        """Step 1 the model's own forecast; beyond, the mean variance of ``simulations``
        paths of :meth:`_paths` (for recursions without a closed-form multi-step mean)."""
        if int(horizon) < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon!r}")
        if int(simulations) < 1:
            raise ConfigError(f"simulations must be >= 1, got {simulations!r}")
        var = np.full(int(horizon), float(self._ev["sigma2"][-1]))
        if int(horizon) == 1:
            return self._forecast_frame(var, levels, "analytic")
        var[1:] = self._paths(int(simulations), int(horizon), seed)[1][:, 1:].mean(axis=0)
        return self._forecast_frame(var, levels, "simulation")

    def _extend(self, new_returns: pd.Series, new_covariates: Any
                ) -> tuple[pd.Series, list[pd.Series], int]:
        r_new = check_timeseries(new_returns, name="new_returns", min_obs=1)
        if not isinstance(r_new, pd.Series):
            raise DataValidationError("type", "new_returns must be a pandas Series")
        last = self.returns.index[-1]
        if r_new.index[0] <= last:
            raise DataValidationError(
                "sorted-index", f"new_returns must start after the fit sample's last date "
                f"{last.isoformat()}", row=r_new.index[0].isoformat())
        r_all = pd.concat([self.returns, r_new.rename(self.returns.name)])
        return r_all, extend_covariates(self.covariates, new_covariates), len(self.returns)

    def filter(self, new_returns: pd.Series, new_covariates: Any = None, *,
               levels: Sequence[float] = LEVELS) -> pd.DataFrame:
        """One-step forecasts over an out-of-sample block, without refitting.

        The fitted network and recursion run over the fit sample followed by ``new_returns``;
        row ``t`` holds the forecast made at the close before ``t`` and the realised
        log-likelihood of ``r_t``.

        Returns
        -------
        DataFrame
            Indexed by the new dates: ``mean``, ``variance``, ``volatility``, ``loglik``, the
            parameters (arch's names) and ``VaR_<level>`` / ``ES_<level>`` (positive losses).
        """
        r_all, covs, n_fit = self._extend(new_returns, new_covariates)
        return self._filter_frame(self._evaluate(r_all, covs), r_all.index[n_fit:], n_fit,
                                  levels)

    def _filter_frame(self, ev: Mapping[str, Any], idx: pd.Index, n_fit: int,
                      levels: Sequence[float]) -> pd.DataFrame:
        """The rows ``n_fit..`` of a full pass ``ev`` as :meth:`filter`'s frame."""
        sl = slice(n_fit, n_fit + len(idx))
        var = ev["sigma2"][sl]
        out = pd.DataFrame({"mean": self.mu, "variance": var, "volatility": np.sqrt(var),
                            "loglik": ev["ll"][sl]}, index=idx)
        out = out.join(self._theta_frame(ev["theta"], sl, idx))
        th = {k: v[sl] for k, v in ev["theta"].items()}
        value_at_risk, es = self._risk(th, var, levels)
        for j, lv in enumerate(levels):
            out[var_column(lv)] = value_at_risk[:, j]
        for j, lv in enumerate(levels):
            out[es_column(lv)] = es[:, j]
        return out

    def simulate(self, n_paths: int, horizon: int, seed: int | None = None) -> Simulation:
        """Simulate return paths from the end of the sample, theta held at ``theta_{T+1}``.

        Future covariates are unknown, so the parameters are held at their last value (as for
        multi-step forecasts) while the variance follows its recursion on the simulated
        returns (:func:`hybridrisk.kernels.garch.simulate_paths`, numpy generator ``seed``).
        """
        if int(n_paths) < 1 or int(horizon) < 1:
            raise ConfigError("n_paths and horizon must be >= 1")
        rets, var = self._paths(int(n_paths), int(horizon), seed)
        return Simulation(rets, var, self.returns.index[-1], seed)

    def _spec(self) -> GARCHSpec:
        """The recursion as :func:`~hybridrisk.kernels.garch.simulate_paths` takes it."""
        return GARCHSpec(mean=self.mean, o=1 if self.vol == "gjr" else 0, dist=self.dist)

    def _paths(self, n_paths: int, horizon: int, seed: int | None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Return and variance paths from the end of the sample, theta at ``theta_{T+1}``."""
        ev = self._ev
        params = np.asarray([self.mu if p == "mu" else float(ev["theta"][p][-1])
                             for p in self.names])
        e_hist = self.resid.to_numpy()[-1:]
        h_hist = ev["sigma2"][-2:-1]
        return simulate_paths(self._spec(), params, e_hist, h_hist, int(n_paths), int(horizon),
                              np.random.default_rng(seed))

    # -- reporting -----------------------------------------------------------------------------

    #: The model class (rebuilt from the saved spec) and the summary's title; subclasses for
    #: other recursions (LNN-EGARCH) change these and :meth:`_recursion_notes`.
    model_class: ClassVar[type[HybridModel]] = LNNGARCH
    title: ClassVar[str] = "LNN-GARCH Model Results"

    def _recursion_notes(self) -> list[str]:
        return [f"Backcast: {self.backcast_rule} ({self.backcast:.6g}). Benchmark: "
                f"{self.init_source}."]

    def summary(self) -> Summary:
        """Fit statistics, the benchmark and the parameter path (mean, spread, next value)."""
        spl, nspl = self.split_loglik(), self.benchmark.split_loglik()
        model = self.model_class.from_spec(self.spec).name
        h = self.history
        header = [
            ("Dep. Variable", str(self.returns.name)), ("Model", model),
            ("Mean Model", self.mean), ("Distribution", self.dist),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Benchmark LL", f"{self.benchmark.loglik:.3f}"),
            ("AIC", f"{self.aic:.3f}"), ("BIC", f"{self.bic:.3f}"),
            ("No. Observations", str(self.nobs)), ("Parameters", str(self.num_params)),
            ("Train / Validation", f"{self.split} / {self.nobs - self.split}"),
            ("Validation LL", f"{spl['validation']:.3f} (bench. {nspl['validation']:.3f})"),
            ("Epochs (best / run)", f"{h.best_epoch} / {h.epochs_run}"),
            ("Sample", f"{self.returns.index[0].date()} - {self.returns.index[-1].date()}"),
        ]
        p = self.params
        bench = pd.Series({a: self.init[k] for k, a in self.names.items() if k != "mu"})
        table = pd.DataFrame({"benchmark": bench, "mean": p.mean(), "std": p.std(),
                              "min": p.min(), "max": p.max(), "next": self.next_params})
        notes = [*self._recursion_notes(),
                 "Network parameters have no standard errors; AIC/BIC count every one of them.",
                 f"Inputs (as of the previous close): {', '.join(self.features.names)}."]
        if self.mean == "constant":
            notes.insert(0, f"mu = {self.mu:.6g} (the benchmark's, held fixed).")
        return Summary(title=self.title, header=header,
                       tables=[("Parameter path theta(t)", table)], notes=notes)

    def __repr__(self) -> str:
        return (f"<LNNGARCHResult {self.vol}-{self.dist} {self.spec['cell']} "
                f"loglik={self.loglik:.3f} benchmark={self.nested_loglik():.3f} "
                f"nobs={self.nobs}>")

    # -- persistence -----------------------------------------------------------------------------

    def _payload(self) -> dict[str, np.ndarray]:
        out = series_payload("data.returns", self.returns)
        for i, s in enumerate(self.covariates):
            out.update(series_payload(f"data.cov{i}", s))
        out["features.mean"] = np.asarray(self.features.mean)
        out["features.std"] = np.asarray(self.features.std)
        return out

    def _meta(self) -> dict[str, Any]:
        return {"init_source": self.init_source, "backcast": self.backcast,
                "backcast_rule": self.backcast_rule, "returns_name": str(self.returns.name),
                "covariate_names": [str(s.name) for s in self.covariates],
                "index_units": [index_unit(self.returns.index)]
                + [index_unit(s.index) for s in self.covariates],
                "feature_names": self.features.names}

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None
             ) -> LNNGARCHResult:
        """Load a result saved by :meth:`save` (checks the data hash)."""
        tensors, meta = load_verified(path, kind=cls.__name__)
        spec = meta["spec"]
        dev = load_device(device)
        model = cls.model_class.from_spec(spec, dev)
        units = meta["index_units"]
        returns = series_from_payload("data.returns", tensors, meta["returns_name"], units[0])
        covs = [series_from_payload(f"data.cov{i}", tensors, nm, units[i + 1])
                for i, nm in enumerate(meta["covariate_names"])]
        feats = model._features(covs)
        feats.names = list(meta["feature_names"])
        feats.mean, feats.std = tensors["features.mean"], tensors["features.std"]
        net = restore_net(model._net(len(feats.names), meta["init"]), tensors)
        return cls._restore(tensors, meta, spec=spec, net=net, returns=returns, covariates=covs,
                            features=feats, init=meta["init"], init_source=meta["init_source"],
                            split=meta["split"], history=TrainHistory.from_dict(meta["history"]),
                            config=meta["config"], seed=meta["seed"], device=dev)

    @classmethod
    def _restore(cls, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any],
                 **common: Any) -> LNNGARCHResult:
        """The result from the arguments every saved kind has plus this class's own."""
        return cls(**common, backcast=meta["backcast"], backcast_rule=meta["backcast_rule"])
