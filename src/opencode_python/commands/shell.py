"""Running a template's ``!`cmd` `` segments: their output goes into the prompt.

A command that fails or runs too long never raises: what it printed goes in anyway,
with a short note the user (and the model) can read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

#: How much of a failed command's stderr the note quotes.
STDERR_TAIL_CHARS = 500
#: How long a killed command's pipes may stay open (a child that left the group).
KILL_GRACE_S = 2.0


async def run_shell(command: str, cwd: Path, timeout_s: float) -> str:
    """The stdout of ``bash -c command`` (``/bin/sh`` without bash) run in ``cwd``, plus
    a note when it exits non-zero, times out or cannot start."""
    shell = shutil.which("bash") or "/bin/sh"
    try:
        process = await asyncio.create_subprocess_exec(
            shell,
            "-c",
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a kill reaches its children
        )
    except OSError as exc:
        return f"[command could not start: {exc}]"
    output = asyncio.ensure_future(process.communicate())
    try:
        stdout, stderr = await asyncio.wait_for(asyncio.shield(output), timeout_s)
    except TimeoutError:
        _kill_group(process.pid)
        note = f"[command timed out after {timeout_s:g} s and was killed]"
        try:
            stdout, _ = await asyncio.wait_for(output, KILL_GRACE_S)
        except TimeoutError:
            return note
        return _with_note(stdout, note)
    except BaseException:
        _kill_group(process.pid)
        output.cancel()
        raise
    if process.returncode == 0:
        return stdout.decode("utf-8", errors="replace")
    tail = stderr.decode("utf-8", errors="replace").strip()[-STDERR_TAIL_CHARS:]
    note = f"[command exited with status {process.returncode}"
    return _with_note(stdout, f"{note}: {tail}]" if tail else f"{note}]")


def _with_note(stdout: bytes, note: str) -> str:
    text = stdout.decode("utf-8", errors="replace")
    return f"{text}{note}" if not text or text.endswith("\n") else f"{text}\n{note}"


def _kill_group(pgid: int) -> None:
    # ProcessLookupError: gone already; PermissionError: the id was reused by another
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
