"""Instruction files (``AGENTS.md`` and friends) that go into every system prompt.

Found as OpenCode finds them: in each directory from the project up to the worktree
root, then one per-user file (this SDK's config dir, else OpenCode's ``AGENTS.md``, else
Claude Code's ``~/.claude/CLAUDE.md``), then the files that ``instructions`` globs name.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from .paths import directories_up, opencode_config_dir, user_config_dir

logger = logging.getLogger(__name__)

#: Looked for in each directory; the first one present is used, so a project that keeps
#: both (one for each tool) is not instructed twice.
INSTRUCTION_FILE_NAMES = ("AGENTS.md", "CLAUDE.md", "CONTEXT.md")


def find_instruction_files(
    project_dir: Path,
    *,
    worktree: Path | None = None,
    extra: Sequence[str] = (),
    user_dir: Path | None = None,
) -> list[Path]:
    """The instruction files for ``project_dir``, in the order they are given to the model.

    First, nearest directory first, the ``AGENTS.md`` (else ``CLAUDE.md``, else
    ``CONTEXT.md``) of each directory from ``project_dir`` up to ``worktree`` (only
    ``project_dir`` without one); then the first per-user file of ``user_dir`` (default:
    ``user_config_dir()``), OpenCode's config dir and ``~/.claude/CLAUDE.md``; then the
    files matching the ``extra`` globs (``**`` recurses, ``~`` expands), sorted per glob.
    A relative pattern is matched in every directory from ``project_dir`` up to
    ``worktree``, as OpenCode does. A file reached twice is listed once.
    """
    directories = directories_up(project_dir, worktree)
    found = [path for path in map(_first_instructions, directories) if path is not None]
    user = [user_dir or user_config_dir(), opencode_config_dir()]
    personal = [p for p in map(_first_instructions, user) if p is not None]
    claude = Path.home() / ".claude" / "CLAUDE.md"
    found += personal[:1] or ([claude] if claude.is_file() else [])
    for pattern in extra:
        found += _glob_files(pattern, directories)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _first_instructions(directory: Path) -> Path | None:
    return next(
        (directory / name for name in INSTRUCTION_FILE_NAMES if (directory / name).is_file()),
        None,
    )


def _glob_files(pattern: str, directories: Sequence[Path]) -> list[Path]:
    """Files matching ``pattern``: as is when absolute, else under each directory."""
    expanded = Path(pattern).expanduser()
    roots = [Path()] if expanded.is_absolute() else [Path(glob.escape(str(d))) for d in directories]
    matches = [m for root in roots for m in sorted(glob.glob(str(root / expanded), recursive=True))]
    return [Path(match) for match in matches if Path(match).is_file()]


def load_instructions(files: Iterable[Path]) -> list[tuple[Path, str]]:
    """Each file with its text. A file that cannot be read as UTF-8 text is skipped with
    a warning: a broken instruction file should not stop an agent from running."""
    loaded: list[tuple[Path, str]] = []
    for path in files:
        try:
            loaded.append((path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            logger.warning("skipping instruction file %s: not UTF-8 text", path)
        except OSError as exc:
            logger.warning("skipping instruction file %s: %s", path, exc.strerror or exc)
    return loaded
