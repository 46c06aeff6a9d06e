"""Opening exactly what was checked: a path resolved once, never followed again.

A file tool resolves a path, checks it (the ``read``/``edit``/... rules on its subject,
``external_directory`` when it lies outside the project), and only then opens it. A
symlink swapped in between, by a ``bash`` call running in the same step say, would take
a plain ``open`` of the name somewhere else: out of the project, or onto a denied file.
So a call resolves each path argument once (``checked_path``), and every open here
reaches that resolved path or fails with ``FileChangedError``: ``O_NOFOLLOW`` refuses a
symlink at the last component, and the opened descriptor is compared with the path
checked (its ``/proc/self/fd`` link on Linux; elsewhere its device and inode with what
the path names now), which catches a directory above it swapped for a symlink. Writes
and deletes act on the name inside their parent directory's checked descriptor
(``dir_fd``), so they cannot land anywhere else either. POSIX only, as the file tools.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ...core.errors import ToolError
from ..framework import ToolContext
from .paths import resolve_path

_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
"""Added to every open: no symlink at the last component, no leak into a child process,
and no hanging on a FIFO put where a file was."""

_RESOLVED = f"{__name__}.resolved"


class FileChangedError(ToolError):
    """A path changed between its check and its open; nothing was read or written."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path}: the file changed while it was being opened (a symlink was swapped "
            "in); try again."
        )


def checked_path(ctx: ToolContext, path: str) -> Path:
    """``path`` resolved once per call, so the permission check and the work agree.

    The executor checks a call's subjects (``permission_patterns``) before it runs it,
    maybe after asking the user; resolving again in ``execute`` would follow a symlink
    swapped in meanwhile to a path nobody checked. The resolution is kept in
    ``ctx.extra``, which lives as long as the call (and is shared by the calls a
    ``batch`` makes, which then agree too).
    """
    resolved: dict[tuple[str, str], Path] = ctx.extra.setdefault(_RESOLVED, {})
    key = (ctx.working_dir, path)
    if key not in resolved:
        resolved[key] = resolve_path(ctx, path)
    return resolved[key]


@contextmanager
def open_checked(path: Path, flags: int = os.O_RDONLY) -> Iterator[int]:
    """A descriptor of the resolved ``path`` itself, closed on exit.

    Raises ``FileChangedError`` when the open would reach anything else; other
    ``OSError``s (missing, not permitted) pass through.
    """
    fd = _open_verified(path, flags)
    try:
        yield fd
    finally:
        os.close(fd)


def child_cwd(fd: int, path: Path) -> str:
    """A working directory for a child process that is the open directory ``fd`` itself
    (``ripgrep``'s, say), not whatever the name ``path`` leads to by the time it starts.

    On Linux it is ``fd``'s ``/proc/self/fd`` link: the child changes into it before its
    exec closes ``fd``. Elsewhere it is ``path``, by name.
    """
    pinned = f"/proc/self/fd/{fd}"
    return pinned if os.path.isdir(pinned) else str(path)


def read_file(path: Path) -> bytes:
    """The content of the regular file ``path``, opened as checked."""
    with open_checked(path) as fd:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ToolError(f"{path} is not a regular file.")
        with open(fd, "rb", closefd=False) as handle:
            return handle.read()


def write_file(path: Path, data: bytes) -> None:
    """Create or overwrite the file ``path`` in place, making missing parent directories.

    The name is opened inside its parent's checked descriptor with ``O_NOFOLLOW``, so the
    bytes land in the file checked (or a new one beside it), never through a symlink.
    """
    with _directory(path.parent, create=True) as parent:
        fd = _open(path.name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, path, dir_fd=parent)
    with open(fd, "wb") as handle:
        handle.write(data)


def remove_file(path: Path) -> None:
    """Delete the file ``path``: the name inside its parent's checked descriptor."""
    with _directory(path.parent, create=False) as parent:
        os.unlink(path.name, dir_fd=parent)


@contextmanager
def _directory(path: Path, *, create: bool) -> Iterator[int]:
    fd = _open_directory(path, create=create)
    try:
        yield fd
    finally:
        os.close(fd)


def _open_directory(path: Path, *, create: bool) -> int:
    """A checked descriptor of the directory ``path``; with ``create``, missing
    directories are made one at a time, each inside its parent's checked descriptor."""
    try:
        return _open_verified(path, os.O_DIRECTORY)
    except FileNotFoundError:
        if not create or path.parent == path:
            raise
    parent = _open_directory(path.parent, create=True)
    try:
        with suppress(FileExistsError):
            os.mkdir(path.name, dir_fd=parent)
        return _open(path.name, os.O_DIRECTORY, path, dir_fd=parent)
    finally:
        os.close(parent)


def _open_verified(path: Path, flags: int) -> int:
    fd = _open(path, flags, path)
    if not _is(fd, path):
        os.close(fd)
        raise FileChangedError(path)
    return fd


def _open(name: str | Path, flags: int, path: Path, *, dir_fd: int | None = None) -> int:
    """``os.open`` with ``_FLAGS``; a symlink where ``path`` was checked is a
    ``FileChangedError``."""
    try:
        return os.open(name, flags | _FLAGS, 0o666, dir_fd=dir_fd)
    except OSError as exc:
        # ELOOP (EMLINK on FreeBSD) is O_NOFOLLOW meeting a symlink; with O_DIRECTORY,
        # Linux says ENOTDIR instead
        if exc.errno in (errno.ELOOP, errno.EMLINK) or (
            exc.errno == errno.ENOTDIR and _is_symlink(name, dir_fd)
        ):
            raise FileChangedError(path) from None
        raise


def _is_symlink(name: str | Path, dir_fd: int | None) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _is(fd: int, path: Path) -> bool:
    """Whether the open descriptor ``fd`` is the resolved ``path``, not a file a symlink
    led to."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == str(path)
    except OSError:  # no /proc: not Linux, or not mounted
        pass
    try:
        now = os.stat(path)
    except OSError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (now.st_dev, now.st_ino)
