"""The tool interface: what a tool is, what it gets when called, what it returns.

A tool is a ``Tool`` subclass with an ``id``, a ``description``, a JSON schema from
``parameters()`` and an async ``execute(args, ctx)``. The registry holds the tools a
client offers; the executor validates arguments and runs them.
"""

from __future__ import annotations

import asyncio
import builtins
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ..core.errors import ConfigError, NotFoundError, PermissionDeniedError, ToolError
from ..permissions.rules import permission_key
from ..providers.base import ToolSchema

if TYPE_CHECKING:
    from ..core.models import MessageWithParts
    from ..storage.contract import Store

EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(slots=True)
class ToolAttachment:
    """A file a tool hands back to the model (an image it read, say), as a URL or data URL."""

    mime: str
    url: str
    filename: str | None = None


@dataclass(slots=True)
class ToolResult:
    """What a tool returns: ``output`` is what the model reads, ``title`` what a UI shows."""

    title: str = ""
    output: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: list[ToolAttachment] | None = None


MetadataCallback = Callable[[str | None, dict[str, Any]], Awaitable[None]]


@dataclass(slots=True, frozen=True)
class PermissionCheck:
    """One permission a call needs: ``permission`` on each of ``patterns`` (the call's
    subjects: paths, commands, URLs).

    ``always`` is what an ``always`` answer allows from then on, shown to the user before
    they agree (default: each subject, escaped so that it matches only itself).
    ``unsure`` says what the tool could not understand about the call (a shell construct
    it cannot parse, say): the call is then asked, never allowed by a pattern, unless the
    rules allow ``permission`` outright. Fail closed.
    """

    permission: str
    patterns: list[str]
    always: list[str] | None = None
    unsure: list[str] = field(default_factory=list)


AskCallback = Callable[[PermissionCheck, dict[str, Any]], Awaitable[None]]


@dataclass(slots=True)
class Question:
    """A question for the user; with ``options`` the user picks (several if ``multiple``)."""

    question: str
    header: str = ""
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    option_descriptions: list[str] = field(default_factory=list)
    """What each option means, when the model said (OpenCode's option ``description``)."""


QuestionCallback = Callable[[list[Question]], Awaitable[list[str]]]
CallToolCallback = Callable[[str, dict[str, Any]], Awaitable["ToolResult"]]


@dataclass(slots=True)
class ToolContext:
    """What a running tool knows about the call it serves.

    ``abort`` is set when the run is aborted; long tools should watch it.
    ``directory`` is the project directory, ``working_dir`` where relative paths resolve.
    """

    session_id: str
    message_id: str
    agent: str
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    call_id: str = ""
    tool: str = ""
    directory: str = "."
    working_dir: str = "."
    messages: Sequence[MessageWithParts] = ()
    store: Store | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    _on_metadata: MetadataCallback | None = None
    _on_ask: AskCallback | None = None
    _on_question: QuestionCallback | None = None
    _on_call_tool: CallToolCallback | None = None

    async def update_metadata(
        self, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        """Publish progress of the running tool (a title, partial output in metadata)."""
        if self._on_metadata is not None:
            await self._on_metadata(title, metadata or {})

    async def ask(
        self,
        permission: str | PermissionCheck,
        patterns: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Check ``permission`` for ``patterns`` (or a whole ``PermissionCheck``) through
        the client's rules and approver.

        Returns when allowed; raises ``PermissionDeniedError`` (which the model reads)
        when a rule denies it or the user rejects it. Outside a run, with no rules to
        check against, it refuses: a permission nobody can grant is not granted.
        """
        check = (
            permission
            if isinstance(permission, PermissionCheck)
            else PermissionCheck(permission, list(patterns or ["*"]))
        )
        if self._on_ask is None:
            raise PermissionDeniedError(
                f"Permission for {check.permission} cannot be checked outside a run "
                "(this context has no rules), so it is refused.",
                reason="rejected",
            )
        await self._on_ask(check, metadata or {})

    async def ask_user(self, questions: list[Question]) -> list[str]:
        """Ask the user through the app's question handler; one answer per question."""
        if self._on_question is None:
            raise ToolError(
                "No question handler is set, so the user cannot be asked. The app can "
                "register one with client.on_question(handler)."
            )
        return await self._on_question(questions)

    async def call_tool(self, tool_id: str, args: dict[str, Any]) -> ToolResult:
        """Run another tool through the full executor (validation, permissions, limits).

        Raises ``ToolError`` with the message the model would have read when it fails.
        """
        if self._on_call_tool is None:
            raise ToolError("tools cannot call other tools outside a run")
        return await self._on_call_tool(tool_id, args)


def rename_arguments(args: dict[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    """``args`` with each old key of ``renamed`` under its new name. When a call gives
    both, the new name's value is kept and the old one dropped."""
    if not renamed or not any(old in args for old in renamed):
        return args
    upgraded = {key: value for key, value in args.items() if key not in renamed}
    for old, new in renamed.items():
        if old in args and new not in args:
            upgraded[new] = args[old]
    return upgraded


def with_enum(schema: dict[str, Any], field: str, names: Sequence[str]) -> dict[str, Any]:
    """``schema`` with its string property ``field`` limited to ``names`` (for
    ``Tool.parameters_for``). With no names it is left open: an empty enum would make
    the schema unsatisfiable, and the tool's description already says none are there."""
    if not names:
        return schema
    properties = dict(schema["properties"])
    properties[field] = {**properties[field], "enum": list(names)}
    return {**schema, "properties": properties}


class Tool(ABC):
    """Base class of every tool. Subclasses set ``id`` and ``description``."""

    id: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Which end of a long output the model sees: "head" for files, "tail" for logs.
    truncate_direction: ClassVar[Literal["head", "tail"]] = "head"
    #: Argument names the tool took before it used OpenCode's, old to new
    #: (``{"file_path": "filePath"}``): still accepted, renamed before validation.
    renamed_arguments: ClassVar[Mapping[str, str]] = {}

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments object. Override when the tool takes any."""
        return EMPTY_SCHEMA

    def upgrade_arguments(self, args: dict[str, Any]) -> dict[str, Any]:
        """``args`` under today's names: the executor calls this before it validates, so
        a call written with old names (``renamed_arguments``) still runs. Override for
        names inside nested objects."""
        return rename_arguments(args, self.renamed_arguments)

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        """The subjects a call is checked against before it runs (the loop enforces it).

        The permission key is the tool id (``edit`` for the edit tools); the default
        subject is ``*``. Override to name what a call touches (a path, a command), so
        rules such as ``{"deploy": {"prod": "deny"}}`` can tell calls apart.
        """
        return ["*"]

    def permission_checks(self, args: dict[str, Any], ctx: ToolContext) -> list[PermissionCheck]:
        """Every permission a call needs, checked in order before it runs.

        The default is the tool's key on ``permission_patterns``. Override when a call
        needs more than one (``bash``: its commands, the files it redirects into, the
        directories outside the project it names) or cannot be fully understood.
        """
        key = permission_key(ctx.tool or self.id)  # the id the call was registered under
        return [PermissionCheck(key, self.permission_patterns(args, ctx))]

    def description_for(self, allows: Callable[[str, str], bool]) -> str:
        """What one agent is told about this tool; ``allows(permission, subject)`` is
        False for what the agent's rules deny.

        Tools whose description lists subjects (skills, subagents) override this to list
        only those the agent may use, so the model is not offered what it would be refused.
        """
        return self.description

    def parameters_for(self, allows: Callable[[str, str], bool]) -> dict[str, Any] | None:
        """The argument schema one agent is offered; ``allows`` as in ``description_for``.

        None (the default) means the schema the tool was registered with. Tools that
        take a subject by name (a skill, a subagent) override this to list the names the
        agent may use as an ``enum``, which guides models that follow schemas and lets
        constrained decoding pick a valid one.
        """
        return None

    @abstractmethod
    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        """Run the tool. Raise to report failure: the model reads the error."""


@dataclass(slots=True, frozen=True)
class ToolMetadata:
    """What the registry knows about a registered tool."""

    id: str
    description: str
    parameters: dict[str, Any]
    source: Literal["builtin", "custom"]


class ToolRegistry:
    """The tools a client offers, by id. Owned by a client; never global."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._meta: dict[str, ToolMetadata] = {}

    async def register(
        self,
        tool: Tool,
        tool_id: str | None = None,
        *,
        replace: bool = False,
        source: Literal["builtin", "custom"] = "custom",
    ) -> str:
        """Add ``tool`` under ``tool_id`` (default: ``tool.id``) and return the id used."""
        key = tool_id or tool.id
        if not key:
            raise ConfigError(
                f"{type(tool).__name__} has no id: set the class attribute `id` "
                "or pass tool_id to register()"
            )
        if key in self._tools and not replace:
            raise ConfigError(
                f"a tool with id {key!r} is already registered; "
                "pass replace=True to replace it, or choose another id"
            )
        self._tools[key] = tool
        self._meta[key] = ToolMetadata(
            id=key,
            description=tool.description,
            parameters=tool.parameters(),
            source=source,
        )
        return key

    async def unregister(self, tool_id: str) -> None:
        """Remove a tool; unknown ids raise ``NotFoundError``."""
        self._require(tool_id)
        del self._tools[tool_id]
        del self._meta[tool_id]

    def get(self, tool_id: str) -> Tool | None:
        return self._tools.get(tool_id)

    def get_metadata(self, tool_id: str) -> ToolMetadata:
        self._require(tool_id)
        return self._meta[tool_id]

    async def get_all(self) -> dict[str, Tool]:
        """Every registered tool by id, in registration order."""
        return dict(self._tools)

    def list(self) -> list[ToolMetadata]:
        return list(self._meta.values())

    def schemas(self, visible: Callable[[str], bool] | None = None) -> builtins.list[ToolSchema]:
        """What the model is told about each tool (those ``visible`` accepts)."""
        return [
            ToolSchema(m.id, m.description, m.parameters)
            for m in self._meta.values()
            if visible is None or visible(m.id)
        ]

    def __contains__(self, tool_id: object) -> bool:
        return tool_id in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def _require(self, tool_id: str) -> None:
        if tool_id not in self._tools:
            known = ", ".join(sorted(self._tools)) or "none"
            raise NotFoundError(f"no tool {tool_id!r} is registered (registered: {known})")
