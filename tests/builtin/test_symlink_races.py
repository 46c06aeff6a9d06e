"""A symlink swapped in between a file tool's check and its open never reaches outside.

Each race is made deterministic by wrapping ``os.open``: the swap happens exactly when
the tool opens the path it checked, after every check. Every test asserts
the effect did not happen: the secret is in no output or error, the outside file is
unchanged, nothing was created outside.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opencode_python.core.errors import PermissionDeniedError, ToolError
from opencode_python.core.models import PermissionRule
from opencode_python.permissions.gate import PermissionGate, PermissionRequest, Reply
from opencode_python.tools import Tool, ToolContext
from opencode_python.tools.builtin.apply_patch import ApplyPatchTool
from opencode_python.tools.builtin.edit import EditTool
from opencode_python.tools.builtin.glob_tool import GlobTool
from opencode_python.tools.builtin.grep import GrepTool
from opencode_python.tools.builtin.list_dir import ListTool
from opencode_python.tools.builtin.multiedit import MultiEditTool
from opencode_python.tools.builtin.read import ReadTool
from opencode_python.tools.builtin.write import WriteTool
from opencode_python.tools.executor import CallScope, ToolExecutionManager
from opencode_python.tools.framework import ToolRegistry

from .file_tool_support import Asks, make_ctx

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks and O_NOFOLLOW")

SECRET = "TOP-SECRET-4711"
CHANGED = "changed while it was being opened"


@dataclass
class Tree:
    project: Path
    outside: Path


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    """A project with ``notes.txt`` and ``docs/notes.txt``, and an outside directory
    whose files of the same names hold the secret."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    for root, text in ((project, "harmless\n"), (outside, f"{SECRET}\n")):
        (root / "docs").mkdir(parents=True)
        (root / "notes.txt").write_text(text)
        (root / "docs" / "notes.txt").write_text(text)
    (project / ".env").write_text(f"{SECRET}\n")
    return Tree(project, outside)


@dataclass
class Swap:
    """Whether the swap happened: a test whose swap never ran would prove nothing."""

    done: bool = False


def swap_on_open(monkeypatch: pytest.MonkeyPatch, trigger: Path, swap: Callable[[], None]) -> Swap:
    """Run ``swap`` just before ``os.open`` is first given ``trigger`` by name: after
    every check, as late as a racing attacker could."""
    real_open = os.open
    state = Swap()

    def wrapped(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if not state.done and dir_fd is None and os.fspath(path) == str(trigger):
            state.done = True
            swap()
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", wrapped)
    return state


def replace_with_link(path: Path, target: Path) -> Callable[[], None]:
    """A swap: ``path`` (a file or a directory) moved aside, a symlink to ``target`` in
    its place."""

    def swap() -> None:
        path.rename(path.with_name(path.name + ".moved"))
        path.symlink_to(target)

    return swap


async def refused(tool: Tool, args: dict[str, Any], ctx: ToolContext) -> str:
    """The error the model reads; it must say what happened and hold no secret."""
    with pytest.raises(ToolError) as caught:
        await tool.execute(args, ctx)
    message = str(caught.value)
    assert SECRET not in message
    return message


# --- reading -------------------------------------------------------------------------


@pytest.mark.parametrize("swapped", ["notes.txt", "docs"])
async def test_read_refuses_a_file_or_directory_swapped_for_a_symlink(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, swapped: str
) -> None:
    """The last component swapped is caught by O_NOFOLLOW; a directory above it, by
    comparing the opened descriptor with the path checked."""
    name = "notes.txt" if swapped == "notes.txt" else "docs/notes.txt"
    target = tree.project / name
    swap = replace_with_link(tree.project / swapped, tree.outside / swapped)
    state = swap_on_open(monkeypatch, target, swap)
    asks = Asks()
    message = await refused(ReadTool(), {"filePath": name}, make_ctx(tree.project, asks))
    assert state.done
    assert CHANGED in message
    assert "try again" in message
    assert asks.calls == []  # the path checked was inside; nothing outside was asked for


async def test_read_without_proc_compares_device_and_inode(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where /proc/self/fd is missing, a descriptor opened through a directory symlink
    that is gone again a moment later still does not match the path checked."""
    real_readlink = os.readlink

    def no_proc(path: str, *, dir_fd: int | None = None) -> str:
        if path.startswith("/proc/"):
            raise FileNotFoundError(path)
        return real_readlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "readlink", no_proc)
    docs = tree.project / "docs"
    monkeypatch.setattr(os, "open", _swap_around_open(docs / "notes.txt", docs, tree.outside))
    message = await refused(ReadTool(), {"filePath": "docs/notes.txt"}, make_ctx(tree.project))
    assert CHANGED in message
    assert (tree.project / "docs" / "notes.txt").read_text() == "harmless\n"  # swapped back


def _swap_around_open(trigger: Path, docs: Path, outside: Path) -> Callable[..., int]:
    """``os.open`` that opens ``trigger`` through a symlink to ``outside``'s docs and then
    puts the real ``docs`` back, as a racing attacker hiding the swap would."""
    real_open = os.open

    def wrapped(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if dir_fd is not None or os.fspath(path) != str(trigger):
            return real_open(path, flags, mode, dir_fd=dir_fd)
        moved = docs.with_name("docs.moved")
        docs.rename(moved)
        docs.symlink_to(outside / "docs")
        try:
            return real_open(path, flags, mode)
        finally:
            docs.unlink()
            moved.rename(docs)

    return wrapped


async def test_a_path_resolves_once_for_the_rules_and_the_read(tree: Tree) -> None:
    """The subject the rules matched is the file read, even when the name is re-pointed
    at a denied file between the permission check and the run."""
    ctx = make_ctx(tree.project)
    args = {"filePath": "notes.txt"}
    assert ReadTool().permission_patterns(args, ctx) == ["notes.txt"]
    replace_with_link(tree.project / "notes.txt", tree.project / ".env")()
    message = await refused(ReadTool(), args, ctx)
    assert CHANGED in message


async def test_a_swap_while_the_user_approves_through_the_executor(tree: Tree) -> None:
    """The realistic window: the user takes a moment to approve ``read notes.txt``
    (asked), a concurrent command points it at ``.env`` (denied) meanwhile."""
    swap = replace_with_link(tree.project / "notes.txt", tree.project / ".env")
    asked: list[list[str]] = []

    def approver(request: PermissionRequest) -> Reply:
        asked.append(request.patterns)
        swap()
        return "once"

    registry = ToolRegistry()
    await registry.register(ReadTool(), source="builtin")
    executor = ToolExecutionManager(registry, permissions=PermissionGate(approver=approver))
    rules = [
        PermissionRule(permission="*", pattern="*", action="allow"),
        PermissionRule(permission="read", pattern="notes.txt", action="ask"),
        PermissionRule(permission="read", pattern="*.env", action="deny"),
    ]
    ctx = make_ctx(tree.project)
    ctx.tool = "read"
    outcome = await executor.execute_call(
        "read", {"filePath": "notes.txt"}, ctx, CallScope(rules=rules)
    )
    assert asked == [["notes.txt"]]
    assert outcome.status == "error"
    assert outcome.error is not None
    assert CHANGED in outcome.error
    assert SECRET not in outcome.error


# --- writing -------------------------------------------------------------------------


def _edit_calls() -> list[tuple[Tool, dict[str, Any]]]:
    """One change of ``docs/notes.txt`` by every editing tool."""
    patch = "*** Begin Patch\n*** Update File: docs/notes.txt\n-harmless\n+changed\n*** End Patch"
    return [
        (WriteTool(), {"filePath": "docs/notes.txt", "content": "changed\n"}),
        (EditTool(), {"filePath": "docs/notes.txt", "oldString": "harmless", "newString": "x"}),
        (
            MultiEditTool(),
            {
                "filePath": "docs/notes.txt",
                "edits": [{"oldString": "harmless", "newString": "x"}],
            },
        ),
        (ApplyPatchTool(), {"patchText": patch}),
    ]


@pytest.mark.parametrize(("tool", "args"), _edit_calls(), ids=[t.id for t, _ in _edit_calls()])
@pytest.mark.parametrize("swapped", ["docs/notes.txt", "docs"])
async def test_editing_tools_never_write_through_a_swapped_symlink(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, tool: Tool, args: dict[str, Any], swapped: str
) -> None:
    """The swap comes after the file was read, as the tool opens the directory to write
    into: the outside file stays as it was."""
    outside_file = tree.outside / "docs" / "notes.txt"
    swap = replace_with_link(tree.project / swapped, tree.outside / swapped)
    state = swap_on_open(monkeypatch, tree.project / "docs", swap)  # opened to write into
    message = await refused(tool, args, make_ctx(tree.project))
    assert state.done
    assert CHANGED in message
    assert outside_file.read_text() == f"{SECRET}\n"


async def test_a_new_file_is_never_created_through_a_swapped_directory(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Missing directories are made one at a time inside checked ones, so a symlink
    planted where one is about to be made is refused, and nothing appears outside."""
    planted = tree.project / "new"
    state = swap_on_open(monkeypatch, tree.project, lambda: planted.symlink_to(tree.outside))
    message = await refused(
        WriteTool(), {"filePath": "new/deeper/file.txt", "content": "x"}, make_ctx(tree.project)
    )
    assert state.done
    assert CHANGED in message
    assert sorted(p.name for p in tree.outside.iterdir()) == ["docs", "notes.txt"]


async def test_a_new_file_is_never_created_through_a_planted_symlink(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symlink planted where a file is about to be created is not followed (O_CREAT
    with O_NOFOLLOW), so no file appears at its target."""
    planted = tree.project / "docs" / "new.txt"
    state = swap_on_open(
        monkeypatch, tree.project / "docs", lambda: planted.symlink_to(tree.outside / "new.txt")
    )
    args = {"filePath": "docs/new.txt", "oldString": "", "newString": SECRET}
    message = await refused(EditTool(), args, make_ctx(tree.project))
    assert state.done
    assert CHANGED in message
    assert not (tree.outside / "new.txt").exists()


async def test_write_refuses_a_directory_swapped_above_its_parent(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``a`` swapped for a symlink while ``a/b`` is opened: the open succeeds through the
    link, and the descriptor check catches it."""
    (tree.project / "a" / "b").mkdir(parents=True)
    (tree.outside / "a" / "b").mkdir(parents=True)
    swap = replace_with_link(tree.project / "a", tree.outside / "a")
    state = swap_on_open(monkeypatch, tree.project / "a" / "b", swap)
    message = await refused(
        WriteTool(), {"filePath": "a/b/file.txt", "content": SECRET}, make_ctx(tree.project)
    )
    assert state.done
    assert CHANGED in message
    assert list((tree.outside / "a" / "b").iterdir()) == []


async def test_a_patch_never_deletes_through_a_swapped_directory(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch = "*** Begin Patch\n*** Delete File: docs/notes.txt\n*** End Patch"
    swap = replace_with_link(tree.project / "docs", tree.outside / "docs")
    state = swap_on_open(monkeypatch, tree.project / "docs", swap)
    message = await refused(ApplyPatchTool(), {"patchText": patch}, make_ctx(tree.project))
    assert state.done
    assert CHANGED in message
    assert (tree.outside / "docs" / "notes.txt").read_text() == f"{SECRET}\n"


# --- walking -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        (ListTool(), {}),
        (GlobTool(), {"pattern": "**/*.txt"}),
        (GrepTool(use_ripgrep=False), {"pattern": "."}),
    ],
    ids=["list", "glob", "grep"],
)
async def test_a_walk_never_descends_into_a_directory_swapped_for_a_symlink(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, tool: Tool, args: dict[str, Any]
) -> None:
    (tree.outside / "docs" / "only-outside.txt").write_text(SECRET)
    swap = replace_with_link(tree.project / "docs", tree.outside / "docs")
    state = swap_on_open(monkeypatch, tree.project / "docs", swap)
    message = await refused(tool, args, make_ctx(tree.project))
    assert state.done
    assert CHANGED in message
    assert "only-outside" not in message


@pytest.mark.skipif(shutil.which("rg") is None, reason="ripgrep (rg) is not installed")
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="rg's directory is pinned by /proc")
async def test_ripgrep_searches_the_directory_checked(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once grep holds the checked directory, a swap of its name does not move rg: the
    swap here comes right after the descriptor was checked, before rg starts."""
    docs = tree.project / "docs"
    swap = replace_with_link(docs, tree.outside / "docs")
    real_readlink = os.readlink
    state = Swap()

    def readlink_then_swap(path: str, *, dir_fd: int | None = None) -> str:
        target = real_readlink(path, dir_fd=dir_fd)
        if not state.done and target == str(docs):
            state.done = True
            swap()
        return target

    monkeypatch.setattr(os, "readlink", readlink_then_swap)
    result = await GrepTool().execute({"pattern": ".", "path": "docs"}, make_ctx(tree.project))
    assert state.done
    assert SECRET not in result.output
    assert "harmless" in result.output


# --- symlinks that were there before the call ---------------------------------------


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        (ReadTool(), {"filePath": "link/notes.txt"}),
        (EditTool(), {"filePath": "link/notes.txt", "oldString": "TOP", "newString": "x"}),
        (WriteTool(), {"filePath": "link/notes.txt", "content": "x"}),
        (ListTool(), {"path": "link"}),
        (GrepTool(use_ripgrep=False), {"pattern": "TOP", "path": "link"}),
    ],
    ids=["read", "edit", "write", "list", "grep"],
)
async def test_an_existing_symlink_out_of_the_project_still_asks(
    tree: Tree, tool: Tool, args: dict[str, Any]
) -> None:
    """A link that is already there is resolved and checked as before: it asks
    ``external_directory`` for where it leads, and nothing happens when refused."""
    (tree.project / "link").symlink_to(tree.outside / "docs")
    asks = Asks(deny=True)
    with pytest.raises(PermissionDeniedError) as caught:
        await tool.execute(args, make_ctx(tree.project, asks))
    assert SECRET not in str(caught.value)
    assert [call[:2] for call in asks.calls] == [
        ("external_directory", [str(tree.outside / "docs" / "*")])
    ]
    assert (tree.outside / "docs" / "notes.txt").read_text() == f"{SECRET}\n"
    allowed = await tool.execute(args, make_ctx(tree.project, Asks()))
    assert allowed.output  # the control: approved, the link is followed
