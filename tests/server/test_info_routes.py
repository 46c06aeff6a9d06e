"""The instance routes (agents, config, providers, paths, project, files, commands)
against a served client: shapes from OpenCode's OpenAPI document, values from our own
config, agents and files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opencode_python.server import info_routes

from .conftest import ServeFactory, check_schema

CONFIG = {
    "agent": {
        "reviewer": {
            "description": "Reviews changes",
            "mode": "subagent",
            "model": "openai/gpt-4.1",
            "temperature": 0.2,
            "prompt": "Review carefully.",
        }
    },
    "command": {
        "greet": {"template": "Say hi to $1, then $2 and $ARGUMENTS", "description": "Greets"}
    },
    "permission": {"bash": "ask", "edit": {"*.md": "deny"}},
    "instructions": ["NOTES.md"],
    "mcp": {
        "tools": {
            "type": "local",
            "command": ["never-started"],
            "environment": {"TOKEN": "s3cret-token"},
        }
    },
}
REVIEW_COMMAND = """\
---
description: review the diff
subtask: true
---
Review $ARGUMENTS.
"""


def make_project(tmp_path: Path, *, git: bool = False) -> Path:
    """The project dir the ``serve`` fixture uses, with config, a command and files."""
    project = tmp_path / "project"
    (project / ".opencode" / "command").mkdir(parents=True)
    (project / "opencode.json").write_text(json.dumps(CONFIG))
    (project / ".opencode" / "command" / "review.md").write_text(REVIEW_COMMAND)
    (project / "README.md").write_text("# Title\nsay hello, hello world\n")
    (project / "src").mkdir()
    (project / "src" / "needle_module.py").write_text("print('haystack')\n")
    if git:
        subprocess.run(["git", "init", "-q", str(project)], check=True)
        (project / ".gitignore").write_text("*.log\n")
        (project / "debug.log").write_text("noise\n")
    return project


def assert_bad_query(response: Any, key: str | None = None) -> None:
    assert response.status_code == 400
    body = response.json()
    assert body["name"] == "BadRequest"
    assert body["data"]["kind"] == "Query"
    if key is not None:
        assert body["data"]["message"] == f'Missing key\n  at ["{key}"]'


async def test_agents(serve: ServeFactory, tmp_path: Path) -> None:
    make_project(tmp_path)
    async with serve() as s:
        response = await s.http.get("/agent")
    assert response.status_code == 200
    agents = response.json()
    check_schema("app.agents", agents)
    by_name = {agent["name"]: agent for agent in agents}
    assert agents[0]["name"] == "build"  # the default agent first
    assert {"build", "plan", "general", "explore", "title", "reviewer"} <= set(by_name)
    assert by_name["build"]["native"] is True
    assert by_name["build"]["mode"] == "primary"
    assert by_name["title"]["hidden"] is True
    reviewer = by_name["reviewer"]
    assert reviewer["mode"] == "subagent"
    assert reviewer["description"] == "Reviews changes"
    assert reviewer["model"] == {"modelID": "gpt-4.1", "providerID": "openai"}
    assert reviewer["temperature"] == 0.2
    assert reviewer["prompt"] == "Review carefully."
    assert "native" not in reviewer
    assert reviewer["options"] == {}
    # the ruleset it runs under holds the config's rules
    assert {"permission": "bash", "pattern": "*", "action": "ask"} in reviewer["permission"]
    assert {"permission": "edit", "pattern": "*.md", "action": "deny"} in reviewer["permission"]


async def test_config(serve: ServeFactory, tmp_path: Path) -> None:
    make_project(tmp_path)
    async with serve() as s:
        response = await s.http.get("/config")
        base_url = s.llm.openai_base_url
    assert response.status_code == 200
    config = response.json()
    check_schema("config.get", config)
    assert config["model"] == "openai/gpt-4.1-mini"
    assert config["share"] == "disabled"
    assert config["agent"]["reviewer"]["model"] == "openai/gpt-4.1"
    assert config["command"]["greet"] == {
        "template": "Say hi to $1, then $2 and $ARGUMENTS",
        "description": "Greets",
    }
    assert config["command"]["review"]["subtask"] is True
    assert config["permission"] == {"bash": "ask", "edit": {"*.md": "deny"}}
    assert config["instructions"] == ["NOTES.md"]
    assert config["provider"]["openai"]["options"]["baseURL"] == base_url
    assert config["mcp"]["tools"]["command"] == ["never-started"]
    # secrets stay on the server
    assert config["mcp"]["tools"]["environment"] == {"TOKEN": "**********"}
    assert "test-key" not in response.text
    assert "s3cret-token" not in response.text


async def test_providers(serve: ServeFactory, tmp_path: Path) -> None:
    make_project(tmp_path)
    async with serve() as s:
        configured = await s.http.get("/config/providers")
        listed = await s.http.get("/provider")
        base_url = s.llm.openai_base_url
    assert configured.status_code == 200
    assert listed.status_code == 200
    body = configured.json()
    check_schema("config.providers", body)
    check_schema("provider.list", listed.json())
    assert [p["id"] for p in body["providers"]] == ["openai"]
    assert body["default"] == {"openai": "gpt-4.1-mini"}
    openai = body["providers"][0]
    assert openai["source"] == "config"
    assert openai["env"] == ["OPENAI_API_KEY"]
    # the default model and the reviewer agent's, nothing made up
    assert set(openai["models"]) == {"gpt-4.1-mini", "gpt-4.1"}
    model = openai["models"]["gpt-4.1-mini"]
    assert model["providerID"] == "openai"
    assert model["api"] == {"id": "gpt-4.1-mini", "url": base_url, "npm": "@ai-sdk/openai"}
    assert model["limit"]["context"] > 0  # from the price data
    assert model["cost"]["input"] > 0
    assert "test-key" not in configured.text
    every = listed.json()
    assert every["connected"] == ["openai"]
    assert every["default"] == body["default"]
    assert every["all"] == body["providers"]


async def test_path_and_project(serve: ServeFactory, tmp_path: Path) -> None:
    project_dir = make_project(tmp_path, git=True)
    async with serve() as s:
        session = await s.client.create_session("first")
        paths = await s.http.get("/path")
        project = await s.http.get("/project/current")
    assert paths.status_code == 200
    check_schema("path.get", paths.json())
    assert paths.json() == {
        "home": str(Path.home()),
        "state": str((tmp_path / "data").resolve()),
        "config": paths.json()["config"],
        "worktree": str(project_dir.resolve()),
        "directory": str(project_dir.resolve()),
    }
    assert project.status_code == 200
    body = project.json()
    check_schema("project.current", body)
    assert body["id"] == session.project_id
    assert body["worktree"] == str(project_dir.resolve())
    assert body["vcs"] == "git"
    assert body["time"] == {"created": session.time.created, "updated": session.time.updated}
    assert body["sandboxes"] == []


async def test_project_outside_git(serve: ServeFactory, tmp_path: Path) -> None:
    project_dir = make_project(tmp_path)
    async with serve() as s:
        body = (await s.http.get("/project/current")).json()
        paths = (await s.http.get("/path")).json()
    check_schema("project.current", body)
    assert "vcs" not in body
    assert body["worktree"] == str(project_dir.resolve()) == paths["worktree"]


async def test_file_list(serve: ServeFactory, tmp_path: Path) -> None:
    project_dir = make_project(tmp_path, git=True).resolve()
    async with serve() as s:
        top = await s.http.get("/file", params={"path": "."})
        sub = await s.http.get("/file", params={"path": "src"})
    assert top.status_code == 200
    nodes = top.json()
    check_schema("file.list", nodes)
    by_name = {node["name"]: node for node in nodes}
    assert by_name["README.md"] == {
        "name": "README.md",
        "path": "README.md",
        "absolute": str(project_dir / "README.md"),
        "type": "file",
        "ignored": False,
    }
    assert by_name["src"]["type"] == "directory"
    assert by_name["src"]["path"] == "src/"
    assert by_name["debug.log"]["ignored"] is True  # *.log in .gitignore
    kinds = [node["type"] for node in nodes]
    assert kinds == sorted(kinds, key=lambda kind: kind != "directory")  # directories first
    assert sub.json() == [
        {
            "name": "needle_module.py",
            "path": "src/needle_module.py",
            "absolute": str(project_dir / "src" / "needle_module.py"),
            "type": "file",
            "ignored": False,
        }
    ]


async def test_file_list_refuses_paths_out_of_the_project(
    serve: ServeFactory, tmp_path: Path
) -> None:
    project_dir = make_project(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("x")
    (project_dir / "escape").symlink_to(outside)
    async with serve() as s:
        for path in ("../..", "..", str(outside), "escape", "src/../../outside"):
            response = await s.http.get("/file", params={"path": path})
            assert_bad_query(response)
            assert "outside the project" in response.json()["data"]["message"]
            assert "secret.txt" not in response.text
        assert_bad_query(await s.http.get("/file"), "path")
        assert (await s.http.get("/file", params={"path": "README.md"})).status_code == 400
        missing = await s.http.get("/file", params={"path": "nope"})
    assert missing.status_code == 404
    assert missing.json()["name"] == "NotFoundError"


@pytest.mark.parametrize("ripgrep", [True, False], ids=["ripgrep", "python"])
async def test_find_text(
    serve: ServeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ripgrep: bool
) -> None:
    if ripgrep and shutil.which("rg") is None:
        pytest.skip("ripgrep is not installed")
    if not ripgrep:  # the grep tool's pure-Python search
        monkeypatch.setattr(info_routes.shutil, "which", lambda name: None)
    make_project(tmp_path)
    async with serve() as s:
        found = await s.http.get("/find", params={"pattern": "hel+o"})
        assert_bad_query(await s.http.get("/find"), "pattern")
        invalid = await s.http.get("/find", params={"pattern": "("})
        nothing = await s.http.get("/find", params={"pattern": "absent-from-every-file"})
    assert found.status_code == 200
    matches = found.json()
    check_schema("find.text", matches)
    assert matches == [
        {
            "path": {"text": "README.md"},
            "lines": {"text": "say hello, hello world\n"},
            "line_number": 2,
            "absolute_offset": len(b"# Title\n"),
            "submatches": [
                {"match": {"text": "hello"}, "start": 4, "end": 9},
                {"match": {"text": "hello"}, "start": 11, "end": 16},
            ],
        }
    ]
    assert_bad_query(invalid)
    assert nothing.json() == []


async def test_find_files(serve: ServeFactory, tmp_path: Path) -> None:
    make_project(tmp_path)
    async with serve() as s:
        readme = await s.http.get("/find/file", params={"query": "READ"})
        needle = await s.http.get("/find/file", params={"query": "needle"})
        fuzzy = await s.http.get("/find/file", params={"query": "ndlmod"})
        dirs = await s.http.get("/find/file", params={"query": "src", "type": "directory"})
        no_dirs = await s.http.get("/find/file", params={"query": "src", "dirs": "false"})
        limited = await s.http.get("/find/file", params={"query": "", "limit": 1})
        assert_bad_query(await s.http.get("/find/file"), "query")
        bad_type = await s.http.get("/find/file", params={"query": "x", "type": "socket"})
    assert readme.status_code == 200
    check_schema("find.files", readme.json())
    assert readme.json() == ["README.md"]
    assert needle.json() == ["src/needle_module.py"]
    assert fuzzy.json() == ["src/needle_module.py"]
    assert dirs.json() == ["src/"]
    assert no_dirs.json() == ["src/needle_module.py"]
    assert len(limited.json()) == 1
    assert_bad_query(bad_type)


async def test_commands(serve: ServeFactory, tmp_path: Path) -> None:
    make_project(tmp_path)
    async with serve() as s:
        response = await s.http.get("/command")
    assert response.status_code == 200
    commands = response.json()
    check_schema("command.list", commands)
    by_name = {command["name"]: command for command in commands}
    assert by_name["greet"] == {
        "name": "greet",
        "description": "Greets",
        "source": "command",
        "template": "Say hi to $1, then $2 and $ARGUMENTS",
        "hints": ["$1", "$2", "$ARGUMENTS"],
    }
    review = by_name["review"]
    assert review["subtask"] is True
    assert review["description"] == "review the diff"
    assert review["hints"] == ["$ARGUMENTS"]
    assert review["template"].strip() == "Review $ARGUMENTS."


@pytest.mark.parametrize(
    ("path", "operation_id"),
    [
        ("/agent", "app.agents"),
        ("/config", "config.get"),
        ("/config/providers", "config.providers"),
        ("/provider", "provider.list"),
        ("/path", "path.get"),
        ("/project/current", "project.current"),
        ("/command", "command.list"),
    ],
)
async def test_bare_project_matches_the_schema(
    serve: ServeFactory, path: str, operation_id: str
) -> None:
    """With no opencode.json at all, each answer still has OpenCode's shape."""
    async with serve() as s:
        response = await s.http.get(path, params={"directory": str(s.client.config.project_dir)})
    assert response.status_code == 200
    check_schema(operation_id, response.json())
