"""The training loop every hybrid family shares: windows, Adam, early stopping, loud failures.

A hybrid fit is not one long sequential pass. The sample is cut into overlapping windows of a
fixed length: each window's first ``burn_in`` steps warm up the encoder (and the model state,
which starts from the classical filter at the window start) and are not scored; the scored
*cores* of the windows partition the training span exactly, so every observation is scored
once per epoch. Windows are processed as one batch (or shuffled mini-batches), so an epoch costs
about ``window`` sequential steps instead of ``T``.

The last ``val_fraction`` of the sample (chronological, never shuffled) is the validation
block: its cores are scored without gradients after every epoch, and the parameters with the
best validation loss are kept (early stopping with ``patience``). The starting point, the
classical benchmark, is itself the first candidate, so a fit never ends worse than the
benchmark on the validation block.

Numerical trouble (a non-finite loss, gradient or parameter, or a state the family declares
exploded) raises :class:`~hybridrisk.errors.NumericalError`. The module is then left in its last
good state (the parameters before the failing update), which is also attached to the exception
as ``err.checkpoint`` (a state dict) with ``err.epoch`` and ``err.step``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from hybridrisk.errors import ConfigError, InsufficientDataError, NumericalError

__all__ = [
    "TrainConfig",
    "TrainHistory",
    "Windows",
    "fit_config",
    "make_windows",
    "train_loop",
    "fit_network",
    "joint_objective",
    "likelihood_objectives",
    "seeded",
    "split_index",
    "make_encoder",
    "count_parameters",
    "collect_series",
    "extend_covariates",
    "asof_align",
    "CELLS",
]


@dataclass
class TrainConfig:
    """Settings of :func:`train_loop` (all JSON-serialisable, stored with saved models).

    Parameters
    ----------
    epochs
        Maximum number of passes over the training windows.
    lr
        Adam learning rate.
    window
        Window length in steps, burn-in included.
    burn_in
        Unscored warm-up steps at the start of each window.
    val_fraction
        Fraction of the sample (its end) held out for early stopping; 0 disables it (then the
        last epoch's parameters are kept).
    patience
        Epochs without a validation improvement before stopping.
    penalty
        Weight of the head's penalty toward the benchmark, per observation.
    batch_size
        Windows per gradient step; None puts every training window into one step.
    grad_clip
        Maximum gradient norm (clipping gradients, never parameters); None disables it.
    min_delta
        Smallest decrease of the validation loss (per observation) that counts as improvement.
    progress
        Show a tqdm progress bar.
    """

    epochs: int = 30
    lr: float = 1e-2
    window: int = 100
    burn_in: int = 25
    val_fraction: float = 0.2
    patience: int = 8
    penalty: float = 1e-2
    batch_size: int | None = None
    grad_clip: float | None = 1.0
    min_delta: float = 0.0
    progress: bool = True

    def validate(self) -> TrainConfig:
        """Raise :class:`ConfigError` for an out-of-range setting; return self."""
        checks = [
            ("epochs", self.epochs >= 0),
            ("lr", self.lr > 0 and math.isfinite(self.lr)),
            ("window", self.window >= 2),
            ("burn_in", 0 <= self.burn_in < self.window),
            ("val_fraction", 0.0 <= self.val_fraction < 1.0),
            ("patience", self.patience >= 1),
            ("penalty", self.penalty >= 0 and math.isfinite(self.penalty)),
            ("batch_size", self.batch_size is None or self.batch_size >= 1),
            ("grad_clip", self.grad_clip is None or self.grad_clip > 0),
            ("min_delta", self.min_delta >= 0),
        ]
        for name, ok in checks:
            if not ok:
                raise ConfigError(f"training setting {name}={getattr(self, name)!r} is invalid")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_config(defaults: Mapping[str, Any] | None = None, **settings: Any) -> TrainConfig:
    """The validated :class:`TrainConfig` of a hybrid's ``fit`` keyword settings.

    ``defaults`` are a family's own (e.g. the curve hybrid's shorter windows); ``settings``
    override them; anything else is :class:`TrainConfig`'s default. An unknown name raises.
    """
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown training setting(s) {unknown}; known: {sorted(known)}")
    kw = {**(defaults or {}), **settings}
    casts = {"epochs": int, "lr": float, "window": int, "burn_in": int, "val_fraction": float,
             "patience": int, "penalty": float, "min_delta": float, "progress": bool}
    return TrainConfig(**{k: casts[k](v) if k in casts else v for k, v in kw.items()}).validate()


@dataclass
class TrainHistory:
    """What happened during training (per epoch), stored with the result."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.nan
    initial_val_loss: float = math.nan
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainHistory:
        return cls(**d)


def split_index(n: int, val_fraction: float, *, min_train: int) -> int:
    """First index of the validation block (``n`` when there is none).

    Raises
    ------
    InsufficientDataError
        When fewer than ``min_train`` observations remain for training.
    """
    n_val = int(math.floor(n * val_fraction))
    split = n - n_val
    if split < min_train:
        raise InsufficientDataError(
            "min-obs", f"{split} training observations after holding out {n_val} for "
            f"validation; the model needs at least {min_train}"
        )
    return split


@dataclass
class Windows:
    """A batch of equal-length windows over one sample.

    Attributes
    ----------
    index
        (n_windows, length) integer positions into the sample.
    mask
        (n_windows, length) float64, 1 where the position is scored.
    start
        (n_windows,) first position of each window.
    """

    index: torch.Tensor
    mask: torch.Tensor
    start: torch.Tensor

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def subset(self, rows: torch.Tensor | Sequence[int]) -> Windows:
        rows = torch.as_tensor(rows, dtype=torch.long)
        return Windows(self.index[rows], self.mask[rows], self.start[rows])

    def cat(self, other: Windows) -> Windows:
        """This batch followed by ``other`` (same window length)."""
        return Windows(torch.cat([self.index, other.index]), torch.cat([self.mask, other.mask]),
                       torch.cat([self.start, other.start]))

    def to(self, device: torch.device | str) -> Windows:
        return Windows(self.index.to(device), self.mask.to(device), self.start.to(device))


def make_windows(start: int, stop: int, length: int, burn_in: int) -> Windows:
    """Windows of ``length`` steps whose scored cores partition ``[start, stop)``.

    Each core has ``length - burn_in`` steps (the last may be shorter) and is preceded by up to
    ``burn_in`` unscored steps; a window that would begin before 0 begins at 0 and scores from
    its core start, and the last window is shifted back so that it ends at ``stop``. With fewer
    than ``length`` observations before ``stop``, the window shrinks to ``stop``.
    """
    if not 0 <= start < stop:
        raise ConfigError(f"empty span [{start}, {stop})")
    length = min(length, stop)
    core = max(1, length - burn_in)
    rows, masks, starts = [], [], []
    s = start
    while s < stop:
        e = min(s + core, stop)
        a = max(0, min(s - burn_in, e - length))
        idx = np.arange(a, a + length)
        rows.append(idx)
        masks.append(((idx >= s) & (idx < e)).astype(np.float64))
        starts.append(a)
        s = e
    return Windows(
        torch.as_tensor(np.stack(rows), dtype=torch.long),
        torch.as_tensor(np.stack(masks), dtype=torch.float64),
        torch.as_tensor(np.asarray(starts), dtype=torch.long),
    )


def joint_objective(
    window_ll: Callable[[Windows], tuple[torch.Tensor, torch.Tensor]],
    penalty: Callable[[], torch.Tensor],
    val_windows: Windows,
) -> Callable[[Windows], tuple[torch.Tensor, float]]:
    """A ``joint_fn`` for :func:`train_loop` from a family's windowed log-likelihood.

    ``window_ll(windows) -> (ll, mask)`` of shape (n_windows, length); the training loss is the
    mean negative log-likelihood over the scored training steps plus ``penalty()``, the
    validation loss the same mean over the validation windows (no gradient flows from it).
    """
    def joint_fn(train: Windows) -> tuple[torch.Tensor, float]:
        n = len(train)
        ll, mask = window_ll(train.cat(val_windows))
        loss = -(ll[:n] * mask[:n]).sum() / mask[:n].sum() + penalty()
        with torch.no_grad():
            val = -(ll[n:] * mask[n:]).sum() / mask[n:].sum()
        return loss, float(val)

    return joint_fn


def likelihood_objectives(
    window_ll: Callable[[Windows], tuple[torch.Tensor, torch.Tensor]],
    penalty: Callable[[], torch.Tensor],
    split: int,
    n: int,
    config: TrainConfig,
    device: torch.device | str,
) -> tuple[Callable[[Windows], torch.Tensor], Callable[[], float] | None,
           Callable[[Windows], tuple[torch.Tensor, float]] | None]:
    """``loss_fn``, ``val_fn`` and ``joint_fn`` for :func:`train_loop` from a windowed
    log-likelihood: the mean negative log-likelihood over the scored steps (plus ``penalty()``
    for training); ``val_fn`` and ``joint_fn`` are None without a validation block
    (``split >= n``)."""
    def loss_fn(w: Windows) -> torch.Tensor:
        ll, mask = window_ll(w.to(device))
        return -(ll * mask).sum() / mask.sum() + penalty()

    if split >= n:
        return loss_fn, None, None
    val_w = make_windows(split, n, config.window, config.burn_in).to(device)

    def val_fn() -> float:
        with torch.no_grad():
            ll, mask = window_ll(val_w)
            return float(-(ll * mask).sum() / mask.sum())

    return loss_fn, val_fn, joint_objective(window_ll, penalty, val_w)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """A private torch RNG stream seeded with ``seed``: it fixes a network's initial weights
    without touching the caller's global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _copy_state(module: nn.Module) -> dict[str, Any]:
    """A copy of ``module.state_dict()``, what ``copy.deepcopy`` of it gives (the same keys,
    tensor values, ``_metadata`` and dict type) at a sixth of its cost: the tensors are cloned
    directly (the state dict's tensors are detached; deepcopy would clone them too) and only
    the rest goes through deepcopy."""
    state = module.state_dict()
    out = type(state)((k, v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v))
                      for k, v in state.items())
    meta = getattr(state, "_metadata", None)
    if meta is not None:
        out._metadata = copy.deepcopy(meta)  # type: ignore[attr-defined]
    return out


def _finite_module(module: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


def train_loop(
    module: nn.Module,
    parameters: Sequence[nn.Parameter],
    loss_fn: Callable[[Windows], torch.Tensor],
    val_fn: Callable[[], float] | None,
    train_windows: Windows,
    config: TrainConfig,
    *,
    generator: torch.Generator,
    desc: str = "training",
    joint_fn: Callable[[Windows], tuple[torch.Tensor, float]] | None = None,
) -> TrainHistory:
    """Adam with gradient clipping and early stopping on the validation loss.

    Parameters
    ----------
    module
        Holds every trained parameter; its state is checkpointed and restored.
    parameters
        The parameters Adam updates.
    loss_fn
        ``loss_fn(windows) -> scalar`` to minimise (with its graph), for a batch of windows.
    val_fn
        ``val_fn() -> float``, the validation loss per observation (no gradients), or None.
    train_windows
        All training windows; shuffled into mini-batches of ``config.batch_size`` each epoch.
    config
        Settings.
    generator
        Drives the shuffling (so a seed reproduces the fit).
    desc
        Progress bar label.
    joint_fn
        Optional ``joint_fn(train_windows) -> (loss, val_loss)``: the training loss and the
        validation loss from *one* forward pass over the training and validation windows
        together. Used when every epoch is one full batch; the validation loss of the
        parameters after update ``e`` then comes from the forward pass of update ``e + 1``
        (same decisions as evaluating after each update, one pass fewer per epoch).

    Returns
    -------
    TrainHistory
        With the module left at the best validated state.

    Raises
    ------
    NumericalError
        On a non-finite loss, gradient, parameter or validation loss; the module is left at the
        parameters before the failing update (also in ``err.checkpoint``).
    """
    from tqdm.auto import tqdm

    config.validate()
    t0 = time.perf_counter()
    history = TrainHistory()
    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ConfigError("nothing to train: no parameter requires a gradient")
    opt = torch.optim.Adam(params, lr=config.lr)
    n_win = len(train_windows)
    bs = n_win if config.batch_size is None else min(config.batch_size, n_win)
    joint = joint_fn is not None and val_fn is not None and bs >= n_win

    def snapshot() -> dict[str, torch.Tensor]:
        return _copy_state(module)

    def fail(msg: str, last_good: dict[str, torch.Tensor], epoch: int, step: int) -> None:
        module.load_state_dict(last_good)
        err = NumericalError(f"{desc}: {msg} at epoch {epoch + 1}, step {step + 1}; the model is "
                             "left at its last good parameters (err.checkpoint)")
        err.checkpoint = last_good  # type: ignore[attr-defined]
        err.epoch = epoch  # type: ignore[attr-defined]
        err.step = step  # type: ignore[attr-defined]
        raise err

    def checked(v: float, last_good: dict[str, torch.Tensor], epoch: int) -> float:
        if not math.isfinite(v):
            fail("non-finite validation loss", last_good, epoch, 0)
        return v

    state = {"best": math.inf, "bad": 0, "best_state": None}

    def consider(v: float, params_state: dict[str, torch.Tensor], epoch: int) -> None:
        """Book the validation loss of the parameters after ``epoch`` updates."""
        if epoch == 0:
            history.initial_val_loss = v
        else:
            history.val_loss.append(v)
        if epoch == 0 or v < state["best"] - config.min_delta:
            state.update(best=v, bad=0, best_state=params_state)
            history.best_val_loss, history.best_epoch = v, epoch
        else:
            state["bad"] += 1

    def step_update(loss: torch.Tensor, last_good: dict[str, torch.Tensor], epoch: int,
                    step: int) -> float:
        if not torch.isfinite(loss):
            fail("non-finite training loss", last_good, epoch, step)
        loss.backward()
        grads = [p.grad for p in params if p.grad is not None]
        if not all(bool(torch.isfinite(g).all()) for g in grads):
            fail("non-finite gradient", last_good, epoch, step)
        if config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        opt.step()
        if not _finite_module(module):
            fail("non-finite parameter after the update", last_good, epoch, step)
        return float(loss.detach())

    if val_fn is not None and not (joint and config.epochs > 0):
        first = snapshot()
        consider(checked(float(val_fn()), first, -1), first, 0)
    bar = tqdm(total=config.epochs, desc=desc, disable=not config.progress, leave=False)
    try:
        for epoch in range(config.epochs):
            if joint:
                last_good = snapshot()
                opt.zero_grad(set_to_none=True)
                try:
                    loss, v = joint_fn(train_windows)  # type: ignore[misc]
                except NumericalError as exc:
                    fail(str(exc), last_good, epoch, 0)
                consider(checked(float(v), state["best_state"] or last_good, epoch), last_good,
                         epoch)
                if state["bad"] >= config.patience:
                    history.stopped_early = True
                    break
                history.train_loss.append(step_update(loss, last_good, epoch, 0))
            else:
                order = torch.randperm(n_win, generator=generator)
                total, count = 0.0, 0
                for step, lo in enumerate(range(0, n_win, bs)):
                    batch = train_windows.subset(order[lo:lo + bs])
                    last_good = snapshot()
                    opt.zero_grad(set_to_none=True)
                    try:
                        loss = loss_fn(batch)
                    except NumericalError as exc:
                        fail(str(exc), last_good, epoch, step)
                    total += step_update(loss, last_good, epoch, step)
                    count += 1
                history.train_loss.append(total / max(count, 1))
                if val_fn is not None:
                    now = snapshot()
                    consider(checked(float(val_fn()), state["best_state"] or now, epoch), now,
                             epoch + 1)
            history.epochs_run = epoch + 1
            bar.set_postfix(train=f"{history.train_loss[-1]:.4f}" if history.train_loss else "-",
                            val=f"{history.val_loss[-1]:.4f}" if history.val_loss else "-")
            bar.update(1)
            if val_fn is not None and state["bad"] >= config.patience:
                history.stopped_early = True
                break
        if joint and not history.stopped_early and config.epochs > 0:
            now = snapshot()  # the last update's parameters still need their validation loss
            consider(checked(float(val_fn()), state["best_state"] or now,  # type: ignore[misc]
                             config.epochs), now, config.epochs)
    finally:
        bar.close()
    if val_fn is None:
        history.best_epoch = history.epochs_run
    else:
        module.load_state_dict(state["best_state"])
    history.seconds = time.perf_counter() - t0
    return history


def fit_network(
    owner: Any,
    net: Any,
    loss_fn: Callable[[Windows], torch.Tensor],
    val_fn: Callable[[], float] | None,
    train_windows: Windows,
    config: TrainConfig,
    *,
    generator: torch.Generator,
    desc: str,
    joint_fn: Callable[[Windows], tuple[torch.Tensor, float]] | None = None,
) -> TrainHistory:
    """:func:`train_loop` over ``net.trainable()``, then ``net.eval()``.

    On a :class:`NumericalError` the last good state (``err.checkpoint``) is also kept as
    ``owner.checkpoint_`` before the error propagates.
    """
    try:
        history = train_loop(net, net.trainable(), loss_fn, val_fn, train_windows, config,
                             generator=generator, desc=desc, joint_fn=joint_fn)
    except NumericalError as err:
        owner.checkpoint_ = getattr(err, "checkpoint", None)
        raise
    net.eval()
    return history


# ---------------------------------------------------------------- encoders and covariates

#: Cell name -> (module, class) of the encoders a hybrid can use.
CELLS: dict[str, tuple[str, str]] = {
    "cfc": ("hybridrisk.lnn.cfc", "CfC"),
    "ltc": ("hybridrisk.lnn.ltc", "LTC"),
    "ctrnn": ("hybridrisk.lnn.ctrnn", "CTRNN"),
    "cde": ("hybridrisk.lnn.cde", "NeuralCDE"),
}


def make_encoder(
    cell: str, input_size: int, hidden_size: int, *, device: torch.device | str = "cpu",
    **cell_kwargs: Any,
) -> nn.Module:
    """Build a float64 encoder by name on ``device`` (``cell_kwargs`` go to its constructor)."""
    import importlib

    if cell not in CELLS:
        raise ConfigError(f"unknown cell {cell!r}; choose one of {sorted(CELLS)}")
    mod_name, cls_name = CELLS[cell]
    cls = getattr(importlib.import_module(mod_name), cls_name)
    enc = cls(int(input_size), int(hidden_size), **cell_kwargs)
    return enc.to(device=device, dtype=torch.float64)


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters of a module (what AIC/BIC count)."""
    return int(sum(p.numel() for p in module.parameters()))


def collect_series(data: Any, *, name: str = "covariates") -> list[Any]:
    """Covariates given as a Series, a DataFrame, a mapping or a list of Series -> named Series.

    Each series keeps its own timestamps (its own calendar) and is validated (finite, sorted,
    unique DatetimeIndex).
    """
    import pandas as pd

    from hybridrisk.checks import check_timeseries

    if data is None:
        return []
    if isinstance(data, pd.DataFrame):
        items = [(str(c), data[c]) for c in data.columns]
    elif isinstance(data, pd.Series):
        items = [(str(data.name) if data.name is not None else "cov0", data)]
    elif isinstance(data, dict):
        items = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, list | tuple):
        items = [(str(s.name) if getattr(s, "name", None) is not None else f"cov{i}", s)
                 for i, s in enumerate(data)]
    else:
        raise ConfigError(f"{name} must be a Series, DataFrame, dict or list of Series, got "
                          f"{type(data).__name__}")
    out = []
    seen: set[str] = set()
    for key, s in items:
        if key in seen:
            raise ConfigError(f"{name}: the name {key!r} repeats")
        seen.add(key)
        if isinstance(s, pd.DataFrame):
            if s.shape[1] != 1:
                raise ConfigError(f"{name}[{key!r}] must be one series, got {s.shape[1]} columns")
            s = s.iloc[:, 0]
        s = check_timeseries(s, name=f"{name}[{key!r}]", min_obs=1).dropna()
        s.name = key
        out.append(s)
    return out


def extend_covariates(covariates: Sequence[Any], new_covariates: Any) -> list[Any]:
    """The fit's covariates continued by ``new_covariates`` (matched by name).

    Only values dated after a series' last fitted date are appended; a new series the fit did
    not use raises :class:`ConfigError`.
    """
    import pandas as pd

    new = {str(s.name): s for s in collect_series(new_covariates, name="new_covariates")}
    out = []
    for s in covariates:
        extra = new.pop(str(s.name), None)
        if extra is not None:
            extra = extra[extra.index > s.index[-1]]
            s = pd.concat([s, extra]).rename(s.name)
        out.append(s)
    if new:
        raise ConfigError(f"new_covariates {sorted(new)} were not used in the fit")
    return out


def asof_align(
    series: Any,
    info_dates: Any,
    *,
    max_staleness: Any,
    on_stale: str,
    skip_first: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``series`` published at or before each information date (as-of alignment).

    Parameters
    ----------
    series
        A pandas Series on its own calendar.
    info_dates
        DatetimeIndex of information times (step ``k`` may use what was known at
        ``info_dates[k]``).
    max_staleness
        Largest allowed age (a Timedelta) of the latest value; None allows any age.
    on_stale
        ``"raise"``: a missing or too-old value raises; ``"mean"``: it is marked missing
        (the caller sets the standardised value to 0, the train mean, and adds an indicator).
    skip_first
        Row 0 carries no information (nothing precedes the sample) and is not checked.

    Returns
    -------
    values, missing
        float64 values (NaN where missing) and a boolean mask.
    """
    import pandas as pd

    from hybridrisk.errors import DataValidationError

    idx = series.index.values
    dates = pd.DatetimeIndex(info_dates).values
    pos = np.searchsorted(idx, dates, side="right") - 1
    vals = np.full(len(dates), np.nan)
    ok = pos >= 0
    vals[ok] = series.to_numpy(dtype=np.float64)[pos[ok]]
    missing = ~ok
    if max_staleness is not None:
        age = np.full(len(dates), np.timedelta64(0, "ns"))
        age[ok] = dates[ok] - idx[pos[ok]]
        missing |= ok & (age > np.timedelta64(pd.Timedelta(max_staleness)))
    if skip_first and len(missing):
        missing[0] = False
    if missing.any() and on_stale == "raise":
        k = int(np.flatnonzero(missing)[0])
        when = pd.Timestamp(dates[k]).isoformat()
        why = ("no value published at or before it" if not ok[k] else
               f"its latest value is older than max_staleness={pd.Timedelta(max_staleness)}")
        raise DataValidationError(
            "as-of", f"covariate {series.name!r} at information date {when}: {why}; trim the "
            "sample, pass a larger max_staleness, or on_stale='mean' to impute the train mean "
            "with a missing-value indicator", column=series.name, row=when,
        )
    if on_stale not in ("raise", "mean"):
        raise ConfigError(f"on_stale must be 'raise' or 'mean', got {on_stale!r}")
    vals[missing] = np.nan
    return vals, missing
