"""Skills: ``SKILL.md`` instructions the model lists in its prompt and loads on demand.

``SkillLoader`` finds them (project, user and configured directories), ``SkillInjector``
renders them for the system prompt, ``SkillTool`` is the ``skill`` tool that loads one.
"""

from .injector import SkillInjector
from .loader import Skill, SkillError, SkillLoader
from .tool import SkillTool

__all__ = ["Skill", "SkillError", "SkillInjector", "SkillLoader", "SkillTool"]
