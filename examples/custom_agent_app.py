"""The flagship: a custom agent app on opencode-python, offline by default.

It registers two tools (calculator, weather), three agents (data_analyst, weather_bot,
and a supervisor that delegates to them) and a skill, remembers facts and finds them
by meaning, saves conversation state, streams agent runs, runs two subagents in
parallel, gets a typed answer (structured output), and ends with what it all cost.

With OPENAI_API_KEY or ANTHROPIC_API_KEY set it uses that provider. Without one it
runs SmolLM2-135M in this process (the `local` extra): no key, no network. A 135M
model is small, so its answers are rough; the engine around it is the real one.

    python examples/custom_agent_app.py
"""

from __future__ import annotations

import ast
import asyncio
import operator
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from opencode_python import (
    Agent,
    AgentResult,
    AgentTask,
    DelegationLimits,
    Event,
    OpenCodeAsyncClient,
    SDKConfig,
    tool,
)
from opencode_python.core import events as ev
from opencode_python.core.models import ToolPart
from opencode_python.sdk.client import LOCAL_DEFAULT_MODEL

# --- tools ---------------------------------------------------------------------------

_OPERATORS: dict[type[ast.AST], Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}

WEATHER = {
    "paris": "18 °C, light rain",
    "oslo": "3 °C, snow",
    "tokyo": "24 °C, clear",
    "lisbon": "22 °C, sunny",
}


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression.

    Args:
        expression: The arithmetic to evaluate, with + - * / and parentheses.
    """
    value = _evaluate(ast.parse(expression, mode="eval").body)
    return f"{expression} = {value:g}"


@tool
def weather(city: str) -> str:
    """Today's weather for a city.

    Args:
        city: The city name, such as 'Oslo'.
    """
    report = WEATHER.get(city.strip().lower())
    if report is None:
        known = ", ".join(name.title() for name in WEATHER)
        return f"No weather data for {city}. Cities with data: {known}."
    return f"{city.title()}: {report}"


def _evaluate(node: ast.AST) -> float:
    """Arithmetic only: numbers, + - * / ** and parentheses (never eval)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_evaluate(node.operand)))
    raise ValueError(f"not arithmetic: {ast.unparse(node)}")


# --- agents --------------------------------------------------------------------------

# One forced tool call, then an answer: the last step of a run is sent without tools,
# so steps=2 with tool_choice "required" means "use the tool once, then reply". It
# makes even a tiny model use its tool; hosted models follow the same contract.
# Temperature 0 (greedy decoding) keeps the answers repeatable.
ONE_TOOL_THEN_ANSWER: dict[str, Any] = {
    "steps": 2,
    "temperature": 0.0,
    "options": {"tool_choice": "required"},
}

AGENTS = [
    Agent(
        name="data_analyst",
        description="Works out numbers with the calculator.",
        mode="subagent",
        prompt="You are a data analyst. Use the calculator, then state the result in one sentence.",
        permission={"*": "deny", "calculator": "allow", "bash": "deny"},
        **ONE_TOOL_THEN_ANSWER,
    ),
    Agent(
        name="weather_bot",
        description="Answers questions about today's weather in a city.",
        mode="subagent",
        prompt="You report the weather. Call the weather tool, then answer in one sentence.",
        permission={"*": "deny", "weather": "allow", "skill": "allow"},
        **ONE_TOOL_THEN_ANSWER,
    ),
    Agent(
        name="supervisor",
        description="Splits a request and delegates each part to the right specialist.",
        mode="primary",
        prompt="You coordinate specialists and write the final answer for the user.",
        # It may only delegate, and only to these two. Its subagents inherit its named
        # denies, but not the blanket "*": they keep their own tools.
        permission={
            "*": "deny",
            "task": {"*": "deny", "data_analyst": "allow", "weather_bot": "allow"},
        },
    ),
]


class WeatherReport(BaseModel):
    """A weather report an app can store or chart, not prose."""

    city: str
    celsius: int
    sky: Literal["clear", "sunny", "cloudy", "rain", "snow"]


# Answers with a WeatherReport (structured output): no tools, one or two model calls.
REPORTER = Agent(
    name="reporter",
    description="Turns a weather note into a WeatherReport.",
    mode="primary",
    prompt="You turn weather notes into structured weather reports.",
    permission={"*": "deny"},
    steps=2,
    temperature=0.0,
    output_type=WeatherReport,
)

SKILL = """---
name: weather-report
description: How to write a short weather report for a traveller.
---
Lead with the temperature, then the sky, then one practical tip (umbrella, coat...).
"""

FACTS = [
    "The user lives in Oslo and cycles to work.",
    "The user's team meets every Tuesday at 10:00.",
    "The quarterly budget review is due on the 12th of December.",
]


# --- output --------------------------------------------------------------------------


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 70 - len(text)))


class RunPrinter:
    """Prints a run as it streams: the answer's text, tool calls and their results."""

    def __init__(self) -> None:
        self.in_text = False

    def __call__(self, event: Event) -> None:
        data = event.data
        if event.type == ev.PART_DELTA and data.get("type") == "text":
            if not self.in_text:
                print("  > ", end="")
                self.in_text = True
            print(data["delta"], end="", flush=True)
        elif event.type == ev.TOOL_STARTED:
            part: ToolPart = data["part"]
            self.line(f"  -> {part.tool}({part.state.input})")
        elif event.type == ev.TOOL_COMPLETED:
            self.line(f"  <- {data['part'].state.output}")
        elif event.type == ev.TOOL_ERROR:
            self.line(f"  !! {data['part'].tool}: {data['error']}")

    def line(self, text: str) -> None:
        if self.in_text:
            print()
            self.in_text = False
        print(text, flush=True)


async def stream_run(
    client: OpenCodeAsyncClient, session_id: str, agent: str, message: str
) -> AgentResult:
    print(f"[{agent}] {message}", flush=True)
    show = RunPrinter()
    result: AgentResult | None = None
    async for item in client.stream(session_id, message, agent=agent):
        if isinstance(item, AgentResult):
            result = item
        else:
            show(item)
    assert result is not None
    show.line(
        f"  ({result.steps} step(s), {result.tokens_used.total} tokens, {result.duration:.1f} s)"
    )
    if result.error:
        print(f"  error: {result.error}")
    return result


# --- the app -------------------------------------------------------------------------


async def main(workdir: Path) -> None:
    project = workdir / "project"
    skill_dir = project / ".opencode" / "skill" / "weather-report"
    skill_dir.mkdir(parents=True)
    (skill_dir / "SKILL.md").write_text(SKILL)

    config = SDKConfig(
        storage_path=workdir / "data",
        project_dir=project,
        builtin_tools=["task", "skill"],
        delegation=DelegationLimits(max_depth=1, max_agents=4, max_cost=0.50),
        # Keep the local model's answers short: it writes about 15 tokens a second.
        providers={"local": {"models": {"smollm2-135m": {"max_output": 96}}}},
    )
    async with OpenCodeAsyncClient(config) as client:
        model = client.resolve_model()
        heading("Model")
        if model == LOCAL_DEFAULT_MODEL:
            print(f"{model}: SmolLM2-135M in this process, offline (no API key is set).")
            print("The first answer waits for the model to load (about 15 s).")
        else:
            print(f"{model} (from the API key in the environment).")

        heading("Tools, agents, skills")
        await client.register_tool(calculator)
        await client.register_tool(weather)
        for agent in AGENTS:
            await client.register_agent(agent)
        print("tools: ", sorted(t.id for t in client.tools.list()))
        print("agents:", [a.name for a in AGENTS])
        print("skills:", [s.name for s in client.skills.list_skills()])

        heading("Memory: facts found by meaning")
        session = await client.create_session(title="Custom agent app")
        for fact in FACTS:
            await client.memory.store_memory(session.id, fact, scope="project")
        for question in ("Where is home for the user?", "When is the budget deadline?"):
            (best, *_) = await client.search_memory(session.id, question, limit=1)
            print(f"{question!r} -> {best.content!r}")
        await client.memory.save_conversation_state(
            session.id, "preferences", {"units": "metric", "city": "Oslo"}
        )
        state = await client.memory.retrieve_conversation_state(session.id, "preferences")
        print("conversation state:", state)

        heading("Agent runs, streamed")
        await stream_run(client, session.id, "data_analyst", "What is 12 times 7?")
        await stream_run(client, session.id, "weather_bot", "What is the weather in Oslo?")

        heading("The supervisor delegates, in parallel")
        started = time.monotonic()
        tasks = [
            AgentTask(
                agent_name="data_analyst",
                description="a product",
                prompt="What is 9 times 6?",
            ),
            AgentTask(
                agent_name="weather_bot",
                description="Lisbon weather",
                prompt="What is the weather in Lisbon?",
            ),
        ]
        results = await client.run_parallel_agents(
            tasks, session.id, from_agent="supervisor", max_concurrency=2
        )
        for task, result in zip(tasks, results, strict=True):
            print(f"{task.agent_name} (child session {result.session_id}):")
            for part in result.parts:
                if isinstance(part, ToolPart):
                    print(f"  -> {part.tool}({part.state.input}) <- {part.state.output}")
            print(f"  > {result.response.strip() or result.error}")
        print(f"both subagents done in {time.monotonic() - started:.1f} s")

        heading("A typed answer (structured output)")
        await client.register_agent(REPORTER)
        typed = await client.prompt(
            session.id, "Tokyo today: 24 degrees and a clear sky.", agent="reporter"
        )
        report = typed.output  # a WeatherReport, validated; mypy knows it too
        print(
            f"WeatherReport(city={report.city!r}, celsius={report.celsius}, sky={report.sky!r})"
            f" in {typed.metadata['output_mode']} mode, {typed.steps} model call(s)"
        )

        heading("Summary")
        stored = await client.get_session(session.id)
        children = await client.store.list_sessions(parent_id=session.id)
        messages = await client.get_messages(session.id)
        print(f"session {stored.title!r}: {len(messages)} messages, {len(children)} child sessions")
        print(
            f"tokens: {stored.usage.input} in, {stored.usage.output} out "
            f"(subagents included); cost: ${stored.cost:.4f}"
        )


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="opencode-app-") as tmp:
        try:
            asyncio.run(main(Path(tmp)))
        except KeyboardInterrupt:
            sys.exit(130)
