"""Persistent storage: the ``Store`` contract, the SQLite store, and ``SessionStorage``."""

from typing import TYPE_CHECKING, Any

from .contract import (
    ApprovalStore,
    KeyValue,
    MemoryIndex,
    Recovery,
    SessionStore,
    Store,
    ToolLog,
    UsageCharge,
    WriteBatch,
)
from .paths import database_path, default_data_dir, resolve_storage_dir
from .project import ProjectInfo, resolve_project
from .store import SessionStorage

if TYPE_CHECKING:
    from .sqlite import SQLiteStore


def __getattr__(name: str) -> Any:
    """``SQLiteStore`` loads with the first store opened, not with the package."""
    if name == "SQLiteStore":
        from .sqlite import SQLiteStore

        return SQLiteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ApprovalStore",
    "KeyValue",
    "MemoryIndex",
    "ProjectInfo",
    "Recovery",
    "SQLiteStore",
    "SessionStorage",
    "SessionStore",
    "Store",
    "ToolLog",
    "UsageCharge",
    "WriteBatch",
    "database_path",
    "default_data_dir",
    "resolve_project",
    "resolve_storage_dir",
]
