"""Where the database lives: one directory per user (or per app), one file in it."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from ..core.errors import ConfigError

APP_NAME = "opencode-python"
DB_FILENAME = "opencode.db"


def default_data_dir() -> Path:
    """The per-user data directory (``~/.local/share/opencode-python`` on Linux).

    platformdirs honours ``XDG_DATA_HOME`` and the macOS and Windows conventions.
    """
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_storage_dir(storage_path: str | Path | None = None) -> Path:
    """The storage directory, created if missing: ``storage_path`` or the default.

    Raises ``ConfigError`` when the path is a file or cannot be created, so a wrong
    setting is reported where it was made instead of as an SQLite error later.
    """
    directory = (
        default_data_dir() if storage_path is None else Path(storage_path).expanduser()
    ).resolve()
    if directory.exists() and not directory.is_dir():
        raise ConfigError(
            f"storage path {directory} is a file, not a directory; pass a directory "
            f"(the database is kept in it as {DB_FILENAME})"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create storage directory {directory}: {exc.strerror or exc}; "
            "choose a writable storage path"
        ) from exc
    return directory


def database_path(storage_path: str | Path | None = None) -> Path:
    """The database file inside the (created) storage directory."""
    return resolve_storage_dir(storage_path) / DB_FILENAME
