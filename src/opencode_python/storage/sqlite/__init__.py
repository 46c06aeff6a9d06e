"""The embedded store: one SQLite file in WAL mode, one JSON document per row.

Several processes may share the file (WAL, busy timeout); every model is stored as
its ``model_dump_json()`` and read back with pydantic, so nothing is lost. One thread
per store owns the connection and runs each operation whole (``worker.py``).

Modules: ``store`` (the ``SQLiteStore`` class), ``worker`` (the thread), ``schema``
(connecting, migrations), ``lease`` (owner liveness), ``db`` (what operations get),
and one module of operations per concern: ``sessions``, ``messages``, ``batch``,
``recovery``, ``transfer`` (export/import), ``toollog``, ``approvals``, ``kv``,
``memory``.
"""

from .store import SQLiteStore

__all__ = ["SQLiteStore"]
