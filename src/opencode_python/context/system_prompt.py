"""The system prompt's fixed pieces: the agent's prompt and the environment block."""

from __future__ import annotations

import platform
from datetime import date
from pathlib import Path

DEFAULT_PROMPT = """You are a capable assistant working inside an application built with \
opencode-python. Answer clearly and concisely. When tools are available and a task needs \
them, call them instead of guessing; read each tool's result before you go on, and stop \
calling tools once you have what you need."""


def environment_block(directory: Path, *, is_git_repo: bool, today: date | None = None) -> str:
    """Facts the model cannot know by itself: where it works, on what, and when."""
    day = (today or date.today()).strftime("%a %b %d %Y")
    return (
        "<env>\n"
        f"  Working directory: {directory}\n"
        f"  Is directory a git repo: {'yes' if is_git_repo else 'no'}\n"
        f"  Platform: {platform.system().lower()}\n"
        f"  Today's date: {day}\n"
        "</env>"
    )
