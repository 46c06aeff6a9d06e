"""What OpenCode's clients read about the instance: agents, config, providers, paths,
the project, its files, and the custom commands.

Each route maps what the SDK client already knows onto OpenCode's JSON; nothing is
invented. Where OpenCode knows more than this SDK does (a models.dev snapshot of 226
providers, model capabilities, when a project was first opened), the answer holds what
we know and OpenCode's neutral values for the rest, as OpenCode itself reports a model
it has no data for. Secrets (API keys, header and environment values) never leave.

The file routes read only under the project directory: a path that leads out of it,
``..`` or a symlink, is refused with 400.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from ..agents.agent import Agent
from ..agents.builtin import DEFAULT_AGENT, permission_layers
from ..commands import Command
from ..commands.template import placeholders
from ..config.paths import user_config_dir
from ..core.errors import ConfigError, NotFoundError, ToolError
from ..core.models import PermissionRule, now_ms
from ..providers import local_info
from ..providers.catalog import ModelCatalog
from ..providers.config import ProviderConfig
from ..sdk.client import OpenCodeAsyncClient
from ..storage.paths import resolve_storage_dir
from ..tools.builtin import grep
from ..tools.builtin.filesystem import walk_files
from ..tools.builtin.paths import is_inside, resolve_from
from ..tools.builtin.safe_open import read_file
from .app import ServerState, state_of
from .errors import bad_request
from .wire import (
    AgentInfo,
    CommandInfo,
    ConfigInfo,
    ConfigProviders,
    FileNode,
    FindMatch,
    PathInfo,
    ProjectInfo,
    ProviderList,
)

router = APIRouter()
State = Annotated[ServerState, Depends(state_of)]

_MASK = "**********"
_GIT_TIMEOUT_S = 10.0
#: ``find.files`` answers this many paths when the request does not say (as OpenCode).
FIND_FILES_LIMIT = 10


# --- agents --------------------------------------------------------------------------


@router.get(
    "/agent",
    operation_id="app.agents",
    tags=["app"],
    response_model=list[AgentInfo],
    response_model_exclude_unset=True,
)
async def agents(state: State) -> list[dict[str, Any]]:
    """Every agent, hidden ones included (marked ``hidden``), the default agent first;
    ``permission`` is the ruleset the agent runs under (defaults, config, its own)."""
    client = state.client
    project = await client.project()
    listed = client.agents.list(include_hidden=True)
    try:
        default = client.default_agent()
    except ConfigError:  # opencode.json names a default that cannot be one: runs say so
        default = DEFAULT_AGENT
    listed.sort(key=lambda agent: agent.name != default)
    return [_agent(client, agent, project.id) for agent in listed]


def _agent(client: OpenCodeAsyncClient, agent: Agent, project_id: str) -> dict[str, Any]:
    shipped, own = permission_layers(agent)
    rules = client.permissions.rules_for(
        project_id=project_id, agent=agent.name, agent_defaults=shipped, agent_rules=own
    )
    out: dict[str, Any] = {"name": agent.name}
    if agent.description:
        out["description"] = agent.description
    out["mode"] = agent.mode
    if agent.native:
        out["native"] = True
    if agent.hidden:
        out["hidden"] = True
    optional = {"topP": agent.top_p, "temperature": agent.temperature, "color": agent.color}
    out.update({key: value for key, value in optional.items() if value is not None})
    if agent.model:
        out["model"] = _model_ref(agent.model)
    variant = agent.metadata.get("variant")
    if isinstance(variant, str):
        out["variant"] = variant
    if agent.prompt:
        out["prompt"] = agent.prompt
    if agent.steps is not None:
        out["steps"] = agent.steps
    out["permission"] = [_rule(rule) for rule in rules]
    out["options"] = agent.options
    return out


def _model_ref(ref: str) -> dict[str, str]:
    provider_id, _, model_id = ref.partition("/")
    return {"modelID": model_id, "providerID": provider_id}


def _rule(rule: PermissionRule) -> dict[str, str]:
    return {"permission": rule.permission, "pattern": rule.pattern, "action": rule.action}


# --- config --------------------------------------------------------------------------


@router.get(
    "/config",
    operation_id="config.get",
    tags=["config"],
    response_model=ConfigInfo,
    response_model_exclude_unset=True,
)
async def config(state: State) -> dict[str, Any]:
    """The merged configuration in ``opencode.json``'s shape: settings made in code over
    the files, as the client applies them. Sharing is ``disabled`` (there is no share
    service); there is no self-update and no JavaScript plugin."""
    client = state.client
    await client.project()  # the client is open: its files are loaded
    files = client.file_config
    out: dict[str, Any] = {"share": "disabled", "autoupdate": False, "plugin": []}
    if client.models.configured:
        out["model"] = client.models.configured
    if client.models.small:
        out["small_model"] = client.models.small
    if files is not None and files.default_agent:
        out["default_agent"] = files.default_agent
    out["agent"] = dict(files.agent) if files is not None else {}
    out["mode"] = {}
    out["command"] = {name: _command_config(c) for name, c in client.commands.items()}
    out["mcp"] = {
        name: _masked(server.model_dump(mode="json"), ("environment", "headers"))
        for name, server in client.mcp.servers.items()
    }
    out["permission"] = _permission_config(client.permissions.config_rules)
    out["provider"] = {
        provider_id: _provider_config(provider)
        for provider_id in _configured_providers(client)
        if (provider := client.providers.config(provider_id)) is not None
    }
    if files is not None:
        if files.instructions:
            out["instructions"] = list(files.instructions)
        if files.skills:
            out["skills"] = {"paths": list(files.skills)}
        if files.enabled_providers is not None:
            out["enabled_providers"] = list(files.enabled_providers)
        if files.disabled_providers:
            out["disabled_providers"] = list(files.disabled_providers)
    return out


def _command_config(command: Command) -> dict[str, Any]:
    out: dict[str, Any] = {"template": command.template}
    if command.description:
        out["description"] = command.description
    if command.agent:
        out["agent"] = command.agent
    if command.model:
        out["model"] = command.model
    variant = command.metadata.get("variant")
    if isinstance(variant, str):
        out["variant"] = variant
    if command.subtask is not None:
        out["subtask"] = command.subtask
    return out


def _masked(data: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``data`` with the values of the mappings under ``keys`` hidden (they hold tokens)."""
    out = dict(data)
    for key in keys:
        if isinstance(out.get(key), Mapping):
            out[key] = dict.fromkeys(out[key], _MASK)
    return out


def _permission_config(rules: Sequence[PermissionRule]) -> dict[str, Any]:
    """Rules in ``opencode.json``'s form: ``{"bash": "ask"}``, or ``{"bash": {pattern:
    action}}`` where patterns differ; a later rule for a pattern replaces and follows
    the earlier ones, so the last match still wins."""
    out: dict[str, Any] = {}
    for rule in rules:
        entry = out.get(rule.permission)
        if entry is None and rule.pattern == "*":
            out[rule.permission] = rule.action
            continue
        patterns: dict[str, str] = {"*": entry} if isinstance(entry, str) else dict(entry or {})
        patterns.pop(rule.pattern, None)
        patterns[rule.pattern] = rule.action
        out[rule.permission] = patterns
    return out


def _configured_providers(client: OpenCodeAsyncClient) -> list[str]:
    """Providers set in code or in the files (those the files switch off left out)."""
    ids = list(client.config.providers)
    files = client.file_config
    if files is not None:
        disabled, enabled = set(files.disabled_providers), files.enabled_providers
        ids += [
            provider_id
            for provider_id in files.provider
            if provider_id not in disabled and (enabled is None or provider_id in enabled)
        ]
    return list(dict.fromkeys(ids))


def _provider_config(provider: ProviderConfig) -> dict[str, Any]:
    """A provider as ``opencode.json`` writes it, without its key."""
    dumped = provider.as_dict()  # secret-looking options masked
    out: dict[str, Any] = {}
    if provider.name:
        out["name"] = provider.name
    npm = _npm(provider)
    if npm:
        out["npm"] = npm
    options: dict[str, Any] = {**dumped["metadata"], **dumped["options"]}
    if provider.base_url:
        options["baseURL"] = provider.base_url
    out["options"] = options
    out["models"] = {
        model_id: _model_override(override.model_dump(exclude_none=True))
        for model_id, override in provider.models.items()
    }
    return out


def _model_override(fields: Mapping[str, Any]) -> dict[str, Any]:
    limit = {
        key: fields[name]
        for key, name in (("context", "context_window"), ("output", "max_output"))
        if name in fields
    }
    prices = (
        ("input", "input_price"),
        ("output", "output_price"),
        ("cache_read", "cache_read_price"),
        ("cache_write", "cache_write_price"),
    )
    cost = {key: fields[name] for key, name in prices if name in fields}
    return {key: value for key, value in (("limit", limit), ("cost", cost)) if value}


def _npm(provider: ProviderConfig) -> str:
    """The AI SDK package OpenCode would use for this wire format ("" for the model
    that runs in this process)."""
    if provider.kind == "anthropic":
        return "@ai-sdk/anthropic"
    if provider.kind == "local":
        return ""
    return "@ai-sdk/openai" if provider.provider_id == "openai" else "@ai-sdk/openai-compatible"


# --- providers -----------------------------------------------------------------------


@router.get(
    "/config/providers",
    operation_id="config.providers",
    tags=["config"],
    response_model=ConfigProviders,
    response_model_exclude_unset=True,
)
async def config_providers(state: State) -> dict[str, Any]:
    """The providers this client can use, each with the models it knows of, and each
    provider's default model."""
    providers, default = await _providers(state.client)
    return {"providers": providers, "default": default}


@router.get(
    "/provider",
    operation_id="provider.list",
    tags=["provider"],
    response_model=ProviderList,
    response_model_exclude_unset=True,
)
async def provider_list(state: State) -> dict[str, Any]:
    """As ``/config/providers``: this SDK has no catalog of providers it cannot use, so
    every one listed is connected."""
    providers, default = await _providers(state.client)
    return {"all": providers, "default": default, "connected": [p["id"] for p in providers]}


async def _providers(
    client: OpenCodeAsyncClient,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    await client.project()  # the client is open: its files are loaded
    registry = client.providers
    usable = registry.list()
    default_model = client.models.resolve()
    refs = [default_model]
    if client.models.small:
        refs.append(client.models.small)
    refs += [a.model for a in client.agents.list(include_hidden=True) if a.model]
    refs += [c.model for c in client.commands.values() if c.model]
    models: dict[str, list[str]] = {provider_id: [] for provider_id in usable}
    for ref in refs:
        provider_id, _, model_id = ref.partition("/")
        if provider_id in usable or registry.config(provider_id) is not None:
            models.setdefault(provider_id, []).append(model_id)
    local = registry.config("local")
    if "local" in models and local is not None and local.kind == "local":
        models["local"].append(local_info.MODEL_ID)  # the model that runs in this process
    configured = set(_configured_providers(client))
    providers: list[dict[str, Any]] = []
    default: dict[str, str] = {}
    for provider_id, model_ids in models.items():
        provider = registry.config(provider_id)
        if provider is not None:
            model_ids = [*provider.models, *model_ids]
        model_ids = list(dict.fromkeys(model_ids))
        entry = _provider(provider_id, provider, provider_id in configured)
        entry["models"] = {
            model_id: _model(registry.catalog, provider_id, model_id, provider)
            for model_id in model_ids
        }
        providers.append(entry)
        default_provider, _, default_id = default_model.partition("/")
        if default_provider == provider_id:
            default[provider_id] = default_id
        elif model_ids:
            default[provider_id] = model_ids[0]
    return providers, default


def _provider(
    provider_id: str, provider: ProviderConfig | None, configured: bool
) -> dict[str, Any]:
    if provider is None:  # an adapter registered ready-made, in code
        return {
            "id": provider_id,
            "name": provider_id,
            "source": "custom",
            "env": [],
            "options": {},
        }
    source = "config" if configured else "env" if provider.requires_api_key else "custom"
    options = {"baseURL": provider.base_url} if provider.base_url else {}
    return {
        "id": provider_id,
        "name": provider.display_name,
        "source": source,
        "env": [] if provider.kind == "local" else [provider.api_key_env],
        "options": options,
    }


def _model(
    catalog: ModelCatalog, provider_id: str, model_id: str, provider: ProviderConfig | None
) -> dict[str, Any]:
    """OpenCode's ``Model`` from the catalog: limits and prices as we know them, and the
    capabilities OpenCode gives a model it has no data for."""
    info = catalog.info(
        provider_id,
        model_id,
        override=provider.models.get(model_id) if provider else None,
        base_url=provider.base_url if provider else None,
    )
    url = ""
    if provider is not None and provider.kind != "local":
        try:
            url = provider.resolve_base_url() or ""
        except ConfigError:  # a provider without an endpoint: it says so when used
            url = ""
    media = {"text": True, "audio": False, "image": False, "video": False, "pdf": False}
    return {
        "id": model_id,
        "providerID": provider_id,
        "api": {"id": model_id, "url": url, "npm": _npm(provider) if provider else ""},
        "name": model_id,
        "family": "",
        "capabilities": {
            "temperature": False,
            "reasoning": False,
            "attachment": False,
            "toolcall": True,
            "input": media,
            "output": dict(media),
            "interleaved": False,
        },
        "cost": {
            "input": info.input_price,
            "output": info.output_price,
            "cache": {"read": info.cache_read_price, "write": info.cache_write_price},
        },
        "limit": {"context": info.context_window or 0, "output": info.max_output},
        "status": "active",
        "options": {},
        "headers": {},
        "release_date": "",
        "variants": {},
    }


# --- paths and project ---------------------------------------------------------------


@router.get(
    "/path",
    operation_id="path.get",
    tags=["path"],
    response_model=PathInfo,
    response_model_exclude_unset=True,
)
async def paths(state: State) -> dict[str, str]:
    """``state`` is where this SDK keeps its database; ``config`` its per-user config
    folder (OpenCode's own, ``~/.config/opencode``, is read too)."""
    client = state.client
    project = await client.project()
    storage = await asyncio.to_thread(resolve_storage_dir, client.config.storage_path)
    return {
        "home": str(Path.home()),
        "state": str(storage),
        "config": str(user_config_dir()),
        "worktree": project.worktree,
        "directory": state.directory,
    }


@router.get(
    "/project/current",
    operation_id="project.current",
    tags=["project"],
    response_model=ProjectInfo,
    response_model_exclude_unset=True,
)
async def current_project(state: State) -> dict[str, Any]:
    """The project; its times are those of its first and latest session (now, for a
    project without one), as this SDK records no project of its own."""
    client = state.client
    project = await client.project()
    sessions = await client.list_sessions()
    now = now_ms()
    created = min((s.time.created for s in sessions), default=now)
    updated = max((s.time.updated for s in sessions), default=now)
    out: dict[str, Any] = {"id": project.id, "worktree": project.worktree}
    if project.vcs:
        out["vcs"] = project.vcs
    out["time"] = {"created": created, "updated": updated}
    out["sandboxes"] = []
    return out


# --- files ---------------------------------------------------------------------------


@router.get(
    "/file",
    operation_id="file.list",
    tags=["file"],
    response_model=list[FileNode],
    response_model_exclude_unset=True,
)
async def list_files(
    state: State, path: str = Query(..., description="A directory, relative to the project.")
) -> list[dict[str, Any]] | JSONResponse:
    """The entries of a directory of the project, directories first."""
    root = Path(state.directory)
    target = await asyncio.to_thread(_inside, root, path)
    if target is None:
        return bad_request(f"{path!r} is outside the project directory {root}", "Query")
    if not await asyncio.to_thread(target.is_dir):
        if await asyncio.to_thread(target.exists):
            return bad_request(f"{path!r} is a file, not a directory", "Query")
        raise NotFoundError(f"Directory not found: {path}")
    project = await state.client.project()
    return await asyncio.to_thread(_listing, root, target, project.vcs == "git")


def _inside(root: Path, path: str) -> Path | None:
    """``path`` (relative to ``root``, or absolute) resolved, symlinks followed; None
    when it is not ``root`` or under it."""
    base = root.resolve()
    try:
        target = resolve_from(base, path)
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a symlink loop: refused
        return None
    return target if is_inside(target, base) else None


def _listing(root: Path, directory: Path, git: bool) -> list[dict[str, Any]]:
    base = root.resolve()
    prefix = directory.relative_to(base).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    nodes: list[dict[str, Any]] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            is_dir = entry.is_dir()
            relative = prefix + entry.name + ("/" if is_dir else "")
            nodes.append(
                {
                    "name": entry.name,
                    "path": relative,
                    "absolute": str(directory / entry.name),
                    "type": "directory" if is_dir else "file",
                    "ignored": False,
                }
            )
    ignored = _git_ignored(base, [node["path"] for node in nodes]) if git else set()
    for node in nodes:
        node["ignored"] = node["path"] in ignored
    nodes.sort(key=lambda node: (node["type"] != "directory", node["name"]))
    return nodes


def _git_ignored(root: Path, paths: list[str]) -> set[str]:
    """Which of ``paths`` (relative to ``root``) git ignores; none when git cannot say."""
    if not paths:
        return set()
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "-z", "--stdin"],
            input="\0".join(paths) + "\0",
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    if result.returncode not in (0, 1):
        return set()
    return {path for path in result.stdout.split("\0") if path}


@router.get(
    "/find",
    operation_id="find.text",
    tags=["find"],
    response_model=list[FindMatch],
    response_model_exclude_unset=True,
)
async def find_text(
    state: State, pattern: str = Query(..., description="A regular expression.")
) -> list[dict[str, Any]] | JSONResponse:
    """Lines of the project's files matching ``pattern``, as ripgrep's JSON matches
    (the grep tool's search: ripgrep when installed; junk directories skipped), by
    path and line, at most the grep tool's limit."""
    root = Path(state.directory)
    rg = shutil.which("rg")
    try:
        if rg is not None:
            matches = await grep.search_ripgrep(rg, root, pattern, None)
        else:
            matches = await asyncio.to_thread(grep.search_python, root, pattern, None)
    except ToolError as exc:
        return bad_request(str(exc), "Query")
    matches.sort(key=lambda m: (str(m.path), m.line))
    return await asyncio.to_thread(_ripgrep_json, root, pattern, matches[: grep.LIMIT])


def _ripgrep_json(root: Path, pattern: str, matches: list[grep.Match]) -> list[dict[str, Any]]:
    try:
        regex: re.Pattern[str] | None = re.compile(pattern)
    except re.error:  # ripgrep's syntax, not Python's: no submatches to show
        regex = None
    lines: dict[Path, list[bytes]] = {}  # each file's lines as ripgrep counts them
    out: list[dict[str, Any]] = []
    for match in matches:
        if match.path not in lines:
            try:
                chunks = read_file(match.path).split(b"\n")
                lines[match.path] = [chunk + b"\n" for chunk in chunks[:-1]] + chunks[-1:]
            except OSError:
                lines[match.path] = []
        file_lines = lines[match.path]
        if match.line <= len(file_lines):
            raw = file_lines[match.line - 1]
            offset = sum(len(line) for line in file_lines[: match.line - 1])
            text = raw.decode("utf-8", "replace")
        else:
            offset, text = 0, match.text + "\n"
        submatches = []
        for found in regex.finditer(match.text) if regex is not None else ():
            start = len(match.text[: found.start()].encode())
            end = start + len(found.group(0).encode())
            submatches.append({"match": {"text": found.group(0)}, "start": start, "end": end})
        try:
            shown = match.path.relative_to(root).as_posix()
        except ValueError:
            shown = str(match.path)
        out.append(
            {
                "path": {"text": shown},
                "lines": {"text": text},
                "line_number": match.line,
                "absolute_offset": offset,
                "submatches": submatches,
            }
        )
    return out


@router.get("/find/file", operation_id="find.files", tags=["find"])
async def find_files(
    state: State,
    query: str = Query(..., description="What the path should contain, fuzzily."),
    dirs: Literal["true", "false"] | None = Query(None),
    kind: Literal["file", "directory"] | None = Query(None, alias="type"),
    limit: int | None = Query(None, ge=1, le=200),
) -> list[str]:
    """Project paths (relative; directories end in ``/``) that match ``query``
    fuzzily, best first. Directories are included unless ``dirs=false`` or
    ``type=file``; ``type=directory`` gives only directories."""
    root = Path(state.directory)
    want_files = kind != "directory"
    want_dirs = kind == "directory" or (kind is None and dirs != "false")
    return await asyncio.to_thread(
        _fuzzy_find, root, query, want_files, want_dirs, limit or FIND_FILES_LIMIT
    )


def _fuzzy_find(root: Path, query: str, files: bool, dirs: bool, limit: int) -> list[str]:
    candidates: dict[str, None] = {}
    for relative, _ in walk_files(root):
        if dirs:
            parts = relative.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                candidates["/".join(parts[:depth]) + "/"] = None
        if files:
            candidates[relative] = None
    scored = [
        (score, path) for path in candidates if (score := _fuzzy_score(query, path)) is not None
    ]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [path for _, path in scored[:limit]]


def _fuzzy_score(query: str, path: str) -> float | None:
    """How well ``path`` matches ``query`` (None: not at all): the query as one run of
    the path beats its letters scattered in order; a run in the file name, at its start,
    and a short path score higher. Case is ignored."""
    wanted = query.strip().lower()
    if not wanted:
        return 0.0
    text = path.lower()
    name_start = text.rstrip("/").rfind("/") + 1
    found = text.find(wanted)
    if found >= 0:
        in_name = text.find(wanted, name_start)
        bonus = 500 if in_name >= 0 else 0
        bonus += 200 if in_name == name_start else 0
        return 10_000 + bonus - len(text)
    position, gaps = -1, 0
    for char in wanted:
        following = text.find(char, position + 1)
        if following < 0:
            return None
        gaps += following - position - 1
        position = following
    return -float(gaps) - len(text)


# --- commands ------------------------------------------------------------------------


@router.get(
    "/command",
    operation_id="command.list",
    tags=["command"],
    response_model=list[CommandInfo],
    response_model_exclude_unset=True,
)
async def commands(state: State) -> list[dict[str, Any]]:
    """The custom commands (``.opencode/command/*.md``, ``command`` in opencode.json);
    ``hints`` are the argument placeholders of each template."""
    await state.client.project()  # the client is open: its commands are loaded
    out: list[dict[str, Any]] = []
    for command in state.client.commands.values():
        entry: dict[str, Any] = {"name": command.name}
        if command.description:
            entry["description"] = command.description
        if command.agent:
            entry["agent"] = command.agent
        if command.model:
            entry["model"] = command.model
        entry["source"] = "command"
        entry["template"] = command.template
        if command.subtask is not None:
            entry["subtask"] = command.subtask
        entry["hints"] = placeholders(command.template)
        out.append(entry)
    return out
