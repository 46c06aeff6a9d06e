"""The shell commands the read-only agents (``plan``, ``explore``) may run unasked.

An allow list, not a deny list: a command is allowed only when it is on this list and
none of the forms that write or run other programs matches it; everything else is
asked. Patterns match a command's words after quote removal (``find . -'delete'`` is
``find . -delete``), one command at a time (the shell checker splits pipelines, lists
and substitutions); redirections are checked apart, as edits, and paths outside the
project as ``external_directory``.

A command is listed only when every way it can write can be caught by a pattern: no
option of it writes, or its writing options are whole words (``find -delete``,
``git --output``). Commands whose short options cluster into a writer (``sort -no f``,
``tree -ao f``, ``file -zC``), that write to an extra argument (``uniq in out``) or run
other commands (``xargs``, ``env``) are left out on purpose, and asked. Not covered:
programs a repository's own git configuration names (``diff.external``, textconv
filters, pagers) run when git decides to; the checker does not read that configuration.
"""

from __future__ import annotations

from typing import Final

from ..core.models import PermissionAction

_ANY_FLAGS: Final = (
    "pwd",
    "ls",
    "cat",
    "head",
    "tail",
    "wc",
    "nl",
    "stat",
    "du",
    "df",
    "which",
    "whereis",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "echo",
    "date",
    "uname",
    "whoami",
    "id",
    "cut",
    "diff",
    "cmp",
    "jq",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "find",
    "cd",
    "pushd",
    "popd",
)
"""Commands allowed with any arguments (the writing forms below still ask)."""

_GIT_READS: Final = (
    "status",
    "diff",
    "log",
    "show",
    "blame",
    "ls-files",
    "ls-tree",
    "rev-parse",
    "rev-list",
    "describe",
    "grep",
    "shortlog",
    "show-ref",
    "merge-base",
    "cat-file",
    "count-objects",
    "for-each-ref",
    "name-rev",
    "whatchanged",
)
"""git subcommands that only read, with any arguments."""

_GIT_EXACT: Final = (
    "git branch",
    "git branch -a",
    "git branch -r",
    "git branch -v",
    "git branch -vv",
    "git branch --show-current",
    "git branch --list *",
    "git tag",
    "git tag -l *",
    "git tag --list *",
    "git remote",
    "git remote -v",
    "git remote show *",
    "git remote get-url *",
    "git stash list *",
    "git stash show *",
    "git config --get *",
    "git config --get-all *",
    "git config --list *",
    "git config -l",
    "git worktree list *",
    "git reflog",
    "git reflog show *",
)
"""git commands that read in these forms only (``git branch x`` creates a branch)."""

READ_ONLY_COMMANDS: Final[tuple[str, ...]] = (
    *(f"{name} *" for name in _ANY_FLAGS),
    *(f"git {sub} *" for sub in _GIT_READS),
    *_GIT_EXACT,
)
"""The allow list, as rule patterns."""

WRITING_FORMS: Final[tuple[str, ...]] = (
    "find *-delete*",
    "find *-exec*",  # also -execdir
    "find *-ok*",  # also -okdir
    "find *-fprint*",  # also -fprint0, -fprintf
    "find *-fls*",
    "rg *--pre*",  # runs a preprocessor command on each file
    "git *--output*",  # git diff/log/show --output=<file>
    "git *--ext-diff*",  # runs the configured external diff program
    "git grep *-O*",  # opens the matches in a pager or editor
    "git grep *--open-files-in-pager*",
)
"""Forms of the listed commands that write or run other programs, matched anywhere in
the command; they override the allow list (a harmless command caught by one, such as
``find . -name x-delete``, is asked)."""


def read_only_bash(other: PermissionAction) -> dict[str, PermissionAction]:
    """``bash`` rules: the allow list allowed, its writing forms and everything else
    ``other`` (``ask`` for the built-in agents)."""
    rules: dict[str, PermissionAction] = {"*": other}
    rules.update(dict.fromkeys(READ_ONLY_COMMANDS, "allow"))
    rules.update(dict.fromkeys(WRITING_FORMS, other))
    return rules
