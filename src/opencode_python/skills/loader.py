"""Finding ``SKILL.md`` files where OpenCode (and Claude Code) users keep them.

A skill is a directory with a ``SKILL.md``: YAML frontmatter (``name``, ``description``,
optionally ``license`` and ``metadata``) and a Markdown body of instructions. The loader
searches, nearest first: every directory from the base directory up to the worktree root
(``.opencode/skill/``, ``.opencode/skills/``, ``.claude/skills/``, ``.agents/skills/``),
then the per-user folders (this SDK's config dir, ``~/.opencode`` and OpenCode's
``~/.config/opencode``: ``skill/``, ``skills/``; then ``~/.claude/skills`` and
``~/.agents/skills``), then paths from config. When two skills share a name, the first
found (the one nearest the project) wins.

A broken skill never stops discovery: it is logged, kept in ``SkillLoader.errors`` and
skipped, so one bad file cannot hide every other skill. What the Agent Skills spec
asks but OpenCode does not enforce (a lowercase-hyphen name of at most 64 characters, a
description within 1,024) is warned about, and the skill is loaded.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..config.frontmatter import FENCE, FrontmatterError, split_frontmatter
from ..config.paths import global_config_dirs, user_config_dir
from ..core.errors import ConfigError
from ..storage.project import resolve_project

log = logging.getLogger(__name__)

SKILL_FILE = "SKILL.md"
#: Searched in every directory from the base directory up to the worktree, in this order.
PROJECT_SKILL_DIRS = (".opencode/skill", ".opencode/skills", ".claude/skills", ".agents/skills")
#: Searched in each per-user config folder (``~/.config/opencode-python``, ...).
USER_SKILL_DIRS = ("skill", "skills")
#: Claude Code's and the Agent Skills' per-user folders, under the home directory.
HOME_SKILL_DIRS = (".claude/skills", ".agents/skills")
NAME_MAX_CHARS = 64
DESCRIPTION_MAX_CHARS = 1024
# Directories that never hold skills but can be huge (a configured path may be a repo).
_SKIPPED_DIRS = frozenset({".git", "node_modules"})
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

SkillSource = Literal["project", "user", "config"]


class Skill(BaseModel):
    """One loaded skill. ``content`` is the body without frontmatter; ``directory`` is
    where the files it mentions (``scripts/``, ``reference/``) are."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    description: str
    path: Path
    directory: Path
    content: str
    license: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: SkillSource


@dataclass(frozen=True, slots=True)
class SkillError:
    """A ``SKILL.md`` that was skipped, and why: a report for the user, not an exception."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class _InvalidSkill(Exception):
    """Why a SKILL.md cannot be loaded; caught by discovery and turned into a SkillError."""


class SkillLoader:
    """Discovers the skills a project can use. Construction does no I/O beyond a check
    that ``base_dir`` exists; ``discover_skills()`` scans and caches.

    ``worktree`` bounds the upward search (default: the git repository root containing
    ``base_dir``, or ``base_dir`` itself outside git). ``extra_paths`` come from config;
    relative ones are taken from ``base_dir`` and searched for ``**/SKILL.md``.
    """

    def __init__(
        self,
        base_dir: Path | str,
        *,
        worktree: Path | str | None = None,
        user_dir: Path | str | None = None,
        extra_paths: Sequence[Path | str] = (),
    ) -> None:
        self.base_dir = Path(base_dir).expanduser().resolve()
        if not self.base_dir.is_dir():
            raise ConfigError(
                f"skill base directory {self.base_dir} does not exist or is not a directory; "
                "pass the project directory"
            )
        self._worktree = None if worktree is None else Path(worktree).expanduser().resolve()
        self.user_dir = (
            user_config_dir() if user_dir is None else Path(user_dir).expanduser().resolve()
        )
        self.extra_paths = [(self.base_dir / Path(p).expanduser()).resolve() for p in extra_paths]
        self.errors: list[SkillError] = []
        self._skills: dict[str, Skill] | None = None

    @property
    def worktree(self) -> Path:
        """The top of the upward search; found with git on first use, then kept."""
        if self._worktree is None:
            self._worktree = Path(resolve_project(self.base_dir).worktree)
        return self._worktree

    def discover_skills(self) -> list[Skill]:
        """Scan every location now (again, if called before), sorted by name.

        Replaces the cache that ``list_skills`` and ``get_skill_by_name`` read, and
        ``errors`` with the problems of this scan.
        """
        self._skills = self._scan()
        return list(self._skills.values())

    def list_skills(self) -> list[Skill]:
        """The discovered skills, sorted by name (discovering on first use)."""
        return list(self._cache().values())

    def get_skill_by_name(self, name: str) -> Skill | None:
        """The skill called ``name``, or None (discovering on first use)."""
        return self._cache().get(name)

    def _cache(self) -> dict[str, Skill]:
        if self._skills is None:
            self._skills = self._scan()
        return self._skills

    def _scan(self) -> dict[str, Skill]:
        """Every valid skill by name, sorted; sets ``errors``."""
        errors: list[SkillError] = []
        found: dict[str, Skill] = {}
        seen_files: set[Path] = set()  # one file reached twice (a symlink) loads once
        for root, source in self._search_roots():
            if source == "config" and not root.is_dir():
                errors.append(SkillError(root, "configured skill path is not a directory"))
                log.warning("skill path %s from config is not a directory; skipped", root)
                continue
            for path in _skill_files(root):
                real = path.resolve()
                if real in seen_files:
                    continue
                seen_files.add(real)
                try:
                    skill = _load(path, source)
                except _InvalidSkill as exc:
                    errors.append(SkillError(path, str(exc)))
                    log.warning("skipping skill %s: %s", path, exc)
                    continue
                kept = found.get(skill.name)
                if kept is not None:
                    log.warning(
                        "two skills are named %r: using %s, ignoring %s "
                        "(the one nearer the project wins)",
                        skill.name,
                        kept.path,
                        skill.path,
                    )
                    continue
                found[skill.name] = skill
        self.errors = errors
        return {name: found[name] for name in sorted(found)}

    def _search_roots(self) -> list[tuple[Path, SkillSource]]:
        """Where to look, in precedence order (first found wins)."""
        roots: list[tuple[Path, SkillSource]] = [
            (directory / sub, "project")
            for directory in self._project_dirs()
            for sub in PROJECT_SKILL_DIRS
        ]
        personal = [self.user_dir, *reversed(global_config_dirs(self.user_dir)[:-1])]
        roots += [(folder / sub, "user") for folder in personal for sub in USER_SKILL_DIRS]
        roots += [(Path.home() / sub, "user") for sub in HOME_SKILL_DIRS]
        roots += [(path, "config") for path in self.extra_paths]
        return roots

    def _project_dirs(self) -> list[Path]:
        """``base_dir`` and its parents up to the worktree root, nearest first."""
        worktree = self.worktree
        if not self.base_dir.is_relative_to(worktree):
            return [self.base_dir]
        return [self.base_dir, *(p for p in self.base_dir.parents if p.is_relative_to(worktree))]


def _skill_files(root: Path) -> list[Path]:
    """Every SKILL.md under ``root``, in a stable order. Symlinked directories are
    followed (installed skills are often links), each real directory once."""
    found: list[Path] = []
    visited: set[str] = set()
    for current, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(current)
        if real in visited:
            dirs.clear()
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        if SKILL_FILE in files:
            found.append(Path(current) / SKILL_FILE)
    return found


def _load(path: Path, source: SkillSource) -> Skill:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _InvalidSkill(f"cannot read the file ({exc})") from None
    if not text.removeprefix("\ufeff").startswith(FENCE):
        raise _InvalidSkill(
            "no frontmatter: the file must start with a '---' line, then 'name:' and "
            "'description:', then another '---' line"
        )
    try:
        data, body = split_frontmatter(text)
    except FrontmatterError as exc:
        raise _InvalidSkill(str(exc)) from None
    name = _name(data, path)
    if name != path.parent.name:
        log.warning(
            "skill %r in %s is in a directory named %r; name the directory after the skill",
            name,
            path,
            path.parent.name,
        )
    return Skill(
        name=name,
        description=_description(data, path),
        path=path,
        directory=path.parent,
        content=body.strip(),
        license=_license(data),
        metadata=_metadata(data),
        source=source,
    )


def _name(data: dict[str, Any], path: Path) -> str:
    name = data.get("name")
    if name is None:
        raise _InvalidSkill("the frontmatter has no 'name'")
    if not isinstance(name, str) or not name.strip():
        raise _InvalidSkill(f"'name' must be non-empty text; got {name!r}")
    if len(name) > NAME_MAX_CHARS or _NAME.fullmatch(name) is None:
        log.warning(
            "skill %r in %s: the Agent Skills spec asks for 1-%d lowercase letters and "
            "digits, words joined by single hyphens (like 'pdf-forms'); loaded anyway",
            name,
            path,
            NAME_MAX_CHARS,
        )
    return name


def _description(data: dict[str, Any], path: Path) -> str:
    description = data.get("description")
    if description is None:
        raise _InvalidSkill("the frontmatter has no 'description'")
    if not isinstance(description, str) or not description.strip():
        raise _InvalidSkill("'description' must be non-empty text saying when to use the skill")
    description = description.strip()
    if len(description) > DESCRIPTION_MAX_CHARS:
        log.warning(
            "skill in %s: the description is %d characters, over the Agent Skills spec's "
            "%d; loaded anyway (every agent's prompt carries it)",
            path,
            len(description),
            DESCRIPTION_MAX_CHARS,
        )
    return description


def _license(data: dict[str, Any]) -> str | None:
    value = data.get("license")
    if value is not None and not isinstance(value, str):
        raise _InvalidSkill(f"'license' must be text; got {value!r}")
    return value


def _metadata(data: dict[str, Any]) -> dict[str, Any]:
    value = data.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _InvalidSkill(f"'metadata' must be a mapping of keys to values; got {value!r}")
    return value
