"""Loading commands: prompt templates kept as Markdown files or in ``opencode.json``.

A command file is ``<config dir>/command/**/*.md`` or ``<config dir>/commands/**/*.md``;
its name is its path inside that folder without ``.md`` (``command/git/log.md`` is
``git/log``). Optional YAML frontmatter sets ``description``, ``agent``, ``model``,
``subtask`` and ``variant``; the body is the template. ``opencode.json``'s ``command``
key holds the same fields, with ``template`` required.

A broken command never stops loading: it is logged, returned as a ``CommandError`` and
skipped, so one bad file cannot hide the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..config.frontmatter import FrontmatterError, split_frontmatter

log = logging.getLogger(__name__)

#: The folders of a config dir that hold command files, lower precedence first.
COMMAND_DIRS = ("command", "commands")
_TEXT_FIELDS = ("description", "agent", "model")


class Command(BaseModel):
    """One prompt template. ``source`` is the file it came from, or the config's name.

    ``subtask`` None means "as the agent's mode says" (a subagent runs it as a task);
    ``metadata`` keeps ``variant`` and any frontmatter keys this SDK does not use.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    template: str
    description: str = ""
    agent: str | None = None
    model: str | None = None
    subtask: bool | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: str


@dataclass(frozen=True, slots=True)
class CommandError:
    """A command that was skipped, and why: a report for the user, not an exception.
    ``path`` is the file, or the config's name for an ``opencode.json`` entry."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class _InvalidCommand(Exception):
    """Why a command cannot be loaded; turned into a CommandError."""


def load_commands(
    config_dirs: Sequence[Path],
    config_entries: Mapping[str, object] | None = None,
    *,
    config_source: str = "opencode.json",
) -> tuple[dict[str, Command], list[CommandError]]:
    """Every command by name (sorted), and the ones skipped.

    Sources go lowest precedence first, and a later one replaces an earlier command of
    the same name: each of ``config_dirs`` in order (``command/`` then ``commands/``),
    then ``config_entries`` (the merged ``command`` key of ``opencode.json``) on top of
    every file. OpenCode interleaves them per directory, so a project file can override
    a user-level JSON entry there; one clear rule is kept here instead: JSON wins.
    """
    found: dict[str, Command] = {}
    errors: list[CommandError] = []

    def add(command: Command) -> None:
        replaced = found.get(command.name)
        if replaced is not None:
            log.debug(
                "command %r from %s overrides %s", command.name, command.source, replaced.source
            )
        found[command.name] = command

    for directory in config_dirs:
        for folder in (directory / sub for sub in COMMAND_DIRS):
            for path in _command_files(folder):
                try:
                    add(_load_file(path, folder))
                except _InvalidCommand as exc:
                    errors.append(CommandError(path, str(exc)))
                    log.warning("skipping command file %s: %s", path, exc)
    for name, entry in (config_entries or {}).items():
        try:
            add(_load_entry(name, entry, config_source))
        except _InvalidCommand as exc:
            reason = f"command {name!r}: {exc}"
            errors.append(CommandError(Path(config_source), reason))
            log.warning("skipping a command in %s: %s", config_source, reason)
    return {name: found[name] for name in sorted(found)}, errors


def _command_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*.md") if path.is_file())


def _load_file(path: Path, folder: Path) -> Command:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _InvalidCommand(f"cannot read the file ({exc})") from None
    try:
        fields, body = split_frontmatter(text)
    except FrontmatterError as exc:
        raise _InvalidCommand(str(exc)) from None
    name = path.relative_to(folder).with_suffix("").as_posix()
    return _command(name, body, fields, str(path))


def _load_entry(name: str, entry: object, source: str) -> Command:
    if not isinstance(entry, Mapping):
        raise _InvalidCommand(f"must be an object with a 'template'; got {entry!r}")
    fields = dict(entry)
    template = fields.pop("template", None)
    if not isinstance(template, str):
        raise _InvalidCommand(f"'template' is required and must be text; got {template!r}")
    return _command(name, template.strip(), fields, source)


def _command(name: str, template: str, fields: dict[str, Any], source: str) -> Command:
    """The command from its checked fields; unknown ones go to ``metadata``."""
    values: dict[str, Any] = {}
    for key in _TEXT_FIELDS:
        value = fields.pop(key, None)
        if value is not None and not isinstance(value, str):
            raise _InvalidCommand(f"'{key}' must be text; got {value!r}")
        if value is not None:
            values[key] = value
    model = values.get("model")
    if model is not None and not _is_model_id(model):
        raise _InvalidCommand(
            f"'model' must be 'provider/model' (like 'openai/gpt-4.1'); got {model!r}"
        )
    subtask = fields.pop("subtask", None)
    if subtask is not None and not isinstance(subtask, bool):
        raise _InvalidCommand(f"'subtask' must be true or false; got {subtask!r}")
    variant = fields.pop("variant", None)
    if variant is not None and not isinstance(variant, str):
        raise _InvalidCommand(f"'variant' must be text; got {variant!r}")
    metadata = {str(key): value for key, value in fields.items()}
    if metadata:
        log.debug(
            "command %r in %s: unknown fields %s kept as metadata", name, source, sorted(metadata)
        )
    if variant is not None:
        metadata["variant"] = variant
    return Command(
        name=name,
        template=template,
        subtask=subtask,
        metadata=metadata,
        source=source,
        **values,
    )


def _is_model_id(model: str) -> bool:
    provider, slash, model_id = model.partition("/")
    return bool(provider and slash and model_id)
