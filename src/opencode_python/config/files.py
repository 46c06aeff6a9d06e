"""Reading ``opencode.json``: which files, in what order, and what this SDK keeps of them.

Files are JSONC (comments and trailing commas allowed; parsed with ``json5``). They are
read from the per-user folders (OpenCode's ``~/.config/opencode``, ``~/.opencode``, then
this SDK's own), then from the worktree root down to the project dir (each directory's
``opencode.json``, ``opencode.jsonc``, then the same two under ``.opencode/``), so the
file nearest the project wins; as in OpenCode, ``.jsonc`` wins over ``.json`` beside it.
Mappings merge key by key; ``instructions`` and ``skills`` lists add up. Each file is
checked on its own, so an error names the file it is in.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveInt,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ..core.errors import ConfigError
from .paths import CONFIG_DIR_NAME, directories_up, global_config_dirs, opencode_config_dir

logger = logging.getLogger(__name__)

#: File names read in each directory; the later one wins where both exist.
CONFIG_FILE_NAMES = ("opencode.json", "opencode.jsonc")
#: OpenCode's global folder also holds an older ``config.json``, read first.
_GLOBAL_FILE_NAMES = ("config.json", *CONFIG_FILE_NAMES)

_REFERENCE = re.compile(r"\{(env|file):([^}]*)\}")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
#: Top-level keys that are lists of paths: concatenated across files, not replaced.
_PATH_LISTS = ("instructions", "skills")
_QUIET_KEYS = frozenset({"$schema"})
#: OpenCode settings this SDK does not act on, and why; each one named in a file gets a
#: warning. docs/config.md lists them.
UNSUPPORTED_KEYS: Mapping[str, str] = {
    "theme": "an OpenCode TUI feature",
    "keybinds": "an OpenCode TUI feature",
    "tui": "an OpenCode TUI feature",
    "layout": "an OpenCode TUI feature",
    "username": "an OpenCode TUI feature",
    "share": "OpenCode's session sharing service",
    "autoshare": "OpenCode's session sharing service",
    "autoupdate": "OpenCode's self-update",
    "server": "an OpenCode server setting",
    "snapshot": "OpenCode's git snapshots of the worktree",
    "watcher": "OpenCode's file watcher",
    "formatter": "OpenCode's formatter integration",
    "lsp": "OpenCode's language-server integration",
    "plugin": "a JavaScript plugin setting (plugins cannot run in Python)",
    "enterprise": "an OpenCode enterprise setting",
    "experimental": "OpenCode's experimental settings",
    "shell": "OpenCode's shell choice (bash runs commands here)",
    "logLevel": "OpenCode's log level (use Python logging)",
    "subagent_depth": "OpenCode's delegation depth (use SDKConfig(delegation=...))",
    "tool_output": "OpenCode's tool output limits",
    "compaction": "OpenCode's compaction settings (use SDKConfig)",
    "attachment": "OpenCode's attachment settings",
    "references": "OpenCode's references setting",
    "reference": "OpenCode's references setting",
}


class OpenCodeFileConfig(BaseModel):
    """What this SDK uses from ``opencode.json`` files, merged; other keys are ignored.

    ``provider`` maps an id to a flat dict ready for ``ProviderConfig`` (``name``,
    ``kind``, ``api_key``, ``base_url``, ``options``, ``models``; only the keys set).
    ``agent`` and ``permission`` are passed on as written (type-checked); ``tools``
    (``{"bash": false}``) has become rules at the front of ``permission``. Entries of
    ``instructions`` (globs) and ``skills`` (directories) have ``~`` expanded; relative
    ones stay relative, as OpenCode reads them from the project dir (instructions: from
    each directory up to the worktree root), not from the file that named them.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)

    model: str | None = None
    small_model: str | None = None
    default_agent: str | None = None
    provider: dict[str, dict[str, Any]] = Field(default_factory=dict)
    agent: dict[str, dict[str, Any]] = Field(default_factory=dict)
    command: dict[str, dict[str, Any]] = Field(default_factory=dict)
    mcp: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """MCP servers as written (checked by the client: ``mcp.parse_servers``)."""
    permission: Any = None
    tools: dict[str, bool] = Field(default_factory=dict)
    enabled_providers: list[str] | None = None
    """When set, only these of the files' providers are registered."""
    disabled_providers: list[str] = Field(default_factory=list)
    instructions: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """The merged configuration and the files it came from, in the order applied."""

    config: OpenCodeFileConfig
    sources: list[Path]


def config_files(
    project_dir: Path, *, worktree: Path | None = None, user_dir: Path | None = None
) -> list[Path]:
    """The config files that exist, lowest precedence first (see the module doc)."""
    opencode_dir = opencode_config_dir()
    candidates = [
        directory / name
        for directory in global_config_dirs(user_dir)
        for name in (_GLOBAL_FILE_NAMES if directory == opencode_dir else CONFIG_FILE_NAMES)
    ]
    for directory in reversed(directories_up(project_dir, worktree)):
        for folder in (directory, directory / CONFIG_DIR_NAME):
            candidates += [folder / name for name in CONFIG_FILE_NAMES]
    found: dict[Path, Path] = {}
    for path in candidates:
        if path.is_file():
            found.setdefault(path.resolve(), path)
    return list(found.values())


def load_config(
    project_dir: Path, *, worktree: Path | None = None, user_dir: Path | None = None
) -> LoadedConfig:
    """Read and merge every config file for ``project_dir``.

    ``worktree`` (the git toplevel) bounds the walk up from ``project_dir``; without it
    only ``project_dir`` itself is searched. ``user_dir`` defaults to
    ``user_config_dir()``. Raises ``ConfigError`` naming the file (and the line and
    column, or the field) for a file that cannot be read, parsed or validated.
    """
    sources = config_files(project_dir, worktree=worktree, user_dir=user_dir)
    merged: dict[str, Any] = {}
    for source in sources:
        merged = _merge(merged, _load_file(source))
    return LoadedConfig(config=OpenCodeFileConfig.model_validate(merged), sources=sources)


# --- one file ------------------------------------------------------------------------


def _load_file(path: Path) -> dict[str, Any]:
    """One file's settings, checked and normalised, holding only the keys it sets."""
    source = _Source(path, _read(path))
    parsed = _parse(source)
    _warn_unsupported(parsed, source)
    # What is ignored is not substituted either: a missing {file:} in `mcp` is no error.
    used = {key: value for key, value in parsed.items() if key in _FileSchema.model_fields}
    raw = _substitute(used, source, ())
    try:
        schema = _FileSchema.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(source, exc) from None
    ignored = _ignored_keys(schema)
    if ignored:
        logger.debug("%s: ignoring settings this SDK does not use: %s", path, ", ".join(ignored))
    settings: dict[str, Any] = {
        key: raw[key]
        for key in (
            "model",
            "small_model",
            "default_agent",
            "agent",
            "permission",
            "tools",
            "enabled_providers",
            "disabled_providers",
        )
        if key in raw
    }
    for key in ("command", "mcp"):
        if key in raw:
            settings[key] = raw[key]
    for name, entry in raw.get("mode", {}).items():  # legacy primary agents
        agents = settings.setdefault("agent", {})
        agents[name] = _merge(agents.get(name, {}), {**entry, "mode": "primary"}, top=False)
    if "provider" in raw:
        settings["provider"] = {
            provider_id: _provider_settings(provider)
            for provider_id, provider in schema.provider.items()
        }
    paths = {"instructions": schema.instructions, "skills": schema.skills}
    for key, entries in paths.items():
        if key in raw:
            settings[key] = _local_paths(entries, key, path)
    return settings


@dataclass(frozen=True, slots=True)
class _Source:
    """A config file as read, so that an error can say on which line it is."""

    path: Path
    text: str

    def where(self, loc: tuple[str | int, ...]) -> str:
        """``path:line`` of the setting at ``loc``, or the path alone if it is not found."""
        line = _line_of(self.text, loc)
        return f"{self.path}:{line}" if line else str(self.path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def _parse(source: _Source) -> dict[str, Any]:
    path, text = source.path, source.text
    if not text.strip():
        return {}
    import json5  # only when there is a config file to read

    value, error, position = json5.parse(text)
    if error is not None:
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        found = "end of file" if position >= len(text) else repr(text[position])
        raise ConfigError(
            f"{path}:{line}:{column}: invalid JSON: unexpected {found}; fix the syntax "
            "(comments and trailing commas are allowed)"
        )
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path}: the top level must be a JSON object ({{...}}), not {_json_type(value)}"
        )
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _substitute(value: Any, source: _Source, loc: tuple[str | int, ...]) -> Any:
    """Replace ``{env:VAR}`` and ``{file:path}`` in string values, as OpenCode does.

    One pass, so text that a variable or a file brings in is never expanded again. A
    variable that is not set becomes the empty string; a file is read relative to the
    config file (``~`` expands) and its surrounding whitespace is trimmed.
    """
    if isinstance(value, str):
        if "{" not in value:
            return value
        return _REFERENCE.sub(lambda match: _reference(match, source, loc), value)
    if isinstance(value, dict):
        return {key: _substitute(item, source, (*loc, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, source, (*loc, index)) for index, item in enumerate(value)]
    return value


def _reference(match: re.Match[str], source: _Source, loc: tuple[str | int, ...]) -> str:
    kind, target = match.group(1), match.group(2).strip()
    if kind == "env":
        if target not in os.environ:
            logger.warning(
                "%s: %s: {env:%s} is not set; it reads as empty text",
                source.where(loc),
                _dotted(loc),
                target,
            )
        return os.environ.get(target, "")
    path = Path(target).expanduser()
    if not path.is_absolute():
        path = source.path.parent / path
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"{source.where(loc)}: {_dotted(loc)}: cannot read {match.group(0)} ({path}): {reason}"
        ) from None


def _provider_settings(provider: _ProviderSchema) -> dict[str, Any]:
    """OpenCode's provider entry as ``ProviderConfig`` fields.

    ``apiKey``/``baseURL`` (also inside ``options``, where OpenCode puts them) become
    ``api_key``/``base_url``, the provider-level spelling winning; ``options.headers``
    becomes ``extra_headers`` and ``options.timeout`` (milliseconds, or false for none)
    the client's ``timeout`` in seconds; other options are passed on (the client sends
    only the API's request parameters, see ``providers.wire_options``). ``npm`` picks
    ``kind``; model ``limit`` and ``cost`` become the override fields.
    """
    options = provider.options or _ProviderOptionsSchema()
    settings: dict[str, Any] = {}
    if provider.name is not None:
        settings["name"] = provider.name
    kind = provider.kind or _kind_from_npm(provider.npm)
    if kind is not None:
        settings["kind"] = kind
    candidates = {
        "api_key": (provider.api_key, provider.apiKey, options.api_key, options.apiKey),
        "base_url": (provider.base_url, provider.baseURL, options.base_url, options.baseURL),
    }
    for field, values in candidates.items():
        value = next((value for value in values if value is not None), None)
        if value is not None:
            settings[field] = value
    passed = dict(options.model_extra or {})  # the client keeps non-API ones as metadata
    if options.headers is not None:
        passed["extra_headers"] = options.headers
    if options.timeout is not None:
        passed["timeout"] = None if options.timeout is False else options.timeout / 1000
    if passed:
        settings["options"] = passed
    if provider.models is not None:
        settings["models"] = {
            model_id: _model_override(model) for model_id, model in provider.models.items()
        }
    return settings


def _kind_from_npm(npm: str | None) -> Literal["openai", "anthropic"] | None:
    """The wire format OpenCode's provider package implies: Anthropic's, else OpenAI's."""
    if npm is None:
        return None
    return "anthropic" if npm == "@ai-sdk/anthropic" else "openai"


def _model_override(model: _ModelSchema) -> dict[str, Any]:
    pairs = {
        "context_window": model.limit.context if model.limit else None,
        "max_output": model.limit.output if model.limit else None,
        "input_price": model.cost.input if model.cost else None,
        "output_price": model.cost.output if model.cost else None,
        "cache_read_price": model.cost.cache_read if model.cost else None,
        "cache_write_price": model.cost.cache_write if model.cost else None,
    }
    return {key: value for key, value in pairs.items() if value is not None}


def _local_paths(entries: list[str], key: str, source: Path) -> list[str]:
    """Entries with ``~`` expanded; URLs are not supported (a warning says so)."""
    local: list[str] = []
    for entry in entries:
        if _URL.match(entry):
            logger.warning("%s: %s: %s is a URL; only local files are read", source, key, entry)
            continue
        local.append(str(Path(entry).expanduser()))
    return local


def _merge(base: dict[str, Any], override: dict[str, Any], top: bool = True) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge per key, path lists add up (no repeats),
    anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if top and key in _PATH_LISTS:
            merged[key] = list(dict.fromkeys([*(current or []), *value]))
        elif isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value, top=False)
        else:
            merged[key] = value
    return merged


# --- errors --------------------------------------------------------------------------


#: pydantic's words for a mapping name a Python type (or our schema class); say JSON's.
_OBJECT_ERRORS = frozenset({"model_type", "dict_type"})


def _validation_error(source: _Source, exc: ValidationError) -> ConfigError:
    lines = [
        f"{source.where(error['loc'])}: {_dotted(error['loc'])}: "
        + ("Input should be an object ({...})" if error["type"] in _OBJECT_ERRORS else error["msg"])
        for error in exc.errors(include_url=False)
    ]
    return ConfigError("\n".join(lines))


#: A string (kept only where it is a key) or a comment, in JSON5 as already parsed.
_STRING_OR_COMMENT = re.compile(
    r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|//[^\n]*|/\*.*?\*/', re.DOTALL
)
_KEY_END = re.compile(r"\s*:")


def _line_of(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line where the key at ``loc`` is written; None if none is found.

    Each key is looked for after the one before it, in a copy of the text where
    comments and string values are blanked, so that a commented-out setting or a
    value that reads like ``key:`` is never taken for the key. List indices keep the
    line of the list's key.
    """

    def blank(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "\"'" and _KEY_END.match(text, match.end()):
            return token
        return re.sub(r"[^\n]", " ", token)

    keys = _STRING_OR_COMMENT.sub(blank, text)
    position, line = 0, None
    for step in loc:
        if isinstance(step, int):
            continue
        name = re.escape(step)
        found = re.compile(rf"(?<![\w$])(?:\"{name}\"|'{name}'|{name})\s*:").search(keys, position)
        if found is None:
            break
        position = found.end()
        line = keys.count("\n", 0, found.start()) + 1
    return line


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "(top level)"


def _warn_unsupported(parsed: Mapping[str, Any], source: _Source) -> None:
    """One warning per top-level key this SDK does not act on: an OpenCode feature it
    lacks, or a key OpenCode does not have (a typo: ``permision``)."""
    for key in parsed:
        if key in _QUIET_KEYS or key in _FileSchema.model_fields:
            continue
        reason = UNSUPPORTED_KEYS.get(key)
        if reason is None:
            known = [*_FileSchema.model_fields, *UNSUPPORTED_KEYS]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            reason = f"not an OpenCode setting{hint}"
        logger.warning("%s: `%s` is %s; ignored here", source.where((key,)), key, reason)


def _ignored_keys(schema: _FileSchema) -> list[str]:
    """Dotted names of the nested settings a file makes that this SDK does not use
    (top-level ones are warned about).

    Agent entries and provider request options are passed on, so they never count.
    """
    ignored: list[str] = []
    for provider_id, provider in schema.provider.items():
        prefix = f"provider.{provider_id}."
        ignored += _extra_keys(provider, prefix)
        for model_id, model in (provider.models or {}).items():
            model_prefix = f"{prefix}models.{model_id}."
            ignored += _extra_keys(model, model_prefix)
            ignored += _extra_keys(model.limit, model_prefix + "limit.")
            ignored += _extra_keys(model.cost, model_prefix + "cost.")
    return ignored


def _extra_keys(schema: BaseModel | None, prefix: str) -> list[str]:
    return [prefix + key for key in (schema.model_extra or {} if schema else {})]


# --- what a file may say (strict: JSON types as written) --------------------------------


class _Schema(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, defer_build=True)


class _LimitSchema(_Schema):
    context: PositiveInt | None = None
    output: PositiveInt | None = None


class _CostSchema(_Schema):
    input: NonNegativeFloat | None = None
    output: NonNegativeFloat | None = None
    cache_read: NonNegativeFloat | None = None
    cache_write: NonNegativeFloat | None = None


class _ModelSchema(_Schema):
    limit: _LimitSchema | None = None
    cost: _CostSchema | None = None


class _ProviderOptionsSchema(_Schema):
    apiKey: str | None = None
    baseURL: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    headers: dict[str, str] | None = None
    timeout: Any = None

    @field_validator("timeout")
    @classmethod
    def _milliseconds_or_false(cls, value: Any) -> Any:
        if value is None or value is False:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return value
        raise PydanticCustomError(
            "timeout", "should be a positive number of milliseconds, or false for none"
        )


class _ProviderSchema(_Schema):
    name: str | None = None
    npm: str | None = None
    kind: Literal["openai", "anthropic"] | None = None
    apiKey: str | None = None
    baseURL: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    options: _ProviderOptionsSchema | None = None
    models: dict[str, _ModelSchema] | None = None


class _AgentSchema(_Schema):
    """Only the types of the keys OpenCode defines; all keys are passed on as written."""

    model: str | None = None
    description: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    mode: Literal["primary", "subagent", "all"] | None = None
    steps: PositiveInt | None = None
    maxSteps: PositiveInt | None = None
    tools: dict[str, bool] | None = None
    disable: bool | None = None
    hidden: bool | None = None
    color: str | None = None
    options: dict[str, Any] | None = None
    permission: Any = None


class _FileSchema(_Schema):
    model: str | None = None
    small_model: str | None = None
    default_agent: str | None = None
    provider: dict[str, _ProviderSchema] = Field(default_factory=dict)
    agent: dict[str, _AgentSchema] = Field(default_factory=dict)
    mode: dict[str, _AgentSchema] = Field(default_factory=dict)
    command: dict[str, dict[str, Any]] = Field(default_factory=dict)
    mcp: dict[str, dict[str, Any]] = Field(default_factory=dict)
    permission: Any = None
    tools: dict[str, bool] | None = None
    enabled_providers: list[str] | None = None
    disabled_providers: list[str] | None = None
    instructions: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)

    @field_validator("skills", mode="before")
    @classmethod
    def _skill_paths(cls, value: Any) -> Any:
        """Accept ``{"paths": [...]}`` as well as a plain list."""
        if isinstance(value, Mapping) and "paths" in value:
            return value["paths"]
        return value

    @field_validator("model", "small_model")
    @classmethod
    def _provider_model(cls, value: str | None) -> str | None:
        if value is not None and "/" not in value:
            raise PydanticCustomError(
                "model_name",
                "{value} should be named 'provider/model', e.g. 'openai/gpt-4.1-mini'",
                {"value": repr(value)},
            )
        return value
