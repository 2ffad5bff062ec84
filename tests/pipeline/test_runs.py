"""The run lifecycle on the tiny bank: one live list per week, supersede, halted retries,
four eyes, races between approve/reject/export, and export re-checks and file repair."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from nextbest.errors import RunHaltedError, RunStateError, StoreError
from nextbest.pipeline import (
    Overlap,
    RuleCheck,
    decide_review,
    export_run,
    replay,
    review,
    run_week,
)
from nextbest.store import Store
from tests.pipeline.conftest import D, tiny_config

W1 = D + dt.timedelta(weeks=1)
EARLIER = D - dt.timedelta(weeks=1)


def _copy_week(store: Store, to: dt.date) -> None:
    store.execute(
        "INSERT INTO snapshots SELECT * REPLACE (CAST(? AS DATE) AS snapshot_date) "
        "FROM snapshots WHERE snapshot_date = ?",
        [to, D],
    )


def _mailed(store: Store, run_id: str) -> list[int]:
    rows = store.fetchall(
        "SELECT relation_id FROM decisions WHERE run_id = ? AND arm IN ('treat', 'explore') "
        "ORDER BY relation_id",
        [run_id],
    )
    return [r[0] for r in rows]


def _status(store: Store, run_id: str) -> tuple[str, str | None]:
    row = store.fetchone("SELECT status, superseded_by FROM runs WHERE run_id = ?", [run_id])
    assert row is not None
    return row[0], row[1]


def _exported(store: Store, path: Path, *, actor: str = "ana") -> str:
    cfg = tiny_config(path)
    rid = run_week(store, cfg, actor=actor).run_id
    decide_review(store, rid, approve=True, actor="ben", comment="sample ok")
    export_run(store, cfg, rid, actor="ben")
    return rid


# -- one live list per week ------------------------------------------------------------------
def test_second_run_of_a_week_is_refused(tiny_store: tuple[Store, Path]) -> None:
    """A week with a pending run cannot be decided again without a reason; nothing is added."""
    store, path = tiny_store
    cfg = tiny_config(path)
    first = run_week(store, cfg, actor="ana")
    with pytest.raises(RunStateError, match=r"2025-03-02-r1 \(pending_review\).*--supersede"):
        run_week(store, cfg, actor="ana")
    assert store.scalar("SELECT count(*) FROM runs") == 1
    assert _status(store, first.run_id) == ("pending_review", None)


def test_override_of_checks_does_not_supersede(tiny_store: tuple[Store, Path]) -> None:
    """Overriding failed checks is not a reason to decide a week twice."""
    store, path = tiny_store
    cfg = tiny_config(path)
    run_week(store, cfg, actor="ana")
    with pytest.raises(RunStateError, match="already has a live list"):
        run_week(store, cfg, override="checked the drift", actor="ana")


def test_supersede_an_exported_run_mails_nobody_twice(tiny_store: tuple[Store, Path]) -> None:
    """With a reason the new run supersedes the exported one; the week's own contacts count,
    so 101 and 102 (mailed by r1) are in cooldown and only 103 is selected and mailed."""
    store, path = tiny_store
    cfg = tiny_config(path)
    r1 = _exported(store, path)
    assert _mailed(store, r1) == [101, 102]
    r2 = run_week(store, cfg, supersede="the list used last week's balances", actor="ana")
    assert r2.run_id == "2025-03-02-r2"
    assert _status(store, r1) == ("exported", r2.run_id)  # its mails went out: still measured
    assert _status(store, r2.run_id) == ("pending_review", None)
    rules = dict(
        store.fetchall(
            "SELECT relation_id, first_failed_rule FROM decisions WHERE run_id = ? "
            "AND relation_id IN (101, 102, 103)",
            [r2.run_id],
        )
    )
    assert rules == {101: "not_in_cooldown", 102: "not_in_cooldown", 103: None}
    decide_review(store, r2.run_id, approve=True, actor="ben", comment="ok")
    out = export_run(store, cfg, r2.run_id, actor="ben")
    assert out.csv_file.read_text().splitlines()[1:] == [
        '103,"invest-onboarding","inform > how-to-start > concrete-steps","treat"'
    ]
    events = store.fetchall(
        "SELECT run_id, event, actor FROM run_events WHERE event = 'superseded' ORDER BY run_id"
    )
    assert events == [(r1, "superseded", "ana"), (r2.run_id, "superseded", "ana")]
    with pytest.raises(RunStateError, match=f"superseded by {r2.run_id}"):
        export_run(store, cfg, r1, actor="ben")
    assert replay(store, r1).identical
    assert replay(store, r2.run_id).identical


def test_superseded_pending_run_cannot_be_approved(tiny_store: tuple[Store, Path]) -> None:
    """A pending run that was superseded is no longer approvable or exportable."""
    store, path = tiny_store
    cfg = tiny_config(path)
    r1 = run_week(store, cfg, actor="ana").run_id
    r2 = run_week(store, cfg, supersede="threshold was wrong", actor="ana").run_id
    assert _status(store, r1) == ("superseded", r2)
    with pytest.raises(RunStateError, match=f"is superseded \\(by {r2}\\)"):
        decide_review(store, r1, approve=True, actor="ben", comment="")
    with pytest.raises(RunStateError, match=f"was superseded by {r2}; it can no longer be"):
        export_run(store, cfg, r1, actor="ben")
    assert decide_review(store, r2, approve=True, actor="ben", comment="") == "approved"


def test_supersede_needs_a_reason_and_a_name(tiny_store: tuple[Store, Path]) -> None:
    """An empty reason or no name is refused."""
    store, path = tiny_store
    cfg = tiny_config(path)
    run_week(store, cfg, actor="ana")
    with pytest.raises(RunStateError, match="needs a written reason and a name"):
        run_week(store, cfg, supersede="  ", actor="ana")
    with pytest.raises(RunStateError, match="needs a written reason and a name"):
        run_week(store, cfg, supersede="why", actor="system")


def test_halted_retry_updates_the_weeks_record(tiny_store: tuple[Store, Path]) -> None:
    """A late week halts twice into one record (two events); when it arrives, the same
    record becomes the run."""
    store, path = tiny_store
    cfg = tiny_config(path)
    for _ in range(2):
        with pytest.raises(RunHaltedError, match="run 2025-03-09-r1 halted"):
            run_week(store, cfg, day=W1, alert=False)
    assert store.fetchall("SELECT run_id, status FROM runs") == [("2025-03-09-r1", "halted")]
    assert store.scalar("SELECT count(*) FROM run_checks WHERE run_id = '2025-03-09-r1'") == 1
    _copy_week(store, W1)
    result = run_week(store, cfg, day=W1, actor="ana", alert=False)
    assert result.run_id == "2025-03-09-r1"
    assert store.fetchall("SELECT run_id, status FROM runs") == [
        ("2025-03-09-r1", "pending_review")
    ]
    events = store.fetchall(
        "SELECT event FROM run_events WHERE run_id = '2025-03-09-r1' ORDER BY event_at, event"
    )
    assert [e for (e,) in events] == ["halted", "halted", "created"]
    assert store.scalar("SELECT count(*) FROM run_checks WHERE name = 'freshness'") == 1


def test_halted_supersede_leaves_the_live_list(
    tiny_store: tuple[Store, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deciding a live week again and halting keeps the live run live; the retry takes the
    halted record; a later halt of the week gets a record of its own."""
    from nextbest.checks import Check
    from nextbest.pipeline import _weekly

    store, path = tiny_store
    cfg = tiny_config(path)
    r1 = run_week(store, cfg, actor="ana").run_id
    row_count = _weekly.row_count
    halt = Check("row_count", "halt", 9.0, "at most 2", "the week doubled")
    monkeypatch.setattr(_weekly, "row_count", lambda *a: halt)
    with pytest.raises(RunHaltedError, match="run 2025-03-02-r2 halted before deciding"):
        run_week(store, cfg, supersede="redo", actor="ana", alert=False)
    assert _status(store, r1) == ("pending_review", None)
    monkeypatch.setattr(_weekly, "row_count", row_count)
    r2 = run_week(store, cfg, supersede="redo", actor="ana", alert=False).run_id
    assert r2 == "2025-03-02-r2"
    assert _status(store, r1) == ("superseded", r2)
    monkeypatch.setattr(_weekly, "row_count", lambda *a: halt)
    with pytest.raises(RunHaltedError, match="run 2025-03-02-r3 halted"):
        run_week(store, cfg, supersede="again", actor="ana", alert=False)
    assert _status(store, r2) == ("pending_review", None)


@pytest.mark.parametrize("shared", [True, False], ids=["shared-store", "store-per-thread"])
def test_two_threads_run_one_week_one_wins(
    tiny_store: tuple[Store, Path], monkeypatch: pytest.MonkeyPatch, shared: bool
) -> None:
    """Two runs of one week that both decide before either writes: exactly one is stored,
    the other is refused by the check inside the inserting transaction."""
    from nextbest.pipeline import _weekly

    store, path = tiny_store
    stores = [store, store] if shared else [Store(path), Store(path)]
    cfg = tiny_config(path, holdout_fraction=0.5, exploration_size=1)
    barrier = threading.Barrier(2, timeout=20)
    decide = _weekly._finish_action

    def both_decide_first(*args: Any, **kwargs: Any) -> Any:
        out = decide(*args, **kwargs)
        barrier.wait()
        return out

    monkeypatch.setattr(_weekly, "_finish_action", both_decide_first)
    try:
        outcomes = _in_threads(
            2, lambda i: run_week(stores[i], cfg, seed=3 + i, actor=f"op{i}", alert=False)
        )
    finally:
        for s in stores:
            if s is not store:
                s.close()
    assert sorted(type(o).__name__ for o in outcomes) == ["RunResult", "RunStateError"]
    (won,) = [o for o in outcomes if not isinstance(o, Exception)]
    (lost,) = [o for o in outcomes if isinstance(o, Exception)]
    assert "2025-03-02" in str(lost)
    assert store.fetchall("SELECT run_id, status FROM runs") == [
        ("2025-03-02-r1", "pending_review")
    ]
    # the stored rows are the winner's own (the two runs used other seeds)
    stored = store.fetchall("SELECT relation_id, arm FROM decisions ORDER BY relation_id")
    in_file = pq.read_table(won.decision_file, columns=["relation_id", "arm"]).to_pylist()
    assert stored == [(r["relation_id"], r["arm"]) for r in in_file]
    assert store.scalar("SELECT decision_sha256 FROM runs") == won.decision_sha256
    assert hashlib.sha256(won.decision_file.read_bytes()).hexdigest() == won.decision_sha256
    runs_dir = path.parent / "runs"
    assert [p.name for p in runs_dir.rglob("*") if p.is_file()] == [won.decision_file.name]


def test_back_dated_run_respects_later_contacts(tiny_store: tuple[Store, Path]) -> None:
    """A run for an earlier week made after the later week was exported: 101 and 102, mailed
    on D, are inside the cooldown of D-7 too; both runs still replay byte-identically."""
    store, path = tiny_store
    cfg = tiny_config(path)
    r1 = _exported(store, path)
    _copy_week(store, EARLIER)
    back = run_week(store, cfg, day=EARLIER, override="back-dated", actor="ana")
    assert _mailed(store, back.run_id) == [103]
    rule = store.scalar(
        "SELECT first_failed_rule FROM decisions WHERE run_id = ? AND relation_id = 101",
        [back.run_id],
    )
    assert rule == "not_in_cooldown"
    assert replay(store, back.run_id).identical
    assert replay(store, r1).identical


def test_past_run_is_explained_with_the_contacts_it_saw(tiny_store: tuple[Store, Path]) -> None:
    """103 was eligible (rank 3, capped) on D and mailed the week after; explaining the run of
    D still shows 103 outside the cooldown, as when that run was made."""
    from nextbest.pipeline import explain_customer

    store, path = tiny_store
    cfg = tiny_config(path)
    r1 = _exported(store, path)
    _copy_week(store, W1)
    r2 = run_week(store, cfg, day=W1, override="copied week", actor="ana").run_id
    decide_review(store, r2, approve=True, actor="ben", comment="")
    export_run(store, cfg, r2, actor="ben")
    assert _mailed(store, r2) == [103]
    (before,) = explain_customer(store, cfg, r1, 103).actions
    assert RuleCheck("not_in_cooldown", passed=True) in before.eligibility
    (after,) = explain_customer(store, cfg, r2, 101).actions
    assert RuleCheck("not_in_cooldown", passed=False) in after.eligibility


def test_review_shows_overlap_with_the_same_week(tiny_store: tuple[Store, Path]) -> None:
    """Review lists the other runs of the week and the previous week with the overlap."""
    store, path = tiny_store
    cfg = tiny_config(path)
    r1 = run_week(store, cfg, actor="ana").run_id
    r2 = run_week(store, cfg, supersede="again", actor="ana").run_id
    summary = review(store, r2)
    assert summary.overlaps == [
        Overlap(run_id=r1, snapshot_date=D, status="superseded", assigned_in_both=2)
    ]
    assert summary.superseded_by is None
    assert summary.started_by == "ana"
    assert review(store, r1).superseded_by == r2


# -- four eyes and naming the run ------------------------------------------------------------
def test_starter_cannot_approve(tiny_store: tuple[Store, Path]) -> None:
    """Who started a run cannot approve it (names compared without case); rejecting is allowed."""
    store, path = tiny_store
    rid = run_week(store, tiny_config(path), actor="ana").run_id
    with pytest.raises(RunStateError, match="started by ana; someone else must approve"):
        decide_review(store, rid, approve=True, actor=" Ana ", comment="")
    assert decide_review(store, rid, approve=False, actor="ana", comment="oops") == "rejected"


def test_state_changes_need_the_run_named(tiny_store: tuple[Store, Path]) -> None:
    """approve, reject and export refuse 'latest'; review accepts it."""
    store, path = tiny_store
    cfg = tiny_config(path)
    rid = run_week(store, cfg, actor="ana").run_id
    for call in (
        lambda: decide_review(store, "latest", approve=True, actor="ben", comment=""),
        lambda: decide_review(store, "latest", approve=False, actor="ben", comment=""),
        lambda: export_run(store, cfg, "latest", actor="ben"),
    ):
        with pytest.raises(RunStateError, match="name the run id"):
            call()
    assert review(store, "latest").run_id == rid


# -- races -----------------------------------------------------------------------------------
def _in_threads(n: int, call: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n, timeout=20)

    def one(i: int) -> Any:
        barrier.wait()
        try:
            return call(i)
        except Exception as exc:  # the test sorts the outcomes
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.parametrize("shared", [True, False], ids=["shared-store", "store-per-thread"])
def test_parallel_approve_and_reject_one_wins(tiny_store: tuple[Store, Path], shared: bool) -> None:
    """Six approvals and six rejections at once: exactly one succeeds, the others get
    RunStateError (never a database error), and one event is recorded."""
    store, path = tiny_store
    rid = run_week(store, tiny_config(path), actor="ana").run_id
    stores = [store] * 12 if shared else [Store(path) for _ in range(12)]
    try:
        outcomes = _in_threads(
            12,
            lambda i: decide_review(
                stores[i], rid, approve=i % 2 == 0, actor=f"op{i}", comment="race"
            ),
        )
    finally:
        for s in stores:
            if s is not store:
                s.close()
    wins = [o for o in outcomes if isinstance(o, str)]
    assert len(wins) == 1, outcomes
    assert all(isinstance(o, RunStateError) for o in outcomes if not isinstance(o, str))
    assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [rid]) == wins[0]
    assert (
        store.scalar(
            "SELECT count(*) FROM run_events WHERE run_id = ? "
            "AND event IN ('approved', 'rejected')",
            [rid],
        )
        == 1
    )


@pytest.mark.parametrize("shared", [True, False], ids=["shared-store", "store-per-thread"])
def test_parallel_exports_send_once(tiny_store: tuple[Store, Path], shared: bool) -> None:
    """Six exports at once: one exports, the others are refused or find it already exported;
    the contacts are recorded once and every file matches its recorded sha256."""
    store, path = tiny_store
    cfg = tiny_config(path)
    rid = run_week(store, cfg, actor="ana").run_id
    decide_review(store, rid, approve=True, actor="ben", comment="")
    stores = [store] * 6 if shared else [Store(path) for _ in range(6)]
    try:
        outcomes = _in_threads(6, lambda i: export_run(stores[i], cfg, rid, actor=f"op{i}"))
    finally:
        for s in stores:
            if s is not store:
                s.close()
    fresh = [o for o in outcomes if not isinstance(o, Exception) and not o.already]
    assert len(fresh) == 1, outcomes
    assert all(
        isinstance(o, RunStateError) or (not isinstance(o, Exception) and o.already)
        for o in outcomes
        if o is not fresh[0]
    ), outcomes
    assert store.scalar("SELECT count(*) FROM contacts WHERE run_id = ?", [rid]) == 2
    _assert_files_match(store, rid)
    assert not list((path.parent / "nextbest-out" / "handoffs" / rid).glob("*.tmp"))


# -- export re-checks and file repair --------------------------------------------------------
def _assert_files_match(store: Store, rid: str) -> None:
    row = store.fetchone(
        "SELECT csv_file, sha256, parquet_file, parquet_sha256, stops_file, stops_sha256 "
        "FROM exports WHERE run_id = ?",
        [rid],
    )
    assert row is not None
    for file, sha in zip(row[::2], row[1::2], strict=True):
        assert hashlib.sha256(Path(file).read_bytes()).hexdigest() == sha, file


def test_export_refuses_customers_contacted_since_the_run(tiny_store: tuple[Store, Path]) -> None:
    """A contact recorded for 101 on the same date after the run was made (another run's
    export) refuses the whole export with the count and the rule; nothing is recorded but
    the refusal."""
    store, path = tiny_store
    cfg = tiny_config(path)
    rid = run_week(store, cfg, actor="ana").run_id
    decide_review(store, rid, approve=True, actor="ben", comment="")
    store.execute("INSERT INTO contacts VALUES (101, 'other-action', ?, 'elsewhere', 'treat')", [D])
    with pytest.raises(RunStateError, match=r"1 of the 2 customers.*cooldown \(relation 101\)"):
        export_run(store, cfg, rid, actor="ben")
    assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [rid]) == "approved"
    assert store.scalar("SELECT count(*) FROM contacts WHERE run_id = ?", [rid]) == 0
    assert store.scalar("SELECT count(*) FROM exports") == 0
    assert store.scalar(
        "SELECT comment FROM run_events WHERE run_id = ? AND event = 'export_refused'", [rid]
    ).startswith("1 of the 2 customers")
    assert not (path.parent / "nextbest-out" / "handoffs" / rid / "handoff.csv").exists()


def test_export_refuses_mailing_a_holdout(tiny_store: tuple[Store, Path]) -> None:
    """A customer held out by another action 9 weeks ago is still inside that action's
    10-week measurement window: mailing them is refused (beyond the 8-week cooldown)."""
    store, path = tiny_store
    cfg = tiny_config(path, label_weeks=10)
    rid = run_week(store, cfg, actor="ana").run_id
    decide_review(store, rid, approve=True, actor="ben", comment="")
    store.execute(
        "INSERT INTO contacts VALUES (102, 'invest-onboarding', ?, 'elsewhere', 'holdout')",
        [D - dt.timedelta(weeks=9)],
    )
    with pytest.raises(RunStateError, match=r"1 of the 2 .*measurement window.*relation 102"):
        export_run(store, cfg, rid, actor="ben")


def test_export_refuses_a_holdout_mailed_later(tiny_store: tuple[Store, Path]) -> None:
    """A customer this run holds out who was mailed 9 weeks after D by a later run (exported
    first) is inside the 10-week measurement window: the export is refused."""
    store, path = tiny_store
    cfg = tiny_config(path, label_weeks=10, holdout_fraction=0.5)
    rid = run_week(store, cfg, actor="ana").run_id
    (held,) = store.fetchall(
        "SELECT relation_id FROM decisions WHERE run_id = ? AND arm = 'holdout'", [rid]
    )[0]
    decide_review(store, rid, approve=True, actor="ben", comment="")
    store.execute(
        "INSERT INTO contacts VALUES (?, 'invest-onboarding', ?, 'later', 'treat')",
        [held, D + dt.timedelta(weeks=9)],
    )
    with pytest.raises(RunStateError, match=f"1 within a holdout's .*relation {held}\\)"):
        export_run(store, cfg, rid, actor="ben")


@pytest.mark.parametrize(
    ("arm", "label_weeks", "rule"),
    [("holdout", 8, None), ("holdout", 10, "not_in_cooldown"), ("treat", 10, None)],
)
def test_holdout_window_longer_than_the_cooldown(
    tiny_store: tuple[Store, Path], arm: str, label_weeks: int, rule: str | None
) -> None:
    """102, assigned 9 weeks before D, is past the 8-week cooldown; held out with a 10-week
    measurement window it is still inside that window and not eligible (mailed, it is
    eligible again); eligibility and the export re-check agree, so the list exports."""
    store, path = tiny_store
    store.execute(
        "INSERT INTO contacts VALUES (102, 'invest-onboarding', ?, 'elsewhere', ?)",
        [D - dt.timedelta(weeks=9), arm],
    )
    cfg = tiny_config(path, label_weeks=label_weeks)
    rid = run_week(store, cfg, actor="ana").run_id
    got = store.scalar(
        "SELECT first_failed_rule FROM decisions WHERE run_id = ? AND relation_id = 102", [rid]
    )
    assert got == rule
    decide_review(store, rid, approve=True, actor="ben", comment="")
    assert not export_run(store, cfg, rid, actor="ben").already


@pytest.mark.parametrize("name", ["handoff.csv", "handoff.parquet", "stops.csv"])
@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_re_export_repairs_each_file(
    tiny_store: tuple[Store, Path], name: str, damage: str
) -> None:
    """A deleted or truncated hand-off or stops file is rewritten from the recorded decisions
    on the next export, byte for byte; the others are left alone."""
    store, path = tiny_store
    rid = _exported(store, path)
    file = path.parent / "nextbest-out" / "handoffs" / rid / name
    original = file.read_bytes()
    if damage == "deleted":
        file.unlink()
    else:
        file.write_bytes(original[: len(original) // 2])
    again = export_run(store, tiny_config(path), rid, actor="ben")
    assert again.already
    assert again.restored == (name,)
    assert file.read_bytes() == original
    _assert_files_match(store, rid)


def test_stops_file_that_cannot_be_rebuilt_fails_loudly(tiny_store: tuple[Store, Path]) -> None:
    """stops.csv lists 111 (mailed D-14, converted D-10); once that conversion is gone the
    file cannot be rebuilt to its recorded sha256: the re-export fails and says so."""
    store, path = tiny_store
    rid = _exported(store, path)
    stops = path.parent / "nextbest-out" / "handoffs" / rid / "stops.csv"
    assert stops.read_text().splitlines()[1:] == ['111,"invest-onboarding",2025-02-20']
    stops.unlink()
    store.execute("DELETE FROM conversions WHERE relation_id = 111")
    with pytest.raises(StoreError, match=r"stops\.csv .* cannot be rebuilt"):
        export_run(store, tiny_config(path), rid, actor="ben")
    assert not stops.exists()


def test_old_store_opens_and_works(tiny_store: tuple[Store, Path]) -> None:
    """A store made before runs and exports had their new columns opens, gets them, and
    can run, approve and export."""
    store, path = tiny_store
    for table, column in (
        ("runs", "started_by"),
        ("runs", "superseded_by"),
        ("exports", "parquet_sha256"),
        ("exports", "stops_file"),
        ("exports", "stops_sha256"),
    ):
        store.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    store.close()
    with Store(path) as again:
        rid = _exported(again, path)
        assert again.scalar("SELECT started_by FROM runs WHERE run_id = ?", [rid]) == "ana"
        _assert_files_match(again, rid)
