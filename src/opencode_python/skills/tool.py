"""The ``skill`` tool: the model loads a skill's full instructions when it needs them.

Its description lists the skills the agent may use, so the model knows what it can
ask for; the call itself is checked under the ``skill`` permission with the skill's
name as the subject (``{"skill": {"internal-*": "deny"}}``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import ToolError
from ..tools.framework import Tool, ToolContext, ToolResult, with_enum
from .injector import available_skills_block, render_skill
from .loader import SKILL_FILE, Skill, SkillLoader

#: How many of a skill's bundled files the result lists (a sample, as OpenCode does).
FILE_SAMPLE = 10
_SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__"})

_INTRO = (
    "Load a skill: detailed instructions for a specific task, with the scripts and "
    "references it bundles. Use it when a task matches a skill's description."
)


class SkillTool(Tool):
    """Loads a skill by name from a ``SkillLoader``; ``allowed`` hides skills by name
    (typically the agent's ``skill`` permission rules, so denied skills are not shown)."""

    id = "skill"

    def __init__(
        self, loader: SkillLoader, *, allowed: Callable[[str], bool] | None = None
    ) -> None:
        self._loader = loader
        self._allowed = allowed

    # ``Tool.description`` is a class attribute, but this tool's text depends on the
    # loader and filter of each instance; the registry reads it from the instance, so a
    # property serves it. mypy objects to a read-only property over a writable attribute.
    @property
    def description(self) -> str:  # type: ignore[override]
        """The intro and the skills this instance offers, read from the loader's cache."""
        skills = self.available()
        if not skills:
            return f"{_INTRO} No skills are available now."
        return f"{_INTRO} Only these skills are available:\n{available_skills_block(skills)}"

    def narrowed(self, allowed: Callable[[str], bool]) -> SkillTool:
        """The same tool for an agent whose rules allow only some skills."""
        return SkillTool(self._loader, allowed=allowed)

    def description_for(self, allows: Callable[[str, str], bool]) -> str:
        return self.narrowed(lambda name: allows("skill", name)).description

    def parameters_for(self, allows: Callable[[str, str], bool]) -> dict[str, Any]:
        names = [s.name for s in self.narrowed(lambda name: allows("skill", name)).available()]
        return with_enum(self.parameters(), "name", names)

    def available(self) -> list[Skill]:
        """The loader's skills that ``allowed`` accepts, sorted by name."""
        return [s for s in self._loader.list_skills() if self._permitted(s.name)]

    def parameters(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "name": {
                    "type": "string",
                    "description": "The name of the skill, from available_skills.",
                }
            },
            "required": ["name"],
            "additionalProperties": False,
        }

    def permission_patterns(self, args: dict[str, Any], ctx: ToolContext) -> list[str]:
        return [str(args["name"])]

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        name = str(args["name"])
        skill = self._loader.get_skill_by_name(name)
        if skill is None or not self._permitted(name):
            names = ", ".join(s.name for s in self.available()) or "none"
            raise ToolError(f"Skill {name!r} not found. Available skills: {names}.")
        files = await asyncio.to_thread(_sample_files, skill.directory)
        output = render_skill(skill)
        if files:
            listing = "\n".join(f"- {f}" for f in files)
            output += f"\n\n**Files in the base directory** (a sample):\n{listing}"
        return ToolResult(
            title=f"Loaded skill: {name}",
            output=output,
            metadata={"name": name, "path": str(skill.path)},
        )

    def _permitted(self, name: str) -> bool:
        return self._allowed is None or self._allowed(name)


def _sample_files(directory: Path) -> list[str]:
    """Up to ``FILE_SAMPLE`` files bundled with a skill (not its SKILL.md), relative to
    its directory, in a stable order."""
    found: list[str] = []
    for current, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for file in sorted(files):
            path = Path(current, file)
            if path != directory / SKILL_FILE:
                found.append(path.relative_to(directory).as_posix())
                if len(found) == FILE_SAMPLE:
                    return found
    return found
