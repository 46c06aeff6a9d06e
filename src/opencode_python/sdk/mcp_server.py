"""A client's agents, and if asked its tools, served over MCP (docs/mcp.md).

Each visible agent becomes one MCP tool that runs it in a stored session, so an MCP
host (an editor, another agent) can delegate to it and continue the conversation by
``session_id``. Built on the official ``mcp`` SDK's ``MCPServer``. It must run in the
client's event loop (``await server.run_stdio_async()``), where the client's runs
live, which is also why building it is awaited: agents from files load on open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, TextContent
from pydantic import ConfigDict, Field

from ..agents.agent import Agent
from ..agents.result import AgentResult
from ..core import events as ev
from ..core.errors import NotFoundError, OpenCodeError
from ..core.events import Event
from ..core.ids import new_id
from ..core.models import PartTime, Session, ToolExecution, now_ms
from ..core.version import VERSION
from ..mcp.tools import safe_name
from ..tools.executor import CallScope
from ..tools.framework import ToolContext, ToolMetadata
from .client import OpenCodeAsyncClient

__all__ = ["MCP_AGENT", "agent_server", "mcp_name"]

log = logging.getLogger(__name__)

MCP_AGENT = "mcp"
"""The agent name tool calls from MCP callers are checked and logged under: no agent's
own rules apply to them, only the client's, and ``always`` approvals stay apart."""

INSTRUCTIONS = (
    "Each tool runs one agent of this project on your prompt and returns its answer. "
    "Pass the session_id of an answer back to continue that conversation."
)

AgentTool = Callable[..., Awaitable[CallToolResult]]


async def agent_server(
    client: OpenCodeAsyncClient,
    *,
    agents: Sequence[str] | None = None,
    tools: bool = False,
    name: str = "opencode-python",
) -> MCPServer:
    """An MCP server with one tool per agent (every visible one, or those named in
    ``agents``) and, with ``tools=True``, the client's registered tools under their ids.

    Raises ``NotFoundError`` for a name in ``agents`` that is not a visible agent.
    """
    served: dict[str, Tool] = {}
    for agent in await _chosen(client, agents):
        _add(served, _agent_tool(client, agent))
    if tools:
        calls = _ToolCalls(client)
        for metadata in client.tools.list():
            _add(served, _registered_tool(calls, metadata))
    return MCPServer(
        name,
        version=VERSION,
        instructions=INSTRUCTIONS,
        tools=list(served.values()),
        log_level="WARNING",  # it configures the root logger: no INFO chatter from every library
    )


def mcp_name(name: str) -> str:
    """An agent or tool name as MCP allows it: ``Backend Architect`` → ``Backend_Architect``."""
    return safe_name(name)[:128]


async def _chosen(client: OpenCodeAsyncClient, names: Sequence[str] | None) -> list[Agent]:
    visible = {agent.name: agent for agent in await client.list_agents()}
    if names is None:
        return list(visible.values())
    unknown = [n for n in names if n not in visible]
    if unknown:
        raise NotFoundError(
            f"no agent named {', '.join(map(repr, unknown))}; agents: {', '.join(visible)}"
        )
    return [visible[n] for n in dict.fromkeys(names)]


def _add(served: dict[str, Tool], tool: Tool) -> None:
    if tool.name in served:  # two names that differ only in characters MCP does not allow
        log.warning("MCP tool %r is served already; another of that name is left out", tool.name)
        return
    served[tool.name] = tool


# --- agents ----------------------------------------------------------------------------


def _agent_tool(client: OpenCodeAsyncClient, agent: Agent) -> Tool:
    async def run_agent(
        prompt: Annotated[str, Field(description="What to ask the agent.")],
        ctx: Context[Any, Any],
        session_id: Annotated[
            str | None,
            Field(description="Continue this session (the session_id of an earlier answer)."),
        ] = None,
    ) -> CallToolResult:
        return await _run_agent(client, agent.name, prompt, session_id, ctx)

    return Tool.from_function(
        run_agent,
        name=mcp_name(agent.name),
        description=agent.description or f"Run the {agent.name} agent on a prompt.",
    )


async def _run_agent(
    client: OpenCodeAsyncClient,
    agent: str,
    prompt: str,
    session_id: str | None,
    ctx: Context[Any, Any],
) -> CallToolResult:
    """Run the agent, one progress notification per text chunk or tool call."""
    result: AgentResult | None = None
    steps = 0
    try:
        if session_id is None:
            session_id = (await client.create_session(title=prompt[:60])).id
        else:
            await client.get_session(session_id)
        async for item in client.stream(session_id, prompt, agent=agent):
            if isinstance(item, AgentResult):
                result = item
            elif (note := _progress_note(item)) is not None:
                steps += 1
                await ctx.report_progress(steps, message=note)
    except OpenCodeError as exc:  # a bad session id or model: the caller's to fix
        return _error(str(exc))
    assert result is not None  # the stream ends with the result
    if result.error:
        return _error(result.error)
    return CallToolResult(
        content=[TextContent(type="text", text=result.response)],
        structured_content={"response": result.response, "session_id": session_id},
    )


def _progress_note(event: Event) -> str | None:
    if event.type == ev.PART_DELTA and event.data["type"] == "text":
        delta: str = event.data["delta"]
        return delta
    if event.type == ev.TOOL_STARTED:
        return f"tool {event.data['part'].tool}"
    return None


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


# --- registered tools ------------------------------------------------------------------


class _Arguments(ArgModelBase):
    """A call's arguments passed on whole: the executor checks them against the tool's
    own schema, as it does a model's."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def _registered_tool(calls: _ToolCalls, metadata: ToolMetadata) -> Tool:
    async def call(arguments: dict[str, Any]) -> CallToolResult:
        return await calls.run(metadata.id, arguments)

    return Tool(
        fn=call,
        name=mcp_name(metadata.id),
        description=metadata.description,
        parameters=metadata.parameters,
        fn_metadata=FuncMetadata(arg_model=_Arguments),
        is_async=True,
    )


class _ToolCalls:
    """Runs registered tools for MCP callers through the executor, under the client's
    permission rules, in one session of their own where each call is logged.

    An ``ask`` goes to the client's approver; with none (and no ``auto_confirm``) the
    call is refused, and the result says so: nobody is there to say yes.
    """

    def __init__(self, client: OpenCodeAsyncClient) -> None:
        self.client = client
        self._session: Session | None = None
        self._lock = asyncio.Lock()

    async def session(self) -> Session:
        async with self._lock:
            if self._session is None:
                self._session = await self.client.create_session(title="MCP tool calls")
        return self._session

    async def run(self, tool_id: str, arguments: dict[str, Any]) -> CallToolResult:
        client = self.client
        session = await self.session()
        ctx = ToolContext(
            session_id=session.id,
            message_id="",  # called by no message
            agent=MCP_AGENT,
            call_id=new_id("tool_execution"),
            tool=tool_id,
            directory=session.directory,
            working_dir=session.directory,
            store=client.store,
        )
        scope = CallScope(
            rules=client.permissions.rules_for(
                project_id=session.project_id, agent=MCP_AGENT, session_rules=session.permission
            ),
            project_id=session.project_id,
        )
        started = now_ms()
        outcome = await client.executor.execute_call(tool_id, arguments, ctx, scope)
        result = outcome.result
        await client.store.save_tool_execution(
            ToolExecution(
                session_id=session.id,
                message_id=ctx.message_id,
                call_id=ctx.call_id,
                tool=tool_id,
                agent=MCP_AGENT,
                arguments=outcome.input or arguments,
                status=outcome.status,
                reason=outcome.reason,
                title=result.title if result else None,
                output=result.output if result else None,
                error=outcome.error,
                time=PartTime(start=started, end=now_ms()),
            )
        )
        if result is None:
            return _error(outcome.error or f"tool {tool_id!r} failed")
        return CallToolResult(content=[TextContent(type="text", text=result.output)])
