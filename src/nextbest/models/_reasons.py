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
    model: PropensityModel, X: npt.NDArray[np.float64], *, top: int = 3
) -> tuple[list[str], list[str]]:
    """Per row: a text of the ``top`` contributions by size (``+`` raising, ``−`` lowering the
    score), and the name of the feature that raised the score most.

    Example text: ``"+ engagement 2.6 of 3; + balance up 12% a month; − age 71"``.
    """
    if len(X) == 0:
        return [], []
    contrib = model.contributions(X)
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :top]
    texts: list[str] = []
    leading = [model.features[j] for j in np.argmax(contrib, axis=1)]
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
