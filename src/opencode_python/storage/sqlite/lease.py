"""Owner liveness: is the store that left a record unfinished still running?

An open store holds an exclusive ``flock`` on its own lock file, ``<token>.lock`` in
``<database>.owners/``, from open until close; the operating system drops the lock
when the process dies, however it dies. Whoever can take a token's lock (or finds no
file) knows its owner is gone. ``flock`` locks belong to an open file, so two stores in
one process are two owners, as they should be.

A lock file is locked before it gets its final name (it is made as ``.tmp`` and
renamed), so a file under a ``.lock`` name that can be locked is always a dead owner's,
and anyone holding its lock may delete it. POSIX only, like the bash tool.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from contextlib import suppress
from pathlib import Path

from ...core.errors import StorageError

_SUFFIX = ".lock"


def owners_dir(db_path: Path) -> Path:
    """Where the lock files of the stores on ``db_path`` live."""
    return db_path.with_name(db_path.name + ".owners")


class Lease:
    """This store's token and the lock that proves it alive; probes other tokens."""

    def __init__(self, directory: Path, token: str, fd: int) -> None:
        self.directory = directory
        self.token = token
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, db_path: Path) -> Lease:
        """A new token, locked; deletes the lock files dead owners left."""
        directory = owners_dir(db_path)
        token = f"{os.getpid()}-{secrets.token_hex(6)}"
        temporary = directory / f"{token}.tmp"
        try:
            directory.mkdir(exist_ok=True)
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise StorageError(
                f"cannot create the lock file {temporary} that marks this store as "
                f"running: {exc.strerror or exc}; the directory of the database must be "
                "writable"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(temporary, directory / (token + _SUFFIX))
        except BaseException:
            os.close(fd)
            with suppress(OSError):
                os.unlink(temporary)
            raise
        lease = cls(directory, token, fd)
        lease.sweep()
        return lease

    def alive(self, token: str) -> bool:
        """Whether the store that holds ``token`` is still open, in any process."""
        if token == self.token:
            return self._fd is not None
        return not _take_if_dead(self.directory / (token + _SUFFIX))

    def sweep(self) -> None:
        """Delete the lock files of owners that are gone (crashed processes)."""
        with suppress(OSError):
            for path in self.directory.glob("*" + _SUFFIX):
                if path.name != self.token + _SUFFIX:
                    _take_if_dead(path)

    def release(self) -> None:
        """Stop being alive: delete the lock file, then drop the lock. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with suppress(OSError):
                os.unlink(self.directory / (self.token + _SUFFIX))
            os.close(fd)


def _take_if_dead(path: Path) -> bool:
    """True when nobody holds ``path``'s lock (then it is deleted) or it is gone."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:  # cannot tell (permissions): count it alive, never close its records
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        with suppress(OSError):
            os.unlink(path)
        return True
    finally:
        os.close(fd)
