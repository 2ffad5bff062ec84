"""Operations on a demo project: halts with e-mail, review, approve, export, replay, knobs."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from nextbest.config import Config, load_config
from nextbest.errors import ConfigError, RunHaltedError, RunStateError
from nextbest.pipeline import (
    decide_review,
    due_week,
    effective_config,
    export_run,
    knob_log,
    replay,
    run_week,
    set_knob,
)
from nextbest.simulate import BankManifest
from nextbest.store import Store, open_store
from tests.conftest import DemoFactory


@dataclass
class Mailbox:
    messages: list[str]

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append(envelope.content.decode())  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback that keeps what it receives."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox([])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def project(demos: DemoFactory) -> Path:
    return demos.built(n_customers=2500, n_weeks=78, seed=11)


@pytest.fixture
def proj(
    project: Path, tmp_path: Path, smtp: tuple[Mailbox, int]
) -> Iterator[tuple[Config, Store, Mailbox, BankManifest]]:
    """A private copy of the demo project, alerting to the loopback SMTP server."""
    root = tmp_path / "demo"
    shutil.copytree(project, root)
    box, port = smtp
    text = (root / "nextbest.toml").read_text()
    text += (
        f'\n[alerts]\nrecipients = ["ops@bank.test"]\nsmtp_host = "127.0.0.1"\n'
        f'smtp_port = {port}\nsecurity = "none"\n'
    )
    (root / "nextbest.toml").write_text(text)
    cfg = load_config(root / "nextbest.toml")
    with open_store(cfg) as store:
        yield cfg, store, box, BankManifest.read(root / "bank" / "manifest.json")


def _halts(
    store: Store,
    cfg: Config,
    box: Mailbox,
    day: dt.date,
    check: str,
    *,
    supersede: str | None = None,
    actor: str = "system",
) -> str:
    with pytest.raises(RunHaltedError, match=check):
        run_week(store, cfg, day=day, supersede=supersede, actor=actor)
    rid = store.scalar(
        "SELECT run_id FROM runs WHERE snapshot_date = ? AND status = 'halted' "
        "ORDER BY created_at DESC LIMIT 1",
        [day],
    )
    assert rid is not None
    assert store.scalar("SELECT count(*) FROM decisions WHERE run_id = ?", [rid]) == 0
    verdict = store.scalar(
        "SELECT verdict FROM run_checks WHERE run_id = ? AND name LIKE ?", [rid, f"{check}%"]
    )
    assert verdict == "halt"
    (raw,) = box.messages
    mail = email.message_from_string(raw, policy=email.policy.default)
    assert mail["Subject"].strip().startswith(f"[nextbest] run halted for {day}")
    assert mail["To"] == "ops@bank.test"
    body = mail.get_content()  # type: ignore[attr-defined]
    assert check in body
    assert "(figure " in body
    box.messages[0] = body
    with pytest.raises(RunStateError, match="only an approved run can be exported"):
        export_run(store, cfg, str(rid), actor="ana")
    return str(rid)


def test_late_week_halts_with_mail(proj: tuple[Config, Store, Mailbox, BankManifest]) -> None:
    """The week the warehouse did not deliver halts on freshness; the mail says so."""
    cfg, store, box, manifest = proj
    late = dt.date.fromisoformat(str(manifest.faults["late_week"]))
    _halts(store, cfg, box, late, "freshness")
    assert "the warehouse is late" in box.messages[0]


def test_null_burst_halts_on_the_contract(
    proj: tuple[Config, Store, Mailbox, BankManifest],
) -> None:
    """The null-burst week breaks its contract: halt, with the share and the limit in the mail."""
    cfg, store, box, manifest = proj
    week = dt.date.fromisoformat(str(manifest.faults["null_burst_week"]))
    _halts(store, cfg, box, week, "contract")
    assert "app_installed is null in" in box.messages[0]


def test_crash_week_halts_on_market_regime(
    proj: tuple[Config, Store, Mailbox, BankManifest],
) -> None:
    """In the crash the market is outside the band the model learned from: halt."""
    cfg, store, box, manifest = proj
    crash = dt.date.fromisoformat(manifest.crash_start) + dt.timedelta(days=20)
    _halts(store, cfg, box, crash, "market_regime")
    assert "outside the trained band" in box.messages[0]


def test_drifted_feature_halts(proj: tuple[Config, Store, Mailbox, BankManifest]) -> None:
    """Balances delivered in cents instead of euros drift far from training: halt on drift."""
    cfg, store, box, manifest = proj
    day = dt.date.fromisoformat(manifest.delivered_dates[-1])
    store.execute(
        "UPDATE snapshots SET total_balance = total_balance * 100 WHERE snapshot_date = ?", [day]
    )
    # the demo's run of this week is live: deciding it again needs a reason
    _halts(store, cfg, box, day, "drift:balance", supersede="cents", actor="ana")


def test_runaway_volume_halts(proj: tuple[Config, Store, Mailbox, BankManifest]) -> None:
    """A threshold knob set far too low makes the model want far more than the maximum."""
    cfg, store, box, manifest = proj
    for knob, value in (("threshold", "0.0001"), ("max_weekly", "100")):
        set_knob(store, cfg, "invest-onboarding", knob, value, actor="ana", reason="runaway")
    eff = effective_config(store, cfg)
    assert eff.actions[0].threshold == 0.0001
    day = dt.date.fromisoformat(manifest.delivered_dates[-1])
    _halts(store, eff, box, day, "volume", supersede="runaway", actor="ana")
    assert "above the threshold against a weekly maximum of 100" in box.messages[0]


def test_malformed_batch_is_a_warning(proj: tuple[Config, Store, Mailbox, BankManifest]) -> None:
    """The malformed week's quarantined rows are a contract warning; with an override (the
    market of that April is unusual) the run goes on and records who decided."""
    cfg, store, box, manifest = proj
    week = dt.date.fromisoformat(str(manifest.faults["malformed_week"]))
    result = run_week(store, cfg, day=week, override="checked the quarantine", actor="ana")
    contract = next(c for c in result.checks if c.name == "contract")
    assert contract.verdict == "warn"
    assert "quarantined" in contract.message
    override = store.scalar("SELECT override FROM runs WHERE run_id = ?", [result.run_id])
    assert '"by": "ana"' in override
    assert box.messages == []


def test_approve_export_idempotent_and_cooldown(
    proj: tuple[Config, Store, Mailbox, BankManifest],
) -> None:
    """Only approved runs export; twice is a no-op; the contacts keep next week's list clear."""
    cfg, store, _, manifest = proj
    (rid,) = [r[0] for r in store.fetchall("SELECT run_id FROM runs")]  # the demo's run
    with pytest.raises(RunStateError, match="only an approved run can be exported"):
        export_run(store, cfg, rid, actor="ana")
    decide_review(store, rid, approve=True, actor="ana", comment="sample ok")
    first = export_run(store, cfg, rid, actor="ana")
    assert not first.already
    mailed = store.scalar(
        "SELECT count(*) FROM decisions WHERE run_id = ? AND arm IN ('treat', 'explore')", [rid]
    )
    assert first.rows == mailed
    assert first.csv_file.read_text().count("\n") == mailed + 1
    contacts = store.scalar("SELECT count(*) FROM contacts")
    second = export_run(store, cfg, rid, actor="ana")
    assert second.already
    assert store.scalar("SELECT count(*) FROM contacts") == contacts
    with pytest.raises(RunStateError, match="is exported; only a run pending review"):
        decide_review(store, rid, approve=False, actor="ben", comment="late")
    # next week (re-delivered as a copy of this week) nobody assigned is eligible again
    day = dt.date.fromisoformat(manifest.delivered_dates[-1])
    nxt = day + dt.timedelta(weeks=1)
    store.execute(
        "INSERT INTO snapshots SELECT * REPLACE (CAST(? AS DATE) AS snapshot_date) "
        "FROM snapshots WHERE snapshot_date = ?",
        [nxt, day],
    )
    assert due_week(store) == (nxt, f"the week after {day}")
    nxt_run = run_week(store, cfg, day=nxt, override="copied week", actor="test")
    again = store.scalar(
        "SELECT count(*) FROM decisions a JOIN decisions b USING (relation_id) "
        "WHERE a.run_id = ? AND b.run_id = ? AND a.arm <> 'none' AND b.arm <> 'none'",
        [rid, nxt_run.run_id],
    )
    assert again == 0


def test_rejected_run_never_exports(proj: tuple[Config, Store, Mailbox, BankManifest]) -> None:
    """A rejected run stays rejected and cannot be exported."""
    cfg, store, _, _ = proj
    (rid,) = [r[0] for r in store.fetchall("SELECT run_id FROM runs")]
    assert decide_review(store, rid, approve=False, actor="ben", comment="too few") == "rejected"
    with pytest.raises(RunStateError, match="is rejected"):
        export_run(store, cfg, rid, actor="ben")


def test_replay_is_byte_identical(proj: tuple[Config, Store, Mailbox, BankManifest]) -> None:
    """A past run recomputed from its record gives the same bytes, also after its export and
    after a new champion took over; the store is left as it was."""
    cfg, store, _, _ = proj
    (rid,) = [r[0] for r in store.fetchall("SELECT run_id FROM runs")]
    decide_review(store, rid, approve=True, actor="ana", comment="ok")
    export_run(store, cfg, rid, actor="ana")
    before = store.fetchall("SELECT version, status FROM model_versions ORDER BY version")
    result = replay(store, rid)
    assert result.identical
    assert result.recorded_sha256 == result.replayed_sha256
    assert result.superseded == ()
    assert store.fetchall("SELECT version, status FROM model_versions ORDER BY version") == before
    assert store.scalar("SELECT count(*) FROM runs") == 1


def test_knob_changes_are_logged_and_validated(
    proj: tuple[Config, Store, Mailbox, BankManifest],
) -> None:
    """Each change is logged with who, old → new and why; a bad value is refused; changing
    again within the evaluation window warns; a disabled action is skipped on schedule."""
    cfg, store, _, _ = proj
    old, new, warning = set_knob(
        store, cfg, "invest-onboarding", "max_weekly", "600", actor="ana", reason="budget"
    )
    assert (old, new, warning) == (800, 600, None)
    _, _, warning = set_knob(
        store, cfg, "invest-onboarding", "holdout_fraction", "0.2", actor="ana", reason="more power"
    )
    assert warning is not None
    assert "unmeasurable" in warning
    with pytest.raises(ConfigError, match="holdout_fraction"):
        set_knob(store, cfg, "invest-onboarding", "holdout_fraction", "1.5", actor="a", reason="x")
    with pytest.raises(ConfigError, match="unknown knob 'treshold'; Did you mean 'threshold'"):
        set_knob(store, cfg, "invest-onboarding", "treshold", "0.1", actor="a", reason="x")
    log = knob_log(store)
    assert [(e["knob"], e["old"], e["new"], e["by"]) for e in log] == [
        ("max_weekly", "800", "600", "ana"),
        ("holdout_fraction", "0.1", "0.2", "ana"),
    ]
    eff = effective_config(store, cfg)
    assert (eff.actions[0].max_weekly, eff.actions[0].holdout_fraction) == (600, 0.2)


def test_disabled_action_is_skipped_on_schedule(
    proj: tuple[Config, Store, Mailbox, BankManifest],
) -> None:
    """With the on/off knob off, the scheduled run records the week as skipped, not run."""
    from typer.testing import CliRunner

    from nextbest.cli import app

    cfg, store, _, manifest = proj
    set_knob(store, cfg, "invest-onboarding", "enabled", "false", actor="ana", reason="holiday")
    day = dt.date.fromisoformat(manifest.delivered_dates[-1])
    nxt = day + dt.timedelta(weeks=1)
    store.execute(
        "INSERT INTO snapshots SELECT * REPLACE (CAST(? AS DATE) AS snapshot_date) "
        "FROM snapshots WHERE snapshot_date = ?",
        [nxt, day],
    )
    assert cfg.source_path is not None
    result = CliRunner().invoke(app, ["-c", str(cfg.source_path), "run", "--week", "auto"])
    assert result.exit_code == 0, result.output
    assert "skipped, the action is switched off" in result.output
    row = store.fetchone("SELECT status, halted_reason FROM runs WHERE snapshot_date = ?", [nxt])
    assert row == ("skipped", "disabled: invest-onboarding")
