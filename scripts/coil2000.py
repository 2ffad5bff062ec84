"""The CoIL Challenge 2000 (The Insurance Company benchmark) with nextbest's own estimators.

Usage (the data is not in this repository; see ../shared/data/coil2000/PROVENANCE.md and its
licence, non-commercial research and education only)::

    .venv/bin/python scripts/coil2000.py ../shared/data/coil2000

Protocol of the challenge: train on ticdata2000.txt (5,822 customers, 85 features, target
CARAVAN), score the 4,000 customers of ticeval2000.txt, select the 800 most likely buyers and
count the true buyers among them (tictgts2000.txt, 238 in all). Random selection finds 47.6 on
average; the winning entry of the challenge found 121.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nextbest.models import LightGBMPropensity, LogisticPropensity, lift_at, pr_auc, roc_auc


def _read(path: Path) -> np.ndarray:
    return np.loadtxt(path, dtype=np.float64, ndmin=2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    train = _read(args.folder / "ticdata2000.txt")
    X_train, y_train = train[:, :85], train[:, 85].astype(np.int8)
    X_eval = _read(args.folder / "ticeval2000.txt")
    y_eval = _read(args.folder / "tictgts2000.txt").ravel().astype(np.int8)
    print(
        f"train {X_train.shape[0]:,} customers ({y_train.sum()} buyers); evaluate "
        f"{X_eval.shape[0]:,} ({y_eval.sum()} buyers); random top-800 expectation "
        f"{800 * y_eval.mean():.1f}; challenge winner 121"
    )
    models = {
        "logistic (strongly regularised, C=0.01)": LogisticPropensity(C=0.01),
        "logistic (C=1)": LogisticPropensity(C=1.0),
        "LightGBM (200 trees, 15 leaves, 50 per leaf)": LightGBMPropensity(
            n_estimators=200,
            learning_rate=0.03,
            num_leaves=15,
            min_child_samples=50,
            reg_lambda=10.0,
        ),
    }
    for name, model in models.items():
        score = model.fit(X_train, y_train).decision_function(X_eval)
        top = np.argsort(-score, kind="stable")[:800]
        hits = int(y_eval[top].sum())
        print(
            f"{name:<46} top-800 buyers {hits:>4}  lift {lift_at(y_eval, score, 800):.2f}  "
            f"PR-AUC {pr_auc(y_eval, score):.3f}  ROC-AUC {roc_auc(y_eval, score):.3f}"
        )


if __name__ == "__main__":
    main()
