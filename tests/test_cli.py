"""The command line, run as a user runs it (Typer's runner, real store and files)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import config_from_mapping, load_config
from nextbest.store import open_store
from tests.pipeline._tiny import write_tiny_project

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo project made through the CLI. 600 customers give too few converters for
    the model to show it beats chance and the baseline: the release gate keeps it a candidate
    until a person overrides, and then the demo runs the week."""
    out = tmp_path_factory.mktemp("cli") / "demo"
    demo = ["demo", "--dir", str(out), "--customers", "600", "--weeks", "78", "--single-action"]
    result = runner.invoke(app, demo)
    assert result.exit_code == 0, result.output
    assert "Ingestion under data contracts" in result.output
    assert "Features for 2025-06-29 (600 customers)" in result.output
    assert "started investing" in result.output
    assert "oracle" in result.output
    assert "release gate: failed (above_chance" in result.output
    assert "No weekly run:" in result.output
    match = re.search(r"nextbest models promote (\S+) --to champion", result.output)
    assert match is not None, result.output
    promoted = runner.invoke(
        app,
        [
            *("-c", str(out / "nextbest.toml"), "models", "promote", match.group(1)),
            *("--to", "champion", "--by", "ana", "--reason", "demo"),
            *("--override", "a 600-customer demo: too few converters to judge the model"),
        ],
    )
    assert promoted.exit_code == 0, promoted.output
    again = runner.invoke(app, demo)
    assert again.exit_code == 0, again.output
    assert "Run 2025-06-29-r1 for 2025-06-29: status pending_review" in again.output
    return out


def test_demo_makes_a_project(demo_dir: Path) -> None:
    """The demo leaves a config, a store and the bank, usable by every other command."""
    assert (demo_dir / "nextbest.toml").exists()
    assert (demo_dir / "nextbest.duckdb").exists()
    assert (demo_dir / "bank" / "manifest.json").exists()
    result = runner.invoke(app, ["-c", str(demo_dir / "nextbest.toml"), "status"])
    assert result.exit_code == 0, result.output
    assert "snapshots" in result.output
    assert "null_limit" not in result.output  # messages, not rule codes
    assert "app_installed is null in" in result.output


def test_demo_again_is_idempotent(demo_dir: Path) -> None:
    """Running the demo again reuses the bank and skips every loaded file."""
    result = runner.invoke(
        app, ["demo", "--dir", str(demo_dir), "--customers", "600", "--weeks", "78"]
    )
    assert result.exit_code == 0, result.output
    assert "80 file(s) were already loaded unchanged and were skipped" in result.output
    assert "Run 2025-06-29-r2" in result.output


def test_quarantine_rows(demo_dir: Path) -> None:
    """The quarantine command lists the failing rows with their rule and value."""
    result = runner.invoke(
        app, ["-c", str(demo_dir / "nextbest.toml"), "quarantine", "--rows", "--limit", "500"]
    )
    assert result.exit_code == 0, result.output
    assert "range: outside 0..120 (value '212')" in result.output


def test_features_to_file(demo_dir: Path, tmp_path: Path) -> None:
    """Features for a date can be written to Parquet."""
    import pyarrow.parquet as pq

    out = tmp_path / "f.parquet"
    result = runner.invoke(
        app,
        [
            "-c",
            str(demo_dir / "nextbest.toml"),
            "features",
            "--date",
            "2024-07-21",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 600
    assert table.column_names[:3] == ["relation_id", "snapshot_date", "age"]


def test_errors_are_one_line(tmp_path: Path) -> None:
    """A user error prints one line and exits 2; no traceback."""
    result = runner.invoke(app, ["-c", str(tmp_path / "missing.toml"), "status"])
    assert result.exit_code == 2
    assert "error: config file" in result.output
    assert "Traceback" not in result.output


def test_bad_date_is_refused(demo_dir: Path) -> None:
    """A date that is not loaded names the loaded range."""
    result = runner.invoke(
        app, ["-c", str(demo_dir / "nextbest.toml"), "features", "--date", "2031-01-05"]
    )
    assert result.exit_code == 2
    assert "no snapshot loaded for 2031-01-05" in result.output


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    """init writes a starter config once; a second time needs --force."""
    path = tmp_path / "nextbest.toml"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 0
    again = runner.invoke(app, ["init", str(path)])
    assert again.exit_code == 2
    assert "already exists; pass --force" in again.output


def test_init_dir_makes_a_project_folder(tmp_path: Path) -> None:
    """init DIR creates the folder with nextbest.toml inside (it wrote a file named DIR), and
    the starter config shows the Dutch dialect lines, commented, that load as written."""
    result = runner.invoke(app, ["init", str(tmp_path / "bank-project")])
    assert result.exit_code == 0, result.output
    config = tmp_path / "bank-project" / "nextbest.toml"
    assert config.is_file()
    assert f"wrote {config}" in " ".join(result.output.split())
    text = config.read_text(encoding="utf-8")
    assert '# decimal = ","' in text and '# relation_id = "REL_NR"' in text
    lines = text.splitlines()
    start = lines.index('# delimiter = ";"')
    settings = dict(line[2:].split(" = ", 1) for line in lines[start : start + 6])
    assert settings == {
        "delimiter": '";"',
        "decimal": '","',
        "thousands": '"."',
        "encoding": '"latin-1"',
        "date_format": '"%d-%m-%Y"',
        "null_values": '["NULL"]',
    }
    block = range(start, lines.index('# "Privé Bankieren" = "private"') + 1)
    uncommented = "\n".join(ln[2:] if i in block else ln for i, ln in enumerate(lines))
    cfg = config_from_mapping(tomllib.loads(uncommented))
    assert cfg.sources.snapshots is not None
    assert (cfg.sources.snapshots.decimal, cfg.sources.snapshots.thousands) == (",", ".")
    assert cfg.sources.snapshots.columns["relation_id"] == "REL_NR"
    assert cfg.sources.snapshots.recode["segment"]["Privé Bankieren"] == "private"
    existing = tmp_path / "existing"
    existing.mkdir()
    assert runner.invoke(app, ["init", str(existing)]).exit_code == 0
    assert (existing / "nextbest.toml").is_file()


def test_describe_features() -> None:
    """--describe explains each feature in plain words."""
    result = runner.invoke(app, ["features", "--describe"])
    assert result.exit_code == 0, result.output
    assert "engagement" in result.output and "full at 20" in result.output


def test_report_is_self_contained(demo_dir: Path) -> None:
    """The HTML report carries Plotly inline: no external script or stylesheet."""
    import re

    text = (demo_dir / "report.html").read_text()
    assert "Plotly.newPlot" in text
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=.https?:", text)
    assert "Score distribution of the eligible customers" in text
    assert "Calibration on the evaluation weeks" in text


def test_show_run_and_customer(demo_dir: Path) -> None:
    """show lists a sample of the selected, and explains one customer."""
    cfg = str(demo_dir / "nextbest.toml")
    result = runner.invoke(app, ["-c", cfg, "show", "latest", "--sample", "3"])
    assert result.exit_code == 0, result.output
    assert "Random sample of" in result.output
    runs = runner.invoke(app, ["-c", cfg, "runs"])
    assert "pending_review" in runs.output
    bad = runner.invoke(app, ["-c", cfg, "show", "2025-06-29-r9"])
    assert bad.exit_code == 2
    assert "no run '2025-06-29-r9'; Did you mean" in bad.output


def test_backtest_writes_the_weekly_report(demo_dir: Path) -> None:
    """The replay prints a week per row, the summary and the expectation, and writes the
    report with the weekly plots and a CSV."""
    cfg = str(demo_dir / "nextbest.toml")
    result = runner.invoke(app, ["-c", cfg, "backtest"])
    assert result.exit_code in (0, 1), result.output
    assert "weekly volume: max" in result.output
    assert "volume must not fall when market_trend shifts by +1" in result.output
    reports = list((demo_dir / "nextbest-out" / "reports" / "backtests").glob("*.html"))
    assert len(reports) == 1
    text = reports[0].read_text()
    assert "Weekly volume" in text
    assert "Market: reference fund price" in text
    assert reports[0].with_suffix(".csv").read_text().startswith("week,")


def test_release_table_and_gate(demo_dir: Path, tmp_path: Path) -> None:
    """A logistic candidate is compared with the LightGBM champion line by line; the gate
    refuses a failing promotion without an override and records one with it."""
    cfg_text = (demo_dir / "nextbest.toml").read_text()
    logistic = demo_dir / "logistic.toml"
    logistic.write_text(cfg_text.replace('kind = "lightgbm"', 'kind = "logistic"'))
    trained = runner.invoke(app, ["-c", str(logistic), "train"])
    assert trained.exit_code == 0, trained.output
    listing = runner.invoke(app, ["-c", str(logistic), "models", "list"]).output
    champion = next(line.split()[1] for line in listing.splitlines() if "champion" in line)
    candidate = next(line.split()[1] for line in listing.splitlines() if "candidate" in line)
    table = runner.invoke(app, ["-c", str(logistic), "models", "compare", candidate, champion])
    assert table.exit_code == 0, table.output
    for check in (
        "PR-AUC on the same weeks",
        "calibration error",
        "feature-rank correlation",
        "share of the selected whose action changes",
    ):
        assert check in table.output
    promote = runner.invoke(
        app,
        [
            "-c",
            str(logistic),
            "models",
            "promote",
            candidate,
            "--to",
            "champion",
            "--by",
            "ana",
            "--reason",
            "simpler",
        ],
    )
    if "fail" in table.output:
        assert promote.exit_code == 2
        assert "fails the release table" in promote.output
        forced = runner.invoke(
            app,
            [
                "-c",
                str(logistic),
                "models",
                "promote",
                candidate,
                "--to",
                "champion",
                "--by",
                "ana",
                "--reason",
                "simpler",
                "--override",
                "accepted by the marketeer",
            ],
        )
        assert forced.exit_code == 0, forced.output
    else:
        assert promote.exit_code == 0, promote.output
    back = runner.invoke(
        app,
        [
            "-c",
            str(logistic),
            "models",
            "rollback",
            "invest-onboarding",
            "--by",
            "ben",
            "--reason",
            "back to trees",
        ],
    )
    assert back.exit_code == 0, back.output
    assert f"{champion} is champion again" in back.output


def test_measure_an_exported_run(demo_dir: Path) -> None:
    """Approve, export, let the (synthetic) outcomes arrive, and measure: per-arm figures with
    intervals, incrementality, the model's lift, power, and a CSV of every figure."""
    cfg = str(demo_dir / "nextbest.toml")
    knob = runner.invoke(
        app,
        [
            "-c",
            cfg,
            "knobs",
            "set",
            "invest-onboarding.threshold=0.01",
            "--by",
            "ana",
            "--reason",
            "a small bank needs a lower bar",
        ],
    )
    assert knob.exit_code == 0, knob.output
    ran = runner.invoke(
        app, ["-c", cfg, "run", "--override", "test", "--supersede", "lower bar", "--by", "ana"]
    )
    assert ran.exit_code == 0, ran.output
    rid = ran.output.split("Run ", 1)[1].split()[0]
    assert runner.invoke(app, ["-c", cfg, "approve", rid, "--by", "ben"]).exit_code == 0
    exported = runner.invoke(app, ["-c", cfg, "export", rid, "--by", "ben"])
    assert exported.exit_code == 0, exported.output
    drawn = runner.invoke(app, ["-c", cfg, "simulate-outcomes", rid])
    assert drawn.exit_code == 0, drawn.output
    result = runner.invoke(app, ["-c", cfg, "evaluate"])
    assert result.exit_code == 0, result.output
    for text in (
        "incremental conversion (treat − holdout, Newcombe)",
        "incremental amount per customer (bootstrap)",
        "model lift",
        "power:",
    ):
        assert text in result.output
    figures = (demo_dir / "nextbest-out" / "reports" / "evaluation" / "figures.csv").read_text()
    assert figures.startswith("run,action,figure,value,low,high,method")
    assert "Wilson score 95%" in figures
    report = (demo_dir / "nextbest-out" / "reports" / "evaluation" / "report.html").read_text()
    assert "Incremental conversion (treat" in report
    assert "Selection by gender" in report


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    """The tiny hand-made bank of tests/pipeline as a project with a config file."""
    cfg = write_tiny_project(tmp_path)
    assert cfg.source_path is not None
    return cfg.source_path


def _cli(cfg: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-c", str(cfg), *args])
    return result.exit_code, result.output


def test_run_twice_needs_supersede(tiny_project: Path) -> None:
    """A second run of the week is refused (exit 2, naming the live run and the fix);
    --override does not supersede; --supersede needs --by and then replaces the list."""
    assert _cli(tiny_project, "run", "--by", "ana")[0] == 0
    code, out = _cli(tiny_project, "run", "--by", "ana", "--override", "checks are fine")
    assert code == 2
    assert "already has a live list: 2025-03-02-r1 (pending_review)" in out
    code, out = _cli(tiny_project, "run", "--supersede", "wrong threshold")
    assert code == 2
    assert "needs the name of who takes it" in " ".join(out.split())
    code, out = _cli(tiny_project, "run", "--supersede", "wrong threshold", "--by", "ana")
    assert code == 0, out
    assert "supersedes 2025-03-02-r1: it can no longer be approved or exported" in out
    code, out = _cli(tiny_project, "review", "2025-03-02-r2")
    assert "also assigned in 2025-03-02-r1 (same week, superseded): 2" in out


def test_four_eyes_and_named_runs(tiny_project: Path) -> None:
    """Who ran it cannot approve it; 'latest' is refused for approve, reject and export;
    another person approves and exports the named run."""
    code, out = _cli(tiny_project, "run", "--by", "ana")
    assert code == 0, out
    assert "started by ana" in out
    for step in ("approve", "reject", "export"):
        code, out = _cli(tiny_project, step, "latest", "--by", "ben")
        assert code == 2
        assert f"name the run id to {step}" in out
    code, out = _cli(tiny_project, "approve", "2025-03-02-r1", "--by", "ana")
    assert code == 2
    assert "was started by ana; someone else must approve it" in out
    assert _cli(tiny_project, "approve", "2025-03-02-r1", "--by", "ben") == (
        0,
        "2025-03-02-r1: approved\n",
    )
    code, out = _cli(tiny_project, "export", "2025-03-02-r1", "--by", "ben")
    assert code == 0, out
    assert "2 to mail, 2 contacts recorded" in out
    (tiny_project.parent / "nextbest-out" / "handoffs" / "2025-03-02-r1" / "stops.csv").unlink()
    code, out = _cli(tiny_project, "export", "2025-03-02-r1", "--by", "ben")
    assert "already exported; nothing sent twice" in out
    assert "rewrote stops.csv" in out


def test_two_run_processes_one_wins(tiny_project: Path) -> None:
    """Two 'nextbest run' processes for one week started together: one stores the run, the
    other waits for the store and is then refused."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "nextbest", "-c", str(tiny_project), "run", "--by", who],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("ana", "ben")
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    results = sorted((p.returncode, err) for p, err in zip(procs, errors, strict=True))
    assert [code for code, _ in results] == [0, 2], results
    assert "already has a live list: 2025-03-02-r1" in results[1][1]
    with open_store(load_config(tiny_project)) as store:
        assert store.fetchall("SELECT run_id, status FROM runs") == [
            ("2025-03-02-r1", "pending_review")
        ]


def test_experiment_prints_each_arm_against_the_control(tmp_path: Path) -> None:
    """The experiment table shows the arm's difference in means; a missing control exits 2."""
    path = tmp_path / "exp.csv"
    path.write_text("arm,bought\ncontrol,1\ncontrol,0\nmail,1\nmail,1\n")
    args = ["experiment", str(path), "--arm-column", "arm", "--outcome", "bought"]
    result = CliRunner().invoke(app, [*args, "--control", "control"])
    assert result.exit_code == 0, result.output
    assert "exp.csv: each arm against 'control'" in result.output
    assert "+0.5000" in result.output
    missing = CliRunner().invoke(app, [*args, "--control", "ctrl"])
    assert missing.exit_code == 2
    assert "arms are ['control', 'mail']" in missing.output


def test_demo_help_says_it_runs_the_weekly_loop() -> None:
    """demo --help describes the whole loop (training, the run, the report), not only ingest."""
    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    assert "Run the whole weekly loop on a synthetic bank." in result.output
    assert "runs the latest week and writes the HTML report" in " ".join(result.output.split())


def test_training_table_refuses_an_unknown_suffix_before_any_work(tmp_path: Path) -> None:
    """--out with a suffix other than .parquet/.csv is a usage error (exit 2), given at once."""
    result = CliRunner().invoke(
        app, ["-c", str(tmp_path / "none.toml"), "training-table", "--out", "t.txt"]
    )
    assert result.exit_code == 2
    assert "--out must end in .parquet or .csv, got t.txt" in result.output
