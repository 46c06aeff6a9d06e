"""Persistent storage: the ``Store`` contract, the SQLite store, and ``SessionStorage``."""

from .base import Store
from .paths import database_path, default_data_dir, resolve_storage_dir
from .project import ProjectInfo, resolve_project
from .sqlite import SQLiteStore
from .store import SessionStorage

__all__ = [
    "ProjectInfo",
    "SQLiteStore",
    "SessionStorage",
    "Store",
    "database_path",
    "default_data_dir",
    "resolve_project",
    "resolve_storage_dir",
]
