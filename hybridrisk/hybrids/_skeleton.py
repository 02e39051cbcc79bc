# SKELETON-READY
"""The skeleton every hybrid shares; a family adds its kernel, its head's constraints and inputs.

A hybrid model object (:class:`HybridModel`) holds the encoder's configuration and builds a
:class:`ThetaNet`: the encoder, a :class:`~hybridrisk.lnn.heads.ParameterHead` that maps its
state to the model's constrained parameters ``theta(t)``, and a frozen copy of that head at the
classical estimate, which is the benchmark. Fitting (windowed training, early stopping,
seeding) is :mod:`hybridrisk.hybrids._training`; saving is :mod:`hybridrisk.hybrids._io`.

A fitted hybrid (:class:`HybridResult`) evaluates the whole sample once, lazily, and caches it.
Its ``benchmark`` is the same result with the network switched off (the head frozen at the
benchmark estimate, evaluated through the same code), so ``res.benchmark.forecast(...)``,
``res.benchmark.loglik`` and every other method give the classical model's numbers; arch hands
back result objects the same way.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.hybrids._io import data_sha256, net_arrays, save_bundle
from hybridrisk.hybrids._training import (
    TrainConfig,
    TrainHistory,
    Windows,
    asof_align,
    count_parameters,
    fit_network,
    likelihood_objectives,
    make_encoder,
    make_windows,
)
from hybridrisk.lnn.heads import ParameterHead
from hybridrisk.provenance import package_versions
from hybridrisk.results import ResultBase
from hybridrisk.seed import torch_generator

__all__ = [
    "Features",
    "HybridModel",
    "HybridResult",
    "SIMPLEX_FLOOR",
    "ThetaNet",
    "floored",
    "params_mapping",
    "series_from_payload",
    "series_payload",
    "train_likelihood",
]

#: Smallest value a Simplex component of ``init`` is given (boundary MLEs such as alpha = 0).
SIMPLEX_FLOOR = 1e-12
#: Days of the time axis handed to the encoder (information dates in calendar days).
_DAY = np.timedelta64(1, "D")


# ---------------------------------------------------------------- benchmark parameters


def params_mapping(init: Any) -> dict[str, float]:
    """A plain name -> float mapping from a results object, Series or mapping."""
    if init is None:
        return {}
    if hasattr(init, "params") and not isinstance(init, pd.Series | Mapping):
        init = init.params
    if isinstance(init, pd.Series):
        init = init.to_dict()
    if not isinstance(init, Mapping):
        raise ConfigError("init must be a fitted result with .params, a Series or a mapping, got "
                          f"{type(init).__name__}")
    return {str(k): float(v) for k, v in init.items()}


def floored(init: Mapping[str, float], names: Sequence[str]) -> dict[str, float]:
    """``init`` with the Simplex components ``names`` raised to at least ``SIMPLEX_FLOOR``."""
    return {k: (max(v, SIMPLEX_FLOOR) if k in names else v) for k, v in init.items()}


# ---------------------------------------------------------------- the network


class ThetaNet(nn.Module):
    """Encoder + head, plus a frozen copy of the head at ``init`` (the nested benchmark)."""

    def __init__(self, encoder: nn.Module, head: ParameterHead, nested: ParameterHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.nested = nested.freeze()
        for p in self.nested.parameters():
            p.requires_grad_(False)

    def theta(
        self, x: torch.Tensor, times: torch.Tensor | None, *, nested: bool = False
    ) -> dict[str, torch.Tensor]:
        if nested:  # a frozen head ignores h: zeros of the right shape suffice
            return self.nested(x.new_zeros(x.shape[:2] + (self.nested.hidden_size,)))
        return self.head(self.encoder(x, times))

    def trainable(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters()) + list(self.head.parameters())

    def num_params(self) -> int:
        """Every encoder and head parameter (what AIC/BIC count for the network)."""
        return count_parameters(self.encoder) + count_parameters(self.head)


# ---------------------------------------------------------------- inputs


class Features:
    """Daily encoder inputs known at the previous close, standardised with train-span statistics.

    Row ``k`` (``0 <= k <= T``) feeds the step that produces ``theta_k``; it uses information
    up to ``info_dates[k]`` = the date of observation ``k - 1`` (row 0: nothing; row T: the
    last observation, for the one-step forecast). ``base`` names the family's own inputs
    (e.g. the lagged return); each covariate enters as of its own publication dates.
    """

    def __init__(self, base: list[str], covariates: list[pd.Series], *, max_staleness: Any,
                 on_stale: str) -> None:
        self.base = list(base)
        self.covariates = covariates
        self.max_staleness = max_staleness
        self.on_stale = on_stale
        self.names: list[str] = []
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @staticmethod
    def info_dates(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
        first = dates[0] - pd.Timedelta(days=1)
        return pd.DatetimeIndex([first]).append(dates)

    def raw(self, base_values: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
        """Unstandardised (T+1, F) inputs; ``base_values`` is (T, n_base) at the dates."""
        cols = [np.vstack([np.full((1, base_values.shape[1]), np.nan), base_values])]
        names = list(self.base)
        info = self.info_dates(dates)
        for s in self.covariates:
            vals, missing = asof_align(s, info, max_staleness=self.max_staleness,
                                       on_stale=self.on_stale)
            cols.append(vals[:, None])
            names.append(str(s.name))
            if self.on_stale == "mean":
                ind = missing.astype(np.float64)
                ind[0] = 0.0
                cols.append(ind[:, None])
                names.append(f"{s.name}_missing")
        self.names = names
        return np.hstack(cols)

    def fit_stats(self, raw: np.ndarray, split: int) -> None:
        """Mean and std over rows ``1..split-1`` (the training span), NaNs ignored."""
        train = raw[1:split]
        mean = np.nanmean(train, axis=0)
        std = np.nanstd(train, axis=0)
        for j, name in enumerate(self.names):
            if name.endswith("_missing") and j >= len(self.base):
                mean[j], std[j] = 0.0, 1.0
        bad = ~np.isfinite(mean) | ~np.isfinite(std) | (std <= 0)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                "constant", f"input {self.names[j]!r} is constant or missing over the training "
                "span, so it cannot be standardised", column=self.names[j],
            )
        self.mean, self.std = mean, std

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        assert self.mean is not None and self.std is not None
        x = (raw - self.mean) / self.std
        return np.where(np.isnan(x), 0.0, x)

    def like(self, covariates: list[pd.Series]) -> Features:
        """The same inputs (names, statistics) over other covariate series."""
        out = Features(self.base, covariates, max_staleness=self.max_staleness,
                       on_stale=self.on_stale)
        out.names, out.mean, out.std = list(self.names), self.mean, self.std
        return out

    def inputs(self, base_values: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
        """Standardised inputs with this object's statistics; the names must match the fit's."""
        fitted = list(self.names)
        raw = self.raw(base_values, dates)
        if self.names != fitted:
            raise DataValidationError("columns", f"inputs {self.names} differ from the fit's "
                                      f"{fitted}")
        return self.standardise(raw)

    @staticmethod
    def times(dates: pd.DatetimeIndex) -> np.ndarray:
        info = Features.info_dates(dates)
        return ((info.values - info.values[0]) / _DAY).astype(np.float64)


# ---------------------------------------------------------------- the model object


class HybridModel:
    """The configuration every hybrid shares: encoder, width, device, covariate alignment.

    Parameters
    ----------
    cell
        ``"cfc"``, ``"ltc"`` or ``"ctrnn"``.
    hidden_size
        Encoder width.
    device
        Torch device for the network and the recursions.
    use_times
        Give the encoder the information dates (calendar days, irregular gaps) as times;
        False uses unit steps.
    max_staleness
        Largest age of a covariate's latest value (a pandas Timedelta or string such as
        ``"7D"``); None allows any age.
    on_stale
        ``"raise"`` or ``"mean"`` (a stale covariate is set to its train mean and flagged by
        a ``<name>_missing`` input; never silently forward-filled).
    head_layers
        Widths of hidden tanh layers in the head (none by default: a linear read-out).
    **cell_kwargs
        Passed to the encoder's constructor. A CfC gets ``backbone_units=32`` unless given
        (ncps' 128 is sized for high-dimensional inputs; these models read a handful).
    """

    #: Family-specific constructor arguments stored by :meth:`spec` (besides the shared ones).
    family_keys: tuple[str, ...] = ()

    def __init__(self, cell: str = "cfc", hidden_size: int = 16,
                 device: str | torch.device = "cpu", *, use_times: bool = True,
                 max_staleness: Any = "7D", on_stale: str = "raise",
                 head_layers: Sequence[int] = (), **cell_kwargs: Any) -> None:
        if on_stale not in ("raise", "mean"):
            raise ConfigError(f"on_stale must be 'raise' or 'mean', got {on_stale!r}")
        if isinstance(hidden_size, bool) or int(hidden_size) < 1:
            raise ConfigError(f"hidden_size must be positive, got {hidden_size!r}")
        self.cell = cell
        self.hidden_size = int(hidden_size)
        self.device = torch.device(device)
        self.use_times = bool(use_times)
        self.max_staleness = None if max_staleness is None else str(pd.Timedelta(max_staleness))
        self.on_stale = on_stale
        self.head_layers = [int(w) for w in head_layers]
        self.cell_kwargs = dict(cell_kwargs)
        if cell == "cfc":
            self.cell_kwargs.setdefault("backbone_units", 32)
        self.checkpoint_: dict[str, torch.Tensor] | None = None
        try:
            json.dumps(self.cell_kwargs)
        except TypeError as exc:
            raise ConfigError(f"cell_kwargs must be JSON-serialisable to be saved: {exc}") from None

    def spec(self) -> dict[str, Any]:
        """The model's configuration (JSON-serialisable)."""
        out = {"cell": self.cell, "hidden_size": self.hidden_size}
        out.update({k: getattr(self, k) for k in self.family_keys})
        out.update({"use_times": self.use_times, "max_staleness": self.max_staleness,
                    "on_stale": self.on_stale, "head_layers": self.head_layers,
                    "cell_kwargs": self.cell_kwargs})
        return out

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], device: str | torch.device = "cpu"
                  ) -> HybridModel:
        """Rebuild the model object from :meth:`spec` (what a saved result stores)."""
        kw = {k: spec[k] for k in cls.family_keys if k in spec}  # older files: defaults
        return cls(spec["cell"], spec["hidden_size"], device=device, **kw,
                   use_times=spec["use_times"], max_staleness=spec["max_staleness"],
                   on_stale=spec["on_stale"], head_layers=spec["head_layers"],
                   **spec["cell_kwargs"])

    def head_spec(self) -> dict[str, Any]:
        """The head's constrained outputs (family-specific)."""
        raise NotImplementedError

    def build_net(self, n_inputs: int, head_init: Mapping[str, float]) -> ThetaNet:
        """Encoder and head (twice: trainable, and frozen at ``head_init``)."""
        encoder = make_encoder(self.cell, n_inputs, self.hidden_size, device=self.device,
                               **self.cell_kwargs)

        def head() -> ParameterHead:
            return ParameterHead(self.hidden_size, self.head_spec(), dict(head_init),
                                 hidden_layers=self.head_layers, dtype=torch.float64
                                 ).to(self.device)

        return ThetaNet(encoder, head(), head())


def train_likelihood(
    owner: HybridModel, net: ThetaNet,
    window_ll: Callable[[Windows], tuple[torch.Tensor, torch.Tensor]], split: int, n: int,
    config: TrainConfig, seed: int, desc: str,
) -> TrainHistory:
    """Train ``net`` by windowed maximum likelihood with a penalty toward the benchmark.

    The training windows cover ``0..split``, the validation block ``split..n``; the penalty is
    ``config.penalty`` times the head's distance from its starting (benchmark) state.
    Training windows shrink to ``split`` steps when ``config.window`` is longer; the
    validation windows get the same length, as the joint pass stacks both into one batch.
    """
    dev = owner.device
    if config.window > split:
        config = dataclasses.replace(config, window=split,
                                     burn_in=min(config.burn_in, split - 1))
    loss_fn, val_fn, joint_fn = likelihood_objectives(
        window_ll, lambda: config.penalty * net.head.penalty(bias=1.0), split, n, config, dev)
    train_w = make_windows(0, split, config.window, config.burn_in).to(dev)
    return fit_network(owner, net, loss_fn, val_fn, train_w, config,
                       generator=torch_generator(int(seed)), desc=desc, joint_fn=joint_fn)


# ---------------------------------------------------------------- saving series


def series_payload(prefix: str, s: pd.Series) -> dict[str, np.ndarray]:
    """A Series as arrays: int64 nanoseconds on disk (the index's unit goes in the JSON)."""
    return {f"{prefix}.values": s.to_numpy(dtype=np.float64),
            f"{prefix}.index": s.index.values.astype("datetime64[ns]").astype(np.int64)}


def index_unit(index: pd.DatetimeIndex) -> list[Any]:
    """What an index needs besides its values to round-trip exactly: unit and name."""
    return [str(getattr(index, "unit", "ns")), index.name]


def index_from_payload(values: np.ndarray, unit: list[Any]) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(values.astype("datetime64[ns]"), name=unit[1])
    return idx.as_unit(unit[0]) if hasattr(idx, "as_unit") else idx


def series_from_payload(prefix: str, tensors: Mapping[str, np.ndarray], name: str,
                        unit: list[Any]) -> pd.Series:
    idx = index_from_payload(tensors[f"{prefix}.index"], unit)
    return pd.Series(tensors[f"{prefix}.values"], index=idx, name=name)


# ---------------------------------------------------------------- the fitted result


class HybridResult(ResultBase):
    """What every fitted hybrid shares: the benchmark twin, parameter counts, saving.

    Subclasses set ``net`` (a :class:`ThetaNet`), ``spec``, ``init`` (benchmark parameters),
    ``split``, ``history``, ``config``, ``seed`` and ``device``, and define ``_evaluate()``
    (one full pass, honouring ``self.network_off``), ``nobs``, ``loglik``,
    ``benchmark_num_params`` and the ``_payload``/``_meta`` pair that :meth:`save` stores.
    """

    #: True for the benchmark twin: the head frozen at the benchmark, the network unused.
    network_off: bool = False
    net: ThetaNet
    benchmark_num_params: int

    @cached_property
    def _ev(self) -> dict[str, Any]:
        """The full-sample evaluation (cached; the benchmark twin has its own)."""
        return self._evaluate()

    def _evaluate(self) -> dict[str, Any]:
        raise NotImplementedError

    @cached_property
    def benchmark(self) -> HybridResult:
        """The network-off model as a result object of the same class (the classical model)."""
        if self.network_off:
            return self
        twin = copy.copy(self)
        for name in _cached_names(type(self)):
            twin.__dict__.pop(name, None)
        twin.network_off = True
        return twin

    def nested_loglik(self) -> float:
        """Log-likelihood with the network off: ``self.benchmark.loglik``."""
        return float(self.benchmark.loglik)

    @property
    def num_params(self) -> int:
        """Every network parameter plus what the benchmark estimates besides the head."""
        if self.network_off:
            return int(self.benchmark_num_params)
        return self.net.num_params() + self.extra_num_params

    #: Parameters estimated outside the network (e.g. a benchmark mean held fixed).
    extra_num_params: int = 0

    def _payload(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _meta(self) -> dict[str, Any]:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Save to a directory: ``model.safetensors`` (weights and data) + ``config.json``.

        Never pickle. The JSON holds the kind, configuration, benchmark, training history,
        package versions and a SHA-256 of the stored data; ``load`` (or
        :func:`hybridrisk.load`) rebuilds an identical result.
        """
        tensors = net_arrays(self.net)
        tensors.update(self._payload())
        meta = {"kind": type(self).__name__, "spec": self.spec, "init": self.init,
                "split": self.split, "history": self.history.to_dict(),
                "config": self.config, "seed": self.seed, **self._meta(),
                "versions": package_versions("arch"), "data_sha256": data_sha256(tensors),
                "loglik": self.loglik, "nested_loglik": self.nested_loglik()}
        return save_bundle(path, tensors, meta)


def _cached_names(cls: type) -> set[str]:
    return {k for c in cls.__mro__ for k, v in vars(c).items() if isinstance(v, cached_property)}
