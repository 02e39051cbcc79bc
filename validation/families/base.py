"""The interface a model family implements for the champion-challenger harness."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Family", "FamilyScores", "check_row"]


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
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    headline: str = ""
    captions: dict[str, str] = field(default_factory=dict)
    placement: dict[str, str] = field(default_factory=dict)
    formats: dict[str, dict[str, str]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    verdicts: list[tuple[str, ...]] = field(default_factory=list)


class Family(abc.ABC):
    """A model family: datasets, models, scoring and report sections."""

    name: str
    #: dataset name -> one-line description
    datasets: dict[str, str]
    #: model kinds a config may name (``models: {NAME: {kind: ..., ...}}``)
    kinds: tuple[str, ...]

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
