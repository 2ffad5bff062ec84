"""Reason codes: the features that moved a customer's score most, in plain words.

Contributions are in log-odds (logistic terms, or LightGBM's exact per-row SHAP values). They
are computed only for customers a person may read about — the mailed and held-out arms and any
customer looked up — because LightGBM's ``pred_contrib`` runs at roughly 1.6k rows/s, far too
slow for every customer every week.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from nextbest.features import phrase
from nextbest.models._propensity import PropensityModel


def reason_codes(
    model: PropensityModel,
    X: npt.NDArray[np.float64],
    *,
    top: int = 3,
    exclude: frozenset[str] = frozenset(),
) -> tuple[list[str], list[str]]:
    """Per row: a text of the ``top`` contributions by size (``+`` raising, ``−`` lowering the
    score), and the name of the feature that raised the score most.

    Features in ``exclude`` are left out: market-wide features move every customer's score
    alike that week, so they never explain why *this* customer rather than another.

    Example text: ``"+ engagement 2.6 of 3; + balance up 12% a month; − age 71"``.
    """
    if len(X) == 0:
        return [], []
    contrib = model.contributions(X)
    for j, name in enumerate(model.features):
        if name in exclude:
            contrib[:, j] = 0.0
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :top]
    texts: list[str] = []
    best = np.argmax(contrib, axis=1)
    leading = [model.features[j] if contrib[i, j] > 0 else "" for i, j in enumerate(best)]
    for i in range(len(X)):
        parts = []
        for j in order[i]:
            c = contrib[i, j]
            if c == 0:
                continue
            value = X[i, j]
            shown = None if np.isnan(value) else float(value)
            parts.append(f"{'+' if c > 0 else '−'} {phrase(model.features[j], shown)}")
        texts.append("; ".join(parts))
    return texts, leading
