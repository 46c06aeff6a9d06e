"""Instruction files (``AGENTS.md`` and friends) that go into every system prompt.

Found as OpenCode finds them: in each directory from the project up to the worktree
root, then in the user's config dir, then the files that ``instructions`` globs name.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from .paths import directories_up, user_config_dir

logger = logging.getLogger(__name__)

#: Looked for in each directory; the first one present is used, so a project that keeps
#: both (one for each tool) is not instructed twice.
INSTRUCTION_FILE_NAMES = ("AGENTS.md", "CLAUDE.md")


def find_instruction_files(
    project_dir: Path,
    *,
    worktree: Path | None = None,
    extra: Sequence[str] = (),
    user_dir: Path | None = None,
) -> list[Path]:
    """The instruction files for ``project_dir``, in the order they are given to the model.

    First, nearest directory first, the ``AGENTS.md`` (else ``CLAUDE.md``) of each
    directory from ``project_dir`` up to ``worktree`` (only ``project_dir`` without
    one); then the one in ``user_dir`` (default: ``user_config_dir()``); then the files
    matching the ``extra`` globs (``**`` recurses, ``~`` expands, relative patterns are
    taken from ``project_dir``), sorted per glob. A file reached twice is listed once.
    """
    found: list[Path] = []
    for directory in [*directories_up(project_dir, worktree), user_dir or user_config_dir()]:
        first = next(
            (directory / name for name in INSTRUCTION_FILE_NAMES if (directory / name).is_file()),
            None,
        )
        if first is not None:
            found.append(first)
    for pattern in extra:
        found += _glob_files(pattern, project_dir)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _glob_files(pattern: str, base: Path) -> list[Path]:
    expanded = Path(pattern).expanduser()
    if not expanded.is_absolute():
        expanded = Path(glob.escape(str(base.expanduser().resolve()))) / expanded
    matches = sorted(glob.glob(str(expanded), recursive=True))
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
