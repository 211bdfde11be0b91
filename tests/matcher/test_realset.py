"""The real-titles set: a split fixed once, a calibration fitted on its dev part only, and the
matcher's targets on its held part (the figures ``make eval`` prints)."""

from __future__ import annotations

import hashlib
import io
from collections import Counter

import pytest

from matcher import realset

# The digest of the held rows' ids: the split must never move (a new split would let rules tuned
# on today's dev rows be reported on them).
HELD_DIGEST = "2fab478780b939931a827b6516942059ae1e9a3e2e7ad60c1123c7fe8c72b97c"


@pytest.fixture(scope="module")
def rows():
    path = realset.default_path()
    if not path.exists():
        pytest.fail(f"the real-titles set is missing: {path} (it lives in shared/eval beside the "
                    "repository)", pytrace=False)
    return realset.load(path)


def test_split_is_fixed(rows):
    held = sorted(r.row_id for r in rows if r.part == "held")
    assert hashlib.sha256("\n".join(held).encode()).hexdigest() == HELD_DIGEST


def test_split_is_stratified_by_kind(rows):
    total = Counter(r.kind for r in rows)
    held = Counter(r.kind for r in rows if r.part == "held")
    for kind, n in total.items():
        assert held[kind] == round(n * realset.HELD_SHARE), kind


def test_labels_are_read_as_they_are(rows):
    assert len(rows) == 945
    assert Counter(r.label for r in rows) == {0: 508, 1: 437}


def test_calibration_is_fitted_on_the_current_rules():
    from matcher.calibrate import main

    assert main(["--check"]) == 0, "run `make calibrate` after changing the rules"


def test_held_part_meets_the_targets(rows):
    from matcher.evaluate import meets_targets, real_report
    from matcher.types import MatcherConfig

    out = io.StringIO()
    result = real_report(None, "held", False, out, MatcherConfig())
    assert meets_targets(result), out.getvalue()
