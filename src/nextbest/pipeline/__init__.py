"""Wiring the steps into jobs: the demo now, the weekly run next."""

from nextbest.pipeline._demo import DemoResult, run_demo
from nextbest.pipeline._project import CONFIG_TEMPLATE, write_config

__all__ = ["CONFIG_TEMPLATE", "DemoResult", "run_demo", "write_config"]
