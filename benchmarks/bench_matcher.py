"""Matcher throughput: titles per second in one process against 1,000, 10,000 and 100,000
registered marks, next to a naive RapidFuzz baseline; index build time and peak memory at the
largest size. Marks and titles are synthetic and deterministic (seeded).

    python benchmarks/bench_matcher.py [--out benchmarks/results/matcher.txt] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import time
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


def make_titles(n: int, marks, seed: int = 11) -> list[str]:
    """Titles of 6-14 product words; 10% carry a (possibly disguised) registered mark, 10% an
    unregistered brand-like word, 5% a model number."""
    rng = random.Random(seed)
    titles = []
    for _ in range(n):
        words = [rng.choice(PRODUCT_WORDS) for _ in range(rng.randint(6, 14))]
        r = rng.random()
        if r < 0.10:
            words.insert(rng.randrange(len(words)), disguise(rng, rng.choice(marks).mark))
        elif r < 0.20:
            words.insert(0, pseudo_word(rng).capitalize())
        if rng.random() < 0.05:
            words.append(f"{rng.choice('ABCDEFGHKMXZ')}{rng.choice('ABCDEFGHKMXZ')}-{rng.randint(100, 9999)}")
        titles.append(" ".join(words))
    return titles


def throughput(index, listings) -> float:
    t0 = time.perf_counter()
    for listing in listings:
        index.match(listing)
    return len(listings) / (time.perf_counter() - t0)


def naive_rate(titles, marks, budget_s: float = 4.0) -> tuple[float, int]:
    from rapidfuzz import fuzz, process

    names = [m.mark for m in marks]
    done = 0
    t0 = time.perf_counter()
    for title in titles:
        process.extractOne(title, names, scorer=fuzz.partial_ratio)
        done += 1
        if time.perf_counter() - t0 > budget_s:
            break
    return done / (time.perf_counter() - t0), done


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
             "naive = rapidfuzz process.extractOne(title, marks, scorer=fuzz.partial_ratio)", ""]
    rates = {}
    for n in (1_000, 10_000, 100_000):
        marks = make_marks(n)
        t0 = time.perf_counter()
        index = build_index(marks)
        build_s = time.perf_counter() - t0
        titles = make_titles(n_titles, marks)
        listings = [ListingText(f"t{i}", t, category="Shoes") for i, t in enumerate(titles)]
        throughput(index, listings[:500])  # warm the per-character caches
        rate = throughput(index, listings)
        rates[n] = rate
        naive, naive_n = naive_rate(titles, marks)
        alerts = sum(1 for lst in listings[:2000] for m in index.match(lst) if m.alertable)
        line = (f"marks={n:>7,}  build={build_s:6.2f}s  matcher={rate:9,.0f} titles/s  "
                f"naive={naive:9,.1f} titles/s (on {naive_n} titles)  speedup={rate / naive:8,.0f}x  "
                f"alerts in first 2,000 titles={alerts}")
        print(line, flush=True)
        lines.append(line)
        del index
    lines += ["",
              f"index build, 100,000 marks (fresh process): {info['build_s']:.2f} s, "
              f"{info['variants']:,} registered forms",
              f"peak RSS of that process: {info['rss_peak_kib'] / 1024:.0f} MiB "
              f"(before the build: {info['rss_before_kib'] / 1024:.0f} MiB); "
              f"tracemalloc peak during a build: {info['traced_peak_bytes'] / 2**20:.0f} MiB",
              f"slowdown 1,000 -> 100,000 marks: {rates[1_000] / rates[100_000]:.2f}x",
              "",
              "targets: >= 5,000 titles/s at 10,000 marks; <= 2x slower at 100,000 than at 1,000; "
              "build < 30 s and < 1 GiB at 100,000 marks"]
    for line in lines[-6:]:
        print(line)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
