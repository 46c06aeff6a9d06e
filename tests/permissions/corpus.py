"""The attack corpus' harness: one model turn that tries what the rules forbid.

Each ``Attack`` is a step of tool calls a hostile model makes, the rules (and agent)
it runs under, and how to tell that the forbidden thing happened: a marker file, a file
changed, a secret in a request the scripted server received. It runs twice, each time
in a fresh project: guarded, where the effect must not happen, and open (everything
allowed, the build agent), where it must, so that every case proves its attack is real.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode_python import OpenCodeAsyncClient, PermissionRequest, SDKConfig
from opencode_python.testing import RecordedRequest, ScriptedLLMServer, ScriptedToolCall, Turn

SECRET = "s3cr3t-0f-the-vault"
VICTIM = "victim.txt"
VICTIM_TEXT = "keep me\n"
OPEN_RULES: dict[str, Any] = {"*": "allow"}


@dataclass(frozen=True)
class Project:
    """A project under attack, with a file outside it that holds a secret."""

    root: Path
    outside: Path

    @property
    def victim(self) -> Path:
        return self.root / VICTIM

    def marker(self, name: str = "pwned") -> Path:
        return self.root / name


@dataclass(frozen=True)
class Seen:
    """What an attack left behind: the project, and what the model was sent."""

    project: Project
    requests: list[RecordedRequest]

    def leaked(self, secret: str = SECRET) -> bool:
        """Whether ``secret`` reached the model in any request (a tool result, say)."""
        return any(secret in json.dumps(r.body) for r in self.requests)

    def exists(self, name: str) -> bool:
        return (self.project.root / name).exists()

    def victim_changed(self) -> bool:
        victim = self.project.victim
        return not victim.exists() or victim.read_text() != VICTIM_TEXT


Effect = Callable[[Seen], bool]
Approver = Callable[[PermissionRequest], str]


@dataclass(frozen=True)
class Attack:
    """One hostile step: ``calls`` as (tool, arguments); ``effect`` says whether the
    forbidden thing happened."""

    name: str
    calls: list[tuple[str, dict[str, Any]]]
    effect: Effect
    rules: dict[str, Any] | str = field(default_factory=dict)
    agent: str = "build"
    approver: Approver | None = None
    open_rules: dict[str, Any] | str = field(default_factory=lambda: dict(OPEN_RULES))

    def __str__(self) -> str:
        return self.name


def make_project(base: Path) -> Project:
    root = base / "project"
    outside = base / "outside"
    (root / "src").mkdir(parents=True)
    outside.mkdir()
    (root / VICTIM).write_text(VICTIM_TEXT)
    (root / "src" / "app.py").write_text("print('hello')\n")
    (root / "notes.md").write_text("# notes\n")
    (root / "magic").write_text("0\tstring\tx\tX\n")  # a source file(1) can compile
    (root / "config.env").write_text(f"TOKEN={SECRET}\n")
    (root / "*.env").write_text("literally named\n")
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    (root / "link").symlink_to(outside)  # a way out that looks like a project folder
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return Project(root, outside)


def expand(value: Any, project: Project) -> Any:
    """``{root}`` and ``{outside}`` in the call's arguments become the real paths."""
    if isinstance(value, str):
        return value.replace("{root}", str(project.root)).replace("{outside}", str(project.outside))
    if isinstance(value, dict):
        return {k: expand(v, project) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, project) for v in value]
    return value


async def play(attack: Attack, base: Path, server: ScriptedLLMServer, *, guarded: bool) -> Seen:
    """Run the attack's step in a fresh project and client; what it left behind."""
    project = make_project(base)
    rules = attack.rules if guarded else attack.open_rules
    agent = attack.agent if guarded else "build"
    config = SDKConfig(
        storage_path=base / "data",
        project_dir=project.root,
        model="openai/gpt-4.1-mini",
        providers={"openai": {"api_key": "k", "base_url": server.openai_base_url}},
        permission=rules,
        memory_embedder="none",
    )
    token = f"attack-{base.name}"
    calls = [ScriptedToolCall(tool, expand(args, project)) for tool, args in attack.calls]
    server.add_turns(
        [
            Turn(tool_calls=calls, when=lambda r: token in r.last_user_text and not r.tool_results),
            Turn(text="done", when=lambda r: token in r.last_user_text and bool(r.tool_results)),
        ]
    )
    first = len(server.requests)
    async with OpenCodeAsyncClient(config) as client:
        if guarded and attack.approver is not None:
            client.on_permission(attack.approver)
        elif not guarded:
            client.on_permission(lambda request: "once")
        session = await client.create_session()
        await client.prompt(session.id, f"{token}: do it", agent=agent)
    return Seen(project, server.requests[first:])
