"""Reading and checking books: every bad row gets an error naming its id, column and rule."""

from __future__ import annotations

import pandas as pd
import pytest

from hybridrisk.errors import DataValidationError
from hybridrisk.portfolio import (
    INSTRUMENTS,
    factor_map,
    read_book,
    sample_book_path,
)

ROWS = [
    {"id": "A", "instrument": "equity_index", "underlying": "SP500", "quantity": 10,
     "currency": "USD"},
    {"id": "B", "instrument": "fixed_bond", "maturity_years": 5, "coupon": 0.02,
     "quantity": 1e6, "currency": "USD", "sector": "rates"},
    {"id": "C", "instrument": "index_option", "underlying": "SP500", "strike": 2500,
     "expiry_days": 30, "call": "true", "quantity": -5, "currency": "USD"},
]


def test_sample_book_reads_and_covers_every_instrument():
    book = read_book(sample_book_path())
    assert len(book) == 15
    assert {p.instrument for p in book} == set(INSTRUMENTS)


def test_dataframe_csv_and_yaml_give_the_same_book(tmp_path):
    frame = pd.DataFrame(ROWS)
    a = read_book(frame).to_frame()
    csv = tmp_path / "book.csv"
    frame.to_csv(csv, index=False)
    b = read_book(csv).to_frame()
    yml = tmp_path / "book.yaml"
    yml.write_text("positions:\n" + "".join(
        "  - {" + ", ".join(f"{k}: {v}" for k, v in r.items()) + "}\n" for r in ROWS))
    c = read_book(yml).to_frame()
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    pd.testing.assert_frame_equal(a, c, check_dtype=False)
    assert a.loc["C", "call"] is True or a.loc["C", "call"] == True  # noqa: E712
    assert read_book(a).ids == ["A", "B", "C"]  # ids from the index


@pytest.mark.parametrize(
    "change, rule, column, row",
    [
        ({"instrument": "bond"}, "unknown-instrument", "instrument", "B"),
        ({"coupon": None}, "required", "coupon", "B"),
        ({"coupon": float("inf")}, "finite", "coupon", "B"),
        ({"maturity_years": -1}, "domain", "maturity_years", "B"),
        ({"currency": "EUR"}, "currency", "currency", "B"),
        ({"quantity": "many"}, "numeric", "quantity", "B"),
    ],
)
def test_bad_rows_are_named(change, rule, column, row):
    rows = [dict(r) for r in ROWS]
    rows[1].update(change)
    with pytest.raises(DataValidationError) as err:
        read_book(rows)
    assert (err.value.rule, err.value.column, err.value.row) == (rule, column, row)
    assert repr(row) in str(err.value)


def test_duplicate_ids_and_missing_ids():
    rows = [dict(r) for r in ROWS] + [dict(ROWS[0])]
    with pytest.raises(DataValidationError, match="rows 0 and 3") as err:
        read_book(rows)
    assert err.value.rule == "duplicate-id" and err.value.row == "A"
    rows = [dict(r) for r in ROWS]
    rows[2]["id"] = None
    with pytest.raises(DataValidationError) as err:
        read_book(rows)
    assert (err.value.rule, err.value.row) == ("required", 2)


def test_missing_market_data_names_the_position():
    rows = [dict(r) for r in ROWS]
    rows[2]["underlying"] = "NASDAQ"  # an index level, but no implied vol in the data
    book = read_book(rows)
    with pytest.raises(DataValidationError, match="implied volatility") as err:
        book.require(["SP500", "NASDAQ"], ["SP500"], ["EUR"])
    assert (err.value.rule, err.value.column, err.value.row) == ("market-data", "underlying",
                                                                  "C")
    fx = read_book([{"id": "X", "instrument": "fx_spot", "quantity": 1, "currency": "CHF"}])
    with pytest.raises(DataValidationError, match="FX rate"):
        fx.require(["SP500"], ["SP500"], ["EUR"])


def test_factor_map_marks_what_moves_each_position():
    book = read_book(ROWS)
    names = ["equity:SP500", "vol:SP500", "rate:1Y", "rate:5Y", "fx:EUR"]
    fm = factor_map(book, names)
    assert fm.loc["A"].tolist() == [True, False, False, False, False]
    assert fm.loc["B"].tolist() == [False, False, True, True, False]
    assert fm.loc["C"].tolist() == [True, True, True, True, False]
