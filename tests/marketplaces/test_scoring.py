"""Ground-truth scoring: (listing, mark) pairs, recall over every labelled listing, reach,
precision 0 without alerts, recall per disguise type."""

from __future__ import annotations

from fixtures.marketplaces.generator import Label
from fixtures.marketplaces.scoring import AlertRecord, score

K, KT, V = "018245771", "018245790", "40201912345Q"


def _label(lid: str, category: str, mark: str | None = K, disguise: str | None = None,
           infringing: bool | None = None) -> Label:
    infr = infringing if infringing is not None else category not in (
        "authorised", "compatible", "other_class", "unrelated")
    return Label("shopa", lid, mark, infr, category, disguise)


LABELS = [
    _label("1", "counterfeit_exact"),
    _label("2", "counterfeit_disguised", disguise="leetspeak"),
    _label("3", "counterfeit_disguised", disguise="indep_typo"),
    _label("4", "counterfeit_disguised", disguise="indep_typo"),  # never crawled
    _label("5", "authorised"),
    _label("6", "other_class"),
    _label("7", "unrelated", mark=None),
    _label("8", "product", mark=V),
]


def _alert(lid: str, *marks: str) -> AlertRecord:
    return AlertRecord("shopa", lid, frozenset(marks), f"title {lid}")


CRAWLED = [("shopa", str(i)) for i in (1, 2, 3, 5, 6, 7, 8)]


def test_no_alerts_is_precision_zero_and_recall_zero():
    s = score(LABELS, [], CRAWLED)
    assert (s.alerts, s.precision, s.recall) == (0, 0.0, 0.0)
    assert "no alerts" in s.summary()
    assert s.infringing_labelled == 5 and s.infringing_crawled == 4 and s.reach == 0.8


def test_recall_counts_every_labelled_listing_and_reach_apart():
    alerts = [_alert("1", K), _alert("2", K, KT), _alert("3", K), _alert("8", V)]
    s = score(LABELS, alerts, CRAWLED)
    assert s.true_positives == 4 and s.precision == 1.0
    assert s.recall == 4 / 5  # listing 4 was never crawled: a miss all the same
    assert s.recall_on_crawled == 1.0 and s.reach == 0.8
    assert ("shopa", "4", "indep_typo", "not crawled") in s.missed
    typo = s.by_type["indep_typo"]
    assert (typo.labelled, typo.crawled, typo.found) == (2, 1, 1) and typo.recall == 0.5


def test_an_alert_counts_for_the_labels_mark_only():
    # the right holder's other mark: a false positive, and the label's pair is missed
    s = score(LABELS, [_alert("1", KT), _alert("5", K), _alert("6", K), _alert("8", K)], CRAWLED)
    assert s.true_positives == 0 and s.precision == 0.0
    assert s.authorised_alerted == 1
    assert s.false_positive_categories == {"counterfeit_exact (other mark)": 1, "authorised": 1,
                                           "other_class": 1, "product (other mark)": 1}
    assert s.by_type["counterfeit_exact"].found == 0


def test_table_lists_checked_then_independent_types_with_group_totals():
    s = score(LABELS, [_alert("1", K), _alert("3", K)], CRAWLED)
    lines = s.table().splitlines()
    assert lines[0].split() == ["group", "type", "labelled", "crawled", "found", "recall"]
    names = [ln.split()[1] for ln in lines[1:]]
    assert names == ["counterfeit_exact", "product", "leetspeak", "indep_typo", "(all)", "(all)"]
    assert lines[-2].split() == ["checked", "(all)", "3", "3", "1", "0.333"]
    assert lines[-1].split() == ["independent", "(all)", "2", "1", "1", "0.500"]
    empty = score([], [], []).table().splitlines()
    assert empty[-1].split()[-1] == "n/a"
