"""Shared pytest setup: makes tests/ importable (golden_pickles) and exposes the golden data dir."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def golden_dir() -> Path:
    """The tests/golden directory."""
    return Path(__file__).parent / "golden"
