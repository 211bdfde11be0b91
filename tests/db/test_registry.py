"""Registration from CSV: whole or nothing, bad rows named by line, re-imports update in place."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from db.models import AuthorisedSeller, Mark, Marketplace, Product, RightsHolder, Watch
from db.registry import (
    MarkRow,
    RegistryImportError,
    add_mark,
    import_marks,
    load_directory,
    read_rows,
)
from db.session import transaction
from tests.conftest import DEMO_REGISTRY


def _counts(s) -> dict[str, int]:
    return {
        cls.__name__: s.scalar(sa.select(sa.func.count()).select_from(cls))
        for cls in (RightsHolder, Marketplace, Mark, Product, AuthorisedSeller, Watch)
    }


def test_demo_registry_loads_and_reimport_never_duplicates(sessions):
    with transaction(sessions) as s:
        first = load_directory(s, DEMO_REGISTRY)
    assert first["marks.csv"].created == 5
    with transaction(sessions) as s:
        counts = _counts(s)
        second = load_directory(s, DEMO_REGISTRY)
    assert all(r.created == 0 and r.updated == 0 for r in second.values())
    with transaction(sessions) as s:
        assert _counts(s) == counts
        molang = s.scalar(sa.select(Mark).filter_by(registration_number="41234567"))
        assert molang.word_mark == "墨朗"
        assert molang.aliases == ["MOLANG", "Mo Lang"]
        assert molang.nice_classes == [3]


HEADER = "rights_holder,mark,aliases,registration_number,office,jurisdictions,nice_classes\n"


def _load_holders(sessions):
    with transaction(sessions) as s:
        load_directory(s, DEMO_REGISTRY)


def test_reimport_updates_in_place(sessions):
    _load_holders(sessions)
    csv_text = HEADER + "voltaris,VOLTARIS,沃塔瑞斯|VOLTA,40201912345Q,IPOS,SG,9|11\n"
    with transaction(sessions) as s:
        result = import_marks(s, io.StringIO(csv_text))
    assert (result.created, result.updated) == (0, 1)
    with transaction(sessions) as s:
        mark = s.scalar(sa.select(Mark).filter_by(registration_number="40201912345Q"))
        assert mark.aliases == ["沃塔瑞斯", "VOLTA"]
        assert mark.nice_classes == [9, 11]
        assert s.scalar(sa.select(sa.func.count()).select_from(Mark)) == 5


def test_bad_rows_are_reported_by_line_and_nothing_is_written(sessions):
    _load_holders(sessions)
    csv_text = (
        HEADER
        + "voltaris,NEWMARK,,R-1,IPOS,SG,9\n"  # line 2: fine
        + "voltaris,BADCLASS,,R-2,IPOS,SG,46\n"  # line 3: class out of range
        + "nobody,GHOST,,R-3,IPOS,SG,9\n"  # line 4: unknown holder
        + "voltaris,,,R-4,IPOS,SG,9\n"  # line 5: empty mark
    )
    with pytest.raises(RegistryImportError) as err, transaction(sessions) as s:
        import_marks(s, io.StringIO(csv_text))
    lines = sorted(line for line, _ in err.value.errors)
    assert lines == [3, 4, 5]
    assert "line 3" in str(err.value) and "45" in str(err.value)
    with transaction(sessions) as s:
        assert s.scalar(sa.select(Mark).filter_by(word_mark="NEWMARK")) is None


def test_missing_column_and_broken_files(tmp_path):
    with pytest.raises(RegistryImportError, match="missing column"):
        read_rows(io.StringIO("mark,office\nX,EUIPO\n"), MarkRow)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(HEADER.encode() + "voltaris,CAF\xc9,,1,IPOS,SG,9\n".encode("latin-1"))
    with pytest.raises(RegistryImportError, match="not UTF-8"):
        read_rows(bad, MarkRow)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(HEADER.encode() + b"a,b\x00,c\n")
    with pytest.raises(RegistryImportError, match="NUL"):
        read_rows(nul, MarkRow)
    with pytest.raises(RegistryImportError, match="file not found"):
        read_rows(tmp_path / "missing.csv", MarkRow)
    with pytest.raises(RegistryImportError, match="more fields"):
        read_rows(io.StringIO(HEADER + "voltaris,X,,1,IPOS,SG,9,extra,extra\n"), MarkRow)


def test_bom_and_odd_unicode_survive(sessions):
    _load_holders(sessions)
    text = "\ufeff" + HEADER + "voltaris,ＶＯＬＴ\u200bA,ヴォルタ,R-9,JPO,JP,9\n"
    with transaction(sessions) as s:
        import_marks(s, io.StringIO(text.removeprefix("\ufeff")))
        mark = s.scalar(sa.select(Mark).filter_by(registration_number="R-9"))
        assert mark.word_mark == "ＶＯＬＴ\u200bA"  # stored as registered; the matcher normalises


def test_add_mark_validates_like_a_row(sessions):
    _load_holders(sessions)
    with pytest.raises(RegistryImportError, match="Nice"), transaction(sessions) as s:
        add_mark(s, rights_holder="voltaris", mark="X", registration_number="1", office="IPOS",
                 nice_classes="0")
    with transaction(sessions) as s:
        res = add_mark(s, rights_holder="voltaris", mark="VOLTX", registration_number="2",
                       office="IPOS", nice_classes="9")
    assert res.created == 1
