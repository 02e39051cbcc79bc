"""Your own models in a campaign: the plug-in contract.

A validation team puts its own model next to the library's champions and challengers by
naming a *factory* in the campaign config::

    models:
      EWMA:
        kind: python                       # a plug-in
        target: "mypackage.models:EWMA"    # module:attribute, imported by name
        role: challenger                   # or champion; default challenger
        lam: 0.94                          # every other key is passed to the factory

or on the command line, ``hybridrisk validate --model EWMA=mypackage.models:EWMA`` (role
challenger, no options). When the config names only plug-ins, the family's default models run
too, so a plug-in is always compared with the library's champions; name the family's models
explicitly to run a subset.

The factory
    ``target`` is any callable importable as ``module:attribute`` (dots in the attribute reach
    nested attributes). The harness calls it once, in the campaign's process, with the
    options as keyword arguments; it returns the *task*. A dataclass whose instances are
    callable is the simplest factory: the class itself.

The task
    ``task(data: DataFrame, window: Window, seed: int) -> DataFrame``, as for every model of
    the walk-forward (:mod:`validation.walkforward`):

    - ``data`` is the campaign data (the family's layout: a ``returns`` column of percent
      returns for the volatility family, plus covariates if any) from the window's first
      training date to the last date of its block; nothing later. ``window`` is a
      :class:`~validation.walkforward.Window` (``id``, training span and block, as positions
      and dates); ``split_window(data, window)`` returns ``(train, block)``.
    - Fit on ``train``; forecast each date ``t`` of ``block`` from data up to ``t - 1`` only
      (filtering through the block with fixed parameters is allowed, looking at ``t`` is not).
    - Return a DataFrame indexed by exactly the block's dates, with the columns the family
      scores (:meth:`~validation.families.base.Family.forecast_contract`). For the volatility
      family: ``mean`` and ``variance`` (> 0) of the percent return, ``VaR_<level>`` and
      ``ES_<level>`` as positive losses for every level of :data:`hybridrisk.results.LEVELS`
      (0.95, 0.975, 0.99; the names come from :func:`hybridrisk.results.var_column` and
      :func:`~hybridrisk.results.es_column`), optionally ``nu`` (Student-t degrees of freedom,
      used by the ES test; NaN or absent means normal) and ``theta_<name>`` parameter paths.
      No NaN or infinity in the required columns; the same columns in every window.
    - Seeding: every random draw must come from ``seed`` (e.g.
      ``numpy.random.default_rng(seed)``, :func:`hybridrisk.seed_everything`). Window ``k``
      gets a seed derived from the campaign seed and ``k`` only, so a campaign reruns to the
      same bytes on every executor.
    - The task may not keep state between calls: each window gets a fresh copy.

Importable and picklable
    The task object is pickled once and sent to the workers: the local process pool (spawned
    interpreters that inherit ``sys.path``) and Dask workers (``--scheduler``) import its class
    by module name, so the module must be importable there: installed, or on ``PYTHONPATH``
    of every worker; ``hybridrisk validate`` also looks in the current folder. Define the
    class or function at module level; options must be picklable (YAML values are).

Failures
    A plug-in that cannot be imported, whose factory raises, or whose task cannot be pickled
    stops the campaign before any work (:class:`~hybridrisk.errors.ConfigError` naming the
    model). A task that raises, returns other dates, lacks a required column or returns NaN
    stops it with a :class:`PluginError` naming the model and the window (id, block and
    training dates). Every window finished before, of every model, is kept on disk: rerunning
    the same campaign resumes them, and recomputes a plug-in whose module file changed.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError, HybridRiskError
from hybridrisk.provenance import file_sha256
from validation.families.base import ForecastContract
from validation.walkforward import Window, split_window

__all__ = [
    "PLUGIN_KIND",
    "ROLES",
    "PluginError",
    "PluginSpec",
    "PluginTask",
    "build_plugin_tasks",
    "is_plugin",
    "parse_model_option",
    "plugin_record",
]

#: The ``kind`` of a plug-in model in a campaign config.
PLUGIN_KIND = "python"
#: Roles a plug-in may take.
ROLES = ("champion", "challenger")


def is_plugin(opts: Any) -> bool:
    """Whether a model's config entry names a plug-in (``kind: python``)."""
    return isinstance(opts, Mapping) and opts.get("kind") == PLUGIN_KIND


class PluginError(HybridRiskError):
    """A plug-in model broke the task contract inside a walk-forward window.

    Parameters
    ----------
    model
        The model's name in the campaign.
    where
        The window: id, block and training dates.
    detail
        What went wrong.
    rule
        Short name of the broken rule (``raised``, ``task-output``, ``task-index``,
        ``task-columns``, ``finite``, ``positive``).
    """

    def __init__(self, model: str, where: str, detail: str, rule: str = "raised") -> None:
        self.model, self.where, self.detail, self.rule = model, where, detail, rule
        super().__init__(f"[{rule}] model {model!r}, walk-forward {where}: {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        # workers send it to the engine process by pickle, which calls cls(*args)
        return (type(self), (self.model, self.where, self.detail, self.rule))


@dataclass(frozen=True)
class PluginSpec:
    """One plug-in model of a campaign config (``kind: python``)."""

    name: str
    target: str
    role: str = "challenger"
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, name: str, opts: Mapping[str, Any]) -> PluginSpec:
        """Read ``{kind: python, target: "module:attr", role: ..., **options}``.

        Raises
        ------
        ConfigError
            A missing or malformed ``target`` or an unknown ``role``, naming the model.
        """
        opts = dict(opts)
        opts.pop("kind", None)
        target = opts.pop("target", None)
        role = opts.pop("role", "challenger")
        if not isinstance(target, str) or target.count(":") != 1 or not all(
                part.strip() for part in target.split(":")):
            raise ConfigError(f"model {name!r}: a python model needs target: "
                              f"'package.module:Factory', got {target!r}")
        if role not in ROLES:
            raise ConfigError(f"model {name!r}: role must be one of {ROLES}, got {role!r}")
        return cls(str(name), target.strip(), role, opts)


def parse_model_option(text: str) -> tuple[str, dict[str, Any]]:
    """``"NAME=package.module:Factory"`` (``--model``) -> ``(NAME, config entry)``."""
    name, sep, target = text.partition("=")
    if not sep or not name.strip() or not target.strip():
        raise ConfigError(f"--model {text!r}: use --model NAME=package.module:Factory")
    return name.strip(), {"kind": PLUGIN_KIND, "target": target.strip(), "role": "challenger"}


def load_target(spec: PluginSpec) -> Callable[..., Any]:
    """Import the factory named by ``spec.target``.

    Raises
    ------
    ConfigError
        The module cannot be imported (any exception while importing it) or lacks the
        attribute, naming the model.
    """
    module_name, attr = spec.target.split(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's module means the same
        raise ConfigError(f"model {spec.name!r}: cannot import {module_name!r} "
                          f"({type(exc).__name__}: {exc})") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ConfigError(f"model {spec.name!r}: module {module_name!r} has no attribute "
                              f"{attr!r}") from exc
    if not callable(obj):
        raise ConfigError(f"model {spec.name!r}: {spec.target} is not callable")
    return obj


def module_sha256(target: str) -> str | None:
    """SHA-256 of the source file of the target's module (``None`` when it has none)."""
    module = sys.modules.get(target.split(":")[0])
    try:
        path = inspect.getsourcefile(module) if module is not None else None
    except TypeError:  # a built-in module
        path = None
    return file_sha256(path) if path and Path(path).is_file() else None


def _window_text(window: Window) -> str:
    return (f"window {window.id} (block {window.block_start_time:%Y-%m-%d}.."
            f"{window.block_end_time:%Y-%m-%d}, training {window.train_start_time:%Y-%m-%d}.."
            f"{window.train_end_time:%Y-%m-%d})")


@dataclass(frozen=True, repr=False)
class PluginTask:
    """A plug-in's task inside the walk-forward: runs it and checks what it returns.

    Its ``repr`` (part of the walk-forward's configuration hash) names the target, the options
    and the SHA-256 of the target's module file, so a changed plug-in is recomputed, not
    resumed; the wrapped task's own repr need not be deterministic.
    """

    name: str
    target: str
    options: tuple[tuple[str, Any], ...]
    source_sha256: str | None
    contract: ForecastContract | None
    task: Any = field(compare=False)

    def __repr__(self) -> str:
        return (f"PluginTask(name={self.name!r}, target={self.target!r}, "
                f"options={self.options!r}, source_sha256={self.source_sha256!r})")

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        where = _window_text(window)
        try:
            out = self.task(data, window, seed)
        except Exception as exc:  # noqa: BLE001 - whatever the plug-in raises, name it
            raise PluginError(self.name, where, f"raised {type(exc).__name__}: {exc}") from exc
        _, block = split_window(data, window)
        return self._checked(out, block.index, where)

    def _fail(self, where: str, detail: str, rule: str) -> PluginError:
        return PluginError(self.name, where, detail, rule)

    def _checked(self, out: Any, index: pd.DatetimeIndex, where: str) -> pd.DataFrame:
        if not isinstance(out, pd.DataFrame):
            raise self._fail(where, f"returned a {type(out).__name__}, not a DataFrame of "
                             "forecasts", "task-output")
        if not (isinstance(out.index, pd.DatetimeIndex) and out.index.equals(index)):
            raise self._fail(where, f"forecasts must be indexed by the block's {len(index)} "
                             f"dates {index[0]:%Y-%m-%d}..{index[-1]:%Y-%m-%d}, got {len(out)} "
                             f"rows indexed by {type(out.index).__name__}", "task-index")
        if not all(isinstance(c, str) for c in out.columns) or not out.columns.is_unique:
            raise self._fail(where, f"columns must be distinct strings, got "
                             f"{list(out.columns)}", "task-columns")
        c = self.contract
        if c is None:
            return out
        missing = [k for k in c.required if k not in out.columns]
        if missing:
            raise self._fail(where, f"lacks the column(s) {missing} that the {c.family} family "
                             f"scores; required: {list(c.required)}", "task-columns")
        out = out.copy()
        for col, fill in c.optional:
            if col not in out.columns:
                out[col] = fill
        for col in c.required:
            v = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=np.float64)
            bad = np.isinf(v) if c.allow_nan else ~np.isfinite(v)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                val = out[col].iloc[i]
                shown = repr(val) if isinstance(val, str) else str(val)
                raise self._fail(where, f"column {col!r} is {shown} on {index[i]:%Y-%m-%d}",
                                 "finite")
            if col in c.positive and (v <= 0).any():
                i = int(np.flatnonzero(v <= 0)[0])
                raise self._fail(where, f"column {col!r} must be positive, is {v[i]:g} on "
                                 f"{index[i]:%Y-%m-%d}", "positive")
        # one column order in every window, whatever order the plug-in uses
        first = [*c.required, *(k for k, _ in c.optional)]
        return out[first + sorted(k for k in out.columns if k not in first)]


def _options_key(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((str(k), v) for k, v in options.items()))


def build_plugin_tasks(
    specs: Mapping[str, PluginSpec], contract: ForecastContract | None
) -> dict[str, PluginTask]:
    """Import every plug-in, call its factory and check the task can travel to the workers.

    Runs before any work, so a broken plug-in stops the campaign at once.

    Raises
    ------
    ConfigError
        Naming the model: import failure, a factory that raises or returns something not
        callable, or a task that cannot be pickled.
    """
    from validation.walkforward import _pickle_task

    out = {}
    for name, spec in specs.items():
        factory = load_target(spec)
        try:
            task = factory(**spec.options)
        except Exception as exc:  # noqa: BLE001 - the factory is the user's code
            raise ConfigError(f"model {name!r}: {spec.target}(**{spec.options!r}) raised "
                              f"{type(exc).__name__}: {exc}") from exc
        if not callable(task):
            raise ConfigError(f"model {name!r}: {spec.target} returned a "
                              f"{type(task).__name__}, not a task callable as "
                              "task(data, window, seed)")
        wrapped = PluginTask(name, spec.target, _options_key(spec.options),
                             module_sha256(spec.target), contract, task)
        try:
            _pickle_task(wrapped)
        except ConfigError as exc:
            raise ConfigError(f"model {name!r}: {exc}") from exc
        out[name] = wrapped
    return out


def plugin_record(task: PluginTask, role: str) -> dict[str, Any]:
    """What the report lists about a plug-in: target, role, options, module hash."""
    return {"target": task.target, "role": role,
            "options": ", ".join(f"{k}={v!r}" for k, v in task.options) or "none",
            "module SHA-256": task.source_sha256 or "unavailable"}

