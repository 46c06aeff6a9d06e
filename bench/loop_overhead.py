"""SDK loop overhead against a plain loop on the official openai client.

Both loops run the same 20-step tool-calling conversation against one
ScriptedLLMServer on loopback, alternating run by run so that machine noise hits
both alike. Prints each side's median, the ratio, and the SDK's added time per step
(storing every message and part in SQLite, publishing every event, validating tool
arguments, accounting usage and cost).

    python bench/loop_overhead.py [--rounds 15] [--steps 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from opencode_python import OpenCodeAsyncClient, SDKConfig, Tool, ToolContext, ToolResult
from opencode_python.core.models import TokenUsage
from opencode_python.testing import RecordedRequest, ScriptedLLMServer, ScriptedToolCall, Turn

SCHEMA = {
    "type": "object",
    "properties": {"value": {"type": "integer", "description": "The number to echo."}},
    "required": ["value"],
}


class EchoTool(Tool):
    id = "echo"
    description = "Echo a number back."

    def parameters(self) -> dict[str, Any]:
        return SCHEMA

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return ToolResult(title="echo", output=str(args["value"]))


def responder(steps: int) -> Callable[[RecordedRequest], Turn]:
    def respond(request: RecordedRequest) -> Turn:
        done = len(request.tool_results)
        usage = TokenUsage(input=100 + 10 * done, output=12)
        if done < steps - 1:
            return Turn(tool_calls=[ScriptedToolCall("echo", {"value": done})], usage=usage)
        return Turn(text="All numbers echoed.", usage=usage)

    return respond


async def sdk_run(client: OpenCodeAsyncClient) -> float:
    session = await client.create_session(title="bench")
    start = time.perf_counter()
    result = await client.prompt(session.id, "Echo the numbers one by one.")
    elapsed = time.perf_counter() - start
    assert result.error is None, result.error
    return elapsed


async def plain_run(openai: AsyncOpenAI, steps: int) -> float:
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "echo",
                "description": "Echo a number back.",
                "parameters": SCHEMA,
            },
        }
    ]
    messages: list[Any] = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Echo the numbers one by one."},
    ]
    start = time.perf_counter()
    for _ in range(steps):
        stream = await openai.chat.completions.create(
            model="gpt-4.1-mini",
            messages=messages,
            tools=tools,
            stream=True,
            stream_options={"include_usage": True},
        )
        text = ""
        calls: dict[int, dict[str, str]] = {}
        async for chunk in stream:
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    text += delta.content
                for call in delta.tool_calls or []:
                    slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                    if call.id:
                        slot["id"] = call.id
                    if call.function and call.function.name:
                        slot["name"] = call.function.name
                    if call.function and call.function.arguments:
                        slot["arguments"] += call.function.arguments
        if not calls:
            break
        messages.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for c in calls.values()
                ],
            }
        )
        for c in calls.values():
            value = json.loads(c["arguments"])["value"]
            messages.append({"role": "tool", "tool_call_id": c["id"], "content": str(value)})
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    with (
        ScriptedLLMServer(responder=responder(args.steps)) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = SDKConfig(
            storage_path=Path(tmp),
            project_dir=Path(tmp),
            model="openai/gpt-4.1-mini",
            builtin_tools=False,  # the plain loop offers only the echo tool too
            memory_embedder="none",  # memory recall is per prompt, not per step
            providers={"openai": {"api_key": "bench", "base_url": server.openai_base_url}},
        )
        openai = AsyncOpenAI(api_key="bench", base_url=server.openai_base_url, max_retries=0)
        async with OpenCodeAsyncClient(config) as client:
            await client.register_tool(EchoTool())
            await sdk_run(client)  # warm up both sides
            await plain_run(openai, args.steps)
            sdk_times: list[float] = []
            plain_times: list[float] = []
            for _ in range(args.rounds):
                sdk_times.append(await sdk_run(client))
                plain_times.append(await plain_run(openai, args.steps))
        await openai.close()

    sdk = statistics.median(sdk_times)
    plain = statistics.median(plain_times)
    per_step_ms = (sdk - plain) / args.steps * 1000
    print(f"steps per run:           {args.steps}")
    print(f"rounds:                  {args.rounds}")
    print(f"plain openai loop:       {plain * 1000:8.1f} ms per run (median)")
    print(f"opencode-python loop:    {sdk * 1000:8.1f} ms per run (median)")
    print(f"ratio sdk / plain:       {sdk / plain:8.2f}x")
    print(f"sdk overhead per step:   {per_step_ms:8.2f} ms   (goal: under 2 ms)")


if __name__ == "__main__":
    asyncio.run(main())
