"""A randomised experiment in a file (e.g. the Hillstrom e-mail test): each arm against the
control, with the same estimators the weekly measurement uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nextbest.evaluation._stats import Estimate, bootstrap_mean_diff, newcombe


@dataclass(frozen=True)
class ArmEffect:
    arm: str
    outcome: str
    n_arm: int
    n_control: int
    mean_arm: float
    mean_control: float
    difference_in_means: float  # computed directly, for comparison
    effect: Estimate


def arm_effects(
    arms: npt.NDArray[np.str_],
    outcomes: dict[str, npt.NDArray[np.float64]],
    *,
    control: str,
    binary: set[str],
    seed: int = 0,
) -> list[ArmEffect]:
    """Each non-control arm against ``control`` for every outcome: Newcombe for 0/1 outcomes,
    percentile bootstrap for amounts."""
    ctrl = arms == control
    out = []
    for arm in sorted(set(arms.tolist()) - {control}):
        a = arms == arm
        for name, y in outcomes.items():
            ya, yc = y[a], y[ctrl]
            if name in binary:
                est = newcombe(int(ya.sum()), len(ya), int(yc.sum()), len(yc))
            else:
                est = bootstrap_mean_diff(ya, yc, seed=seed)
            out.append(
                ArmEffect(
                    arm,
                    name,
                    len(ya),
                    len(yc),
                    float(ya.mean()),
                    float(yc.mean()),
                    float(ya.mean() - yc.mean()),
                    est,
                )
            )
    return out
