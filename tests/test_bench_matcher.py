"""The matcher benchmark compares fairly: the naive baseline has a score cutoff and a processor,
and both sides count their alerts on the same titles."""

from __future__ import annotations

from benchmarks import bench_matcher as bench


def test_both_sides_count_alerts_on_the_same_titles():
    from matcher import ListingText, build_index

    marks = bench.make_marks(200)
    titles, planted = bench.make_labelled_titles(300, marks)
    assert sum(p is not None for p in planted) > 10
    _, naive = bench.naive_run(titles, marks, planted, budget_s=60)
    assert naive.titles == 300 and naive.planted == sum(p is not None for p in planted)
    assert 0 < naive.right <= naive.alerted <= naive.titles
    index = build_index(marks)
    listings = [ListingText(f"t{i}", t, category="Shoes") for i, t in enumerate(titles)]
    ours = bench.matcher_alerts(index, listings[:naive.titles], planted[:naive.titles])
    assert (ours.titles, ours.planted) == (naive.titles, naive.planted)
    assert 0 < ours.right <= ours.alerted


def test_the_baseline_alerts_only_at_its_cutoff():
    from rapidfuzz import fuzz, utils

    from matcher import MarkRecord

    marks = [MarkRecord("m0", "KESTREL"), MarkRecord("m1", "VOLTARIS")]
    titles = ["kestrel trail shoes", "k e s t r e l", "garden hose 20m", "VOLTARlS power bank"]
    _, out = bench.naive_run(titles, marks, ["m0", "m0", None, "m1"], budget_s=60)
    expected = sum(
        max(fuzz.partial_ratio(utils.default_process(t), utils.default_process(m.mark))
            for m in marks) >= bench.NAIVE_CUTOFF
        for t in titles
    )
    assert out.alerted == expected and out.right == 1  # "kestrel trail shoes" only
