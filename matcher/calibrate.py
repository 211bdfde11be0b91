"""Fit the score calibration on the development part of the real-titles set.

    python -m matcher.calibrate [--csv PATH] [--check]

For every dev row whose mark gets an alertable finding, the finding's features and the row's
label are one training example; a logistic regression (scikit-learn, L2, ``C`` below) gives the
coefficients written to ``matcher/data/calibration.json``. Rows without a finding are left out:
no score can alert them. ``--check`` refits and exits 1 if the stored model differs (the rules
changed and the model was not refitted).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from matcher import realset
from matcher.calibration import FEATURES, MODEL_FILE, PRIORS, Model
from matcher.realeval import index_for, outcomes
from matcher.types import MatcherConfig

C = 1.0  # inverse L2 strength: features seen a handful of times stay near zero
DIGITS = 4


def training_set(rows: list[realset.RealRow]) -> tuple[list[list[int]], list[int]]:
    index = index_for(rows, MatcherConfig(high=0, medium=0, low=0))
    xs, ys = [], []
    for o in outcomes([r for r in rows if r.part == "dev"], index):
        if o.finding is None:
            continue
        xs.append([int(f in o.finding.features) for f in FEATURES])
        ys.append(o.row.label)
    return xs, ys


def fit(rows: list[realset.RealRow], source: str) -> Model:
    from sklearn import __version__ as sklearn_version
    from sklearn.linear_model import LogisticRegression

    xs, ys = training_set(rows)
    lr = LogisticRegression(C=C, max_iter=1000)
    lr.fit(xs, ys)
    coef = {f: round(float(c), DIGITS) for f, c in zip(FEATURES, lr.coef_[0], strict=True)
            if round(float(c), DIGITS) != 0.0}
    seen = {f: sum(x[i] for x in xs) for i, f in enumerate(FEATURES)}
    return Model(round(float(lr.intercept_[0]), DIGITS), coef, {
        "fitted_on": f"{source}: dev part (split seed {realset.SPLIT_SEED}, "
                     f"{100 - round(100 * realset.HELD_SHARE)}% per kind)",
        "examples": len(ys), "positives": sum(ys),
        "feature_counts": {f: n for f, n in seen.items() if n},
        "model": f"scikit-learn {sklearn_version} LogisticRegression(C={C})",
        "priors": PRIORS,
    })


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", type=Path, default=None, help="real_titles_dev.csv (default: ../shared/eval)")
    ap.add_argument("--check", action="store_true", help="refit and compare with the stored model")
    args = ap.parse_args(argv)
    path = args.csv or realset.default_path()
    rows = realset.load(path)
    model = fit(rows, path.name)
    text = json.dumps(model.to_json(), indent=2, sort_keys=True) + "\n"
    if args.check:
        stored = MODEL_FILE.read_text(encoding="utf-8")
        if json.loads(stored) != json.loads(text):
            print("matcher/data/calibration.json is out of date: run `make calibrate`", file=sys.stderr)
            return 1
        print("calibration up to date")
        return 0
    MODEL_FILE.write_text(text, encoding="utf-8")
    print(f"fitted on {model.meta['examples']} examples ({model.meta['positives']} positive); "
          f"intercept {model.intercept:+.2f}")
    for f in FEATURES:
        if f in model.coef:
            print(f"  {f:<22}{model.coef[f]:+.2f}   (in {model.meta['feature_counts'].get(f, 0)} examples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
