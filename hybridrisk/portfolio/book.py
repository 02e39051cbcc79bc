"""Positions and the book: read from a DataFrame, a CSV or a YAML file, checked row by row.

A position is one row: ``id``, ``instrument`` (a key of :data:`INSTRUMENTS`), ``quantity``,
``currency``, optional ``sector`` and ``liquidity_days``, and the fields its instrument needs.
Quantities are in units of the instrument: index units for ``equity_index``, units of foreign
currency for ``fx_spot``, notional (face) for bonds, swaps and swaptions, and options on one
index unit for ``index_option``. Every value is in the book's base currency, USD.

Errors name the row (the position's id where it has one, else the row number), the column and
the rule: an unknown instrument, a missing or non-finite field, a duplicate id, a currency that
is not the instrument's, and (in :meth:`Book.require`) market data the book needs but does not
have.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hybridrisk.errors import DataValidationError

__all__ = ["INSTRUMENTS", "Position", "Book", "read_book"]

#: instrument -> (required fields, optional fields with their defaults)
INSTRUMENTS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "equity_index": (("underlying",), {}),
    "fx_spot": ((), {}),
    "zero_bond": (("maturity_years",), {}),
    "fixed_bond": (("maturity_years", "coupon"), {"frequency": 2}),
    "swap": (("maturity_years", "fixed_rate", "payer"), {}),
    "index_option": (("underlying", "strike", "expiry_days", "call"), {"dividend_yield": 0.0}),
    "swaption": (("expiry_years", "tenor_years", "strike", "vol", "payer"),
                 {"model": "normal", "shift": 0.0}),
}
_BOOLEAN = {"payer", "call"}
_TEXT = {"underlying", "model"}
#: field -> (test, rule) for the numeric fields that have a domain
_DOMAIN = {
    "maturity_years": (lambda v: v > 0, "maturity_years > 0"),
    "expiry_years": (lambda v: v > 0, "expiry_years > 0"),
    "tenor_years": (lambda v: v >= 1 and float(v).is_integer(), "whole tenor_years >= 1"),
    "strike": (lambda v: True, ""),
    "expiry_days": (lambda v: v >= 1 and float(v).is_integer(), "whole expiry_days >= 1"),
    "vol": (lambda v: v > 0, "vol > 0"),
    "frequency": (lambda v: v in (1, 2, 4, 12), "frequency in (1, 2, 4, 12)"),
    "shift": (lambda v: v >= 0, "shift >= 0"),
    "liquidity_days": (lambda v: v >= 1, "liquidity_days >= 1"),
}
_MODELS = ("normal", "black")
BASE_CURRENCY = "USD"


@dataclass(frozen=True)
class Position:
    """One position of a book (see the module docstring for the fields)."""

    id: str
    instrument: str
    quantity: float
    currency: str
    sector: str = ""
    liquidity_days: float = 1.0
    terms: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.terms[name]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_bool(value: Any, column: str, row: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "1.0"):
        return True
    if text in ("false", "0", "no", "0.0"):
        return False
    raise DataValidationError("boolean", f"{value!r} is not true/false", column=column, row=row)


def _as_number(value: Any, column: str, row: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataValidationError("numeric", f"{value!r} is not a number", column=column,
                                  row=row) from None
    if not math.isfinite(x):
        raise DataValidationError("finite", f"{value!r} must be finite", column=column, row=row)
    if column in _DOMAIN:
        test, rule = _DOMAIN[column]
        if not test(x):
            raise DataValidationError("domain", f"{x!r} violates {rule}", column=column, row=row)
    return x


def _position(raw: Mapping[str, Any], number: int) -> Position:
    ident = raw.get("id")
    row: Any = number if _missing(ident) or str(ident).strip() == "" else str(ident)
    if not isinstance(row, str):
        raise DataValidationError("required", "every position needs an id", column="id", row=row)
    kind = raw.get("instrument")
    if _missing(kind) or str(kind) not in INSTRUMENTS:
        raise DataValidationError(
            "unknown-instrument",
            f"instrument {kind!r} is not one of {sorted(INSTRUMENTS)}", column="instrument",
            row=row,
        )
    kind = str(kind)
    for col in ("quantity", "currency"):
        if _missing(raw.get(col)):
            raise DataValidationError("required", f"{kind} needs {col}", column=col, row=row)
    quantity = _as_number(raw["quantity"], "quantity", row)
    currency = str(raw["currency"]).strip().upper()
    if kind != "fx_spot" and currency != BASE_CURRENCY:
        raise DataValidationError(
            "currency", f"{kind} positions are priced off USD market data; currency must be "
            f"USD, got {currency!r}", column="currency", row=row)
    if kind == "fx_spot" and currency == BASE_CURRENCY:
        raise DataValidationError("currency", "an fx_spot position holds a foreign currency, "
                                  "not the base currency USD", column="currency", row=row)
    required, optional = INSTRUMENTS[kind]
    terms: dict[str, Any] = {}
    for name in (*required, *optional):
        value = raw.get(name)
        if _missing(value):
            if name in required:
                raise DataValidationError("required", f"{kind} needs {name}", column=name,
                                          row=row)
            value = optional[name]
        if name in _BOOLEAN:
            terms[name] = _as_bool(value, name, row)
        elif name in _TEXT:
            terms[name] = str(value).strip().upper() if name == "underlying" else str(value)
        else:
            terms[name] = _as_number(value, name, row)
    if kind == "index_option" and terms["strike"] <= 0:
        raise DataValidationError("domain", "strike > 0 for an index option", column="strike",
                                  row=row)
    if kind == "swaption":
        if terms["model"] not in _MODELS:
            raise DataValidationError("domain", f"model must be one of {_MODELS}",
                                      column="model", row=row)
        if terms["model"] == "black" and terms["strike"] + terms["shift"] <= 0:
            raise DataValidationError("domain", "strike + shift > 0 for shifted Black",
                                      column="strike", row=row)
    liq = raw.get("liquidity_days")
    return Position(
        id=row, instrument=kind, quantity=quantity, currency=currency,
        sector="" if _missing(raw.get("sector")) else str(raw["sector"]),
        liquidity_days=1.0 if _missing(liq) else _as_number(liq, "liquidity_days", row),
        terms=terms,
    )


class Book:
    """A validated, ordered collection of positions.

    Parameters
    ----------
    rows
        Mappings of field name to value, one per position (see the module docstring).

    Raises
    ------
    DataValidationError
        For the first bad row, naming it, the column and the rule.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        positions = [_position(r, i) for i, r in enumerate(rows)]
        if not positions:
            raise DataValidationError("min-obs", "the book has no positions")
        seen: dict[str, int] = {}
        for i, p in enumerate(positions):
            if p.id in seen:
                raise DataValidationError(
                    "duplicate-id", f"id {p.id!r} appears in rows {seen[p.id]} and {i}",
                    column="id", row=p.id)
            seen[p.id] = i
        self.positions: tuple[Position, ...] = tuple(positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __iter__(self) -> Iterator[Position]:
        return iter(self.positions)

    @property
    def ids(self) -> list[str]:
        """Position ids in book order."""
        return [p.id for p in self.positions]

    def of(self, instrument: str) -> list[tuple[int, Position]]:
        """(book index, position) for every position of one instrument type."""
        return [(i, p) for i, p in enumerate(self.positions) if p.instrument == instrument]

    def require(self, equities: Iterable[str], implied_vols: Iterable[str],
                currencies: Iterable[str]) -> None:
        """Check that the market has the data every position needs.

        Raises
        ------
        DataValidationError
            Rule ``market-data``, naming the position and the missing item.
        """
        eq, iv, fx = set(equities), set(implied_vols), set(currencies)
        for p in self.positions:
            need: tuple[str, set[str], str] | None = None
            if p.instrument == "equity_index":
                need = (p["underlying"], eq, "an index level")
            elif p.instrument == "index_option":
                if p["underlying"] not in eq:
                    need = (p["underlying"], eq, "an index level")
                else:
                    need = (p["underlying"], iv, "an implied volatility")
            elif p.instrument == "fx_spot":
                need = (p.currency, fx, "an FX rate")
            if need is not None and need[0] not in need[1]:
                col = "currency" if p.instrument == "fx_spot" else "underlying"
                raise DataValidationError(
                    "market-data", f"no {need[2]} for {need[0]!r} in the market data; "
                    f"available: {sorted(need[1])}", column=col, row=p.id)

    def to_frame(self) -> pd.DataFrame:
        """The book as a DataFrame indexed by id, one column per field."""
        rows = [{"id": p.id, "instrument": p.instrument, "quantity": p.quantity,
                 "currency": p.currency, "sector": p.sector,
                 "liquidity_days": p.liquidity_days, **p.terms} for p in self.positions]
        return pd.DataFrame(rows).set_index("id")


def read_book(source: pd.DataFrame | str | Path | Iterable[Mapping[str, Any]]) -> Book:
    """Read a book from a DataFrame, a ``.csv`` or ``.yaml``/``.yml`` file, or row mappings.

    A YAML file holds either a list of positions or a mapping with a ``positions`` list.
    A DataFrame may carry the ids in a column ``id`` or in an index named ``id``.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index() if source.index.name == "id" else source
        return Book(frame.to_dict("records"))
    if isinstance(source, str | Path):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return read_book(pd.read_csv(path, dtype={"id": str}))
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(path.read_text())
            rows = data.get("positions") if isinstance(data, dict) else data
            if not isinstance(rows, list):
                raise DataValidationError("format", f"{path} holds no list of positions")
            return Book(rows)
        raise DataValidationError("format", f"cannot read a book from {path.name!r}: "
                                  "expected .csv, .yaml or .yml")
    return Book(source)
