"""The bash tool, running real shells: output, exit codes, workdir, timeouts and aborts.

Killing is checked on the processes themselves: the test reads the pids the command
prints and asserts that none of them is still running afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from opencode_python.core.errors import PermissionDeniedError, ToolError
from opencode_python.tools.builtin import bash
from opencode_python.tools.builtin.bash import MAX_OUTPUT_CHARS, BashTool
from opencode_python.tools.framework import PermissionCheck, ToolContext

# A background sleep and a foreground one, each printing its pid first.
TREE = "sleep 30 & echo bg:$!; sh -c 'echo fg:$$; exec sleep 30'; wait"


class Recorder:
    """Collects what the tool publishes and asks for."""

    def __init__(self, deny: bool = False) -> None:
        self.metadata: list[dict[str, Any]] = []
        self.asks: list[tuple[str, list[str]]] = []
        self.deny = deny

    async def on_metadata(self, title: str | None, metadata: dict[str, Any]) -> None:
        self.metadata.append(metadata)

    async def on_ask(self, check: PermissionCheck, meta: dict[str, Any]) -> None:
        self.asks.append((check.permission, check.patterns))
        if self.deny:
            raise PermissionDeniedError(f"{check.permission} refused")

    def context(self, project: Path) -> ToolContext:
        return ToolContext(
            session_id="s",
            message_id="m",
            agent="build",
            directory=str(project),
            working_dir=str(project),
            _on_metadata=self.on_metadata,
            _on_ask=self.on_ask,
        )

    async def pids_seen(self, count: int) -> list[int]:
        """Wait until the streamed output shows ``count`` pids, and return them."""
        for _ in range(200):
            if self.metadata:
                pids = [int(p) for p in re.findall(r"g:(\d+)", self.metadata[-1]["output"])]
                if len(pids) >= count:
                    return pids
            await asyncio.sleep(0.025)
        raise AssertionError(f"the command did not print {count} pids: {self.metadata}")


def running(pid: int) -> bool:
    """Whether ``pid`` is alive; a zombie nobody reaped yet counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


async def all_gone(pids: list[int]) -> bool:
    """Whether every pid is gone, allowing the kernel a moment to finish their exits
    (a killed process closes its pipe a little before it stops existing)."""
    for _ in range(100):
        if not any(running(pid) for pid in pids):
            return True
        await asyncio.sleep(0.02)
    return False


def pids_in(output: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"g:(\d+)", output)]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def ctx(recorder: Recorder, tmp_path: Path) -> ToolContext:
    return recorder.context(tmp_path)


async def test_output_merges_stdout_and_stderr_and_reports_the_exit_code(
    ctx: ToolContext,
) -> None:
    result = await BashTool().execute(
        {"command": "echo out; echo err >&2; exit 3", "description": "Print twice"}, ctx
    )
    assert result.output == "out\nerr\n\nExit code: 3"
    assert result.title == "Print twice"
    assert result.metadata["exit"] == 3
    assert result.metadata["output"] == "out\nerr\n"


async def test_success_has_no_exit_line_and_empty_output_says_so(ctx: ToolContext) -> None:
    assert (await BashTool().execute({"command": "echo fine"}, ctx)).output == "fine"
    quiet = await BashTool().execute({"command": "true"}, ctx)
    assert quiet.output == "(no output)"
    assert quiet.metadata["exit"] == 0
    assert quiet.title == "true"


async def test_a_shell_killed_by_a_signal_is_named(ctx: ToolContext) -> None:
    result = await BashTool().execute({"command": "kill -TERM $$"}, ctx)
    assert result.output.endswith("(killed by SIGTERM)")


async def test_runs_in_the_working_dir_or_the_given_workdir(
    ctx: ToolContext, tmp_path: Path, recorder: Recorder
) -> None:
    (tmp_path / "sub").mkdir()
    assert (await BashTool().execute({"command": "pwd"}, ctx)).output == str(tmp_path.resolve())
    sub = await BashTool().execute({"command": "pwd", "workdir": "sub"}, ctx)
    assert sub.output == str((tmp_path / "sub").resolve())
    assert recorder.asks == []
    with pytest.raises(ToolError, match="does not exist"):
        await BashTool().execute({"command": "pwd", "workdir": "nope"}, ctx)


def checks(command: str, project: Path, **args: Any) -> list[tuple[str, list[str]]]:
    ctx = Recorder().context(project)
    found = BashTool().permission_checks({"command": command, **args}, ctx)
    return [(check.permission, check.patterns) for check in found]


def test_a_workdir_outside_the_project_asks_external_directory(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    assert checks("pwd", project, workdir=str(outside)) == [
        ("bash", ["pwd"]),
        ("external_directory", [f"{outside.resolve()}/*"]),
    ]


def test_paths_outside_the_project_ask_external_directory_once_per_directory(
    tmp_path: Path,
) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "notes.txt").write_text("hello\n")
    (project / "link").symlink_to(outside)
    (project / "secret").symlink_to(outside / "notes.txt")
    command = f"cat {outside}/notes.txt && rm -f ../outside/gone.txt link/x && mkdir -p build"
    assert checks(command, project)[1:] == [("external_directory", [f"{outside.resolve()}/*"])]
    assert checks("cat secret", project)[1:] == [("external_directory", [f"{outside.resolve()}/*"])]
    assert checks("wc -l < link/notes.txt", project)[1:] == [
        ("external_directory", [f"{outside.resolve()}/*"])
    ]
    assert checks("rm -rf build; chmod 644 x 2>/dev/null", project)[1:] == []
    assert checks("cd /etc && cat passwd", project)[1:] == [("external_directory", ["/etc/*"])]


def test_a_write_redirection_is_an_edit_of_its_target(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    assert checks("echo hi > out.txt 2>/dev/null; sort < in.txt >> 'sub dir/log'", project) == [
        ("bash", ["echo hi", "sort"]),
        ("edit", ["out.txt", "sub dir/log"]),
    ]
    assert checks("echo hi > ../escape.txt", project)[1:] == [
        ("edit", [str((tmp_path / "escape.txt").resolve())]),
        ("external_directory", [f"{tmp_path.resolve()}/*"]),
    ]


def test_what_the_checker_cannot_read_is_unsure(tmp_path: Path) -> None:
    ctx = Recorder().context(tmp_path)
    [check] = BashTool().permission_checks({"command": "$tool --flag"}, ctx)
    assert check.unsure == ["a command name only known when it runs: $tool"]
    [check] = BashTool().permission_checks({"command": "git status --short"}, ctx)
    assert (check.patterns, check.always, check.unsure) == (
        ["git status --short"],
        ["git status *"],
        [],
    )


async def test_output_streams_into_metadata_while_running(
    ctx: ToolContext, recorder: Recorder
) -> None:
    command = "for i in 1 2 3; do echo line$i; sleep 0.3; done"
    result = await BashTool().execute({"command": command, "description": "Count"}, ctx)
    assert result.output == "line1\nline2\nline3"
    partial = [m["output"] for m in recorder.metadata]
    assert any(p.startswith("line1\n") and "line3" not in p for p in partial)  # before the end
    assert all(m["description"] == "Count" for m in recorder.metadata)


async def test_long_output_keeps_the_tail_from_a_whole_line(ctx: ToolContext) -> None:
    result = await BashTool().execute({"command": "seq 1 20000"}, ctx)
    first, _, rest = result.output.partition("\n")
    assert first.startswith("(earlier output was cut: showing the last")
    assert "of 108,894 characters" in first
    lines = rest.split("\n")
    assert lines[-1] == "20000"
    assert [int(n) for n in lines] == list(range(int(lines[0]), 20001))
    assert len(result.metadata["output"]) <= MAX_OUTPUT_CHARS


async def test_a_background_process_does_not_hold_the_call(ctx: ToolContext) -> None:
    result = await asyncio.wait_for(
        BashTool().execute({"command": "sleep 30 & echo bg:$!; echo started"}, ctx), 5
    )
    [pid] = pids_in(result.output)
    try:
        assert result.output.endswith("started")
        assert running(pid)  # left alone: only timeouts and aborts kill
    finally:
        os.kill(pid, signal.SIGKILL)


async def test_timeout_kills_the_whole_process_tree(ctx: ToolContext) -> None:
    result = await BashTool().execute({"command": TREE, "timeout": 1000}, ctx)
    pids = pids_in(result.output)
    assert len(pids) == 2
    assert result.output.endswith("Command timed out after 1000 ms; it was killed.")
    assert result.metadata["timed_out"] is True
    assert await all_gone(pids)


async def test_abort_event_kills_the_whole_process_tree(
    ctx: ToolContext, recorder: Recorder
) -> None:
    task = asyncio.create_task(BashTool().execute({"command": TREE}, ctx))
    pids = await recorder.pids_seen(2)
    assert all(running(pid) for pid in pids)
    ctx.abort.set()
    result = await asyncio.wait_for(task, 10)
    assert result.output.endswith("Command aborted: the run was stopped and the command killed.")
    assert result.metadata["aborted"] is True
    assert await all_gone(pids)


async def test_cancelling_the_task_kills_the_whole_process_tree(
    ctx: ToolContext, recorder: Recorder
) -> None:
    task = asyncio.create_task(BashTool().execute({"command": TREE}, ctx))
    pids = await recorder.pids_seen(2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await all_gone(pids)


async def test_a_process_ignoring_sigterm_is_killed_after_the_grace(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bash, "KILL_GRACE_S", 0.3)
    command = "trap '' TERM; echo bg:$$; sleep 30"
    result = await BashTool().execute({"command": command, "timeout": 300}, ctx)
    [pid] = pids_in(result.output)
    assert result.metadata["timed_out"] is True
    assert await all_gone([pid])


def test_each_command_of_a_chain_is_a_permission_subject(ctx: ToolContext) -> None:
    def commands(command: str) -> list[str]:
        return BashTool().permission_checks({"command": command}, ctx)[0].patterns

    assert commands("git status && rm -rf /") == ["git status", "rm -rf /"]
    assert commands("ls | head -3; echo $(whoami)") == ["ls", "head -3", "whoami", "echo $(whoami)"]
    assert commands("r''m -rf x; \\rm y") == ["rm -rf x", "rm y"]


def test_schema_is_valid_and_bounds_the_timeout() -> None:
    schema = BashTool().parameters()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"command": "ls", "timeout": 600_000})
    assert not validator.is_valid({"command": "ls", "timeout": 600_001})
    assert not validator.is_valid({"timeout": 5})
