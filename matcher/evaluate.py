"""How well the matcher does, measured two ways.

    python -m matcher.evaluate [--csv PATH] [--part held|dev|all] [--verbose]

1. **Real titles** (``shared/eval/real_titles_dev.csv``, see ``matcher.realset``): the held part of
   the fixed 70/30 split, which neither the rules nor the calibration saw. Per kind: rows and the
   share alerted; overall precision and recall; the false-alert rate on compatibility titles and
   on dictionary-sense titles; a reliability table (score band, alerts, confirmed share) and what
   each tier means on these rows. Exit status 1 when the targets (precision >= 0.95, recall >=
   0.90, compatibility false alerts <= 3%, dictionary-sense <= 5%) are not met on the held part.
2. **Our own set** (``fixtures/eval``): 368 listings written for this project while the rules were
   tuned, frozen since. Its figures are printed for regressions only: they are not evidence of
   quality on real listings.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from matcher import AuthorisedSeller, ListingText, MarkRecord, ProductRecord, build_index, realset
from matcher.realeval import Outcome, by_kind, index_for, outcomes, total
from matcher.types import MatcherConfig

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "eval"
TARGETS = {"precision": 0.95, "recall": 0.90, "compatible_with": 0.03, "generic_word": 0.05}
BANDS = ((0, 50), (50, 70), (70, 80), (80, 90), (90, 95), (95, 101))


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    return f"{v:.1%}" if pct else f"{v:.3f}"


def real_report(path: Path | None, part: str, verbose: bool, out, config: MatcherConfig) -> dict:
    rows = realset.load(path)
    chosen = [r for r in rows if part == "all" or r.part == part]
    index = index_for(rows, MatcherConfig(high=config.high, medium=config.medium, low=0))
    res = outcomes(chosen, index)
    low = config.low
    kinds = by_kind(res, low)
    print(f"Real titles: {realset.default_path().name if path is None else path.name}, "
          f"{part} part ({len(chosen)} of {len(rows)} rows; split seed {realset.SPLIT_SEED})", file=out)
    print(f"  {'kind':<22}{'label':>6}{'rows':>6}{'alerted':>9}{'share':>8}", file=out)
    for kind, c in sorted(kinds.items(), key=lambda kv: (-(kv[1].tp + kv[1].fn > 0), kv[0])):
        n = c.tp + c.fp + c.fn + c.tn
        label = 1 if c.tp + c.fn else 0
        alerted = c.tp + c.fp
        print(f"  {kind:<22}{label:>6}{n:>6}{alerted:>9}{_fmt(alerted / n if n else None, True):>8}",
              file=out)
    t = total(res, low)
    rate = {k: (kinds[k].fp / (kinds[k].fp + kinds[k].tn) if k in kinds and kinds[k].fp + kinds[k].tn
                else None) for k in ("compatible_with", "generic_word")}
    print(f"  overall: precision {_fmt(t.precision)}, recall {_fmt(t.recall)} "
          f"(tp {t.tp}, fp {t.fp}, fn {t.fn}, tn {t.tn}; alert when score >= {low})", file=out)
    print(f"  false alerts: compatibility titles {_fmt(rate['compatible_with'], True)}, "
          f"dictionary-sense titles {_fmt(rate['generic_word'], True)}", file=out)
    _reliability(res, out)
    _tiers(res, config, out)
    if verbose:
        for o in res:
            if o.row.label != (o.finding is not None and o.finding.score >= low):
                what = "missed" if o.row.label else "false alert"
                f = o.finding
                found = (f"{f.kind.value}:{f.score}:{'/'.join(r.check for r in f.reasons)}" if f else "-")
                print(f"    {what:<12}{o.row.kind:<20}{o.row.mark} | {o.row.text[:100]!r} -> {found}",
                      file=out)
    return {"precision": t.precision, "recall": t.recall, **rate}


def _reliability(res: list[Outcome], out) -> None:
    print("  reliability (every finding on the row's mark, by score band):", file=out)
    print(f"    {'score':<9}{'findings':>9}{'confirmed':>11}{'share':>8}", file=out)
    for lo, hi in BANDS:
        inside = [o for o in res if o.finding is not None and lo <= o.finding.score < hi]
        confirmed = sum(o.row.label for o in inside)
        share = confirmed / len(inside) if inside else None
        label = f"{lo}-{min(hi, 100) - (0 if hi > 100 else 1)}"
        print(f"    {label:<9}{len(inside):>9}{confirmed:>11}{_fmt(share, True):>8}", file=out)


def _tiers(res: list[Outcome], config: MatcherConfig, out) -> None:
    for name, lo, hi in (("high", config.high, 101), ("medium", config.medium, config.high),
                         ("low", config.low, config.medium)):
        inside = [o for o in res if o.finding is not None and lo <= o.finding.score < hi]
        share = sum(o.row.label for o in inside) / len(inside) if inside else None
        print(f"  tier {name:<7}(score {lo}-{min(hi, 101) - 1}): {len(inside)} alerts, "
              f"{_fmt(share, True)} confirmed", file=out)


# --- our own set (fixtures/eval) -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: str
    check: str
    label: str
    mark_id: str
    listing: ListingText
    reason: str


def _split(v: str) -> list[str]:
    return [x.strip() for x in (v or "").split("|") if x.strip()]


def load(directory: Path):
    marks = [MarkRecord(mark_id=r["mark_id"], mark=r["mark"], owner_id=r["owner"], owner=r["owner"],
                        aliases=tuple(_split(r["aliases"])),
                        nice_classes=frozenset(int(c) for c in _split(r["nice_classes"])),
                        famous=r["famous"] == "true")
             for r in csv.DictReader((directory / "marks.csv").open(encoding="utf-8"))]
    products = [ProductRecord(r["product_id"], r["mark_id"], r["name"], tuple(_split(r["model_numbers"])),
                              Decimal(r["retail_price"]) if r["retail_price"] else None, r["currency"] or None)
                for r in csv.DictReader((directory / "products.csv").open(encoding="utf-8"))]
    sellers = [AuthorisedSeller(r["owner_id"], r["seller"], r["marketplace"] or None)
               for r in csv.DictReader((directory / "sellers.csv").open(encoding="utf-8"))]
    rows = []
    with (directory / "listings.tsv").open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    for r in csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
        listing = ListingText(
            listing_id=r["id"], title=r["title"], category=r["category"] or None,
            seller=r["seller"] or None, marketplace=r["marketplace"] or None,
            price=Decimal(r["price"]) if r["price"] else None, currency=r["currency"] or None)
        rows.append(Row(r["id"], r["check"], r["label"], r["mark_id"], listing, r["reason"]))
    return marks, products, sellers, rows


def evaluate(directory: Path = DEFAULT_DIR, verbose: bool = False, out=sys.stdout,
             config: MatcherConfig | None = None) -> dict[str, float | None]:
    """Precision and recall per check on our own set (``fixtures/eval``)."""
    marks, products, sellers, rows = load(directory)
    index = build_index(marks, products, sellers, config)
    stats: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "pos": 0, "neg": 0})
    nominative_neg = nominative_flagged = 0
    errors = []
    for row in rows:
        matches = index.match(row.listing)
        alerted = {m.mark_id for m in matches if m.alertable}
        s = stats[row.check]
        s[row.label] += 1
        if row.label == "pos":
            if row.mark_id in alerted:
                s["tp"] += 1
            else:
                s["fn"] += 1
                errors.append(("missed", row, matches))
            if alerted - {row.mark_id} and row.mark_id not in alerted:
                s["fp"] += 1
        else:
            if alerted:
                s["fp"] += 1
                errors.append(("false alert", row, matches))
            if row.check == "nominative":
                nominative_neg += 1
                nominative_flagged += bool(alerted)
    total_ = {"tp": 0, "fp": 0, "fn": 0, "pos": 0, "neg": 0}
    print("Our own set (fixtures/eval: written for this project while tuning; regressions only)", file=out)
    print(f"  {'check':<20}{'pos':>5}{'neg':>5}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}", file=out)
    for check, s in stats.items():
        for k in total_:
            total_[k] += s[k]
        print("  " + _line(check, s), file=out)
    print("  " + _line("overall", total_), file=out)
    nominative_rate = nominative_flagged / nominative_neg if nominative_neg else None
    print(f"  nominative uses flagged: {nominative_flagged}/{nominative_neg} = "
          f"{_fmt(nominative_rate, True)}", file=out)
    if verbose:
        for what, row, matches in errors:
            found = ", ".join(f"{m.mark_id}:{m.kind.value}:{m.score}:{m.reasons[0].check}" for m in matches) or "-"
            print(f"    {what:<12} {row.id} [{row.mark_id}] {row.listing.title!r} -> {found}", file=out)
    p, r = _pr(total_)
    return {"precision": p, "recall": r, "nominative_rate": nominative_rate}


def _pr(s: dict[str, int]) -> tuple[float | None, float | None]:
    p = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else None
    r = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else None
    return p, r


def _line(name: str, s: dict[str, int]) -> str:
    p, r = _pr(s)
    return f"{name:<20}{s['pos']:>5}{s['neg']:>5}{s['tp']:>5}{s['fp']:>5}{s['fn']:>5}{_fmt(p):>11}{_fmt(r):>8}"


def meets_targets(result: dict) -> bool:
    def ok(key, op):
        v = result.get(key)
        return v is not None and op(v, TARGETS[key])

    return (ok("precision", float.__ge__) and ok("recall", float.__ge__)
            and ok("compatible_with", float.__le__) and ok("generic_word", float.__le__))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", type=Path, default=None, help="the real-titles CSV (default: ../shared/eval)")
    ap.add_argument("--part", choices=("held", "dev", "all"), default="held")
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="our own set")
    ap.add_argument("--verbose", "-v", action="store_true", help="list every miss and false alert")
    args = ap.parse_args(argv)
    config = MatcherConfig()
    result = real_report(args.csv, args.part, args.verbose, sys.stdout, config)
    print()
    evaluate(args.dir, args.verbose, config=config)
    if args.part != "held":
        return 0
    return 0 if meets_targets(result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
