"""opencode-python in one screen: a tool, a session, a streamed tool-calling run, storage.

Uses a real model when OPENAI_API_KEY or ANTHROPIC_API_KEY is set. Without a key it
runs against ScriptedLLMServer: a scripted model on loopback that answers through the
same OpenAI adapter and official client a real model would use, and says so.

    python examples/demo.py
"""

from __future__ import annotations

import ast
import asyncio
import operator
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from opencode_python import (
    AgentResult,
    Event,
    OpenCodeAsyncClient,
    SDKConfig,
    Tool,
    ToolContext,
    ToolResult,
)
from opencode_python.core import events as ev
from opencode_python.core.models import TokenUsage, ToolPart
from opencode_python.testing import RecordedRequest, ScriptedLLMServer, ScriptedToolCall, Turn

QUESTION = "What is 17 * 23, and what is 2 ** 10? Use the calculator for both."

_OPERATORS: dict[type[ast.AST], Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}


class Calculator(Tool):
    """Arithmetic on + - * / ** and parentheses, parsed safely (no eval)."""

    id = "calculator"
    description = "Evaluate an arithmetic expression such as '(2 + 3) * 4'."

    def parameters(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"expression": {"type": "string", "description": "The expression."}},
            "required": ["expression"],
        }

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        expression = args["expression"]
        value = _evaluate(ast.parse(expression, mode="eval").body)
        return ToolResult(title=expression, output=f"{expression} = {value}")


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))  # type: ignore[no-any-return]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))  # type: ignore[no-any-return]
    raise ValueError(f"unsupported expression: {ast.unparse(node)}")


def scripted_model(request: RecordedRequest) -> Turn:
    """The scripted stand-in: ask for two calculations, then answer from their results."""
    if not request.tool_results:
        return Turn(
            reasoning="Two independent calculations: I can run them at the same time.",
            text="Let me work both out.",
            tool_calls=[
                ScriptedToolCall("calculator", {"expression": "17 * 23"}),
                ScriptedToolCall("calculator", {"expression": "2 ** 10"}),
            ],
            usage=TokenUsage(input=310, output=64, reasoning=14),
        )
    results = "; ".join(output for _, output in request.tool_results)
    return Turn(
        text=f"Here you go: {results}.",
        usage=TokenUsage(input=120, output=22, cache={"read": 300}),
    )


def choose_model(stack: ExitStack) -> tuple[str, dict[str, Any], str]:
    """(model, providers config, a line telling the user what answers)."""
    if os.environ.get("OPENAI_API_KEY"):
        return "openai/gpt-4.1-mini", {}, "a real model: openai/gpt-4.1-mini (OPENAI_API_KEY)"
    if os.environ.get("ANTHROPIC_API_KEY"):
        model = "anthropic/claude-haiku-4-5"
        return model, {}, f"a real model: {model} (ANTHROPIC_API_KEY)"
    server = stack.enter_context(ScriptedLLMServer(responder=scripted_model))
    providers = {"openai": {"api_key": "scripted", "base_url": server.openai_base_url}}
    note = (
        "a SCRIPTED model. No OPENAI_API_KEY or ANTHROPIC_API_KEY is set, so the answers "
        f"come from ScriptedLLMServer at {server.url}, through the real OpenAI adapter."
    )
    return "openai/gpt-4.1-mini", providers, note


class Printer:
    """Prints a run's events as a chat transcript; reasoning is dimmed."""

    def __init__(self) -> None:
        self.mid_line = False
        self.last_kind = ""
        self.dim = ("\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "")

    def __call__(self, event: Event) -> None:
        data = event.data
        if event.type == ev.PART_DELTA:
            kind, text = data["type"], data["delta"]
            if self.mid_line and kind != self.last_kind:
                print()
            start, end = self.dim if kind == "reasoning" else ("", "")
            print(f"{start}{text}{end}", end="", flush=True)
            self.mid_line, self.last_kind = True, kind
        elif event.type in (ev.TOOL_STARTED, ev.TOOL_COMPLETED, ev.TOOL_ERROR, ev.RUN_STEP):
            if self.mid_line:
                print()
                self.mid_line = False
            part: ToolPart | None = data.get("part")
            if event.type == ev.RUN_STEP:
                print(f"[step {data['step']}]")
            elif event.type == ev.TOOL_STARTED and part is not None:
                print(f"  -> {part.tool}({part.state.input})")
            elif event.type == ev.TOOL_COMPLETED and part is not None:
                print(f"  ok {part.state.output}")
            else:
                print(f"  failed: {data['error']}")


async def main() -> None:
    with ExitStack() as stack:
        model, providers, note = choose_model(stack)
        storage = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="oc-demo-")))
        # Only the app's own tool (no bash, edit, ...), and no memory: this demo is
        # about one streamed, tool-calling run.
        config = SDKConfig(
            storage_path=storage,
            model=model,
            providers=providers,
            builtin_tools=False,
            memory_embedder="none",
        )
        print(f"Answering: {note}")
        print(f"Storage:   {storage / 'opencode.db'}")

        async with OpenCodeAsyncClient(config) as client:
            await client.register_tool(Calculator())
            session = await client.create_session(title="Demo: calculator")
            print(f"Session:   {session.id}\n\nYou: {QUESTION}")
            show = Printer()
            result: AgentResult | None = None
            async for item in client.stream(session.id, QUESTION):
                if isinstance(item, AgentResult):
                    result = item
                else:
                    show(item)
            assert result is not None
            print("\n")
            if result.error:
                print(f"The run failed: {result.error}")
                return
            print(
                f"Done: {result.steps} steps, tools {result.tools_used}, "
                f"{result.tokens_used.total} tokens, ${result.cost:.6f}, {result.duration:.2f} s"
            )

        print("\nA new client on the same storage reads the session back:")
        async with OpenCodeAsyncClient(config) as reopened:
            stored = await reopened.get_session(session.id)
            for message in await reopened.get_messages(session.id):
                kinds = ", ".join(part.type for part in message.parts)
                print(f"  {message.info.role:9} [{kinds}]")
            print(
                f"  session totals: {stored.usage.total} tokens "
                f"(input {stored.usage.input}, output {stored.usage.output}, "
                f"reasoning {stored.usage.reasoning}, cache read {stored.usage.cache.read}), "
                f"${stored.cost:.6f}"
            )


if __name__ == "__main__":
    asyncio.run(main())
