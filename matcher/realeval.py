"""Running the matcher over the real-titles set: one outcome per labelled row.

All the set's marks are registered in one index (as a platform with many rights holders would
have them); a row counts as alerted when its own mark gets an alertable finding with a score at
or above the lowest tier. Titles are matched as listings (title and category), domain rows with
``MarkIndex.match_domain``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from matcher.index import MarkIndex, build_index
from matcher.realset import RealRow, marks_of
from matcher.types import Match, MatcherConfig


@dataclass(frozen=True, slots=True)
class Outcome:
    row: RealRow
    finding: Match | None  # the row's mark's best alertable finding, whatever its score
    alerted: bool


def index_for(rows: list[RealRow], config: MatcherConfig | None = None) -> MarkIndex:
    return build_index(marks_of(rows), config=config)


def findings(index: MarkIndex, row: RealRow) -> list[Match]:
    return index.match_domain(row.text) if row.is_domain else index.match(row.listing())


def outcomes(rows: Iterable[RealRow], index: MarkIndex) -> list[Outcome]:
    """The row's best alertable finding for its mark; reported with the index's config (an
    index built with ``low=0`` keeps findings of any score)."""
    low = index.config.low
    out = []
    for row in rows:
        best = None
        for m in findings(index, row):
            if m.alertable and m.mark_id == row.mark and (best is None or m.score > best.score):
                best = m
        out.append(Outcome(row, best, best is not None and best.score >= low))
    return out


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, label: int, alerted: bool) -> None:
        if label and alerted:
            self.tp += 1
        elif label:
            self.fn += 1
        elif alerted:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def by_kind(results: list[Outcome], threshold: int) -> dict[str, Counts]:
    out: dict[str, Counts] = defaultdict(Counts)
    for o in results:
        alerted = o.finding is not None and o.finding.score >= threshold
        out[o.row.kind].add(o.row.label, alerted)
    return dict(out)


def total(results: list[Outcome], threshold: int) -> Counts:
    c = Counts()
    for o in results:
        c.add(o.row.label, o.finding is not None and o.finding.score >= threshold)
    return c
