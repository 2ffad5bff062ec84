"""The tiny hand-made bank of conftest.py as a project on disk (a TOML file beside its store),
for the command line and for anything that reads the config file."""

from __future__ import annotations

from pathlib import Path

from nextbest.config import Config, load_config
from nextbest.models import register_model
from nextbest.store import open_store
from tests.pipeline.conftest import fill, hand_model

TOML = """\
[store]
path = "tiny.duckdb"

[features]
enabled = ["engagement"]

[[actions]]
name = "invest-onboarding"
threshold = 0.2
min_weekly = 2
max_weekly = 2
holdout_fraction = 0.0
exploration_size = 0
cooldown_weeks = 8
flow_weeks = 3

[[actions.rules]]
name = "has_some_balance"
sql = "total_balance >= 100"

[actions.model]
kind = "logistic"

[run]
seed = 7
"""


def write_tiny_project(root: Path, *, extra: str = "") -> Config:
    """Write the config (plus ``extra`` TOML) and fill the store; the store is closed after."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "nextbest.toml"
    path.write_text(TOML + extra, encoding="utf-8")
    cfg = load_config(path)
    with open_store(cfg) as store:
        fill(store)
        register_model(store, hand_model())
    return cfg


def alerts_toml(port: int, *, attempts: int = 2) -> str:
    """An [alerts] section sending to a loopback SMTP server, with tiny retry waits."""
    return (
        f'\n[alerts]\nrecipients = ["ops@bank.test"]\nsmtp_host = "127.0.0.1"\n'
        f'smtp_port = {port}\nsecurity = "none"\ntimeout_seconds = 2\n'
        f"attempts = {attempts}\nretry_seconds = 0.01\n"
    )
