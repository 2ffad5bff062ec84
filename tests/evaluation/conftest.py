"""Fixtures shared with the pipeline tests."""

from tests.pipeline.conftest import tiny_store

__all__ = ["tiny_store"]
