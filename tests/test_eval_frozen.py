"""``fixtures/eval`` is frozen: its rows were written while the matcher's rules were tuned, so
editing them would tune the measure to the matcher. New labelled rows go into a new file."""

from __future__ import annotations

import hashlib

from tests.conftest import REPO

EVAL = REPO / "fixtures" / "eval"
FROZEN = {
    "listings.tsv": "1367c5b54a889983c6a3e6d6ddeef7afa8e997ab66eb050836a380081c44a085",
    "marks.csv": "0857a4c34961af16a103e117289e253fa3d75138ba81341c79830e20824f1df9",
    "products.csv": "a4023f66daa2bd8ec3688e3c6bf4987659733aab3ee7ce244b9a56343b123eba",
    "sellers.csv": "3a5c0062346272374df283a168486212f968a730fb8e41b57c11c916c3d539db",
}
HOW = (
    "fixtures/eval is frozen: do not edit, reorder or relabel its rows (that tunes the measure "
    "to the matcher). Put new rows in a new file beside them and add that file's SHA-256 to "
    "FROZEN in tests/test_eval_frozen.py once its rows are final."
)


def test_every_eval_file_is_unchanged():
    changed = {
        name: digest
        for name, digest in FROZEN.items()
        if not (EVAL / name).is_file()
        or hashlib.sha256((EVAL / name).read_bytes()).hexdigest() != digest
    }
    assert not changed, f"{sorted(changed)} changed or missing. {HOW}"


def test_every_eval_file_is_frozen():
    files = {p.relative_to(EVAL).as_posix() for p in EVAL.rglob("*") if p.is_file()}
    unfrozen = sorted(files - set(FROZEN))
    assert not unfrozen, f"{unfrozen} not frozen yet. {HOW}"
