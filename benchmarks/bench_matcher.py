"""Matcher throughput: titles per second in one process against 1,000, 10,000 and 100,000
registered marks, next to a naive RapidFuzz baseline; index build time and peak memory at the
largest size. Marks and titles are synthetic and deterministic (seeded).

The baseline is given a fair chance: RapidFuzz's ``process.extractOne`` with ``partial_ratio``,
its default processor (lower case, punctuation out) and ``score_cutoff`` (``NAIVE_CUTOFF``), which
lets it skip candidates early. Both sides report the alerts they raise on the same titles (the
ones the baseline got through in its time budget) and how many of those name the mark planted in
the title.

    python benchmarks/bench_matcher.py [--out benchmarks/results/matcher.txt] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ONSETS = ["b", "br", "c", "ch", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "kr", "l", "m",
          "n", "p", "pr", "qu", "r", "s", "sh", "st", "t", "tr", "v", "vr", "z", "x", "y", "w", ""]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou", "y"]
CODAS = ["", "", "n", "r", "s", "l", "x", "k", "nt", "st", "m", "th", "ck"]
HAN = "安百宝贝博彩晨川达德迪东朵凡菲芬丰福歌格谷瀚禾恒虹华佳杰金锦卡凯康柯兰朗雷立莉丽灵琳龙罗玛曼美蒙米敏墨娜妮诺欧派琪瑞森莎尚诗思斯泰坦特图维沃希夏欣雅亚伊逸英悦泽珍卓"
PRODUCT_WORDS = ["running", "shoes", "men", "women", "black", "white", "size", "wireless", "earbuds", "bluetooth", "charger", "fast", "usb", "cable", "leather", "handbag", "tote", "crossbody", "wallet", "card", "holder", "stainless", "steel", "watch", "quartz", "analog", "digital", "waterproof", "jacket", "hooded", "fleece", "hoodie", "cotton", "t-shirt", "slim", "fit", "jeans", "denim", "sneakers", "trainers", "kids", "toy", "plush", "bunny", "puzzle", "building", "blocks", "garden", "hose", "bird", "feeder", "kitchen", "knife", "set", "ceramic", "mug", "coffee", "maker", "skincare", "serum", "moisturiser", "face", "cream", "lipstick", "matte", "perfume", "eau", "de", "parfum", "phone", "case", "cover", "for", "iphone", "samsung", "galaxy", "screen", "protector", "tempered", "glass", "power", "bank", "20000mah", "gaming", "mouse", "keyboard", "mechanical", "rgb", "laptop", "stand", "backpack", "travel", "luggage", "carry-on", "spinner", "necklace", "pendant", "silver", "gold", "plated", "earrings", "ring", "bracelet", "sunglasses", "polarised", "yoga", "mat", "dumbbell", "set", "water", "bottle", "insulated", "camping", "tent", "sleeping", "bag", "led", "strip", "lights", "smart", "plug", "new", "2024", "sale", "free", "shipping", "genuine", "original", "official", "with", "box", "pack", "of", "2", "3", "large", "medium", "small"]


def pseudo_word(rng: random.Random, lo: int = 4, hi: int = 12) -> str:
    while True:
        w = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                    for _ in range(rng.randint(1, 3)))
        if lo <= len(w) <= hi:
            return w


def make_marks(n: int, seed: int = 7):
    from matcher import MarkRecord

    rng = random.Random(seed)
    marks, used = [], set()
    while len(marks) < n:
        word = pseudo_word(rng)
        if rng.random() < 0.2:
            word += " " + pseudo_word(rng, 3, 8)
        if word in used:
            continue
        used.add(word)
        aliases = ()
        if rng.random() < 0.05:
            aliases = ("".join(rng.choice(HAN) for _ in range(rng.randint(2, 4))),)
        classes = frozenset(rng.sample([3, 9, 14, 18, 25, 28], rng.randint(1, 2)))
        marks.append(MarkRecord(mark_id=f"m{len(marks)}", mark=word.upper(), aliases=aliases,
                                nice_classes=classes, owner_id=f"o{len(marks) % 997}"))
    return marks


def disguise(rng: random.Random, mark: str) -> str:
    m = mark
    r = rng.random()
    if r < 0.2:
        return m.title()
    if r < 0.4:
        return m.replace("E", "3").replace("O", "0").replace("I", "1")
    if r < 0.55:
        i = rng.randrange(len(m))
        return m[:i] + m[i] + m[i:]
    if r < 0.7:
        return " ".join(m)
    if r < 0.85:
        return m.replace("A", "\u0410").replace("E", "\u0415")
    return m.capitalize() + rng.choice(["Pro", "Store", "Max"])


def make_labelled_titles(n: int, marks, seed: int = 11) -> tuple[list[str], list[str | None]]:
    """Titles of 6-14 product words; 10% carry a (possibly disguised) registered mark, 10% an
    unregistered brand-like word, 5% a model number. Also, per title, the id of the mark
    planted in it (None for the others)."""
    rng = random.Random(seed)
    titles: list[str] = []
    planted: list[str | None] = []
    for _ in range(n):
        words = [rng.choice(PRODUCT_WORDS) for _ in range(rng.randint(6, 14))]
        r = rng.random()
        mark = None
        if r < 0.10:
            mark = rng.choice(marks)
            words.insert(rng.randrange(len(words)), disguise(rng, mark.mark))
        elif r < 0.20:
            words.insert(0, pseudo_word(rng).capitalize())
        if rng.random() < 0.05:
            words.append(f"{rng.choice('ABCDEFGHKMXZ')}{rng.choice('ABCDEFGHKMXZ')}-{rng.randint(100, 9999)}")
        titles.append(" ".join(words))
        planted.append(mark.mark_id if mark else None)
    return titles, planted


def make_titles(n: int, marks, seed: int = 11) -> list[str]:
    return make_labelled_titles(n, marks, seed)[0]


def throughput(index, listings) -> tuple[float, float]:
    """Titles per second of wall-clock time, and per second of this process's CPU time (the
    matcher is single-threaded: on a shared machine the CPU figure is its speed on one core)."""
    w0, c0 = time.perf_counter(), time.process_time()
    for listing in listings:
        index.match(listing, alertable_only=True)  # as the screening task calls it
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return len(listings) / wall, len(listings) / cpu


# The baseline alerts when the best partial_ratio of a title against the marks reaches this.
NAIVE_CUTOFF = 90


@dataclass
class Alerts:
    """Alerts raised on a run of titles: titles alerted, and of those, the ones whose alert
    names the mark planted in the title; ``planted`` titles carried a mark."""

    titles: int = 0
    alerted: int = 0
    right: int = 0
    planted: int = 0

    def text(self) -> str:
        return (f"{self.alerted} alerted ({self.right} naming the planted mark; "
                f"{self.planted} titles carry one)")


def naive_run(titles, marks, planted, budget_s: float = 4.0) -> tuple[float, Alerts]:
    from rapidfuzz import fuzz, process, utils

    names = [m.mark for m in marks]
    ids = [m.mark_id for m in marks]
    out = Alerts()
    t0 = time.perf_counter()
    for title, mark_id in zip(titles, planted, strict=True):
        hit = process.extractOne(title, names, scorer=fuzz.partial_ratio,
                                 processor=utils.default_process, score_cutoff=NAIVE_CUTOFF)
        out.titles += 1
        out.planted += mark_id is not None
        if hit is not None:
            out.alerted += 1
            out.right += mark_id is not None and ids[hit[2]] == mark_id
        if time.perf_counter() - t0 > budget_s:
            break
    return out.titles / (time.perf_counter() - t0), out


def matcher_alerts(index, listings, planted) -> Alerts:
    out = Alerts()
    for listing, mark_id in zip(listings, planted, strict=True):
        found = {m.mark_id for m in index.match(listing, alertable_only=True)}
        out.titles += 1
        out.planted += mark_id is not None
        out.alerted += bool(found)
        out.right += mark_id in found
    return out


def _peak_rss_kib() -> int:
    """Peak resident set size of this process (VmHWM; getrusage where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def build_child(n: int) -> None:
    """Run in a fresh process: build an index of ``n`` marks, print JSON with time and memory."""
    import tracemalloc

    from matcher import build_index

    marks = make_marks(n)
    rss0 = _peak_rss_kib()
    t0 = time.perf_counter()
    index = build_index(marks)
    build_s = time.perf_counter() - t0
    rss1 = _peak_rss_kib()
    del index
    tracemalloc.start()
    index = build_index(marks)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"build_s": build_s, "rss_before_kib": rss0, "rss_peak_kib": rss1,
                      "traced_peak_bytes": peak, "variants": len(index.variants)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "matcher.txt"))
    ap.add_argument("--titles", type=int, default=20_000)
    ap.add_argument("--quick", action="store_true", help="smaller run (2,000 titles)")
    ap.add_argument("--build-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_child:
        build_child(args.build_child)
        return
    # the build is measured first, in a fresh process, while this one is still small
    child = subprocess.run([sys.executable, __file__, "--build-child", "100000"], capture_output=True,
                           text=True, check=True)
    info = json.loads(child.stdout.strip().splitlines()[-1])
    from matcher import ListingText, build_index
    from matcher.cues import cue_finder

    n_titles = 2_000 if args.quick else args.titles
    cue_finder()  # spaCy pipelines load once per process, like in a worker
    lines = [f"# matcher benchmark ({time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
             f"{platform.machine()}, one process)", f"# {n_titles} synthetic titles per size; "
             "naive = rapidfuzz process.extractOne(title, marks, scorer=fuzz.partial_ratio, "
             f"processor=utils.default_process, score_cutoff={NAIVE_CUTOFF}): an alert when a "
             f"mark scores >= {NAIVE_CUTOFF}",
             "# alerts: on the same titles (those the naive baseline got through in 4 s), titles "
             "alerted by each side and how many of those alerts name the mark planted in the title",
             ""]
    rates = {}
    for n in (1_000, 10_000, 100_000):
        marks = make_marks(n)
        t0 = time.perf_counter()
        index = build_index(marks)
        build_s = time.perf_counter() - t0
        titles, planted = make_labelled_titles(n_titles, marks)
        listings = [ListingText(f"t{i}", t, category="Shoes") for i, t in enumerate(titles)]
        throughput(index, listings[:500])  # warm the per-character caches
        rate, cpu_rate = throughput(index, listings)
        rates[n] = cpu_rate
        naive, naive_alerts = naive_run(titles, marks, planted)
        same = naive_alerts.titles
        ours = matcher_alerts(index, listings[:same], planted[:same])
        line = (f"marks={n:>7,}  build={build_s:6.2f}s  matcher={rate:9,.0f} titles/s ({cpu_rate:,.0f} per CPU-second)  "
                f"naive={naive:9,.1f} titles/s (on {same} titles)  speedup={rate / naive:8,.0f}x")
        alert_line = (f"    alerts on those {same} titles: matcher {ours.text()}; "
                      f"naive {naive_alerts.text()}")
        print(line, alert_line, sep="\n", flush=True)
        lines += [line, alert_line]
        del index
    lines += ["",
              f"index build, 100,000 marks (fresh process): {info['build_s']:.2f} s, "
              f"{info['variants']:,} registered forms",
              f"peak RSS of that process: {info['rss_peak_kib'] / 1024:.0f} MiB "
              f"(before the build: {info['rss_before_kib'] / 1024:.0f} MiB); "
              f"tracemalloc peak during a build: {info['traced_peak_bytes'] / 2**20:.0f} MiB",
              f"slowdown 1,000 -> 100,000 marks (CPU time): {rates[1_000] / rates[100_000]:.2f}x; "
              f"load average while it ran: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
              "",
              "targets: >= 10,000 titles per CPU-second at 10,000 marks; <= 2x slower at 100,000 "
              "than at 1,000; build < 30 s and < 1 GiB at 100,000 marks"]
    for line in lines[-6:]:
        print(line)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
