"""LNN-RealGARCH: a liquid network produces the time-varying parameters of a Realized GARCH.

For returns ``r_t`` (percent), ``eps_t = r_t - mu`` and a realised measure ``x_t`` of day
``t``'s variance (e.g. the Parkinson range variance), the hybrid is the log-linear Realized
GARCH(1,1) of Hansen, Huang & Shek (2012) (:mod:`hybridrisk.kernels.realized_garch`) with a
time-varying variance recursion::

    log h_t = omega_t + beta_t log h_{t-1} + gamma_t log x_{t-1}
    log x_t = xi + phi log h_t + tau1 z_t + tau2 (z_t^2 - 1) + u_t
    (omega_t, beta_t, gamma_t) = head(encoder(x_0, ..., x_t))

The encoder reads ``r_{t-1}``, ``|r_{t-1}|``, ``log x_{t-1}`` and each covariate as of the
previous close. The head keeps ``omega_t, gamma_t`` real and ``-1 < beta_t < 1``; nothing is
clipped. ``mu`` and the measurement equation ``(xi, phi, tau1, tau2, sigma_u)`` are the
benchmark's and are not trained: the network acts on the variance recursion, which is what
the forecasts use.

Nesting. The head starts at the classical estimate (``init``, e.g.
``baselines.fit_realized_garch``), and the recursion starts from the benchmark's ``log h_0``,
so ``result.benchmark`` (the network off) *is* the classical model: its conditional variances
equal ``RealizedGARCHResult.filter`` and its joint log-likelihood the baseline's (tested to
1e-12 relative).

Training. As LNN-GARCH (:mod:`hybridrisk.hybrids.garch`): overlapping windows, each starting
its recursion from the classical filter's ``log h`` at the step before it, Adam with a penalty
toward the benchmark, early stopping on the last ``val_fraction`` of the sample. The objective
is the joint quasi-likelihood of returns and measure (``likelihood="joint"``, the benchmark's
own), or the returns' part alone (``likelihood="returns"``: the Gaussian likelihood of the
returns is minus half the QLIKE loss of the variance forecast, up to a constant). The reported
``loglik`` is the joint one either way; ``loglik_returns`` is the returns' part.

Forecasts. One step: ``h_{T+1}`` from ``theta_{T+1}`` and ``log x_T``. Beyond one step the
variance depends on future measures: ``theta`` is held at ``theta_{T+1}`` and ``simulations``
paths of ``(z, u)`` (Gaussian, ``numpy.random.default_rng(seed)``) drive the two equations;
the forecast is the mean simulated variance. VaR and ES use the model's Gaussian innovations;
the volatility campaign, like its classical Realized GARCH champion, takes them from a
Student t fitted to the standardised residuals instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError, NumericalError
from hybridrisk.hybrids._skeleton import (
    Features,
    HybridModel,
    ThetaNet,
    params_mapping,
    series_from_payload,
    series_payload,
    train_likelihood,
)
from hybridrisk.hybrids._training import (
    TrainHistory,
    Windows,
    collect_series,
    fit_config,
    seeded,
    split_index,
)
from hybridrisk.hybrids.garch import LNNGARCHResult
from hybridrisk.kernels.realized_garch import (
    MEASUREMENT,
    realized_log_variance,
    realized_loglik_terms,
)
from hybridrisk.lnn.heads import Bounded, Real
from hybridrisk.results import LEVELS, VolatilityForecast

__all__ = ["LNNRealGARCH", "LNNRealGARCHResult"]

#: The baseline's parameter names (``baselines.realized_garch.PARAMS``).
NAMES = ("mu", "omega", "beta", "gamma", *MEASUREMENT)
_RECURSION = ("omega", "beta", "gamma")
_LIKELIHOODS = ("joint", "returns")


def _canonical_init(init: Any) -> dict[str, float]:
    raw = params_mapping(init)
    missing = [k for k in NAMES if k not in raw]
    if missing:
        raise ConfigError(f"init lacks {missing}; a Realized GARCH benchmark has {list(NAMES)}")
    if not raw["sigma_u"] > 0:
        raise ConfigError(f"init's sigma_u must be positive, got {raw['sigma_u']!r}")
    return {k: raw[k] for k in NAMES}


def _measure(measure: Any, index: pd.DatetimeIndex, name: str) -> pd.Series:
    x = check_timeseries(measure, name=name, positive=True, min_obs=1)
    if not isinstance(x, pd.Series):
        raise DataValidationError("type", f"{name} must be a pandas Series", column=name)
    if not x.index.equals(index):
        raise DataValidationError("index", f"{name} must have the returns' dates", column=name)
    return x.rename("measure")


def _logx_prev(logx: np.ndarray) -> np.ndarray:
    """``log x_{t-1}`` for steps ``0..T`` (step 0 has none: 0, unused)."""
    return np.concatenate([[0.0], logx])


class LNNRealGARCH(HybridModel):
    """LNN-RealGARCH: a liquid network drives the variance recursion of a Realized GARCH(1,1).

    Parameters
    ----------
    cell, hidden_size, device, use_times, max_staleness, on_stale, head_layers, **cell_kwargs
        The encoder and covariate settings of :class:`~hybridrisk.hybrids._skeleton.HybridModel`.
    likelihood
        ``"joint"`` (returns and measure, the benchmark's objective) or ``"returns"``.

    Examples
    --------
    >>> import baselines
    >>> from hybridrisk import datasets
    >>> r = datasets.sp500_returns()
    >>> x = datasets.sp500_range().reindex(r.index) ** 2
    >>> res = LNNRealGARCH("cfc", 8).fit(r, x, init=baselines.fit_realized_garch,
    ...                                  seed=0)                            # doctest: +SKIP
    >>> res.benchmark.loglik                                              # doctest: +SKIP
    """

    family_keys = ("likelihood",)

    def __init__(self, cell: str = "cfc", hidden_size: int = 16, likelihood: str = "joint",
                 device: str | torch.device = "cpu", **kwargs: Any) -> None:
        if likelihood not in _LIKELIHOODS:
            raise ConfigError(f"likelihood must be one of {_LIKELIHOODS}, got {likelihood!r}")
        self.likelihood = likelihood
        super().__init__(cell, hidden_size, device, **kwargs)

    @property
    def name(self) -> str:
        return f"LNN-RealGARCH ({self.cell.upper()}, {self.hidden_size} units)"

    def head_spec(self) -> dict[str, Any]:
        return {"omega": Real(), "beta": Bounded(-1.0, 1.0), "gamma": Real()}

    def _net(self, n_inputs: int, init: Mapping[str, float]) -> ThetaNet:
        return self.build_net(n_inputs, {k: init[k] for k in _RECURSION})

    def _features(self, covariates: list[pd.Series]) -> Features:
        return Features(["r_lag", "abs_r_lag", "log_x_lag"], covariates,
                        max_staleness=self.max_staleness, on_stale=self.on_stale)

    def fit(self, returns: pd.Series, measure: pd.Series, covariates: Any = None, *,
            init: Any, logh0: float | None = None, seed: int = 0,
            **train: Any) -> LNNRealGARCHResult:
        """Fit by windowed maximum likelihood, warm-started and regularised at ``init``.

        Parameters
        ----------
        returns
            Percent returns with a DatetimeIndex.
        measure
            The positive realised measure of each day's variance (percent squared), on the
            returns' dates; day t's value is known at the close of day t.
        covariates
            Further encoder inputs (None, a Series, a DataFrame, a dict or a list of Series),
            aligned as of the previous close.
        init
            The Realized GARCH benchmark: ``baselines.fit_realized_garch(r, x)``, a Series or
            dict with its parameter names, or a callable ``init(returns, measure)`` estimated
            on the training span (the validation block excluded).
        logh0
            ``log h`` of the first day; None takes the benchmark result's own ``logh0`` where
            it has one, else the log of the sample variance of the returns (the baseline's
            rule).
        seed
            Seeds the network initialisation and the window shuffling (bit-for-bit on CPU).
        **train
            Training settings of :class:`~hybridrisk.hybrids._training.TrainConfig`.

        Raises
        ------
        DataValidationError
            Bad returns, measure or covariates (named column, row and rule).
        ConfigError
            An ``init`` that lacks a parameter.
        NumericalError
            Training failed numerically (``err.checkpoint`` holds the last good state).
        """
        config = fit_config(**train)
        r = check_timeseries(returns, name="returns", min_obs=100)
        if not isinstance(r, pd.Series):
            raise DataValidationError("type", "returns must be a pandas Series")
        r = r.rename(str(r.name) if r.name is not None else "returns")
        x = _measure(measure, r.index, "measure")
        covs = collect_series(covariates)
        split = split_index(len(r), config.val_fraction, min_train=100)
        source = type(init).__name__
        if callable(init) and not hasattr(init, "params"):
            init, source = init(r.iloc[:split], x.iloc[:split]), "estimated on the training span"
        init_map = _canonical_init(init)
        if logh0 is None:
            logh0 = getattr(init, "logh0", None)
        if logh0 is None:
            logh0 = float(np.log(r.to_numpy().var()))
        n, dev = len(r), self.device
        logx = np.log(x.to_numpy())
        feats = self._features(covs)
        rv = r.to_numpy()
        raw = feats.raw(np.column_stack([rv, np.abs(rv), logx]), r.index)
        feats.fit_stats(raw, split)
        with seeded(seed):
            net = self._net(raw.shape[1], init_map)
        xt = torch.as_tensor(feats.standardise(raw), device=dev)
        tt = torch.as_tensor(Features.times(r.index), device=dev) if self.use_times else None
        eps = torch.as_tensor(rv - init_map["mu"], device=dev)
        lx = torch.as_tensor(logx, device=dev)
        lx_prev = torch.as_tensor(_logx_prev(logx)[:n], device=dev)
        meas = {k: init_map[k] for k in MEASUREMENT}
        with torch.no_grad():  # the classical filter gives every window its starting log h
            th0 = net.theta(xt[:n].unsqueeze(0), None, nested=True)
            lh_cl = realized_log_variance(lx_prev.unsqueeze(0), th0["omega"], th0["beta"],
                                          th0["gamma"], start=logh0, first=True)[0]
        cap = float(np.log(1e6 * (np.max(rv**2) + np.var(rv))))
        joint = self.likelihood == "joint"

        def window_ll(w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
            idx, a = w.index, w.start
            theta = net.theta(xt[idx], None if tt is None else tt[idx])
            first = a == 0
            start = torch.where(first, torch.full_like(lh_cl[a], logh0),
                                lh_cl[(a - 1).clamp(min=0)])
            lh = realized_log_variance(lx_prev[idx], theta["omega"], theta["beta"],
                                       theta["gamma"], start=start, first=first)
            top = float(lh.detach().max())
            if not bool(torch.isfinite(lh.detach()).all()) or top > cap:
                raise NumericalError(f"exploding conditional variance (max log h {top:.3g})")
            lr, lm = realized_loglik_terms(eps[idx], lx[idx], lh, **meas)
            return (lr + lm if joint else lr), w.mask

        history = train_likelihood(self, net, window_ll, split, n, config, seed,
                                   "LNN-RealGARCH")
        return LNNRealGARCHResult(
            spec=self.spec(), net=net, returns=r, measure=x, covariates=covs, features=feats,
            init=init_map, init_source=source, logh0=float(logh0), split=split,
            history=history, config=config.to_dict(), seed=int(seed), device=dev,
        )


class LNNRealGARCHResult(LNNGARCHResult):
    """A fitted LNN-RealGARCH model (see :class:`LNNRealGARCH` and the module docstring).

    ``params``, ``next_params``, ``conditional_volatility``, ``resid``, ``std_resid``,
    ``aic``, ``bic``, ``benchmark``, ``summary`` and ``split_loglik`` are LNN-GARCH's
    (:class:`~hybridrisk.hybrids.garch.LNNGARCHResult`). ``loglik`` is the joint
    quasi-likelihood of returns and measure (the baseline's); ``loglik_returns`` is the
    returns' part.
    """

    model_class = LNNRealGARCH
    title = "LNN-RealGARCH Model Results"

    def __init__(self, *, spec: dict[str, Any], net: ThetaNet, returns: pd.Series,
                 measure: pd.Series, covariates: list[pd.Series], features: Features,
                 init: dict[str, float], init_source: str, logh0: float, split: int,
                 history: TrainHistory, config: dict[str, Any], seed: int,
                 device: torch.device) -> None:
        spec = {**spec, "vol": "realized-garch", "dist": "normal", "mean": "constant"}
        super().__init__(spec=spec, net=net, returns=returns, covariates=covariates,
                         features=features, init=init, init_source=init_source,
                         backcast=float(np.exp(logh0)), backcast_rule="log h_0", split=split,
                         history=history, config=config, seed=seed, device=device)
        self.measure, self.logh0 = measure, float(logh0)
        self.benchmark_num_params = len(NAMES)
        self.extra_num_params = len(NAMES) - len(_RECURSION)

    def _names(self) -> dict[str, str]:
        return {k: k for k in ("mu", *_RECURSION)}

    def _inputs(self, r: pd.Series, covs: list[pd.Series], logx: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        rv = r.to_numpy()
        logx = np.log(self.measure.to_numpy()) if logx is None else logx
        x = self.features.like(covs).inputs(np.column_stack([rv, np.abs(rv), logx]), r.index)
        return x, Features.times(r.index)

    @torch.no_grad()
    def _evaluate(self, r: pd.Series | None = None, covs: list[pd.Series] | None = None,
                  measure: pd.Series | None = None) -> dict[str, Any]:
        """One full pass: theta and h for steps 0..T (T = one-step forecast), ll 0..T-1."""
        r = self.returns if r is None else r
        m = self.measure if measure is None else measure
        logx = np.log(m.to_numpy())
        x, times = self._inputs(r, self.covariates if covs is None else covs, logx)
        dev = self.device
        xt = torch.as_tensor(x, device=dev).unsqueeze(0)
        tt = torch.as_tensor(times, device=dev).unsqueeze(0) if self.spec["use_times"] else None
        theta = self.net.theta(xt, tt, nested=self.network_off)
        lh = realized_log_variance(torch.as_tensor(_logx_prev(logx), device=dev).unsqueeze(0),
                                   theta["omega"], theta["beta"], theta["gamma"],
                                   start=self.logh0, first=True)[0]
        if not bool(torch.isfinite(lh).all()):
            raise NumericalError("non-finite conditional variance in the full pass")
        eps = torch.as_tensor(r.to_numpy() - self.mu, device=dev)
        meas = {k: self.init[k] for k in MEASUREMENT}
        lr, lm = realized_loglik_terms(eps, torch.as_tensor(logx, device=dev), lh[:-1], **meas)
        th = {k: v[0].cpu().numpy().copy() for k, v in theta.items()}
        return {"theta": th, "sigma2": torch.exp(lh).cpu().numpy(),
                "ll": (lr + lm).cpu().numpy(), "ll_returns": lr.cpu().numpy()}

    @cached_property
    def loglik_returns(self) -> float:
        """The returns' part of the log-likelihood (comparable with a GARCH model's)."""
        return float(np.sum(self._ev["ll_returns"]))

    # -- forecasts -----------------------------------------------------------------------------

    def _paths(self, n_paths: int, horizon: int, seed: int | None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Return and variance paths from the end of the sample, theta at ``theta_{T+1}``."""
        ev, p = self._ev, self.init
        th = {k: float(ev["theta"][k][-1]) for k in _RECURSION}
        rng = np.random.default_rng(seed)
        rets, var = np.empty((n_paths, horizon)), np.empty((n_paths, horizon))
        logh = np.full(n_paths, np.log(ev["sigma2"][-1]))
        logx = np.zeros(n_paths)  # step 0's log h is known; each step draws its own log x
        for k in range(horizon):
            if k:
                logh = th["omega"] + th["beta"] * logh + th["gamma"] * logx
            z, u = rng.standard_normal(n_paths), rng.standard_normal(n_paths)
            var[:, k] = np.exp(logh)
            rets[:, k] = self.mu + np.sqrt(var[:, k]) * z
            logx = (p["xi"] + p["phi"] * logh + p["tau1"] * z + p["tau2"] * (z * z - 1.0)
                    + p["sigma_u"] * u)
        return rets, var

    def forecast(self, horizon: int = 1, *, levels: Sequence[float] = LEVELS,
                 simulations: int = 10_000, seed: int | None = 0) -> VolatilityForecast:
        """Variance, VaR and ES forecasts from the end of the fit sample.

        ``horizon = 1`` is exact (``method="analytic"``); beyond, the variance is simulated
        (``method="simulation"``): the mean over ``simulations`` paths at each step.
        """
        return self._simulated_forecast(horizon, levels, simulations, seed)

    def filter(self, new_returns: pd.Series, new_measure: pd.Series | None = None,
               new_covariates: Any = None, *, levels: Sequence[float] = LEVELS
               ) -> pd.DataFrame:
        """One-step forecasts over an out-of-sample block, without refitting.

        ``new_measure`` is the realised measure on ``new_returns``' dates. Columns as
        :meth:`LNNGARCHResult.filter`, with ``loglik`` the joint log-likelihood.
        """
        if new_measure is None:
            raise ConfigError("LNN-RealGARCH's filter needs the new days' realised measure")
        r_all, covs, n_fit = self._extend(new_returns, new_covariates)
        m_new = _measure(new_measure, r_all.index[n_fit:], "new_measure")
        m_all = pd.concat([self.measure, m_new])
        return self._filter_frame(self._evaluate(r_all, covs, m_all), r_all.index[n_fit:],
                                  n_fit, levels)

    # -- reporting and persistence ----------------------------------------------------------------

    def _recursion_notes(self) -> list[str]:
        meas = ", ".join(f"{k} = {self.init[k]:.6g}" for k in MEASUREMENT)
        return [f"log h_0 = {self.logh0:.6g}. Benchmark: {self.init_source}.",
                f"Measurement equation (the benchmark's, held fixed): {meas}.",
                f"Training objective: the {self.spec['likelihood']} likelihood; reported "
                f"loglik is the joint one (returns' part {self.loglik_returns:.3f})."]

    def __repr__(self) -> str:
        return (f"<LNNRealGARCHResult {self.spec['cell']} loglik={self.loglik:.3f} "
                f"benchmark={self.nested_loglik():.3f} nobs={self.nobs}>")

    def _payload(self) -> dict[str, np.ndarray]:
        return {**super()._payload(), **series_payload("data.measure", self.measure)}

    def _meta(self) -> dict[str, Any]:
        return {**super()._meta(), "logh0": self.logh0}

    @classmethod
    def _restore(cls, tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any],
                 **common: Any) -> LNNRealGARCHResult:
        units = meta["index_units"]
        measure = series_from_payload("data.measure", tensors, "measure", units[0])
        return cls(**common, measure=measure, logh0=meta["logh0"])
