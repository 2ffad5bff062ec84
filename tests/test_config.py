"""The project config: validated at load, with errors naming the setting and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from nextbest.config import Config, config_from_mapping, load_config
from nextbest.errors import ConfigError, did_you_mean
from nextbest.pipeline import CONFIG_TEMPLATE

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


@pytest.mark.parametrize("name", ["gender", "postcode", "postcode_area", "nationality", "Name"])
def test_sensitive_attribute_cannot_be_enabled_as_feature(name: str) -> None:
    """Naming a sensitive attribute as a feature is a config error that says why."""
    with pytest.raises(ConfigError, match=rf"'{name}' in \[features\]\.enabled is a sensitive"):
        config_from_mapping({"features": {"enabled": ["age", name]}})


def test_sensitive_attribute_cannot_hide_in_custom_feature_sql() -> None:
    """A custom feature whose SQL reads a sensitive column is refused."""
    custom = {"name": "risky", "sql": "CASE WHEN gender = 'F' THEN 1 END", "description": "x"}
    with pytest.raises(ConfigError, match="'gender' in the SQL of custom feature 'risky'"):
        config_from_mapping({"features": {"custom": [custom]}})


def test_sensitive_attribute_cannot_be_mapped_into_snapshots() -> None:
    """Sensitive columns may only be loaded through the audit source."""
    source = {"path": "x.csv", "columns": {"postcode": "PC"}}
    with pytest.raises(ConfigError, match=r"only be loaded through \[sources\.audit\]"):
        config_from_mapping({"sources": {"snapshots": source}})


def test_sensitive_attribute_may_be_mapped_into_audit() -> None:
    """The audit-only table is where sensitive attributes belong."""
    source = {"path": "a.csv", "columns": {"gender": "GESLACHT"}}
    cfg = config_from_mapping({"sources": {"audit": source}})
    assert cfg.sources.audit is not None
    assert cfg.sources.audit.columns == {"gender": "GESLACHT"}


def test_unknown_setting_is_named(tmp_path: Path) -> None:
    """A misspelt setting names the file and the setting."""
    path = tmp_path / "nextbest.toml"
    path.write_text("[training]\nlabel_weeks = 8\nlabel_weks = 9\n")
    with pytest.raises(ConfigError, match=r"nextbest\.toml: setting 'training\.label_weks'"):
        load_config(path)


def test_out_of_range_value_shows_value(tmp_path: Path) -> None:
    """A bad value is shown with the setting it belongs to."""
    path = tmp_path / "nextbest.toml"
    path.write_text("[training]\ncustomer_fraction = 1.5\n")
    with pytest.raises(ConfigError, match=r"training\.customer_fraction.*got 1\.5"):
        load_config(path)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    """A syntax error in the TOML names the file."""
    path = tmp_path / "broken.toml"
    path.write_text("[store\npath = 1\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(path)


def test_missing_config_file_is_explained(tmp_path: Path) -> None:
    """Pointing at a config that does not exist says how to make one."""
    with pytest.raises(ConfigError, match=r"does not exist.*nextbest init"):
        load_config(tmp_path / "nope.toml")


def test_config_from_environment(tmp_path: Path) -> None:
    """$NEXTBEST_CONFIG is used when no path is given; relative paths follow the file."""
    path = tmp_path / "proj" / "nextbest.toml"
    path.parent.mkdir()
    path.write_text('[store]\npath = "db/x.duckdb"\n')
    cfg = load_config(environ={"NEXTBEST_CONFIG": str(path)})
    assert cfg.resolve(cfg.store.path) == tmp_path / "proj" / "db" / "x.duckdb"


def test_delimiter_must_be_one_character() -> None:
    """A multi-character delimiter is refused with the bad value."""
    with pytest.raises(ConfigError, match="delimiter must be one character, got ';;'"):
        config_from_mapping({"sources": {"snapshots": {"path": "x", "delimiter": ";;"}}})


def test_template_is_a_valid_config() -> None:
    """The starter config written by 'nextbest init' validates."""
    import tomllib

    data = tomllib.loads(CONFIG_TEMPLATE.format(data="bank", store_path="x.duckdb"))
    cfg = config_from_mapping(data)
    assert cfg.training.label_weeks == 8
    assert cfg.sources.snapshots is not None


def _settings(model: type[BaseModel], prefix: str) -> list[str]:
    """Dotted names of every setting; sources share one row set (``sources.<table>``) and
    lists of tables (``actions``, ``actions.rules``) are documented by their fields."""
    from nextbest.config import SourceConfig

    names: list[str] = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        dotted = f"{prefix}.{name}" if prefix else name
        if name in ("snapshots", "market", "conversions", "email_events", "audit"):
            names.extend(_settings(SourceConfig, "sources.<table>"))
            continue
        annotation = field.annotation
        args = [a for a in getattr(annotation, "__args__", ()) if isinstance(a, type)]
        candidates = [annotation, *args]
        nested = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if nested is not None and dotted != "features.custom":
            names.extend(_settings(nested, dotted))
        else:
            names.append(dotted)
    return names


def test_every_setting_is_documented() -> None:
    """docs/configuration.md has a row for every setting of the config model."""
    text = DOCS.read_text()
    documented = set(re.findall(r"^\| `([a-z0-9_.<>]+)` \|", text, flags=re.M))
    settings = set(_settings(Config, ""))
    assert settings, "no settings found"
    assert settings - documented == set()


def test_did_you_mean() -> None:
    """The closest candidate is suggested; nothing when nothing is close."""
    assert did_you_mean("balanse", ["balance", "age"]) == " Did you mean 'balance'?"
    assert did_you_mean("zzz", ["balance", "age"]) == ""


def test_settings_not_built_yet_are_refused_not_ignored() -> None:
    """A value model, micromodels and a contact policy beyond one contact per cooldown are
    named in the config but not built: each is refused with what to use instead."""
    from nextbest.config import ActionConfig, ContactPolicyConfig, ModelSpec

    with pytest.raises(ValueError, match=r"value_model\] is not available.*fixed value"):
        ActionConfig(name="a", value_model={"kind": "ridge"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"micromodels' .* not available"):
        ModelSpec(kind="micromodels")
    with pytest.raises(ValueError, match=r"remove \[contact_policy\]"):
        ContactPolicyConfig(max_contacts=2)
    assert ContactPolicyConfig().max_contacts == 1


def test_an_action_outcome_must_be_an_identifier() -> None:
    from nextbest.config import ActionConfig

    with pytest.raises(ValueError, match="outcome 'Savings Goal' must be lower-case"):
        ActionConfig(name="a", outcome="Savings Goal")
    assert ActionConfig(name="a").outcome == "investing"


def test_the_demo_config_has_three_actions_under_one_capacity(tmp_path: Path) -> None:
    """The demo's config: three actions with their own outcomes and audiences, one e-mail
    channel whose capacity is below their weekly maxima together (so arbitration binds)."""
    from nextbest.config import load_config
    from nextbest.pipeline import write_config

    config = load_config(write_config(tmp_path / "demo", demo=True))
    assert [(a.name, a.outcome) for a in config.actions] == [
        ("invest-onboarding", "investing"),
        ("savings-goal", "savings"),
        ("private-banking-intro", "private_banking"),
    ]
    assert config.channels["email"].capacity == 500 < sum(a.max_weekly for a in config.actions)
    single = load_config(write_config(tmp_path / "one"))
    assert [a.name for a in single.actions] == ["invest-onboarding"]
