"""kill -9 at any point of a run or an export leaves a consistent store; the next call recovers."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nextbest.config import load_config
from nextbest.pipeline import decide_review
from nextbest.store import open_store
from tests.conftest import DemoFactory

DELAYS = (0.8, 1.6, 2.2, 2.8, 3.5)


def _nextbest(cfg: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "nextbest", "-c", str(cfg), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_after(proc: subprocess.Popen[bytes], delay: float) -> None:
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


def _consistent(cfg_path: Path) -> dict[str, int]:
    """Every run that is not halted has exactly one decision per customer and action; no
    decision, check or contact belongs to a run that does not exist; exported runs have
    their contacts and export record, others none."""
    cfg = load_config(cfg_path)
    with open_store(cfg) as store:
        runs = store.fetchall("SELECT run_id, status, snapshot_date FROM runs")
        for rid, status, day in runs:
            n = store.scalar("SELECT count(*) FROM decisions WHERE run_id = ?", [rid])
            customers = store.scalar(
                "SELECT count(*) FROM snapshots WHERE snapshot_date = ?", [day]
            )
            expected = 0 if status in ("halted", "skipped") else customers
            assert n == expected, (rid, status, n, expected)
            contacts = store.scalar("SELECT count(*) FROM contacts WHERE run_id = ?", [rid])
            exported = store.scalar("SELECT count(*) FROM exports WHERE run_id = ?", [rid])
            if status == "exported":
                assert contacts > 0
                assert exported == 1
            else:
                assert (contacts, exported) == (0, 0), (rid, status)
        for table in ("decisions", "run_checks", "contacts"):
            orphans = store.scalar(
                f"SELECT count(*) FROM {table} WHERE run_id NOT IN (SELECT run_id FROM runs) "
                "AND run_id NOT IN ('earlier', 'backtest')"
            )
            assert orphans == 0, table
        return {s: sum(1 for r in runs if r[1] == s) for s in {r[1] for r in runs}}


@pytest.fixture
def project_copy(demos: DemoFactory, tmp_path: Path) -> Path:
    root = demos.copy(tmp_path / "demo", n_customers=2500, n_weeks=78, seed=11)
    return root / "nextbest.toml"


def test_kill_during_run(project_copy: Path) -> None:
    """Killed at several points of a weekly run that decides the demo's week again: never a
    half-written run; the next run works and leaves one live list for the week."""
    for delay in DELAYS:
        _kill_after(
            _nextbest(
                project_copy, "run", "--override", "crash test", "--supersede", "crash", "--by", "t"
            ),
            delay,
        )
        _consistent(project_copy)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nextbest",
            "-c",
            str(project_copy),
            "run",
            "--override",
            "after the crashes",
            "--supersede",
            "after the crashes",
            "--by",
            "t",
        ],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    statuses = _consistent(project_copy)
    assert statuses["pending_review"] == 1
    assert statuses["superseded"] >= 1


def test_kill_during_export(project_copy: Path, tmp_path: Path) -> None:
    """Killed while exporting: either nothing was exported or all of it; the next export
    finishes the job and contacts are never doubled."""
    cfg = load_config(project_copy)
    with open_store(cfg) as store:
        (rid,) = [r[0] for r in store.fetchall("SELECT run_id FROM runs")]
        decide_review(store, rid, approve=True, actor="ana", comment="ok")
        assigned = store.scalar(
            "SELECT count(*) FROM decisions WHERE run_id = ? "
            "AND arm IN ('treat', 'explore', 'holdout')",
            [rid],
        )
    backup = tmp_path / "approved"
    shutil.copytree(project_copy.parent, backup)
    for delay in (0.4, 0.8, 1.2, 1.6, 2.0):
        shutil.rmtree(project_copy.parent)
        shutil.copytree(backup, project_copy.parent)
        _kill_after(_nextbest(project_copy, "export", rid, "--by", "ana"), delay)
        _consistent(project_copy)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nextbest",
                "-c",
                str(project_copy),
                "export",
                rid,
                "--by",
                "ana",
            ],
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()
        with open_store(cfg.model_copy(update={"source_path": project_copy})) as store:
            assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [rid]) == "exported"
            assert store.scalar("SELECT count(*) FROM contacts WHERE run_id = ?", [rid]) == assigned
        handoff = project_copy.parent / "nextbest-out" / "handoffs" / rid / "handoff.csv"
        assert handoff.exists()
        _consistent(project_copy)
