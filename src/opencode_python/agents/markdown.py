"""Agents defined as Markdown files: YAML frontmatter for the settings, the body as prompt.

A file's agent name is its path inside the agent folder without ``.md``
(``review.md`` is ``review``, ``team/lead.md`` is ``team/lead``), unless the frontmatter
sets ``name`` (``name: Backend Architect``), as in OpenCode. The frontmatter takes the
keys of an ``opencode.json`` agent entry (see ``AgentDefinition.parse``). Files in a
``mode/`` folder (OpenCode's legacy modes) are primary agents.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..config.frontmatter import FrontmatterError, split_frontmatter
from ..config.paths import config_dirs
from ..core.errors import ConfigError
from .agent import Agent, AgentDefinition


def agent_dirs(project_dir: Path, user_dir: Path, *, worktree: Path | None = None) -> list[Path]:
    """The folders agents are loaded from, lowest precedence first: ``agent/`` and
    ``agents/`` of each folder of ``config_dirs`` (OpenCode's ``~/.config/opencode``,
    ``~/.opencode``, ``user_dir``, then each ``.opencode`` from the worktree root down
    to the project)."""
    folders = config_dirs(project_dir, worktree, user_dir=user_dir)
    return [folder / sub for folder in folders for sub in ("agent", "agents")]


def mode_dirs(project_dir: Path, user_dir: Path, *, worktree: Path | None = None) -> list[Path]:
    """The ``mode/`` and ``modes/`` folders, in the order of ``agent_dirs``."""
    folders = config_dirs(project_dir, worktree, user_dir=user_dir)
    return [folder / sub for folder in folders for sub in ("mode", "modes")]


def load_markdown_agents(folders: Iterable[Path]) -> list[Agent]:
    """The agents of every ``*.md`` under ``folders`` (missing folders are skipped).

    A name defined in several files is merged in order, later over earlier; an agent
    whose last word is ``disable: true`` is left out. Raises ``ConfigError`` naming the
    file and the field.
    """
    agents: dict[str, Agent] = {}
    disabled: set[str] = set()
    for definition in read_markdown_definitions(folders):
        name = definition.agent.name
        agents[name] = definition.apply(agents.get(name))
        if definition.disable:
            disabled.add(name)
        elif definition.disable is False:
            disabled.discard(name)
    return [agent for name, agent in agents.items() if name not in disabled]


def read_markdown_definitions(
    folders: Iterable[Path],
    *,
    errors: list[ConfigError] | None = None,
    modes: bool = False,
) -> list[AgentDefinition]:
    """Each ``*.md`` under ``folders`` as a validated definition, folder by folder, files
    in path order. All files are read before anything is returned.

    A bad file raises ``ConfigError``, or, when ``errors`` is given, is skipped and its
    error appended there (one bad file must not hide every other agent). ``modes``
    reads OpenCode's ``mode/`` folders: only their top level, every agent primary.
    """
    definitions = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.md") if modes else folder.rglob("*.md")):
            if not path.is_file():
                continue
            try:
                definitions.append(read_markdown_definition(path, folder, primary=modes))
            except ConfigError as exc:
                if errors is None:
                    raise
                errors.append(exc)
    return definitions


def read_markdown_definition(path: Path, folder: Path, *, primary: bool = False) -> AgentDefinition:
    """The agent defined by the file ``path`` inside the agent folder ``folder``
    (``primary``: a legacy mode file, whose agent is a primary one)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot be read as UTF-8 text ({exc})") from None
    try:
        fields, body = split_frontmatter(text)
    except FrontmatterError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    name = fields.pop("name", None) or path.relative_to(folder).with_suffix("").as_posix()
    if body:
        fields["prompt"] = body
    if primary:
        fields["mode"] = "primary"
    return AgentDefinition.parse(name, fields, source=source)
