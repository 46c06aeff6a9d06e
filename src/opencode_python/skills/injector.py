"""Skills as system-prompt text: the list the model chooses from, or whole skills.

The list is short on purpose (a name and a description each): the model loads the one
it needs with the ``skill`` tool, so unused instructions cost no context. Both the list
and full content stop at a character budget and say what they left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

from ..core.errors import ConfigError
from .loader import Skill

log = logging.getLogger(__name__)

DEFAULT_BUDGET_CHARS = 8000
SECTION_INSTRUCTION = (
    "Skills hold detailed instructions for specific tasks: when a task matches a skill's "
    "description, load that skill with the `skill` tool before you start."
)


def available_skills_block(skills: Sequence[Skill]) -> str:
    """The ``<available_skills>`` list of names and descriptions, as OpenCode writes it."""
    return "\n".join(["<available_skills>", *map(_entry, skills), "</available_skills>"])


def render_skill(skill: Skill) -> str:
    """A skill's full text for the model, headed by its name and base directory so the
    files it mentions (``scripts/run.py``) can be found."""
    return (
        f"## Skill: {skill.name}\n\n"
        f"**Base directory**: {skill.directory}\n"
        "Relative paths in this skill are relative to the base directory.\n\n"
        f"{skill.content}"
    )


class SkillInjector:
    """Renders skills for the system prompt within ``budget_chars`` characters."""

    def __init__(self, skills: Sequence[Skill], *, budget_chars: int = DEFAULT_BUDGET_CHARS):
        if budget_chars < 1:
            raise ConfigError(f"budget_chars must be at least 1; got {budget_chars}")
        self._skills = {skill.name: skill for skill in sorted(skills, key=lambda s: s.name)}
        self.budget_chars = budget_chars

    def section(self, allowed: Callable[[str], bool] | None = None) -> str:
        """The system-prompt section listing the skills ``allowed`` accepts (all by
        default), by name; empty when there are none."""
        skills = [s for s in self._skills.values() if allowed is None or allowed(s.name)]
        if not skills:
            return ""
        entries = {skill.name: _entry(skill) for skill in skills}
        kept, left_out = self._fit(entries)
        text = "\n".join(
            [SECTION_INSTRUCTION, available_skills_block([self._skills[n] for n in kept])]
        )
        if left_out:
            text += (
                f"\n({len(left_out)} more not listed, to save space: {', '.join(left_out)}. "
                "The `skill` tool loads them by name.)"
            )
        return text

    def full_content(
        self, names: Sequence[str], allowed: Callable[[str], bool] | None = None
    ) -> str:
        """The full text of the named skills, in the order given, within the budget.

        Unknown names are logged and skipped; names ``allowed`` refuses are skipped. Once
        a skill does not fit, it and the rest are left out and a closing note names them.
        """
        blocks: dict[str, str] = {}
        for name in dict.fromkeys(names):
            skill = self._skills.get(name)
            if skill is None:
                known = ", ".join(self._skills) or "none"
                log.warning("no skill named %r to include (available: %s)", name, known)
            elif allowed is None or allowed(name):
                blocks[name] = render_skill(skill)
        kept, left_out = self._fit(blocks, separator="\n\n")
        text = "\n\n".join(blocks[name] for name in kept)
        if left_out:
            text += (
                f"\n\n[Left out to stay within {self.budget_chars} characters: "
                f"{', '.join(left_out)}. The `skill` tool loads them by name.]"
            )
        return text.lstrip("\n")

    def _fit(self, blocks: dict[str, str], separator: str = "\n") -> tuple[list[str], list[str]]:
        """Names whose blocks fit the budget in order, and the names left out (all after
        the first that does not fit, so the cut is predictable)."""
        used = 0
        names = list(blocks)
        for index, name in enumerate(names):
            used += len(blocks[name]) + (len(separator) if index else 0)
            if used > self.budget_chars:
                return names[:index], names[index:]
        return names, []


def _entry(skill: Skill) -> str:
    return (
        "  <skill>\n"
        f"    <name>{escape(skill.name)}</name>\n"
        f"    <description>{escape(skill.description)}</description>\n"
        "  </skill>"
    )
