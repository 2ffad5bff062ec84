"""The whole configuration and loading it from a TOML file with actionable errors."""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from nextbest.config._actions import (
    ActionConfig,
    ChannelConfig,
    ContactPolicyConfig,
    _default_actions,
)
from nextbest.config._base import _Model
from nextbest.config._data import (
    ContractsConfig,
    FeaturesConfig,
    SourcesConfig,
    StoreConfig,
    TrainingConfig,
)
from nextbest.config._settings import (
    AlertsConfig,
    ApiConfig,
    BacktestConfig,
    ChecksConfig,
    LeakageConfig,
    ReleaseConfig,
    RunConfig,
)
from nextbest.errors import ConfigError, did_you_mean


class Config(_Model):
    """The whole project configuration."""

    store: StoreConfig = Field(default_factory=StoreConfig)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    contracts: ContractsConfig = Field(default_factory=ContractsConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    actions: list[ActionConfig] = Field(default_factory=_default_actions)
    channels: dict[str, ChannelConfig] = Field(
        default_factory=dict,
        description="Weekly capacity per channel, over all the actions it carries (default: "
        "none beyond each action's max_weekly).",
    )
    contact_policy: ContactPolicyConfig = Field(default_factory=ContactPolicyConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    leakage: LeakageConfig = Field(default_factory=LeakageConfig)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)

    #: the file this config was read from (None when built in code)
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_share_default(cls, data: Any) -> Any:
        """A source without its own refuse_share takes ``[contracts] refuse_share``."""
        if not isinstance(data, Mapping):
            return data
        contracts, sources = data.get("contracts"), data.get("sources")
        if not isinstance(contracts, Mapping) or "refuse_share" not in contracts:
            return data
        if not isinstance(sources, Mapping):
            return data
        filled = {
            name: {"refuse_share": contracts["refuse_share"], **source}
            if isinstance(source, Mapping)
            else source
            for name, source in sources.items()
        }
        return {**data, "sources": filled}

    @model_validator(mode="after")
    def _unique_actions(self) -> Config:
        names = [a.name for a in self.actions]
        if not names:
            raise ValueError("[[actions]] is empty; configure at least one action")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"action names must be unique; repeated: {repeated}")
        unknown = sorted(set(self.channels) - {a.channel for a in self.actions})
        if unknown:
            raise ValueError(
                f"[channels.{unknown[0]}] is a channel no action uses; the actions use: "
                f"{', '.join(sorted({a.channel for a in self.actions}))}"
            )
        return self

    def action(self, name: str) -> ActionConfig:
        """The action called ``name``, or a ConfigError with a did-you-mean."""
        for action in self.actions:
            if action.name == name:
                return action

        names = [a.name for a in self.actions]
        raise ConfigError(
            f"unknown action '{name}';{did_you_mean(name, names)} Actions: {', '.join(names)}"
        )

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path from the config against the folder of the config file."""
        p = Path(path)
        if p.is_absolute() or self.source_path is None:
            return p
        return self.source_path.parent / p


#: what nextbest writes under ``[store] outputs``: hand-off files and reports
OutputKind = Literal["handoffs", "reports"]


def outputs_folder(config: Config) -> Path:
    """``[store] outputs``, resolved against the config file's folder — or, for a config built
    in code without a file, against the store's folder, so that library use never writes into
    whatever folder the process runs in."""
    outputs = config.store.outputs
    if config.source_path is None and not outputs.is_absolute():
        return config.resolve(config.store.path).parent / outputs
    return config.resolve(outputs)


def output_dir(config: Config, kind: OutputKind) -> Path:
    """The folder of one kind of output, ``<[store] outputs>/<kind>``, apart from the inputs.

    >>> cfg = Config.model_validate({"store": {"path": "/srv/nb/store.duckdb", "outputs": "out"}})
    >>> output_dir(cfg, "handoffs")
    PosixPath('/srv/nb/out/handoffs')
    """
    return outputs_folder(config) / kind


def _may_name_inside(pattern: Path, folder: Path) -> bool:
    """Whether the file, folder or glob ``pattern`` (as ingest reads it: a folder's own files,
    a glob without recursion) can name a file inside ``folder``."""
    parts = Path(os.path.normpath(pattern)).parts
    folder = Path(os.path.normpath(folder))
    literal = next((i for i, p in enumerate(parts) if any(c in p for c in "*?[")), len(parts))
    base = Path(*parts[:literal]) if literal else Path()
    if base == folder or folder in base.parents:
        return True
    if base not in folder.parents:
        return False
    rest, below = parts[literal:], folder.relative_to(base).parts
    return len(rest) > len(below) and all(
        fnmatch.fnmatchcase(b, r) for b, r in zip(below, rest, strict=False)
    )


def _check_outputs_apart(config: Config, origin: str) -> None:
    """Refuse a source whose path can name files inside the outputs folder: ingest would read
    nextbest's own hand-off files as warehouse input."""
    outputs = outputs_folder(config)
    for name in ("snapshots", "market", "conversions", "email_events", "audit"):
        source = getattr(config.sources, name)
        if source is not None and _may_name_inside(config.resolve(source.path), outputs):
            raise ConfigError(
                f"{origin}: [sources.{name}] path = {source.path!r} can match files inside "
                f"the outputs folder ([store] outputs = {str(config.store.outputs)!r}, "
                f"{outputs}), where nextbest writes hand-off files and reports; keep the two "
                "apart: set [store] outputs to another folder (default 'nextbest-out') or "
                "narrow the path"
            )


def _format_validation_error(exc: ValidationError, origin: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            msg = f"unknown setting '{loc}'; check its spelling against docs/configuration.md"
        elif "input" in err and err["type"] != "value_error":
            msg = f"{msg} (got {err['input']!r})"
        lines.append(f"{origin}: setting '{loc}': {msg}")
    return "\n".join(lines)


def config_from_mapping(data: Mapping[str, Any], *, origin: str = "<config>") -> Config:
    """Validate a mapping (e.g. parsed TOML) into a :class:`Config`."""
    config = _validated(data, origin)
    _check_outputs_apart(config, origin)
    return config


def _validated(data: Mapping[str, Any], origin: str) -> Config:
    try:
        return Config.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, origin)) from None


def find_config(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The config file a command would read: ``path`` if given, else ``$NEXTBEST_CONFIG``, else
    ``./nextbest.toml`` when it exists; None when there is none of these."""
    env = os.environ if environ is None else environ
    if path is not None:
        return Path(path)
    if env.get("NEXTBEST_CONFIG"):
        return Path(env["NEXTBEST_CONFIG"])
    if Path("nextbest.toml").exists():
        return Path("nextbest.toml")
    return None


def load_config(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Load the project config.

    The file is the one :func:`find_config` finds; with none, the defaults are used (library
    code and tests build configs this way; the command line refuses to run without a file).
    """
    chosen = find_config(path, environ=environ)
    if chosen is None:
        return Config()
    if not chosen.exists():
        raise ConfigError(
            f"config file {chosen} does not exist; pass an existing file with --config "
            "or create one with 'nextbest init DIR'"
        )
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    cfg = _validated(data, str(chosen)).model_copy(update={"source_path": chosen.resolve()})
    _check_outputs_apart(cfg, str(chosen))
    return cfg
