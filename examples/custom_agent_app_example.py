"""The shape of the user's own example app, kept running unmodified as the API evolves.

It uses the names an app written against the earlier prototype imports: the SDK
config and client, agents, the tool framework with its own registry, session storage,
the skill loader and the core models. It needs no model and no key.

    python examples/custom_agent_app_example.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from opencode_python.agents import Agent
from opencode_python.core.models import Message, Session
from opencode_python.sdk import OpenCodeAsyncClient, SDKConfig
from opencode_python.skills.loader import SkillLoader
from opencode_python.storage.store import SessionStorage
from opencode_python.tools.framework import Tool, ToolContext, ToolRegistry, ToolResult


class CustomCalculatorTool(Tool):
    id = "calculator"
    description = "Add, subtract, multiply or divide two numbers."

    def parameters(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "operation": {"type": "string", "enum": ["add", "subtract", "multiply", "divide"]},
                "a": {"type": "number"},
                "b": {"type": "number"},
            },
            "required": ["operation", "a", "b"],
        }

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        a, b = args["a"], args["b"]
        results = {"add": a + b, "subtract": a - b, "multiply": a * b}
        if args["operation"] == "divide":
            if b == 0:
                return ToolResult(title="divide", output="Cannot divide by zero")
            results["divide"] = a / b
        value = results[args["operation"]]
        return ToolResult(title=args["operation"], output=str(value), metadata={"result": value})


class CustomWeatherTool(Tool):
    id = "weather"
    description = "Current weather for a city (from a small built-in table)."

    TABLE: ClassVar[dict[str, str]] = {
        "paris": "18°C, light rain",
        "tokyo": "24°C, clear",
        "oslo": "3°C, snow",
    }

    def parameters(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        city = args["city"]
        report = self.TABLE.get(city.lower(), "no data for this city")
        return ToolResult(title=city, output=f"{city}: {report}")


class MinimalContext:
    """An app's own stand-in for a tool context, for calling a tool directly."""

    session_id = "example-session"
    message_id = "example-message"
    agent = "example"


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="oc-example-"))
    config = SDKConfig(
        storage_path=workdir / "storage",
        project_dir=workdir,
        auto_confirm=False,
        enable_progress=True,
        enable_notifications=True,
    )
    print("Config:", config.as_dict())

    client = OpenCodeAsyncClient(config)
    client.on_progress(lambda current, message: print(f"  progress {current}: {message}"))
    client.on_notification(lambda note: print(f"  [{note.level}] {note.title}: {note.message}"))

    registry = ToolRegistry()
    await registry.register(CustomCalculatorTool(), "calculator")
    await registry.register(CustomWeatherTool(), "weather")
    print("Tools:", sorted((await registry.get_all()).keys()))

    skills = SkillLoader(Path.cwd()).discover_skills()
    print("Skills:", [skill.name for skill in skills])

    agents = [
        Agent(
            name="data_analyst",
            description="Analyses numbers with the calculator.",
            mode="subagent",
            permission=[
                {"permission": "calculator", "pattern": "*", "action": "allow"},
                {"permission": "bash", "pattern": "*", "action": "deny"},
            ],
            temperature=0.2,
        ),
        Agent(
            name="weather_bot",
            description="Answers weather questions.",
            mode="subagent",
            permission=[{"permission": "weather", "pattern": "*", "action": "allow"}],
            temperature=0.5,
        ),
        Agent(
            name="supervisor",
            description="Delegates to the right specialist.",
            mode="primary",
            permission=[{"permission": "task", "pattern": "*", "action": "allow"}],
            temperature=0.3,
        ),
    ]
    print("Agents:", [agent.name for agent in agents])

    storage = SessionStorage(base_dir=workdir / "storage")
    session: Session = await storage.create_session(title="Example session", version="1.0.0")
    print("Session:", session.id, session.title)
    user_id = await storage.add_message(
        session_id=session.id, role="user", content="What is 6 times 7?"
    )
    reply_id = await storage.add_message(session_id=session.id, role="assistant", content="42")
    messages = await storage.get_messages(session.id)
    first: Message = messages[0].info
    print("Messages:", [(m.info.role, m.text) for m in messages], first.id == user_id, reply_id)

    result = await CustomCalculatorTool().execute(
        args={"operation": "multiply", "a": 6, "b": 7},
        ctx=MinimalContext(),  # type: ignore[arg-type]
    )
    print("Direct tool call:", result.title, result.output)

    await storage.close()
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
