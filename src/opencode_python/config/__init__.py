"""Configuration files: ``opencode.json`` (merged across the user dir and the project)
and instruction files (``AGENTS.md``, ``CLAUDE.md``, ``instructions`` globs)."""

from .files import LoadedConfig, OpenCodeFileConfig, config_files, load_config
from .instructions import find_instruction_files, load_instructions
from .paths import user_config_dir

__all__ = [
    "LoadedConfig",
    "OpenCodeFileConfig",
    "config_files",
    "find_instruction_files",
    "load_config",
    "load_instructions",
    "user_config_dir",
]
