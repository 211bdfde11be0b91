"""Registry files as people make them, read into the one form the importers take.

An admin exports the registry from Excel: a CSV separated by semicolons in much of Europe (where
the comma is the decimal mark), by tabs or bars elsewhere, or the workbook itself (.xlsx). Every
one of them becomes comma-separated UTF-8 text, line for line, so the importers and their line
numbers stay the same. openpyxl reads the workbooks; the csv module's sniffer would guess a
delimiter from any character of the sample, so the header line is weighed here instead.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from typing import Any

#: delimiters a registry CSV may use, in the order a tie is broken
DELIMITERS = (",", ";", "\t", "|")
XLSX_MAGIC = b"PK\x03\x04"
MAX_CELLS = 2_000_000  # a workbook larger than this is refused unread


class TableError(ValueError):
    """The file cannot be read as a table at all: (line, message)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def delimiter_of(header: str) -> str:
    """The delimiter that splits the header line into the most columns (outside quotes)."""
    best, most = ",", 1
    for d in DELIMITERS:
        try:
            n = len(next(csv.reader([header], delimiter=d)))
        except (csv.Error, StopIteration):
            continue
        if n > most:
            best, most = d, n
    return best


def as_comma_csv(text: str) -> str:
    """CSV text with any accepted delimiter, as comma-separated text (line numbers kept)."""
    first = text.split("\n", 1)[0]
    d = delimiter_of(first)
    if d == ",":
        return text
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=d):
        w.writerow(row)
    return out.getvalue()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def xlsx_as_csv(data: bytes) -> str:
    """The first sheet of a workbook as comma-separated text, one line per sheet row."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken zip, not a workbook, an encrypted file
        raise TableError(0, f"not a readable Excel workbook ({type(exc).__name__}); save it "
                         "again as .xlsx or as CSV UTF-8") from None
    try:
        ws = wb.worksheets[0]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        cells = 0
        for row in ws.iter_rows(values_only=True):
            cells += len(row)
            if cells > MAX_CELLS:
                raise TableError(0, f"the workbook has more than {MAX_CELLS} cells; split it")
            values = [_cell(v) for v in row]
            while values and values[-1] == "":
                values.pop()
            # a value spanning lines would shift every later line number: one line per row
            w.writerow([re.sub(r"\s*[\r\n]+\s*", " ", v) for v in values])
        return out.getvalue()
    finally:
        wb.close()


def table_text(data: bytes, name: str) -> str:
    """A registry file's bytes (CSV with , ; tab or |, or an .xlsx workbook) as comma-separated
    text. Raises TableError with what to do instead."""
    lower = name.lower()
    if data.startswith(XLSX_MAGIC) or lower.endswith((".xlsx", ".xlsm")):
        return xlsx_as_csv(data)
    if lower.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError(0, "an Excel 97-2003 workbook (.xls): save it as .xlsx or as CSV UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(0, f"not UTF-8 text ({exc.reason} at byte {exc.start}): in Excel, save "
                         "it as 'CSV UTF-8' or as .xlsx") from None
    if "\x00" in text:
        raise TableError(0, "file contains NUL bytes; not a CSV text file")
    return as_comma_csv(text)


# --- the formats people write values in --------------------------------------------------------

_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_date(v: Any) -> Any:
    """2031-05-14, 14.05.2031 (as Excel writes it in Germany), 2031/05/14, or 14/05/2031 when
    the day tells (over 12). Anything else is left for the model to refuse."""
    if not isinstance(v, str):
        return v
    s = v.strip()
    if not s:
        return None
    if re.match(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}$", s):
        y, mo, d = (int(x) for x in re.split(r"[-/]", s))
        return _date(y, mo, d, v)
    if dotted := _DOTTED.match(s):
        return _date(int(dotted[3]), int(dotted[2]), int(dotted[1]), v)
    if slashed := _SLASHED.match(s):
        a, b, y = int(slashed[1]), int(slashed[2]), int(slashed[3])
        if a > 12 >= b:
            return _date(y, b, a, v)
        if b > 12 >= a:
            return _date(y, a, b, v)
        raise ValueError(f"{v!r} could be day/month or month/day: write it as YYYY-MM-DD")
    return v


def _date(y: int, m: int, d: int, raw: str) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date of the calendar") from None


#: what each column expects, said the way the person filling the file needs it
FORMATS = {
    "nice_classes": "Nice classes 1 to 45, separated by | or ; (e.g. 25|28)",
    "jurisdictions": "country codes separated by | or ; (e.g. EU|GB|CN)",
    "countries": "two-letter country codes separated by | or ; (e.g. GB|DE)",
    "aliases": "other forms of the mark separated by | or ;",
    "expires_on": "a date as 2031-05-14 or 14.05.2031",
    "famous": "yes or no",
    "status": "one of registered, pending, expired, cancelled",
    "country": "a two-letter country code (e.g. GB)",
    "currency": "a three-letter currency code (e.g. EUR)",
    "retail_price": "a number such as 129.90",
    "schedule_minutes": "whole minutes from 5 to 44640",
    "model_numbers": "model numbers separated by | or ;",
    "terms": "search terms separated by | or ;",
    "base_url": "an http(s) address such as https://shop.example",
    "code": "lower-case letters, digits and _",
    "slug": "lower-case letters, digits and -",
}


def plain_error(column: str, value: Any, pydantic_msg: str) -> str:
    """One cell's problem: the column, what it expects, what it got."""
    shown = "" if value is None else str(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    expected = FORMATS.get(column)
    why = pydantic_msg.removeprefix("Value error, ")
    if expected is None:
        return f"column {column}: {why} (got {shown!r})"
    detail = f" ({why})" if "could be day/month" in why or "calendar" in why or "from 1" in why \
        else ""
    return f"column {column}: expected {expected}, got {shown!r}{detail}"
