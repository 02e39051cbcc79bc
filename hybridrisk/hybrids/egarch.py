"""LNN-EGARCH: a liquid network produces the time-varying parameters of an EGARCH model.

For returns ``r_t`` (percent) and ``eps_t = r_t - mu``, the hybrid is arch's EGARCH(1,1,1)
recursion (:mod:`hybridrisk.kernels.egarch`) with time-varying parameters::

    ln sigma2_t = omega_t + alpha_t (|z_{t-1}| - sqrt(2/pi)) + gamma_t z_{t-1}
                  + beta_t ln sigma2_{t-1},         z_t = eps_t / sigma_t
    theta_t = (omega_t, alpha_t, gamma_t, beta_t, [nu_t], [lambda_t]) = head(h_t)

with the encoder and inputs of LNN-GARCH (:mod:`hybridrisk.hybrids.garch`): ``r_{t-1}``,
``|r_{t-1}|`` and each covariate as of the previous close. ``sqrt(2/pi)`` is arch's constant
whatever the innovation distribution (the ``E|z|`` of a standard normal). The head keeps
``omega_t, alpha_t, gamma_t`` real, ``-1 < beta_t < 1`` (the log variance is stationary) and
``nu_t > 2``, ``-1 < lambda_t < 1``; nothing is clipped. ``omega`` and ``beta`` leave the head
through the log-variance level ``omega / (1 - beta)`` (:class:`~hybridrisk.lnn.heads.AR1Level`):
with ``beta`` near 1 a raw ``omega`` would make each optimiser step move the long-run variance
~75 times as far as it moves the others (a trial on the S&P 500 then lowered the in-sample
likelihood). ``mu`` is the benchmark's and is not trained. Parameters are reported under
arch's names.

Nesting. The head starts at the classical EGARCH estimate (``init``), so ``result.benchmark``
(the network off) *is* arch's EGARCH: the same recursion, arch's order of operations, arch's
log-scale backcast (``ln`` of the exponentially weighted mean of the first 75 squared
residuals at the sample mean, or the benchmark's own rule); the log-likelihood equals arch's
to about 1e-15 relative on the S&P 500 (tested to 1e-12).

Training. As LNN-GARCH: overlapping windows, each starting its recursion from the classical
filter's ``(ln sigma2, z)`` at the step before it, Adam with a penalty toward the benchmark,
early stopping on the last ``val_fraction`` of the sample. A callable ``init`` (e.g.
``functools.partial(baselines.fit_garch, vol="egarch", o=1, dist="t")``) is estimated on the
training span only.

Forecasts. One step: the model's own ``sigma2_{T+1}`` from ``theta_{T+1}``. EGARCH has no
closed-form expectation beyond one step (``E[sigma2]`` of a log-linear recursion driven by
``|z|``), and arch forecasts it by simulation; so does this model: ``theta`` held at
``theta_{T+1}`` (future covariates are unknown), ``simulations`` paths from innovations drawn
with ``numpy.random.default_rng(seed)``, the variance forecast the mean over the paths. With
the defaults (10,000 paths, seed 0) the network-off forecast uses the very draws of
``baselines.fit_garch(..., vol="egarch").forecast`` and equals it. VaR and ES are positive
losses from the fitted innovation distribution scaled by the forecast volatility
(:func:`~hybridrisk.kernels.distributions.tail_risk`), exact at one step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.errors import (
    ConfigError,
    NumericalError,
)
from hybridrisk.hybrids._skeleton import (
    Features,
    HybridModel,
    ThetaNet,
    params_mapping,
    train_likelihood,
)
from hybridrisk.hybrids._training import (
    Windows,
    fit_config,
)
from hybridrisk.hybrids.garch import (
    LNNGARCHResult,
    _benchmark_backcast,
    _rule_label,
    fit_inputs,
    fit_tensors,
)
from hybridrisk.kernels.distributions import log_density, shape_names
from hybridrisk.kernels.egarch import egarch_log_variance, egarch_names, log_backcast
from hybridrisk.kernels.garch import SQRT2_OV_PI, GARCHSpec, backcast_value
from hybridrisk.lnn.heads import AR1Level, Bounded, GreaterThan, Real
from hybridrisk.results import LEVELS, VolatilityForecast

__all__ = ["LNNEGARCH", "LNNEGARCHResult"]

_MEANS = ("constant", "zero")
#: arch's distribution classes -> this library's names (to check a benchmark's distribution).
_ARCH_DISTS = {"Normal": "normal", "StudentsT": "t", "SkewStudent": "skewt"}


def _check_benchmark(init: Any, dist: str, mean: str) -> None:
    """Refuse a benchmark that is recognisably not EGARCH(1,1,1) with ``dist`` and ``mean``.

    A GJR fit has the same parameter names as EGARCH(1,1,1), so the names alone cannot tell
    them apart: the model recorded by a ``baselines`` result (``.spec``) or an arch result
    (``.model``) is checked where there is one.
    """
    spec = getattr(init, "spec", None)
    if isinstance(spec, GARCHSpec):
        found = (spec.vol, spec.p, spec.o, spec.q, spec.dist, spec.mean)
    elif hasattr(init, "model") and hasattr(init.model, "volatility"):
        v, d = init.model.volatility, init.model.distribution
        found = (type(v).__name__.lower(), getattr(v, "p", None), getattr(v, "o", None),
                 getattr(v, "q", None), _ARCH_DISTS.get(type(d).__name__, type(d).__name__),
                 {"ConstantMean": "constant", "ZeroMean": "zero"}.get(
                     type(init.model).__name__, type(init.model).__name__))
    else:
        return
    want = ("egarch", 1, 1, 1, dist, mean)
    if found != want:
        raise ConfigError(
            f"init is a (vol, p, o, q, dist, mean) = {found} model; LNN-EGARCH-{dist} nests "
            f"{want}")


def _canonical_init(init: Any, *, dist: str, mean: str) -> dict[str, float]:
    """Benchmark parameters under the head's plain names, from arch's or plain names."""
    raw = params_mapping(init)
    out: dict[str, float] = {}
    for plain, arch in egarch_names(dist, mean).items():
        hit = [a for a in (arch, plain, "Const" if plain == "mu" else arch) if a in raw]
        if not hit:
            raise ConfigError(f"init lacks {arch!r}; it has {sorted(raw)}")
        out[plain] = raw[hit[0]]
    return out


def _log_variance(theta: Mapping[str, torch.Tensor], eps: torch.Tensor,
                  **start: Any) -> torch.Tensor:
    return egarch_log_variance(eps, theta["omega"], theta["alpha"], theta["gamma"],
                               theta["beta"], **start)


class LNNEGARCH(HybridModel):
    """LNN-EGARCH: a liquid network produces the time-varying parameters of EGARCH(1,1,1).

    Parameters
    ----------
    cell, hidden_size, device, use_times, max_staleness, on_stale, head_layers, **cell_kwargs
        The encoder and covariate settings of :class:`~hybridrisk.hybrids._skeleton.HybridModel`.
    dist
        ``"normal"``, ``"t"`` or ``"skewt"``.
    mean
        ``"constant"`` or ``"zero"`` (the benchmark's mean, held fixed).

    Examples
    --------
    >>> from functools import partial
    >>> import baselines
    >>> from hybridrisk import datasets
    >>> r = datasets.sp500_returns()
    >>> champion = partial(baselines.fit_garch, vol="egarch", o=1, dist="t")
    >>> res = LNNEGARCH("cfc", 16, dist="t").fit(
    ...     r, covariates=datasets.sp500_range(), init=champion, seed=7)    # doctest: +SKIP
    >>> res.benchmark.loglik                                              # doctest: +SKIP
    """

    family_keys = ("dist", "mean")
    vol = "egarch"

    def __init__(self, cell: str = "cfc", hidden_size: int = 16, dist: str = "normal",
                 mean: str = "constant", device: str | torch.device = "cpu",
                 **kwargs: Any) -> None:
        if mean not in _MEANS:
            raise ConfigError(f"mean must be one of {_MEANS}, got {mean!r}")
        shape_names(dist)
        self.dist, self.mean = dist, mean
        super().__init__(cell, hidden_size, device, **kwargs)

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "vol": self.vol}

    @property
    def name(self) -> str:
        return f"LNN-EGARCH-{self.dist} ({self.cell.upper()}, {self.hidden_size} units)"

    def head_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"level": AR1Level(), "alpha": Real(), "gamma": Real()}
        if self.dist in ("t", "skewt"):
            spec["nu"] = GreaterThan(2.0)
        if self.dist == "skewt":
            spec["lambda"] = Bounded(-1.0, 1.0)
        return spec

    def _net(self, n_inputs: int, init: Mapping[str, float]) -> ThetaNet:
        return self.build_net(n_inputs, {k: v for k, v in init.items() if k != "mu"})

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
    ) -> LNNEGARCHResult:
        """Fit by windowed maximum likelihood, warm-started and regularised at ``init``.

        Parameters
        ----------
        returns
            Percent returns with a DatetimeIndex.
        covariates
            None, a Series, a DataFrame, a dict or a list of Series, each on its own calendar;
            aligned as of the previous close.
        init
            The EGARCH(1,1,1) benchmark: ``baselines.fit_garch(r, vol="egarch", o=1,
            dist=...)``, arch's ``ARCHModelResult`` of ``arch_model(r, vol="EGARCH", p=1,
            o=1, q=1, dist=...)``, a Series or a dict in arch's or plain names, or a callable
            that estimates it from the training span's returns (the validation block
            excluded), e.g. ``functools.partial(baselines.fit_garch, vol="egarch", o=1,
            dist="t")``.
        backcast
            None (the benchmark result's own rule when it records one, else arch's),
            ``"arch"``, ``"sample-variance"`` or a positive float: a *variance*, whose log
            starts the recursion as in arch.
        seed
            Seeds the network initialisation and the window shuffling (bit-for-bit on CPU).
        **train
            Training settings of :class:`~hybridrisk.hybrids._training.TrainConfig`.

        Raises
        ------
        DataValidationError
            Bad returns or covariates.
        ConfigError
            An ``init`` that lacks a parameter, or that is recognisably another model.
        NumericalError
            Training failed numerically (``err.checkpoint`` holds the last good state).
        """
        config = fit_config(**train)
        r, covs, split, init, init_source = fit_inputs(returns, covariates, init, config)
        n, rv = len(r), r.to_numpy()
        _check_benchmark(init, self.dist, self.mean)
        backcast = _benchmark_backcast(init, backcast)
        init_map = _canonical_init(init, dist=self.dist, mean=self.mean)
        bc = backcast_value(self.mean, rv, backcast, init_map.get("mu", 0.0))
        ln_bc = log_backcast(bc)
        feats, net, xt, tt, eps = fit_tensors(self, r, covs, split, init_map, seed)
        dev = self.device
        with torch.no_grad():  # the classical filter gives every window its starting state
            th0 = net.theta(xt[:n].unsqueeze(0), None, nested=True)
            ln_cl = _log_variance(th0, eps.unsqueeze(0), backcast=ln_bc)[0]
            z_cl = eps / torch.sqrt(torch.exp(ln_cl))
        var_cap = 1e6 * float(np.max(rv**2) + np.var(rv))

        def window_ll(w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
            idx, a = w.index, w.start
            theta = net.theta(xt[idx], None if tt is None else tt[idx])
            e = eps[idx]
            first = a == 0
            prev = (a - 1).clamp(min=0)
            ln0 = torch.where(first, torch.full_like(e[:, 0], ln_bc), ln_cl[prev])
            z0 = torch.where(first, torch.zeros_like(e[:, 0]), z_cl[prev])
            a0 = torch.where(first, torch.full_like(e[:, 0], SQRT2_OV_PI), z_cl[prev].abs())
            s2 = torch.exp(_log_variance(theta, e, initial=(ln0, z0, a0)))
            top = float(s2.detach().max())
            if not bool(torch.isfinite(s2.detach()).all()) or top > var_cap:
                raise NumericalError(f"exploding conditional variance (max {top:.3g})")
            ll = log_density(self.dist, e, s2, {k: theta[k] for k in shape_names(self.dist)})
            return ll, w.mask

        history = train_likelihood(self, net, window_ll, split, n, config, seed,
                                   f"LNN-egarch-{self.dist}")
        return LNNEGARCHResult(
            spec=self.spec(), net=net, returns=r, covariates=covs, features=feats,
            init=init_map, init_source=init_source, backcast=bc,
            backcast_rule=_rule_label(backcast), split=split, history=history,
            config=config.to_dict(), seed=int(seed), device=dev,
        )


class LNNEGARCHResult(LNNGARCHResult):
    """A fitted LNN-EGARCH model (see :class:`LNNEGARCH` and the module docstring).

    Everything but the recursion, the multi-step forecast and the simulation is LNN-GARCH's
    (:class:`~hybridrisk.hybrids.garch.LNNGARCHResult`): ``params``, ``loglik``, ``aic``,
    ``bic``, ``benchmark``, ``conditional_volatility``, ``filter``, ``summary``, ``save`` and
    ``load``. ``backcast`` is the backcast *variance*; the recursion starts from its log.
    """

    model_class = LNNEGARCH
    title = "LNN-EGARCH Model Results"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.names = egarch_names(self.dist, self.mean)
        self.benchmark_num_params = len(self.names)

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
        s2 = torch.exp(_log_variance(theta, e, backcast=log_backcast(self.backcast)))[0]
        if not bool(torch.isfinite(s2).all()):
            raise NumericalError("non-finite conditional variance in the full pass")
        shape = {k: theta[k][0, :-1] for k in shape_names(self.dist)}
        ll = log_density(self.dist, eps, s2[:-1], shape)
        th = {k: v[0].cpu().numpy().copy() for k, v in theta.items()}
        return {"theta": th, "sigma2": s2.cpu().numpy(), "ll": ll.cpu().numpy()}

    # -- forecasts -----------------------------------------------------------------------------

    def _spec(self) -> GARCHSpec:
        return GARCHSpec(mean=self.mean, vol="egarch", o=1, dist=self.dist)

    def forecast(self, horizon: int = 1, *, levels: Sequence[float] = LEVELS,
                 simulations: int = 10_000, seed: int | None = 0) -> VolatilityForecast:
        """Variance, VaR and ES forecasts from the end of the fit sample.

        ``horizon = 1`` is the model's own one-step forecast (``method="analytic"``). Beyond
        one step the variance is simulated (``method="simulation"``, as arch does for
        EGARCH): theta held at ``theta_{T+1}``, ``simulations`` paths drawn with
        ``numpy.random.default_rng(seed)``, the mean of the simulated variances at each step
        (step 1 is the one-step forecast itself). The Monte Carlo standard error of step
        ``h`` is ``std(sigma2_h) / sqrt(simulations)``.
        """
        return self._simulated_forecast(horizon, levels, simulations, seed)

    # -- reporting -----------------------------------------------------------------------------

    def _recursion_notes(self) -> list[str]:
        return [f"Backcast: {self.backcast_rule} (variance {self.backcast:.6g}, its log "
                f"starts the recursion). Benchmark: {self.init_source}.",
                "Forecasts beyond one step are simulated (theta held at its next value)."]

    def __repr__(self) -> str:
        return (f"<LNNEGARCHResult egarch-{self.dist} {self.spec['cell']} "
                f"loglik={self.loglik:.3f} benchmark={self.nested_loglik():.3f} "
                f"nobs={self.nobs}>")
