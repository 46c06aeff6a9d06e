"""The ``bash`` tool: run a shell command in the project, with a timeout and abort.

The command runs in its own process group, so a timeout, an abort or a cancelled run
kills everything it started (``make`` and its compilers, ``sleep 30 &``), not just the
shell. Output (stdout and stderr merged) is published while it arrives and the tail of
it is returned.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from ...core.errors import ToolError
from ...permissions.bash_commands import prefix_pattern
from ...permissions.shell import ShellAnalysis, analyze
from ..framework import PermissionCheck, Tool, ToolContext, ToolResult
from .paths import display_path, is_inside, project_root, resolve_from, resolve_path

DEFAULT_TIMEOUT_MS: Final = 120_000
MAX_TIMEOUT_MS: Final = 600_000
MAX_OUTPUT_CHARS: Final = 30_000
# How often running output is published, at most.
METADATA_INTERVAL_S: Final = 0.2
# After SIGTERM, how long the process group gets to exit before SIGKILL.
KILL_GRACE_S: Final = 2.0
# After the shell exits, how long output still in the pipe is waited for. Background
# processes that keep the pipe open do not hold the call up longer than this.
DRAIN_S: Final = 0.2


_Ending = Literal["exit", "timeout", "abort"]

DESCRIPTION = f"""\
Run a shell command (bash) in the project and return its output.

- stdout and stderr are merged; the last {MAX_OUTPUT_CHARS:,} characters are returned.
- `workdir` sets the directory the command runs in (default: the project's working \
directory). Prefer it to `cd dir && ...`.
- `timeout` is in milliseconds: default {DEFAULT_TIMEOUT_MS:,} (2 minutes), at most \
{MAX_TIMEOUT_MS:,} (10 minutes). On timeout the command and everything it started are \
killed and the output so far is returned.
- Give a short `description` of what the command does (5-10 words), for the user.
- The command gets no input: interactive programs (editors, pagers, prompts) will not \
work; pass flags such as `--yes` or `--no-pager` instead.
- Chain dependent commands with `&&`; each command in a chain is checked against the \
permission rules on its own.
- Quote paths that contain spaces.
- Prefer the dedicated tools for reading, searching and editing files when they are \
available.
- Processes started in the background (`cmd &`) keep running after the call returns, \
but their later output is not collected: redirect it to a file.
"""


class BashParams(BaseModel):
    """The arguments of a ``bash`` call."""

    command: str = Field(description="The command to run.")
    timeout: int | None = Field(
        default=None,
        gt=0,
        le=MAX_TIMEOUT_MS,
        description=f"Timeout in milliseconds (default {DEFAULT_TIMEOUT_MS}).",
    )
    workdir: str | None = Field(
        default=None,
        description="Directory to run the command in (default: the working directory).",
    )
    description: str = Field(
        default="", description="What the command does, in 5-10 words, for the user."
    )


class BashTool(Tool):
    """Runs shell commands; see the module docstring for how processes are handled."""

    id = "bash"
    description = DESCRIPTION
    truncate_direction = "tail"  # the end of a command's output is what tells what happened

    def parameters(self) -> dict[str, Any]:
        return BashParams.model_json_schema()

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        """Every command the line will run, so ``git status && rm -rf /`` is checked twice."""
        command = str(args.get("command", ""))
        return [found.text for found in analyze(command).commands] or [command.strip()]

    def permission_checks(self, args: dict[str, Any], ctx: ToolContext) -> list[PermissionCheck]:
        """What the line will do, read with bash's grammar (see ``permissions.shell``):
        ``bash`` on every command it runs, ``edit`` on every file it redirects into, and
        ``external_directory`` for every place outside the project it names."""
        command = str(args.get("command", ""))
        analysis = analyze(command)
        commands = analysis.commands
        checks = [
            PermissionCheck(
                "bash",
                [found.text for found in commands] or [command.strip()],  # as permission_patterns
                always=[prefix_pattern(found.words) for found in commands] or None,
                unsure=list(analysis.unknown),
            )
        ]
        workdir = _workdir(ctx, args.get("workdir"))
        places = [workdir, *(resolve_from(workdir, d) for d in analysis.workdirs)]
        redirected = [
            (resolve_from(p, r.target), r.write) for r in analysis.redirections for p in places
        ]
        written = [path for path, write in redirected if write]
        if written:
            edited = [display_path(ctx, path) for path in dict.fromkeys(written)]
            checks.append(PermissionCheck("edit", edited))
        named = [
            resolve_from(place, path) for path in _named_paths(analysis, places) for place in places
        ]
        outside = _outside_directories(ctx, [workdir, *named, *(path for path, _ in redirected)])
        if outside:
            checks.append(PermissionCheck("external_directory", outside))
        return checks

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        params = BashParams.model_validate(args)
        workdir = _workdir(ctx, params.workdir)
        if not workdir.is_dir():
            raise ToolError(f"The workdir {workdir} does not exist or is not a directory.")

        timeout_ms = params.timeout or DEFAULT_TIMEOUT_MS
        run = _ShellRun(ctx, params.description)
        ending = await run.run(params.command, workdir, timeout_ms / 1000)

        output = run.output.text()
        parts: list[str] = []
        if run.output.dropped:
            parts.append(
                f"(earlier output was cut: showing the last {len(output):,} "
                f"of {run.output.total:,} characters)\n"
            )
        parts.append(output.rstrip("\n") or "(no output)")
        if ending == "timeout":
            parts.append(f"\n\nCommand timed out after {timeout_ms} ms; it was killed.")
        elif ending == "abort":
            parts.append("\n\nCommand aborted: the run was stopped and the command killed.")
        elif run.exit_code:
            parts.append("\n\n" + _describe_exit(run.exit_code))
        return ToolResult(
            title=params.description or params.command,
            output="".join(parts),
            metadata={
                "output": output,
                "exit": run.exit_code,
                "description": params.description,
                "timed_out": ending == "timeout",
                "aborted": ending == "abort",
            },
        )


class _OutputTail:
    """The decoded output, keeping only the last ``MAX_OUTPUT_CHARS`` characters."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""
        self.total = 0

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        self.total += len(text)
        self._text += text
        if len(self._text) > 2 * MAX_OUTPUT_CHARS:  # trim in batches, not on every chunk
            # one character more than is shown, to tell whether the tail starts a line
            self._text = self._text[-(MAX_OUTPUT_CHARS + 1) :]

    @property
    def dropped(self) -> bool:
        return self.total > MAX_OUTPUT_CHARS

    def text(self) -> str:
        """The kept tail; when output was cut, starting at a whole line if one is near."""
        if len(self._text) <= MAX_OUTPUT_CHARS:
            return self._text
        tail = self._text[-MAX_OUTPUT_CHARS:]
        if self._text[-MAX_OUTPUT_CHARS - 1] != "\n":
            tail = tail[tail.find("\n", 0, 1000) + 1 :]
        return tail


class _ShellProtocol(asyncio.SubprocessProtocol):
    """Collects output and notes when the shell exits and when the pipe closes.

    The shell's exit and the end of its output are separate events: a background child
    keeps the pipe open after the shell is gone, and the call must not wait for it.
    """

    def __init__(self, output: _OutputTail) -> None:
        self.output = output
        self.exited = asyncio.Event()
        self.pipe_closed = asyncio.Event()
        self.changed = False

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.output.feed(data)
        self.changed = True

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.output.feed(b"", final=True)
        self.pipe_closed.set()

    def process_exited(self) -> None:
        self.exited.set()


class _ShellRun:
    """One command: run it, publish its output, kill its process group when it must stop."""

    def __init__(self, ctx: ToolContext, description: str) -> None:
        self.ctx = ctx
        self.description = description
        self.output = _OutputTail()
        self.protocol = _ShellProtocol(self.output)
        self.exit_code: int | None = None

    async def run(self, command: str, workdir: Path, timeout_s: float) -> _Ending:
        """Run ``command`` until it exits, times out or ``ctx.abort`` is set.

        A cancelled task kills the process group before the cancellation goes on.
        """
        shell = shutil.which("bash") or "/bin/sh"
        # loop.subprocess_exec rather than create_subprocess_exec: its transport tells
        # the shell's exit apart from the pipe closing, and can be closed publicly.
        transport, _ = await asyncio.get_running_loop().subprocess_exec(
            lambda: self.protocol,
            shell,
            "-c",
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,  # its own process group: killpg reaches every child
        )
        pgid = transport.get_pid()
        try:
            ending = await self._watch(timeout_s)
            if ending == "exit":
                await _wait_event(self.protocol.pipe_closed, DRAIN_S)
            else:
                await self._kill_group(pgid)
        except BaseException:
            await asyncio.shield(self._kill_group(pgid))
            raise
        finally:
            self.exit_code = transport.get_returncode()
            transport.close()
        return ending

    async def _watch(self, timeout_s: float) -> _Ending:
        """Publish output while waiting for exit, the deadline or ``ctx.abort``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        abort = asyncio.ensure_future(self.ctx.abort.wait())
        exited = asyncio.ensure_future(self.protocol.exited.wait())
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return "timeout"
                await asyncio.wait(
                    {abort, exited},
                    timeout=min(METADATA_INTERVAL_S, remaining),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if exited.done():
                    return "exit"
                if abort.done():
                    return "abort"
                if self.protocol.changed:
                    self.protocol.changed = False
                    await self.ctx.update_metadata(
                        None, {"output": self.output.text(), "description": self.description}
                    )
        finally:
            abort.cancel()
            exited.cancel()

    async def _kill_group(self, pgid: int) -> None:
        """SIGTERM the whole group, give it a moment, then SIGKILL whatever is left.

        The pipe closing means every process that held the output is gone; the final
        SIGKILL also reaches children that redirected their output elsewhere.
        """
        if not _signal_group(pgid, signal.SIGTERM):
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_GRACE_S
        for event in (self.protocol.exited, self.protocol.pipe_closed):
            await _wait_event(event, deadline - loop.time())
        _signal_group(pgid, signal.SIGKILL)
        await _wait_event(self.protocol.exited, KILL_GRACE_S)


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to the process group; False when the group is already gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # the pgid was reused by someone else's group: not ours
        return False
    return True


async def _wait_event(event: asyncio.Event, timeout_s: float) -> None:
    if event.is_set() or timeout_s <= 0:
        return
    try:
        await asyncio.wait_for(event.wait(), timeout_s)
    except TimeoutError:
        return


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"Exit code: {code} (killed by {name})"
    return f"Exit code: {code}"


def _workdir(ctx: ToolContext, workdir: object) -> Path:
    given = workdir if isinstance(workdir, str) and workdir else "."
    return resolve_path(ctx, given)


def _named_paths(analysis: ShellAnalysis, places: list[Path]) -> list[str]:
    """The words of the line that may name a path: those the checker flagged (absolute,
    ``~``, ``..``, directories moved into), every other argument with a ``/`` in it, and
    every argument that is a symlink, since either may lead out of the project."""
    words = [w for found in analysis.commands for w in found.words[1:]]
    words += [w.partition("=")[2] for w in words if w.startswith("-") and "=" in w]
    static = [w for w in words if w and not re.search(r"[$`*?\[]", w)]
    linked = [w for w in static if "/" in w or any((p / w).is_symlink() for p in places)]
    return list(dict.fromkeys([*analysis.paths, *linked]))


def _outside_directories(ctx: ToolContext, paths: list[Path]) -> list[str]:
    """The ``external_directory`` subjects for the paths outside the project."""
    root = project_root(ctx)
    directories = [
        path if path.is_dir() else path.parent for path in paths if not is_inside(path, root)
    ]
    return [str(directory / "*") for directory in dict.fromkeys(directories)]
