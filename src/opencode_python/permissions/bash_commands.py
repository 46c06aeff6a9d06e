"""The subjects bash rules match: each command's text, and the pattern that approving a
command "always" adds (``git status --short`` approves ``git status *``)."""

from __future__ import annotations

from typing import Final

from .shell import analyze
from .shell_wrappers import runs_others
from .wildcard import escape


def split_commands(command: str) -> list[str]:
    """The text of every command the line will run (see ``shell.analyze``), each its
    words after quote removal joined by single spaces: ``r''m -rf x`` is ``rm -rf x``."""
    return [found.text for found in analyze(command).commands]


# Prefixes whose "always" pattern keeps more than the first word: prefix -> words kept.
_ARITY: Final[dict[tuple[str, ...], int]] = {
    ("brew",): 2,
    ("bun",): 2,
    ("cargo",): 2,
    ("deno",): 2,
    ("docker",): 2,
    ("docker", "compose"): 3,
    ("dotnet",): 2,
    ("gh",): 3,
    ("git",): 2,
    ("go",): 2,
    ("gradle",): 2,
    ("helm",): 2,
    ("kubectl",): 2,
    ("make",): 2,
    ("mvn",): 2,
    ("npm",): 2,
    ("npx",): 2,
    ("pip",): 2,
    ("pip3",): 2,
    ("pnpm",): 2,
    ("podman",): 2,
    ("poetry",): 2,
    ("python",): 2,
    ("python", "-m"): 3,
    ("python3",): 2,
    ("python3", "-m"): 3,
    ("systemctl",): 2,
    ("terraform",): 2,
    ("uv",): 2,
    ("uv", "pip"): 3,
    ("yarn",): 2,
}
_LONGEST_PREFIX: Final = max(len(prefix) for prefix in _ARITY)


def command_prefix(command: str) -> str:
    """The pattern an "always" approval of ``command`` (its first command) adds.

    ``git status --short`` gives ``git status *``, ``npm run build`` ``npm run *``,
    ``ls -la`` ``ls *``. Leading assignments are kept (``FOO=1 *`` would approve
    anything). Commands that run other commands (``sudo``, ``env``, ``bash -c``,
    ``find -exec``...) and words only known when the command runs give the exact
    command, escaped so that it matches only itself.
    """
    commands = analyze(command).commands
    return prefix_pattern(commands[0].words) if commands else ""


def prefix_pattern(words: tuple[str, ...]) -> str:
    """``command_prefix`` for a command already split into its words."""
    assignments = 0
    while assignments < len(words) and _is_assignment(words[assignments]):
        assignments += 1
    program = words[assignments:]
    kept = 1
    for length in range(min(len(program), _LONGEST_PREFIX), 0, -1):
        if program[:length] in _ARITY:
            kept = _ARITY[program[:length]]
            break
    prefix = words[: assignments + kept]
    if not program or runs_others(program) or any("$" in w or "`" in w for w in prefix):
        return escape(" ".join(words))
    return escape(" ".join(prefix)) + " *"


def _is_assignment(word: str) -> bool:
    name, equals, _ = word.partition("=")
    return bool(equals) and name.isidentifier()
