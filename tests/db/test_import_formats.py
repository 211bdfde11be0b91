"""Registry files as people make them: semicolon CSV from a European Excel, Excel's dates and
lists, the .xlsx workbook itself, and messages that name the file, the line, the column and the
expected format. Before: a semicolon CSV reported missing columns, ``25;28`` and ``14.05.2031``
gave pydantic jargon, an .xlsx was "not UTF-8 text", and a web upload's errors named
``<stream>``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from db.models import Mark
from db.registry import RegistryImportError, import_marks, load_directory
from db.session import transaction
from db.tables import delimiter_of, parse_date, table_text
from tests.conftest import DEMO_REGISTRY

HEADER = ["rights_holder", "mark", "registration_number", "office", "jurisdictions",
          "nice_classes", "expires_on", "famous"]


def _marks(sessions) -> dict[str, Mark]:
    with sessions() as s:
        return {m.registration_number: m for m in s.scalars(sa.select(Mark))}


def test_a_semicolon_csv_with_excel_dates_and_lists_imports(sessions, tmp_path):
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
    f = tmp_path / "Marken.csv"
    f.write_text(";".join(HEADER) + "\n"
                 "voltaris;VOLTA GRID;V-100;IPOS;SG;9;14.05.2031;ja\n"
                 'voltaris;VOLTA CELL;V-101;IPOS;"SG,MY";"9,11";2031-06-01;no\n',
                 encoding="utf-8-sig")
    with transaction(sessions) as s:
        res = import_marks(s, f)
    assert str(res).startswith("2 created")
    got = _marks(sessions)
    assert (got["V-100"].expires_on, got["V-100"].famous, got["V-100"].nice_classes) == \
        (date(2031, 5, 14), True, [9])
    assert (got["V-101"].jurisdictions, got["V-101"].nice_classes) == (["SG", "MY"], [9, 11])
    # "25;28" inside a comma CSV is a list too
    g = tmp_path / "marks.csv"
    g.write_text(",".join(HEADER) + "\nvoltaris,VOLTA ARC,V-102,IPOS,SG;CN,9;11,,\n",
                 encoding="utf-8")
    with transaction(sessions) as s:
        import_marks(s, g)
    assert _marks(sessions)["V-102"].nice_classes == [9, 11]


def test_an_xlsx_workbook_imports(sessions, tmp_path):
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["voltaris", "VOLTA XL", "V-200", "IPOS", "SG|JP", 9, datetime(2030, 1, 31), "no"])
    ws.append(["voltaris", "VOLTA NOTE", "V-201", "IPOS", "SG", "9;11", "01.02.2030",
               "line one\nline two"])
    path = tmp_path / "marks.xlsx"
    wb.save(path)
    with pytest.raises(RegistryImportError) as bad, transaction(sessions) as s:
        import_marks(s, path)
    # line 3 of the sheet is line 3 of the error: the multi-line cell did not shift it
    assert bad.value.errors == [(3, "column famous: expected yes or no, got 'line one line two'")]
    ws["H3"] = "yes"
    wb.save(path)
    with transaction(sessions) as s:
        assert str(import_marks(s, path)).startswith("2 created")
    got = _marks(sessions)
    assert got["V-200"].expires_on == date(2030, 1, 31) and got["V-200"].nice_classes == [9]
    assert got["V-201"].nice_classes == [9, 11] and got["V-201"].expires_on == date(2030, 2, 1)


@pytest.mark.parametrize(("cell", "message"), [
    ("05/06/2031", "column expires_on: expected a date as 2031-05-14 or 14.05.2031, got "
                   "'05/06/2031' ('05/06/2031' could be day/month or month/day: write it as "
                   "YYYY-MM-DD)"),
    ("31.02.2031", "column expires_on: expected a date as 2031-05-14 or 14.05.2031, got "
                   "'31.02.2031' ('31.02.2031' is not a date of the calendar)"),
    ("next year", "column expires_on: expected a date as 2031-05-14 or 14.05.2031, got "
                  "'next year'"),
])
def test_bad_cells_say_the_line_the_column_and_the_format(sessions, tmp_path, cell, message):
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
    f = tmp_path / "marks.csv"
    f.write_text(";".join(HEADER) + f"\nvoltaris;OK;V-1;IPOS;SG;9;;\nvoltaris;BAD;V-2;IPOS;SG;x;{cell};\n",
                 encoding="utf-8")
    with pytest.raises(RegistryImportError) as exc, transaction(sessions) as s:
        import_marks(s, f)
    assert exc.value.source == str(f)
    assert exc.value.errors == [(3, "column nice_classes: expected Nice classes 1 to 45, "
                                    "separated by | or ; (e.g. 25|28), got 'x'; " + message)]
    assert "Input should be" not in str(exc.value)


def test_files_that_are_no_table_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match=r"Excel 97-2003 workbook \(\.xls\): save it as \.xlsx"):
        table_text(b"\xd0\xcf\x11\xe0 old excel", "marks.xls")
    with pytest.raises(ValueError, match=r"not UTF-8 text .* save it as 'CSV UTF-8' or as \.xlsx"):
        table_text("rights_holder;mark\nvoltaris;Müller".encode("cp1252"), "marks.csv")
    with pytest.raises(ValueError, match="not a readable Excel workbook"):
        table_text(b"PK\x03\x04 not really a zip", "marks.xlsx")
    assert delimiter_of("a;b;c") == ";" and delimiter_of("a\tb") == "\t"
    assert delimiter_of('"a;b",c') == ","  # a quoted delimiter does not count
    assert parse_date("2031/05/14") == date(2031, 5, 14) and parse_date("") is None


def test_expired_marks_are_imported_with_a_warning(sessions, tmp_path):
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)
    f = tmp_path / "marks.csv"
    f.write_text(",".join(HEADER) + ",status\n"
                 "voltaris,OLD VOLTA,V-9,IPOS,SG,9,01.01.2020,,\n"
                 "voltaris,GONE VOLTA,V-10,IPOS,SG,9,,,cancelled\n", encoding="utf-8")
    with transaction(sessions) as s:
        res = import_marks(s, f)
    assert res.warnings == [
        "line 2: OLD VOLTA expired on 2020-01-01: renew it or record the renewal; until then no "
        "notice can rest on it",
        "line 3: GONE VOLTA is cancelled: it is kept for the record, and no notice can rest on it"]
    assert "OLD VOLTA expired on 2020-01-01" in str(res)


def test_the_demo_registry_still_loads_as_it_is():
    assert (DEMO_REGISTRY / "marks.csv").exists()
    text = table_text((DEMO_REGISTRY / "marks.csv").read_bytes(), "marks.csv")
    assert text == Path(DEMO_REGISTRY / "marks.csv").read_text(encoding="utf-8-sig")
