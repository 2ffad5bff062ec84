"""How many weekly snapshots training needs, and the error that says so before any work.

Training takes ``[training] n_dates`` snapshot dates spread over the usable history — a date is
usable with ``history_weeks`` of snapshots before it and its whole label window
(``label_weeks``) known — and splits them in time: train, a gap of ``label_weeks``,
calibration, another gap, evaluation (the latest quarter of the dates). The minimum is found
by running exactly that date selection and split on consecutive weeks, so it cannot drift from
the code that trains.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nextbest.config import ActionConfig, TrainingConfig
from nextbest.errors import NotFoundError
from nextbest.features import spread_training_dates
from nextbest.models import time_split

_ANY_SUNDAY = dt.date(2024, 1, 7)


@dataclass(frozen=True)
class HistoryNeed:
    """The weekly snapshots one action's training needs, and what they are made of."""

    #: the fewest consecutive weekly snapshots from which training always works; None when
    #: no history is enough (``n_dates`` below 3 cannot fill three slices)
    weeks: int | None
    history_weeks: int
    label_weeks: int
    n_dates: int

    @property
    def span_weeks(self) -> int:
        """Weeks from the first training date to the last evaluation date."""
        assert self.weeks is not None
        return self.weeks - self.history_weeks - self.label_weeks


def _trains(n_weeks: int, training: TrainingConfig, label_weeks: int) -> bool:
    loaded = [_ANY_SUNDAY + dt.timedelta(weeks=i) for i in range(n_weeks)]
    try:
        dates = spread_training_dates(loaded, training, horizon=loaded[-1], label_weeks=label_weeks)
        time_split(dates, gap_weeks=label_weeks)
    except NotFoundError:
        return False
    return True


def minimum_history(training: TrainingConfig, label_weeks: int) -> HistoryNeed:
    """The weekly snapshots training needs with these settings.

    >>> need = minimum_history(TrainingConfig(), label_weeks=8)
    >>> need.weeks, need.span_weeks
    (41, 25)
    """
    # beyond this many weeks the spread dates are far enough apart for any split to work
    bound = training.history_weeks + label_weeks + 2 * max(training.n_dates, 4 * label_weeks + 4)
    failing = [m for m in range(1, bound + 1) if not _trains(m, training, label_weeks)]
    weeks = failing[-1] + 1 if failing else 1
    return HistoryNeed(
        weeks=None if weeks > bound else weeks,
        history_weeks=training.history_weeks,
        label_weeks=label_weeks,
        n_dates=training.n_dates,
    )


def history_message(need: HistoryNeed, action: str, loaded: list[dt.date]) -> str:
    """One line: what training needs, what the store has, and which setting lowers the need."""
    if need.weeks is None:
        return (
            f"training {action} needs at least 3 snapshot dates for its train, calibration and "
            f"evaluation slices; raise [training] n_dates (now {need.n_dates}) to 3 or more"
        )
    has = f"the store has {len(loaded)}"
    if loaded:
        has += f" ({loaded[0]} … {loaded[-1]})"
        missing = (loaded[-1] - loaded[0]).days // 7 + 1 - len(loaded)
        if missing > 0:
            has += f", {missing} week(s) missing between them"
    return (
        f"training {action} needs at least {need.weeks} weekly snapshots ([training] "
        f"history_weeks {need.history_weeks} + {need.span_weeks} weeks from the first training "
        f"date to the last evaluation date, with two {need.label_weeks}-week gaps + label_weeks "
        f"{need.label_weeks} of the action for the last label to be known); {has}. Load more "
        f"weeks, or lower [training] history_weeks or the action's label_weeks"
    )


def check_history(
    loaded: list[dt.date],
    training: TrainingConfig,
    action: ActionConfig,
    *,
    until: dt.date | None = None,
) -> None:
    """Raise :class:`NotFoundError` naming the minimum when the loaded snapshot dates (sorted;
    up to ``until``) are too few to train ``action``."""
    if not loaded:
        raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
    horizon = until or loaded[-1]
    known = [d for d in loaded if d <= horizon]
    try:
        if not known:
            raise NotFoundError(f"no snapshot on or before {horizon}")
        dates = spread_training_dates(
            known, training, horizon=horizon, label_weeks=action.label_weeks
        )
        time_split(dates, gap_weeks=action.label_weeks)
    except NotFoundError:
        need = minimum_history(training, action.label_weeks)
        raise NotFoundError(history_message(need, action.name, known)) from None
