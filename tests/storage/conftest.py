"""Fixtures for storage tests: real SQLite files in temporary directories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opencode_python.storage import SQLiteStore
from opencode_python.testing.store_conformance import every_part

__all__ = ["every_part"]  # the tests import it from here


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "opencode.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(db_path) as opened:
        yield opened
