"""Commands: prompt templates run by name (``/review src/`` in OpenCode's TUI).

``load_commands`` reads them from config dirs and ``opencode.json``;
``expand_command`` fills one in with the user's arguments, runs its shell segments
and attaches the files it references with ``@path``.
"""

from .loader import Command, CommandError, load_commands
from .references import Attachment, collect_attachments, render_prompt
from .template import ExpandedCommand, expand_command

__all__ = [
    "Attachment",
    "Command",
    "CommandError",
    "ExpandedCommand",
    "collect_attachments",
    "expand_command",
    "load_commands",
    "render_prompt",
]
