"""LNN-DCC: a liquid network produces the time-varying ``a_t, b_t`` of a DCC(1,1) model.

Engle's DCC(1,1) (:mod:`hybridrisk.kernels.dcc`) on the standardised residuals of a univariate
stage (classical GARCH results or LNN-GARCH results), with ``(a_t, b_t) = head(h_t)`` under a
Simplex (``a_t, b_t > 0``, ``a_t + b_t < 1``) and, for the multivariate t, ``nu_t > 2``. The
inputs at ``t`` are the lagged products ``z_{i,t-1} z_{j,t-1}`` (i < j), the lagged ``|z_{t-1}|``
and any covariates, as for LNN-GARCH.

Correlation targeting: ``Qbar`` is the benchmark's own (``baselines.fit_dcc`` records it), so
that with the network off the model *is* the benchmark; a benchmark given only as parameters
gets the second moment of ``z`` over the training span (the validation block never enters).
``Q_0 = Qbar``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.hybrids._io import load_device, load_verified, restore_net
from hybridrisk.hybrids._skeleton import (
    Features,
    HybridModel,
    HybridResult,
    ThetaNet,
    floored,
    index_from_payload,
    index_unit,
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
from hybridrisk.kernels.dcc import dcc_loglik, dcc_q, q_to_r
from hybridrisk.lnn.heads import GreaterThan, Simplex
from hybridrisk.results import CorrelationForecast, Summary

__all__ = ["LNNDCC", "LNNDCCResult"]


def _names(dist: str) -> tuple[str, ...]:
    return ("a", "b") + (("nu",) if dist == "t" else ())


def _univariate_stage(
    returns: pd.DataFrame, univariate: Any, init: Any
) -> tuple[pd.DataFrame, pd.Series, int, str]:
    """Standardised residuals, the per-date sum of log scales, the univariate parameter count.

    ``univariate``: a mapping column -> result or a list in column order, each with
    ``std_resid`` and ``conditional_volatility`` (``baselines.fit_garch``, arch, LNN-GARCH);
    None takes the benchmark's (``init.univariate``, as ``baselines.fit_dcc`` records it).
    """
    cols = [str(c) for c in returns.columns]
    source = "given"
    if univariate is None:
        univariate, source = getattr(init, "univariate", None), "the benchmark's"
    if univariate is None:
        raise ConfigError("give the univariate stage (univariate=...) or a benchmark that "
                          "carries one (baselines.fit_dcc)")
    if isinstance(univariate, Mapping):
        items = [univariate[c] if c in univariate else univariate[str(c)]
                 for c in returns.columns]
    else:
        items = list(univariate)
    if len(items) != len(cols):
        raise ConfigError(f"univariate has {len(items)} results for {len(cols)} series")
    z, logs, k = {}, [], 0
    for c, res in zip(cols, items, strict=True):
        zc = pd.Series(res.std_resid).reindex(returns.index)
        vc = pd.Series(res.conditional_volatility).reindex(returns.index)
        if zc.isna().any() or vc.isna().any():
            raise DataValidationError("index", f"the univariate result for {c!r} does not cover "
                                      "the returns' dates", column=c)
        z[c] = zc.to_numpy(dtype=np.float64)
        logs.append(np.log(vc.to_numpy(dtype=np.float64)))
        k += int(getattr(res, "num_params", 0) or len(getattr(res, "params", [])))
    zdf = pd.DataFrame(z, index=returns.index)
    return zdf, pd.Series(np.sum(logs, axis=0), index=returns.index), k, source


def _inputs_base(z: np.ndarray, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    iu, ju = np.triu_indices(z.shape[1], k=1)
    prods = z[:, iu] * z[:, ju]
    names = [f"z_{columns[i]}*z_{columns[j]}_lag" for i, j in zip(iu, ju, strict=True)]
    names += [f"abs_z_{c}_lag" for c in columns]
    return np.column_stack([prods, np.abs(z)]), names


class LNNDCC(HybridModel):
    """LNN-DCC: a liquid network produces the time-varying ``a_t, b_t`` of a DCC(1,1) model.

    Parameters
    ----------
    cell, hidden_size, device, use_times, max_staleness, on_stale, head_layers, **cell_kwargs
        As for :class:`~hybridrisk.hybrids.garch.LNNGARCH`.
    dist
        ``"normal"`` or ``"t"`` (multivariate Student-t, ``nu_t`` from the head).
    """

    family_keys = ("dist",)

    def __init__(self, cell: str = "cfc", hidden_size: int = 16, dist: str = "normal",
                 device: str | torch.device = "cpu", **kwargs: Any) -> None:
        if dist not in ("normal", "t"):
            raise ConfigError(f"dist must be 'normal' or 't', got {dist!r}")
        self.dist = dist
        super().__init__(cell, hidden_size, device, **kwargs)

    def head_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"ab": Simplex(("a", "b"))}
        if self.dist == "t":
            spec["nu"] = GreaterThan(2.0)
        return spec

    def _net(self, n_inputs: int, init: Mapping[str, float]) -> ThetaNet:
        return self.build_net(n_inputs, floored({k: init[k] for k in _names(self.dist)},
                                                ("a", "b")))

    def fit(
        self,
        returns: pd.DataFrame,
        covariates: Any = None,
        *,
        init: Any,
        univariate: Any = None,
        seed: int = 0,
        **train: Any,
    ) -> LNNDCCResult:
        """Fit by windowed maximum likelihood on the univariate stage's residuals.

        Parameters
        ----------
        returns
            DataFrame of percent returns, one column per series (>= 2), DatetimeIndex.
        covariates
            As for ``LNNGARCH.fit`` (e.g. each series' Parkinson range).
        init
            The DCC benchmark: ``baselines.fit_dcc``'s result (its ``qbar`` and univariate
            stage are used), or a Series / dict with ``a``, ``b`` (and ``nu``).
        univariate
            The univariate stage: classical GARCH results or LNN-GARCH results by column;
            None takes the benchmark's.
        seed, **train
            As for ``LNNGARCH.fit``.
        """
        config = fit_config(**train)
        if not isinstance(returns, pd.DataFrame):
            raise DataValidationError("type", "returns must be a DataFrame, one column per series")
        ret = check_timeseries(returns, name="returns", min_obs=100)
        if ret.shape[1] < 2:
            raise DataValidationError("shape", f"returns needs >= 2 columns, has {ret.shape[1]}")
        ret.columns = [str(c) for c in ret.columns]
        zdf, logsig, n_uni, uni_source = _univariate_stage(ret, univariate, init)
        z = zdf.to_numpy()
        n = len(ret)
        split = split_index(n, config.val_fraction, min_train=100)
        raw_init = params_mapping(init)
        missing = [k for k in _names(self.dist) if k not in raw_init]
        if missing:
            raise ConfigError(f"init lacks {missing}; it has {sorted(raw_init)}")
        init_map = {k: raw_init[k] for k in _names(self.dist)}
        bench_qbar = getattr(init, "qbar", None)
        qbar = (np.asarray(bench_qbar, dtype=np.float64) if bench_qbar is not None
                else z[:split].T @ z[:split] / split)
        covs = collect_series(covariates)
        base, base_names = _inputs_base(z, list(ret.columns))
        feats = Features(base_names, covs, max_staleness=self.max_staleness,
                         on_stale=self.on_stale)
        rawx = feats.raw(base, ret.index)
        feats.fit_stats(rawx, split)
        x = feats.standardise(rawx)
        with seeded(seed):
            net = self._net(x.shape[1], init_map)
        dev = self.device
        xt = torch.as_tensor(x, device=dev)
        tt = torch.as_tensor(Features.times(ret.index), device=dev) if self.use_times else None
        zt = torch.tensor(z, device=dev)
        qb = torch.tensor(qbar, device=dev)
        with torch.no_grad():
            q_cl = dcc_q(zt, init_map["a"], init_map["b"], qbar=qb)
        k = z.shape[1]

        def window_ll(w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
            idx, start = w.index, w.start
            theta = net.theta(xt[idx], None if tt is None else tt[idx])
            first = (start == 0).to(zt.dtype)
            prev = (start - 1).clamp(min=0)
            # A window at the sample start has Q_0 = Qbar: zero coefficients at its first step.
            keep = torch.ones_like(theta["a"])
            keep[:, 0] = 1.0 - first
            prev_q = torch.where(first[:, None, None] > 0, qb.expand(len(start), k, k),
                                 q_cl[prev])
            q = dcc_q(zt[idx], theta["a"] * keep, theta["b"] * keep, qbar=qb,
                      prev_z=zt[prev], prev_q=prev_q)
            return dcc_loglik(zt[idx], q_to_r(q), dist=self.dist, nu=theta.get("nu")), w.mask

        history = train_likelihood(self, net, window_ll, split, n, config, seed,
                                   f"LNN-DCC-{self.dist}")
        return LNNDCCResult(
            spec=self.spec(), net=net, z=zdf, log_sigma=logsig, n_univariate=n_uni,
            univariate_source=uni_source, covariates=covs, features=feats, init=init_map,
            init_source=type(init).__name__, qbar=qbar, split=split, history=history,
            config=config.to_dict(), seed=int(seed), device=dev,
        )


class LNNDCCResult(HybridResult):
    """A fitted LNN-DCC model.

    Attributes
    ----------
    params
        DataFrame of ``a_t, b_t`` (and ``nu_t``) over the sample.
    correlations
        (T, k, k) conditional correlations.
    loglik
        Joint log-likelihood of the returns, ``sum_t [ln g(z_t; R_t) - sum_i ln sigma_it]``
        (``baselines.fit_dcc``'s ``loglik`` convention).
    loglik_z
        The stage-2 objective ``sum_t ln g(z_t; R_t)``.
    benchmark
        The same model with the network off: the classical DCC at ``init``.
    """

    def __init__(
        self, *, spec: dict[str, Any], net: ThetaNet, z: pd.DataFrame, log_sigma: pd.Series,
        n_univariate: int, univariate_source: str, covariates: list[pd.Series],
        features: Features, init: dict[str, float], init_source: str, qbar: np.ndarray,
        split: int, history: TrainHistory, config: dict[str, Any], seed: int,
        device: torch.device,
    ) -> None:
        self.spec, self.net, self.z, self.log_sigma = spec, net, z, log_sigma
        self.n_univariate, self.univariate_source = int(n_univariate), univariate_source
        self.covariates, self.features = covariates, features
        self.init, self.init_source = dict(init), init_source
        self.qbar = np.array(qbar, dtype=np.float64)
        self.split, self.history, self.config, self.seed = int(split), history, config, seed
        self.device = device
        self.dist = spec["dist"]
        self.columns = [str(c) for c in z.columns]
        k = len(self.columns)
        self.extra_num_params = self.n_univariate + k * (k - 1) // 2
        self.benchmark_num_params = self.extra_num_params + len(_names(self.dist))

    @torch.no_grad()
    def _evaluate(self) -> dict[str, Any]:
        z = self.z.to_numpy()
        base, _ = _inputs_base(z, self.columns)
        x = self.features.standardise(self.features.raw(base, self.z.index))
        dev = self.device
        xt = torch.as_tensor(x, device=dev).unsqueeze(0)
        tt = (torch.as_tensor(Features.times(self.z.index), device=dev).unsqueeze(0)
              if self.spec["use_times"] else None)
        theta = self.net.theta(xt, tt, nested=self.network_off)
        zt = torch.tensor(z, device=dev)
        zpad = torch.cat([zt, zt.new_zeros(1, zt.shape[1])])
        q = dcc_q(zpad, theta["a"][0], theta["b"][0], qbar=torch.as_tensor(self.qbar,
                                                                             device=dev))
        r = q_to_r(q)
        ll = dcc_loglik(zt, r[:-1], dist=self.dist,
                        nu=theta["nu"][0, :-1] if self.dist == "t" else None)
        return {"theta": {k: v[0].cpu().numpy().copy() for k, v in theta.items()},
                "q": q.cpu().numpy(), "r": r.cpu().numpy(), "ll": ll.cpu().numpy()}

    @property
    def param_names(self) -> tuple[str, ...]:
        return _names(self.dist)

    @property
    def params(self) -> pd.DataFrame:
        n = len(self.z)
        return pd.DataFrame({k: self._ev["theta"][k][:n] for k in self.param_names},
                            index=self.z.index)

    @property
    def next_params(self) -> pd.Series:
        return pd.Series({k: float(self._ev["theta"][k][-1]) for k in self.param_names},
                         name="next")

    @property
    def correlations(self) -> np.ndarray:
        return self._ev["r"][:-1]

    def correlation(self, first: str, second: str) -> pd.Series:
        """Conditional correlation of two series over the sample dates."""
        i, j = self.columns.index(first), self.columns.index(second)
        return pd.Series(self.correlations[:, i, j], index=self.z.index,
                         name=f"corr({first},{second})")

    @property
    def nobs(self) -> int:
        return len(self.z)

    @property
    def loglik_z(self) -> float:
        return float(np.sum(self._ev["ll"]))

    @property
    def loglik(self) -> float:
        return self.loglik_z - float(self.log_sigma.sum())

    def forecast(self, horizon: int = 1) -> CorrelationForecast:
        """Correlation forecasts ``R_{T+1..T+H}``.

        ``E_T[Q_{T+k}] = Qbar + (a + b)^{k-1} (Q_{T+1} - Qbar)`` with ``(a, b)`` held at
        ``theta_{T+1}`` (Engle & Sheppard's approximation, as ``baselines.fit_dcc``),
        normalised.
        """
        if int(horizon) < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon!r}")
        ev = self._ev
        th = {k: float(v[-1]) for k, v in ev["theta"].items()}
        decay = (th["a"] + th["b"]) ** np.arange(int(horizon))
        eq = self.qbar + decay[:, None, None] * (ev["q"][-1] - self.qbar)
        corr = q_to_r(torch.as_tensor(eq)).numpy()
        return CorrelationForecast(corr, list(self.columns), self.z.index[-1],
                                   params=self.next_params)

    def summary(self) -> Summary:
        """Fit statistics and the path of ``a_t, b_t``."""
        h = self.history
        header = [
            ("Series", ", ".join(self.columns)),
            ("Model", f"LNN-DCC(1,1)-{self.dist} ({self.spec['cell'].upper()}, "
                      f"{self.spec['hidden_size']} units)"),
            ("Univariate stage", self.univariate_source),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Benchmark LL", f"{self.benchmark.loglik:.3f}"),
            ("AIC", f"{self.aic:.3f}"), ("BIC", f"{self.bic:.3f}"),
            ("Parameters", str(self.num_params)), ("No. Observations", str(self.nobs)),
            ("Train / Validation", f"{self.split} / {self.nobs - self.split}"),
            ("Epochs (best / run)", f"{h.best_epoch} / {h.epochs_run}"),
        ]
        p = self.params
        table = pd.DataFrame({"benchmark": pd.Series(self.init), "mean": p.mean(),
                              "std": p.std(), "min": p.min(), "max": p.max(),
                              "next": self.next_params}).loc[list(self.param_names)]
        return Summary(title="LNN-DCC Model Results", header=header,
                       tables=[("Parameter path theta(t)", table)],
                       notes=[f"Benchmark: {self.init_source}. Q_0 = Qbar (the benchmark's)."])

    def __repr__(self) -> str:
        return (f"<LNNDCCResult {self.columns} {self.dist} loglik={self.loglik:.3f} "
                f"benchmark={self.nested_loglik():.3f}>")

    def _payload(self) -> dict[str, np.ndarray]:
        out = {"data.z": self.z.to_numpy(),
               "data.index": self.z.index.values.astype("datetime64[ns]").astype(np.int64),
               "data.log_sigma": self.log_sigma.to_numpy(), "data.qbar": self.qbar}
        for i, s in enumerate(self.covariates):
            out.update(series_payload(f"data.cov{i}", s))
        out["features.mean"] = np.asarray(self.features.mean)
        out["features.std"] = np.asarray(self.features.std)
        return out

    def _meta(self) -> dict[str, Any]:
        return {"init_source": self.init_source, "columns": self.columns,
                "n_univariate": self.n_univariate, "univariate_source": self.univariate_source,
                "covariate_names": [str(s.name) for s in self.covariates],
                "index_units": [index_unit(self.z.index)]
                + [index_unit(s.index) for s in self.covariates],
                "feature_names": self.features.names}

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None
             ) -> LNNDCCResult:
        """Load a result saved by :meth:`save` (checks the data hash)."""
        tensors, meta = load_verified(path, kind="LNNDCCResult")
        spec = meta["spec"]
        dev = load_device(device)
        model = LNNDCC.from_spec(spec, dev)
        units = meta["index_units"]
        idx = index_from_payload(tensors["data.index"], units[0])
        z = pd.DataFrame(tensors["data.z"], index=idx, columns=meta["columns"])
        covs = [series_from_payload(f"data.cov{i}", tensors, nm, units[i + 1])
                for i, nm in enumerate(meta["covariate_names"])]
        _, base_names = _inputs_base(z.to_numpy()[:1], meta["columns"])
        feats = Features(base_names, covs, max_staleness=spec["max_staleness"],
                         on_stale=spec["on_stale"])
        feats.names = list(meta["feature_names"])
        feats.mean, feats.std = tensors["features.mean"], tensors["features.std"]
        net = restore_net(model._net(len(feats.names), meta["init"]), tensors)
        return cls(spec=spec, net=net, z=z,
                   log_sigma=pd.Series(tensors["data.log_sigma"], index=idx),
                   n_univariate=meta["n_univariate"],
                   univariate_source=meta["univariate_source"], covariates=covs,
                   features=feats, init=meta["init"], init_source=meta["init_source"],
                   qbar=tensors["data.qbar"], split=meta["split"],
                   history=TrainHistory.from_dict(meta["history"]), config=meta["config"],
                   seed=meta["seed"], device=dev)
