"""Suite-wide setup: no test reaches a real model endpoint or the user's real dirs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from opencode_python import OpenCodeAsyncClient, SDKConfig
from opencode_python.providers.guard import BLOCK_ENV
from opencode_python.providers.retry import RetryPolicy
from opencode_python.testing import ScriptedLLMServer

os.environ[BLOCK_ENV] = "1"

WIRE_MODELS = {
    "openai": "openai/gpt-4.1-mini",
    "anthropic": "anthropic/claude-sonnet-4-5",
}


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    # ~/.opencode, ~/.claude/skills and ~/.agents/skills are read too: not the real ones
    monkeypatch.setenv("HOME", str(home))
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


def scripted_config(
    server: ScriptedLLMServer, wire: str, tmp_path: Path, *, builtin_tools: bool = False
) -> SDKConfig:
    """A config that sends ``wire``'s model to the scripted server, storing under tmp_path.

    Built-in tools are off unless asked for, so tests see only the tools they register.
    """
    base_url = server.openai_base_url if wire == "openai" else server.anthropic_base_url
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return SDKConfig(
        storage_path=tmp_path / "data",
        project_dir=project,
        model=WIRE_MODELS[wire],
        providers={wire: {"api_key": "test-key", "base_url": base_url}},
        builtin_tools=builtin_tools,
    )


ClientFactory = Callable[[ScriptedLLMServer, str], OpenCodeAsyncClient]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[ClientFactory]:
    """Build clients wired to a scripted server, with fast retries; all closed after."""
    made: list[OpenCodeAsyncClient] = []

    def make(server: ScriptedLLMServer, wire: str = "openai") -> OpenCodeAsyncClient:
        client = OpenCodeAsyncClient(scripted_config(server, wire, tmp_path))
        client.retry = RetryPolicy(max_retries=client.config.max_retries, base_delay=0.01)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
