"""CSV exports (alerts, cases, notices) neutralise every cell a spreadsheet would run as a
formula, however it is disguised."""

from __future__ import annotations

import csv
import io

import pytest

from markwatch.notices import neutralise_csv_cell, write_csv

FORMULAS = [
    "=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
    " =1+1",  # leading space
    "   =1+1",
    "\t=1+1",  # tab
    "\n=1+1",  # line break
    "\r\n@SUM(A1)",
    "\t",
    "＝HYPERLINK(\"http://evil.example\")",  # full-width equals sign
    "＋1", "－1", "＠SUM(A1)", "﹦1",  # full-width and small forms
    "\u3000=1",  # ideographic space
    "\u00a0=1",  # no-break space
    "\ufeff=1",  # a byte-order mark
    "|cmd",  # DDE
]
PLAIN = ["KESTREL trail shoes", " trail shoes", "x=1", "", "1.5", "e-mail", "100%", "日本語"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert neutralise_csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", PLAIN)
def test_plain_cells_are_left_alone(cell: str) -> None:
    assert neutralise_csv_cell(cell) == cell


def test_the_writer_neutralises_every_column() -> None:
    text = write_csv(["a", "b"], [{"a": c, "b": 7} for c in FORMULAS])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["a"] for r in rows] == ["'" + c for c in FORMULAS]
    assert {r["b"] for r in rows} == {"7"}
