"""What an agent is: a name, a prompt, a model and the rules for what it may do.

Also how an ``opencode.json`` ``agent.<name>`` entry (or a Markdown agent's frontmatter)
becomes one: :class:`AgentDefinition` validates the entry and lays it over an existing
agent, so a config entry can change one field of a built-in without restating the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core.errors import ConfigError
from ..core.models import PermissionRule
from ..permissions.rules import from_config, from_tools
from ..providers.profile import OutputMode
from ..providers.wire_options import split_wire_options

log = logging.getLogger(__name__)

AgentMode = Literal["primary", "subagent", "all"]


class Agent(BaseModel):
    """A named agent. ``model`` is ``provider/model``; None means the client's default.

    ``mode`` says where it can run: ``primary`` (the agent a user talks to), ``subagent``
    (only delegated to) or ``all`` (both). ``permission`` holds the agent's own rules,
    evaluated after the defaults and the config's, so they take precedence; it also takes
    ``opencode.json`` shorthand (``{"bash": "deny"}``, ``"allow"``). ``steps`` caps the
    model calls of one run; ``options`` go to the provider as they are; ``metadata`` is
    kept and never sent (an agent file's ``variant``, ``tags``, ``icon``). ``native``
    marks the agents this package ships.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1)
    description: str = ""
    mode: AgentMode = "all"
    permission: list[PermissionRule] = Field(default_factory=list)
    prompt: str | None = None
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    steps: int | None = Field(default=None, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    resources: list[str] = Field(default_factory=list)
    """MCP resources read into the agent's system prompt at each run, each
    ``server:uri`` (``docs:notes://today``)."""
    hidden: bool = False
    color: str | None = None
    native: bool = False
    remember: bool = False  # after each run, keep the facts the summary agent picks
    output_type: Any = Field(default=None, exclude=True)
    """What every run of this agent answers with (docs/output.md): a pydantic model, a
    dataclass, a TypedDict, a plain type or a JSON schema dict. None: text."""
    output_mode: OutputMode | None = None
    """How it is asked for: None lets the model's profile choose."""
    output_retries: int | None = Field(default=None, ge=0)
    """How many invalid answers are sent back to be fixed (None: 2)."""

    @field_validator("permission", mode="before")
    @classmethod
    def _permission_shorthand(cls, value: Any) -> Any:
        """Accept opencode.json shorthand as well as rules; a bad value is a ConfigError."""
        return from_config(value)

    @field_validator("resources")
    @classmethod
    def _resource_refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            server, _, uri = ref.partition(":")
            if not server or not uri:
                raise ValueError(
                    f"resource {ref!r} must be 'server:uri', e.g. 'docs:notes://today'"
                )
        return value

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str | None) -> str | None:
        if value is not None:
            provider, _, model = value.partition("/")
            if not provider or not model:
                raise ValueError(
                    f"model {value!r} must be named 'provider/model', e.g. 'openai/gpt-4.1-mini'"
                )
        return value


# Keys of an agent entry that are Agent fields of the same name. ``native`` is not one of
# them: only the package's own agents are native.
_FIELDS: Final = frozenset(
    {
        "description",
        "mode",
        "model",
        "prompt",
        "temperature",
        "top_p",
        "steps",
        "permission",
        "color",
        "hidden",
        "options",
        "metadata",
        "resources",
    }
)
# Keys with a meaning of their own; every other key is a provider option, as in OpenCode.
_SPECIAL: Final = frozenset({"name", "disable", "tools", "maxSteps"})


@dataclass(frozen=True, slots=True)
class AgentDefinition:
    """One validated agent entry from ``source`` (a file path or ``opencode.json``).

    ``agent`` carries the fields the entry set (``agent.model_fields_set``), the others at
    their defaults; ``disable`` is None when the entry did not say.
    """

    agent: Agent
    disable: bool | None
    source: str

    @classmethod
    def parse(cls, name: object, entry: object, *, source: str, where: str = "") -> AgentDefinition:
        """Validate an entry in OpenCode's format. ``where`` prefixes field names in errors
        (``agent.review.`` inside opencode.json); every error names ``source`` and the field.

        Keys: the Agent fields (not ``native``), ``maxSteps`` (old name of ``steps``),
        ``tools`` (legacy ``{tool: bool}``, turned into allow/deny rules placed before
        ``permission``), ``disable`` and ``name`` (must match the agent's name). Any other
        key, and each key of ``options``, is a provider option when it is a request
        parameter of the APIs (``reasoningEffort: high`` becomes ``reasoning_effort``),
        else metadata (``variant``, ``tags``, ``icon``): a strict server refuses fields
        it does not know.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{source}: agent names must be non-empty strings; got {name!r}")
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"{source}: {where.rstrip('.') or 'agent'}: must be a mapping of settings; "
                f"got {type(entry).__name__}"
            )
        for key in entry:
            if not isinstance(key, str):
                raise ConfigError(f"{source}: {where}{key!r}: setting names must be strings")
        disable = entry.get("disable")
        if disable is not None and not isinstance(disable, bool):
            raise ConfigError(f"{source}: {where}disable: must be true or false; got {disable!r}")
        declared = entry.get("name", name)
        if declared != name:
            raise ConfigError(
                f"{source}: {where}name: {declared!r} differs from the agent's name {name!r} "
                "(taken from the file name or config key); remove it or rename the agent"
            )
        fields = {key: value for key, value in entry.items() if key in _FIELDS}
        if "steps" not in fields and "maxSteps" in entry:
            fields["steps"] = entry["maxSteps"]
        if "tools" in entry or "permission" in entry:
            rules = from_tools(entry.get("tools"), f"{source}: {where}tools")
            try:
                rules += from_config(entry.get("permission", []))
            except ConfigError as exc:
                raise ConfigError(f"{source}: {where}{exc}") from None
            fields["permission"] = rules
        try:
            agent = Agent.model_validate({"name": name, **fields})
        except ValidationError as exc:
            raise ConfigError(f"{source}: {describe_errors(exc, where)}") from None
        extra = {key: value for key, value in entry.items() if key not in _FIELDS | _SPECIAL}
        if "variant" in extra:
            log.warning(
                "%s: %svariant: OpenCode's model variants are not supported here; kept in "
                "the agent's metadata (set the options it stands for, such as "
                "reasoningEffort, on the agent instead)",
                source,
                where,
            )
        if extra or "options" in fields:
            wire, kept = split_wire_options({**agent.options, **extra})
            agent = agent.model_copy(update={"options": wire, "metadata": kept})
        return cls(agent=agent, disable=disable, source=source)

    def apply(self, base: Agent | None) -> Agent:
        """This entry laid over ``base``: set fields replace, ``permission`` rules are added
        after base's (so they win), ``options`` merge deeply. No base: the agent as is."""
        if base is None:
            return self.agent
        given = self.agent.model_fields_set - {"name"}
        update = {field: getattr(self.agent, field) for field in given}
        if "permission" in given:
            update["permission"] = [*base.permission, *self.agent.permission]
        for mapping in ("options", "metadata"):
            if mapping in given:
                update[mapping] = _deep_merge(getattr(base, mapping), getattr(self.agent, mapping))
        return base.model_copy(update=update)


def describe_errors(exc: ValidationError, where: str = "") -> str:
    """``field: problem`` for each error of ``exc``, fields prefixed with ``where``."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "agent"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}{field}: {message}")
    return "; ".join(problems)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        previous = merged.get(key)
        if isinstance(previous, Mapping) and isinstance(value, Mapping):
            merged[key] = _deep_merge(previous, value)
        else:
            merged[key] = value
    return merged
