"""Checked by mypy in tests/test_typing.py (never run): what ``output_type`` types."""

from __future__ import annotations

from typing import reveal_type

from pydantic import BaseModel

from opencode_python import AgentTask, OpenCodeAsyncClient, OpenCodeSyncClient


class Invoice(BaseModel):
    number: str
    total: float


async def typed(client: OpenCodeAsyncClient, session_id: str) -> None:
    result = await client.prompt(session_id, "read it", output_type=Invoice)
    reveal_type(result.output)  # Invoice
    number = await client.prompt(session_id, "how many?", output_type=int)
    reveal_type(number.output)  # int
    names = await client.prompt(session_id, "who?", output_type=list[str])
    reveal_type(names.output)  # list[str]
    text = await client.prompt(session_id, "hi")
    reveal_type(text.output)  # Any
    schema = await client.prompt(session_id, "hi", output_type={"type": "object"})
    reveal_type(schema.output)  # Any
    ran = await client.execute_agent("build", session_id, "read it", output_type=Invoice)
    reveal_type(ran.output)  # Invoice
    async for item in client.stream(session_id, "read it", output_type=Invoice):
        reveal_type(item)  # Event | AgentResult[Invoice]
    AgentTask(agent_name="general", prompt="read it", output_type=Invoice)


def typed_sync(client: OpenCodeSyncClient, session_id: str) -> None:
    result = client.prompt(session_id, "read it", output_type=Invoice)
    reveal_type(result.output)  # Invoice
