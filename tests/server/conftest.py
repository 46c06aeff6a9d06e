"""A served client against the scripted model: the base URL and an HTTP client on it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import pytest

from opencode_python import OpenCodeAsyncClient
from opencode_python.server import serving
from opencode_python.testing import ScriptedLLMServer

from ..conftest import scripted_config

OPENAPI = json.loads((Path(__file__).parent / "opencode_openapi.json").read_text())
OPERATIONS = {
    op["operationId"]: op
    for item in OPENAPI["paths"].values()
    for op in item.values()
    if isinstance(op, dict) and "operationId" in op
}


def check_schema(operation_id: str, body: Any) -> None:
    """``body`` is valid against OpenCode 1.18's 200 response schema of ``operation_id``."""
    content = OPERATIONS[operation_id]["responses"]["200"]["content"]
    schema = {**content["application/json"]["schema"], "components": OPENAPI["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)


class Served:
    """A running server: its URL, the client it serves, an HTTP client, the model."""

    def __init__(
        self,
        url: str,
        client: OpenCodeAsyncClient,
        http: httpx2.AsyncClient,
        llm: ScriptedLLMServer,
    ) -> None:
        self.url = url
        self.client = client
        self.http = http
        self.llm = llm


ServeFactory = Callable[..., AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve(tmp_path: Path) -> ServeFactory:
    """``async with serve(wire="openai", builtin_tools=False, permission=None,
    **server_options) as s``; ``permission`` is the config's (``{"bash": "ask"}``)."""

    @asynccontextmanager
    async def start(
        *,
        wire: str = "openai",
        builtin_tools: bool | list[str] = False,
        permission: Any = None,
        **options: Any,
    ) -> AsyncIterator[Served]:
        with ScriptedLLMServer() as llm:
            config = scripted_config(llm, wire, tmp_path)
            config.builtin_tools = builtin_tools
            if permission is not None:
                config.permission = permission
            config.memory_embedder = "none"
            async with OpenCodeAsyncClient(config) as client, serving(client, **options) as url:
                auth = options.get("password")
                basic = httpx2.BasicAuth("opencode", auth) if auth else None
                async with httpx2.AsyncClient(base_url=url, auth=basic, timeout=30) as http:
                    yield Served(url, client, http, llm)

    return start
