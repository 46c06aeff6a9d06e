"""``SDKConfig``: every setting a client takes, validated once, safe to print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..agents.delegation import DelegationLimits
from ..core.models import MemoryRetention, MemoryScope, PermissionRule
from ..mcp.config import MCPServerConfig
from ..permissions.rules import from_config
from ..providers.config import ProviderConfig


class SDKConfig(BaseModel):
    """Client settings. Unset fields fall back to the environment and sane defaults.

    ``storage_path`` is a directory (default: the platform data dir); ``project_dir`` the
    project the agents work on (default: the current directory); ``model`` a
    ``provider/model`` name; ``providers`` maps a provider id to a ``ProviderConfig`` or
    a plain dict such as ``{"api_key": ..., "base_url": ...}``. ``permission`` takes
    rules or opencode.json shorthand; ``auto_confirm`` answers an ``ask`` rule when no
    approver is registered (True allows, False rejects). ``builtin_tools`` registers
    the built-in tools: all (True), none (False) or the listed ids. With
    ``generate_titles=True`` the title agent names untitled sessions from their first
    message (an extra model call, on ``small_model`` if set, else the run's model).
    ``memory_embedder`` picks how memories are embedded: ``auto`` (the bundled local
    model when the ``memory`` extra is installed), ``local``, ``none`` (keyword search
    only) or ``provider/model`` for an OpenAI-compatible embeddings API;
    ``memory_retention`` caps each scope's memories by count or age. ``delegation``
    limits subagents: nesting depth (default 3), and per root run the number of
    subagents, wall time and cost (unlimited by default). ``mcp`` maps a server name
    to an MCP server, in ``opencode.json``'s shape (``{"type": "local", "command":
    [...]}`` or ``{"type": "remote", "url": ...}``); its tools are ``<name>_<tool>``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    storage_path: Path | None = None
    project_dir: Path | None = None
    model: str | None = None
    small_model: str | None = None
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    permission: list[PermissionRule] = Field(default_factory=list)
    auto_confirm: bool = False
    enable_progress: bool = True
    enable_notifications: bool = True
    max_steps: int = Field(default=50, ge=1)
    max_retries: int = Field(default=4, ge=0)
    tool_timeout: float | None = Field(default=None, gt=0)
    builtin_tools: bool | list[str] = True
    generate_titles: bool = False
    memory_embedder: str = "auto"
    memory_retention: dict[MemoryScope, MemoryRetention] = Field(default_factory=dict)
    delegation: DelegationLimits = Field(default_factory=DelegationLimits)
    mcp: dict[str, MCPServerConfig] = Field(default_factory=dict)

    @field_validator("providers", mode="before")
    @classmethod
    def _provider_ids(cls, value: Any) -> Any:
        """Let ``{"openai": {...}}`` omit ``provider_id``: the key names the provider."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, dict):
                item = {"provider_id": key, **item}
            out[key] = item
        return out

    @field_validator("permission", mode="before")
    @classmethod
    def _permission_shorthand(cls, value: Any) -> Any:
        """Accept opencode.json shorthand (``"allow"``, ``{key: action}``, ...) or rules."""
        return from_config(value)

    @field_validator("model", "small_model")
    @classmethod
    def _model_name(cls, value: str | None) -> str | None:
        if value is not None and "/" not in value:
            raise ValueError(
                f"model {value!r} must be named 'provider/model', e.g. 'openai/gpt-4.1-mini'"
            )
        return value

    @property
    def resolved_project_dir(self) -> Path:
        return (self.project_dir or Path.cwd()).resolve()

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data, with API keys left out (safe to log or print)."""
        data = self.model_dump(mode="json", exclude={"providers"})
        data["project_dir"] = str(self.resolved_project_dir)
        data["providers"] = {key: provider.as_dict() for key, provider in self.providers.items()}
        return data
