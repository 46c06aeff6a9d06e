"""Commands that run other commands: ``sudo rm x`` runs ``rm x``, ``bash -c 'rm x'``
runs the string ``rm x``, ``find . -exec rm {} ;`` runs ``rm {}``.

The checker lists the wrapper and what it runs, so a rule on ``rm *`` sees the ``rm``
however it is started. Each wrapper's options are read as the program reads them; an
option this module does not know is reported rather than guessed past.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from .shell_words import Word


@dataclass(slots=True)
class Unwrapped:
    """What a command runs besides itself."""

    commands: list[list[Word]] = field(default_factory=list)  # each with its words
    scripts: list[Word] = field(default_factory=list)  # strings run as shell code
    chdir: list[Word] = field(default_factory=list)  # directories it runs them in
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Options:
    """How a wrapper reads its options before the command it runs."""

    valued: frozenset[str] = frozenset()  # options that take a value: -u, --user
    flags: frozenset[str] = frozenset()  # options that take none (--name=value allowed)
    attached: frozenset[str] = frozenset()  # short options whose value is optional, attached
    chdir: frozenset[str] = frozenset()  # options whose value is a directory it runs in
    no_command: frozenset[str] = frozenset()  # options with which it runs nothing
    refused: dict[str, str] = field(default_factory=dict)  # options the checker cannot follow
    operands: int = 0  # arguments before the command (timeout's duration)
    assignments: bool = False  # NAME=value words before the command (env)
    numeric: bool = False  # -N is an option (nice -10)
    default: tuple[str, ...] = ()  # what runs when no command is given (xargs: echo)


def _set(*names: str) -> frozenset[str]:
    return frozenset(names)


_WRAPPERS: Final[dict[str, _Options]] = {
    "builtin": _Options(),
    "command": _Options(flags=_set("-p"), no_command=_set("-v", "-V")),
    "coproc": _Options(),
    "doas": _Options(valued=_set("-u", "-C"), flags=_set("-n", "-s"), no_command=_set("-L")),
    "env": _Options(
        valued=_set("-u", "--unset", "-C", "--chdir"),
        flags=_set("-", "-i", "--ignore-environment", "-0", "--null", "-v", "--debug")
        | _set("--block-signal", "--default-signal", "--ignore-signal"),
        chdir=_set("-C", "--chdir"),
        refused={
            "-S": "env -S splits a string into a command",
            "--split-string": "env -S splits a string into a command",
        },
        assignments=True,
    ),
    "exec": _Options(valued=_set("-a"), flags=_set("-c", "-l")),
    "ionice": _Options(
        valued=_set("-c", "--class", "-n", "--classdata"),
        flags=_set("-t", "--ignore"),
        no_command=_set("-p", "--pid", "-P", "--pgid", "-u", "--uid"),
    ),
    "nice": _Options(valued=_set("-n", "--adjustment"), numeric=True),
    "nohup": _Options(),
    "setsid": _Options(flags=_set("-c", "--ctty", "-f", "--fork", "-w", "--wait")),
    "stdbuf": _Options(valued=_set("-i", "-o", "-e", "--input", "--output", "--error")),
    "sudo": _Options(
        valued=_set("-u", "--user", "-g", "--group", "-C", "--close-from", "-D", "--chdir")
        | _set("-h", "--host", "-p", "--prompt", "-r", "--role", "-t", "--type")
        | _set("-T", "--command-timeout", "-U", "--other-user", "-R", "--chroot"),
        flags=_set("-A", "--askpass", "-b", "--background", "-E", "--preserve-env")
        | _set("-H", "--set-home", "-i", "--login", "-k", "--reset-timestamp", "-n")
        | _set("--non-interactive", "-P", "--preserve-groups", "-S", "--stdin", "-s")
        | _set("--shell", "-B", "--bell", "-N", "--no-update"),
        chdir=_set("-D", "--chdir", "-R", "--chroot"),
        no_command=_set("-l", "--list", "-v", "--validate", "-K", "--remove-timestamp"),
        refused={"-e": "sudo -e edits files", "--edit": "sudo -e edits files"},
    ),
    "time": _Options(flags=_set("-p")),
    "timeout": _Options(
        valued=_set("-s", "--signal", "-k", "--kill-after"),
        flags=_set("--preserve-status", "--foreground", "-v", "--verbose"),
        operands=1,
    ),
    "watch": _Options(
        valued=_set("-n", "--interval", "-q", "--equexit"),
        flags=_set("-b", "--beep", "-c", "--color", "-C", "--no-color", "--differences")
        | _set("-e", "--errexit", "-g", "--chgexit", "-p", "--precise", "-r", "--no-rerun")
        | _set("-t", "--no-title", "-w", "--no-wrap", "-x", "--exec"),
        attached=_set("-d"),
    ),
    "xargs": _Options(
        valued=_set("-a", "--arg-file", "-d", "--delimiter", "-E", "-I", "-L", "--max-lines")
        | _set("-n", "--max-args", "-P", "--max-procs", "-s", "--max-chars")
        | _set("--process-slot-var"),
        flags=_set("-0", "--null", "-o", "--open-tty", "-p", "--interactive", "-r", "-t")
        | _set("--no-run-if-empty", "--verbose", "-x", "--exit", "--show-limits")
        | _set("--eof", "--replace", "--max-lines"),
        attached=_set("-e", "-i", "-l"),
        default=("echo",),
    ),
}
# Shells that take a command string with -c.
_SHELLS: Final = _set("ash", "bash", "dash", "ksh", "mksh", "sh", "zsh")
_SHELL_VALUED: Final = _set("-o", "+o", "-O", "+O", "--rcfile", "--init-file")
_SHELL_FLAGS: Final = _set(
    "--norc", "--noprofile", "--login", "--posix", "--restricted", "--verbose", "--noediting"
) | _set("--debugger", "--dump-strings", "--dump-po-strings", "--pretty-print")
_SHELL_EXITS: Final = _set("--help", "--version")
_FIND_EXEC: Final = _set("-exec", "-execdir", "-ok", "-okdir")
_ASSIGNMENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")

_RUNS_OTHERS: Final = frozenset(_WRAPPERS) | _SHELLS | _set("alias", "eval", "trap")


def runs_others(words: tuple[str, ...]) -> bool:
    """Whether a command (its name first) runs other commands, so that approving it
    "always" must approve that exact command, never ``sudo *``."""
    return bool(words) and (
        words[0] in _RUNS_OTHERS or (words[0] == "find" and any(w in _FIND_EXEC for w in words))
    )


def unwrap(words: list[Word]) -> Unwrapped | None:
    """What the command ``words`` (its name first) runs besides itself, or None when it
    is not a command that runs others."""
    name = words[0].text
    if name in _WRAPPERS:
        return _wrapper(name, words[1:], _WRAPPERS[name])
    reader = _READERS.get(name) or (_shell if name in _SHELLS else None)
    return reader(words[1:]) if reader else None


def _wrapper(name: str, args: list[Word], options: _Options) -> Unwrapped:
    found = Unwrapped()
    index = _skip_options(name, args, options, found)
    if index is None:
        return found
    index += options.operands
    command = args[index:] or [Word.literal(word) for word in options.default]
    if not command:
        return found
    if name == "watch" and not any(word.text in ("-x", "--exec") for word in args[:index]):
        found.scripts.append(_joined(command))  # watch runs its arguments with sh -c
    elif name == "xargs" and _fills_name(args[:index], command[0]):
        found.unknown.append(f"a command name xargs fills in: {command[0].text}")
    else:
        found.commands.append(command)
    return found


def _skip_options(name: str, args: list[Word], options: _Options, found: Unwrapped) -> int | None:
    """The index of the first word after the options, or None when no command runs or
    the options cannot be followed (``found.unknown`` then says why)."""
    index = 0
    while index < len(args):
        word = args[index]
        text = word.text
        if not word.static:
            if text.startswith("-"):
                found.unknown.append(f"an option of {name} only known when it runs: {text}")
                return None
            return index  # the command, whose name the caller checks
        if text == "--":
            return index + 1
        if options.assignments and _ASSIGNMENT.match(text):
            index += 1
            continue
        if not text.startswith("-") or (text == "-" and "-" not in options.flags):
            return index
        if options.numeric and text[1:].isdigit():
            index += 1
            continue
        consumed = _option(name, args, index, options, found)
        if consumed is None:
            return None
        index += consumed
    return index


def _option(
    name: str, args: list[Word], index: int, options: _Options, found: Unwrapped
) -> int | None:
    """How many words the option at ``index`` takes (itself included), or None."""
    text = args[index].text
    if text.startswith("--") or text == "-":
        option, equals, value = text.partition("=")
        letters = [option]
    else:
        letters = [f"-{letter}" for letter in text[1:]]
    for position, option in enumerate(letters):
        if option in options.refused:
            found.unknown.append(options.refused[option])
            return None
        if option in options.no_command:
            return None
        if option in options.attached:
            return 1
        if option in options.valued:
            if text.startswith("--"):
                value_word = Word.literal(value) if equals else _at(args, index + 1)
                taken = 1 if equals else 2
            else:
                rest = "".join(letter[1] for letter in letters[position + 1 :])
                value_word = Word.literal(rest) if rest else _at(args, index + 1)
                taken = 1 if rest else 2
            if option in options.chdir and value_word is not None:
                found.chdir.append(value_word)
            return taken
        if option not in options.flags:
            found.unknown.append(f"an option of {name} this checker does not know: {option}")
            return None
    return 1


def _at(args: list[Word], index: int) -> Word | None:
    return args[index] if index < len(args) else None


def _fills_name(options: list[Word], name: Word) -> bool:
    """Whether xargs replaces text in the command name itself (``xargs -I{} {} x``)."""
    replace = "{}"
    for index, word in enumerate(options):
        if word.text == "-I" and index + 1 < len(options):
            replace = options[index + 1].text
        elif word.text.startswith("-I") or word.text.startswith("--replace="):
            replace = word.text.partition("=")[2] or word.text[2:]
        elif word.text.startswith("-i") and len(word.text) > 2:
            replace = word.text[2:]
    return replace in name.text


def _joined(words: list[Word]) -> Word:
    """Arguments joined by spaces, as ``eval`` and ``watch`` join them before parsing."""
    joined = Word()
    for index, word in enumerate(words):
        if index:
            joined.add(Word.literal(" "))
        joined.add(word)
    return joined


def _shell(args: list[Word]) -> Unwrapped:
    """``bash [options] -c STRING`` runs STRING; ``bash FILE`` runs a file; a shell
    with neither reads its commands from its input, which the checker cannot see."""
    found = Unwrapped()
    command_string = reads_input = False
    index = 0
    while index < len(args):
        word = args[index]
        text = word.text
        if not word.static:
            if text.startswith(("-", "+")):
                found.unknown.append(f"an option of a shell only known when it runs: {text}")
                return found
            break
        if text in ("--", "-"):
            index += 1
            break
        if text in _SHELL_EXITS:
            return found
        if text in _SHELL_VALUED:
            index += 2
            continue
        if text.startswith("--"):
            if text not in _SHELL_FLAGS:
                found.unknown.append(f"an option of a shell this checker does not know: {text}")
                return found
        elif text[:1] in "-+" and len(text) > 1:
            command_string = command_string or "c" in text[1:]
            reads_input = reads_input or "s" in text[1:]
            index += 1 + ("o" in text[1:] or "O" in text[1:])
            continue
        else:
            break
        index += 1
    if command_string:
        if index < len(args):
            found.scripts.append(args[index])
    elif reads_input or index >= len(args):
        found.unknown.append("a shell that reads the commands it runs from its input")
    return found


def _eval(args: list[Word]) -> Unwrapped:
    return Unwrapped(scripts=[_joined(args)]) if args else Unwrapped()


def _trap(args: list[Word]) -> Unwrapped:
    """``trap ACTION SIGNAL...`` runs ACTION later; ``trap -p``, ``trap SIGNAL`` and
    ``trap - SIGNAL`` run nothing."""
    if args and args[0].text in ("-l", "-p", "-P"):
        return Unwrapped()
    if args and args[0].text == "--":
        args = args[1:]
    if len(args) < 2 or args[0].text in ("", "-") or args[0].text.isdigit():
        return Unwrapped()
    return Unwrapped(scripts=[args[0]])


def _alias(args: list[Word]) -> Unwrapped:
    """``alias name=value``: the value runs wherever the alias is used."""
    found = Unwrapped()
    for word in args:
        _name, equals, value = word.text.partition("=")
        if equals:
            found.scripts.append(Word(value, expands=not word.static))
    return found


def _find(args: list[Word]) -> Unwrapped:
    """Each ``-exec``/``-execdir``/``-ok``/``-okdir`` command, up to its ``;`` or
    ``{} +``."""
    found = Unwrapped()
    index = 0
    while index < len(args):
        if args[index].text not in _FIND_EXEC:
            index += 1
            continue
        start = index = index + 1
        while index < len(args):
            text = args[index].text
            if text == ";" or (text == "+" and index > start and args[index - 1].text == "{}"):
                break
            index += 1
        command = args[start:index]
        if command and "{}" in command[0].text:
            found.unknown.append(f"a command name find fills in: {command[0].text}")
        elif command:
            found.commands.append(command)
    return found


_READERS: Final[dict[str, Callable[[list[Word]], Unwrapped]]] = {
    "alias": _alias,
    "eval": _eval,
    "find": _find,
    "trap": _trap,
}
