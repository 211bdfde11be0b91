"""A registry file uploaded in the browser: errors name the file the admin chose (not a stream),
and an Excel workbook is taken as it is."""

from __future__ import annotations

import io
import re
from datetime import datetime

from openpyxl import Workbook

from tests.db.test_import_formats import HEADER
from tests.web.conftest import login, make_client


def test_a_web_upload_names_its_file_and_takes_a_workbook(filled, store_url, monkeypatch,
                                                          tmp_path):
    ui = make_client(store_url, monkeypatch)
    csrf = login(ui, "admin@voltaris.example")
    bad = (";".join(HEADER[1:]) + "\nGRID;V-300;IPOS;SG;99;;\n").encode()
    r = ui.post("/registry/import", data={"csrf_token": csrf, "kind": "marks"},
                files={"file": ("C:\\Users\\me\\Marken März.csv", bad, "text/csv")})
    assert r.status_code == 422
    text = re.sub(r"\s+", " ", r.text)
    assert "Marken März.csv: 1 bad row(s)" in text and "&lt;stream&gt;" not in text
    assert "line 2: column nice_classes:" in text and "C:" not in text and "me\\" not in text
    wb = Workbook()
    wb.active.append(HEADER[1:])
    wb.active.append(["VOLTA BOOK", "V-301", "IPOS", "SG", 9, datetime(2031, 3, 1), "no"])
    buf = io.BytesIO()
    wb.save(buf)
    r = ui.post("/registry/import", data={"csrf_token": csrf, "kind": "marks"},
                files={"file": ("marks.xlsx", buf.getvalue(),
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    assert r.status_code == 303 and "1+created" in r.headers["location"]
