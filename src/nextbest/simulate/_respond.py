"""How the synthetic bank's customers respond to a week's mail: the ground-truth effect."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def conversion_probability(
    hazard: npt.NDArray[np.float64],
    uplift_factor: npt.NDArray[np.float64],
    mailed: npt.NDArray[np.bool_],
    *,
    flow_weeks: int,
    label_weeks: int,
) -> npt.NDArray[np.float64]:
    """True probability of converting within ``label_weeks``: the weekly hazard, multiplied by
    (1 + uplift factor) during the ``flow_weeks`` of a mail flow for the mailed."""
    boosted = np.clip(hazard * (1.0 + uplift_factor), 0.0, 1.0)
    flow = np.where(mailed, boosted, hazard)
    stay = (1.0 - flow) ** flow_weeks * (1.0 - hazard) ** (label_weeks - flow_weeks)
    return 1.0 - stay


def draw_conversion_weeks(
    hazard: npt.NDArray[np.float64],
    uplift_factor: npt.NDArray[np.float64],
    mailed: npt.NDArray[np.bool_],
    *,
    flow_weeks: int,
    label_weeks: int,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """The week (0-based, after the snapshot) each customer converts in, or -1."""
    boosted = np.clip(hazard * (1.0 + uplift_factor), 0.0, 1.0)
    week = np.full(len(hazard), -1, dtype=np.int64)
    for w in range(label_weeks):
        h = np.where(mailed & (w < flow_weeks), boosted, hazard)
        hit = (week < 0) & (rng.random(len(hazard)) < h)
        week[hit] = w
    return week
