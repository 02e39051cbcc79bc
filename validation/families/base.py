"""The interface a model family implements for the champion-challenger harness."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError

__all__ = ["Family", "FamilyScores", "ForecastContract", "check_row", "common_index",
           "data_integrity_row", "one_thread"]


def common_index(forecasts: Mapping[str, pd.DataFrame]) -> pd.Index:
    """The out-of-sample days every model forecast; a model with other days is a config
    error naming it."""
    names = list(forecasts)
    index = forecasts[names[0]].index
    for n in names[1:]:
        if not forecasts[n].index.equals(index):
            raise ConfigError(f"model {n!r} forecasts other days than {names[0]!r}")
    return index


def data_integrity_row() -> dict[str, Any]:
    """The reference-check row "bundled data files unchanged" (SHA256SUMS); a failed
    verification is reported as a failed check, not raised."""
    from hybridrisk import datasets

    try:
        datasets.verify()
        ok = True
    except Exception:  # noqa: BLE001 - reported as a failed check, not raised
        ok = False
    return {"check": "bundled data files unchanged", "reference": "SHA256SUMS",
            "value": float(ok), "reference value": 1.0, "tolerance": 0.0, "passed": ok}


@contextmanager
def one_thread() -> Iterator[None]:
    """Many small fits run fastest on one torch thread; the caller's setting is restored."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_row(check: str, reference: str, value: float, ref: float, tol: float) -> dict:
    """One reference check: passed when ``|value - ref| <= tol * max(1, |ref|)``."""
    ok = bool(abs(value - ref) <= tol * max(1.0, abs(ref)))
    return {"check": check, "reference": reference, "value": value, "reference value": ref,
            "tolerance": tol, "passed": ok}


@dataclass
class FamilyScores:
    """Everything a family computes from the out-of-sample forecasts.

    ``tables`` are the numbers (each also written as CSV and Parquet), shown in the report
    section named by ``placement`` (``"outcomes"``, ``"benchmarking"`` — the default — or
    ``"sensitivity"``) with the caption in ``captions`` and column formats in ``formats``;
    ``headline`` names the table a reader sees first. ``figures`` are callables returning
    matplotlib figures (shown under benchmarking). ``verdicts`` are ``(level, text)`` or
    ``(level, text, section)`` tuples, e.g. ``("pass", "VaR 99%: Kupiec p=0.41", "outcomes")``.
    A table placed in ``"appendix"`` goes to the report's appendix (long tables).

    ``comparisons`` states the champion-challenger evidence in the common form of
    :func:`validation.evidence.comparisons_table` (one row per challenger, champion and horizon
    on the primary loss, with raw and Holm-adjusted DM p-values and the MCS); the report's
    executive summary and findings register are computed from it, the ``var_backtests`` table
    (when the family has VaR) and the reference checks. ``None``: the family states none, and
    the summary falls back on its ``verdicts``.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    headline: str = ""
    captions: dict[str, str] = field(default_factory=dict)
    placement: dict[str, str] = field(default_factory=dict)
    formats: dict[str, dict[str, str]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    verdicts: list[tuple[str, ...]] = field(default_factory=list)
    comparisons: pd.DataFrame | None = None


@dataclass(frozen=True)
class ForecastContract:
    """The forecast columns a family scores: what a plug-in task must return.

    Attributes
    ----------
    family
        The family's name (for messages).
    required
        Columns every window must return.
    optional
        ``(column, fill value)`` pairs: added with the fill value when a task leaves them out.
    allow_nan
        Whether required columns may hold NaN (a curve forecast for an unpublished tenor);
        infinities are never allowed.
    positive
        Columns that must be strictly positive (a variance).
    """

    family: str
    required: tuple[str, ...]
    optional: tuple[tuple[str, float], ...] = ()
    allow_nan: bool = False
    positive: tuple[str, ...] = ()


class Family(abc.ABC):
    """A model family: datasets, models, scoring and report sections.

    Besides the abstract methods, a family inherits the generic handling of the user's own
    data (:meth:`from_user_data`) and models (:meth:`forecast_contract`, :meth:`split_roles`);
    it overrides them only where its data or forecasts need more (unit conversion, required
    forecast columns).
    """

    name: str
    #: dataset name -> one-line description
    datasets: dict[str, str]
    #: model kinds a config may name (``models: {NAME: {kind: ..., ...}}``)
    kinds: tuple[str, ...]
    #: units the user's data may be stated in (``--units``); empty: taken as they are
    units: ClassVar[tuple[str, ...]] = ()
    #: whether the family's models handle missing cells (NaN) in the data themselves
    allow_missing: ClassVar[bool] = True

    @abc.abstractmethod
    def load(self, dataset: str) -> pd.DataFrame:
        """The campaign data: a DataFrame with a DatetimeIndex, target first."""

    @abc.abstractmethod
    def tasks(self, models: dict[str, dict[str, Any]], *, quick: bool) -> dict[str, Any]:
        """Model name -> picklable walk-forward task; ``models`` empty means the defaults."""

    @abc.abstractmethod
    def roles(self, names: list[str]) -> tuple[list[str], list[str]]:
        """Split model names into (champions, challengers)."""

    @abc.abstractmethod
    def score(
        self, forecasts: dict[str, pd.DataFrame], data: pd.DataFrame, *, seed: int
    ) -> FamilyScores:
        """Score the out-of-sample forecasts of every model on the same days."""

    @abc.abstractmethod
    def verify(self, data: pd.DataFrame, *, quick: bool) -> pd.DataFrame:
        """Live reference checks for the report's process-verification section.

        One row per check with columns ``check``, ``reference``, ``value``,
        ``reference value``, ``tolerance`` (relative) and ``passed``.
        """

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Scope, equations, constraints and limitations for the report."""

    # ---------------------------------------------------------- the user's own data
    def from_user_data(
        self, frame: pd.DataFrame | pd.Series, *, column: str | Sequence[str] | None = None,
        units: str | None = None,
    ) -> pd.DataFrame:
        """The user's data in the family's layout, validated; the frame is not modified.

        The default takes the named columns (all of them for ``column=None``) as they are and
        runs them through :func:`hybridrisk.checks.check_timeseries`: a DatetimeIndex,
        increasing and without duplicates, numbers only, no infinities, and NaN only where
        :attr:`allow_missing` (never a date on which every column is missing). Families whose
        data need a conversion (prices to returns) override it.

        Parameters
        ----------
        frame : pandas.DataFrame or pandas.Series
            With the dates on its index (:func:`validation.userdata.set_date_index`).
        column : str or sequence of str, optional
            The column(s) to use.
        units : str, optional
            One of :attr:`units`; families without units refuse any.

        Returns
        -------
        pandas.DataFrame
            A float64 copy with a DatetimeIndex.

        Raises
        ------
        DataValidationError
            Naming the column, the first bad row and the rule.
        ConfigError
            Units the family does not know.
        """
        from validation.userdata import select_columns

        if units is not None and units not in self.units:
            raise ConfigError(
                f"units={units!r}: the {self.name} family takes its data as they are"
                if not self.units else f"units must be one of {self.units}, got {units!r}")
        data = check_timeseries(select_columns(frame, column), name="data",
                                allow_nan=self.allow_missing)
        empty = data.isna().all(axis=1).to_numpy()
        if empty.any():
            label = data.index[int(np.flatnonzero(empty)[0])]
            raise DataValidationError(
                "finite", "no column has a value on this date: drop the row (a holiday?)",
                row=label.isoformat())
        return data

    # -------------------------------------------------------- the user's own models
    def forecast_contract(self, data: pd.DataFrame) -> ForecastContract | None:
        """The forecast columns a plug-in task must return on ``data``; ``None``: unchecked.

        Families override it so that a plug-in with wrong or missing columns stops in its
        first window with a message naming the model, instead of failing in the scoring.
        """
        return None

    def set_plugin_roles(self, roles: Mapping[str, str]) -> None:
        """Record the role (``"champion"`` or ``"challenger"``) of each plug-in model.

        The harness calls it at the start of every campaign (with ``{}`` when there is none),
        so roles of an earlier campaign never leak into the next.
        """
        self._plugin_roles = dict(roles)

    @property
    def plugin_roles(self) -> dict[str, str]:
        """Plug-in model name -> role, as configured for the current campaign."""
        return dict(getattr(self, "_plugin_roles", {}))

    def split_roles(self, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """(champions, challengers): plug-ins by their configured role, others by :meth:`roles`.

        Both lists keep the order of ``names``.
        """
        plug = getattr(self, "_plugin_roles", {})
        native = [n for n in names if n not in plug]
        champs, challs = self.roles(native) if native else ([], [])
        champions = set(champs) | {n for n in names if plug.get(n) == "champion"}
        challengers = set(challs) | {n for n in names if plug.get(n) == "challenger"}
        return ([n for n in names if n in champions], [n for n in names if n in challengers])
