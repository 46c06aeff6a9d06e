"""The commands inside a shell line, so that each one is checked against the rules.

``git status && rm -rf /`` must not pass as ``git status *``: the line is split on
``&&``, ``||``, ``;``, ``|``, ``&`` and newlines, and the commands inside ``( ... )``,
``$( ... )``, backticks, ``<( ... )`` and unquoted here-documents are returned too, since
the shell runs them as well. Quotes and escapes are respected. This is a tokenizer, not a
full bash parser: it errs towards returning more commands, never fewer.
"""

from __future__ import annotations

import re
from typing import Final

from ..core.errors import ToolError

_BLANKS: Final = " \t"
_WORD_END: Final = " \t\n;&|()<>"
# Words that are shell syntax rather than a program: dropped from the front of a command.
_KEYWORDS: Final = frozenset(
    {"!", "{", "}", "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "esac"}
)
# Commands that are only a loop or case header; their substitutions are still returned.
_HEADERS: Final = frozenset({"for", "select", "case"})


def split_commands(command: str) -> list[str]:
    """Each command of a shell line, normalised to its words joined by single spaces.

    Words keep their quotes (``echo "a  b"`` stays as written) and redirections stay part
    of their command. A substitution's commands follow the command that contains it.
    """
    return [" ".join(words) for words in _Scanner(command).commands()]


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
# Commands that run another command: "always" for them approves that exact line only,
# never ``sudo *``.
_RUNS_OTHERS: Final = frozenset(
    {"bash", "command", "doas", "env", "eval", "exec", "nice", "nohup", "sh", "sudo"}
    | {"time", "timeout", "watch", "xargs", "zsh"}
)
# Every level of nesting passes through commands() or scan_dollar(), some through both.
_MAX_DEPTH: Final = 64
_ASSIGNMENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def command_prefix(command: str) -> str:
    """The pattern an "always" approval of ``command`` (one command) should add.

    ``git status --short`` gives ``git status *``, ``npm run build`` ``npm run *``,
    ``ls -la`` ``ls *``. Leading variable assignments are kept (``FOO=1 *`` would approve
    anything), and for commands that run other commands the exact command is returned.
    """
    commands = _Scanner(command).commands()
    if not commands:
        return ""
    words = commands[0]
    assignments = 0
    while assignments < len(words) and _ASSIGNMENT.match(words[assignments]):
        assignments += 1
    program = words[assignments:]
    if not program or program[0] in _RUNS_OTHERS:
        return " ".join(words)
    kept = 1
    for length in range(min(len(program), _LONGEST_PREFIX), 0, -1):
        if tuple(program[:length]) in _ARITY:
            kept = _ARITY[tuple(program[:length])]
            break
    return " ".join(words[: assignments + kept]) + " *"


class _Command:
    """The command being read: its finished words, the word in progress, and the commands
    found in its substitutions (returned after it)."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.word: list[str] = []
        self.nested: list[list[str]] = []

    def end_word(self) -> None:
        if self.word:
            self.words.append("".join(self.word))
            self.word.clear()

    def word_ends_with_redirect(self) -> bool:
        return bool(self.word) and self.word[-1][-1] in "<>"

    def finish(self, out: list[list[str]]) -> None:
        self.end_word()
        start = 0
        while start < len(self.words) and self.words[start] in _KEYWORDS:
            start += 1
        words = self.words[start:]
        if words and words[0] not in _HEADERS:
            out.append(words)
        out.extend(self.nested)
        self.words, self.nested = [], []


class _Scanner:
    """One pass over a shell line; ``pos`` only moves forward."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.heredocs: list[tuple[str, bool, bool]] = []  # delimiter, expands, strip tabs

    def at(self, offset: int = 0) -> str:
        return self.text[self.pos + offset : self.pos + offset + 1]

    def commands(self, closer: str = "") -> list[list[str]]:
        """The commands up to ``closer`` (consumed) or the end of the text."""
        self.descend()
        out: list[list[str]] = []
        cmd = _Command()
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if closer and char == closer:
                self.pos += 1
                break
            if char in _BLANKS:
                cmd.end_word()
                self.pos += 1
            elif char == "\n":
                self.pos += 1
                self.read_heredocs(cmd.nested)
                cmd.finish(out)
            elif char == "#" and not cmd.word:
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif char == "\\" and self.at(1) == "\n":
                self.pos += 2  # line continuation
            elif char in ";)" or self.separates(char, cmd):
                self.pos += 2 if self.at(1) == char or self.text.startswith("|&", self.pos) else 1
                cmd.finish(out)
            elif char == "(" and not (cmd.word and cmd.word[-1][-1] in "<>="):
                # A subshell, an arithmetic command or a function's "()": end what came
                # before, so that nothing in the group hides behind it.
                cmd.finish(out)
                self.pos += 1
                out.extend(self.commands(")"))
            elif char == "<" and self.text.startswith("<<", self.pos) and self.at(2) != "<":
                self.heredoc_operator(cmd)
            else:
                start = self.pos
                self.scan_word_part(cmd)
                cmd.word.append(self.text[start : self.pos])
        cmd.finish(out)
        self.depth -= 1
        return out

    def descend(self) -> None:
        """Count one level of nesting. Past the limit, refuse rather than overflow the
        stack or pass the line through unsplit (which could let it match an allow rule)."""
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ToolError(
                "The command nests subshells, substitutions or expansions too deeply to "
                "check; split it into simpler commands."
            )

    def separates(self, char: str, cmd: _Command) -> bool:
        """Whether ``&`` or ``|`` here ends a command, rather than being part of a
        redirection such as ``2>&1``, ``&>file`` or ``>|file``."""
        if char == "&":
            return self.at(1) == "&" or (self.at(1) != ">" and not cmd.word_ends_with_redirect())
        if char == "|":
            return self.at(1) == "|" or not cmd.word_ends_with_redirect()
        return False

    def scan_word_part(self, cmd: _Command) -> None:
        """Move past one piece of a word: a quoted string, an expansion or one character."""
        char = self.text[self.pos]
        if char == "\\":
            self.pos += 2
        elif char == "'":
            self.skip_single_quoted()
        elif char == '"':
            self.scan_double_quoted(cmd.nested)
        elif char == "$":
            self.scan_dollar(cmd.nested)
        elif char == "`":
            self.scan_substitution(cmd.nested, 1, "`")
        elif char == "(" and cmd.word_ends_with_redirect():
            self.scan_substitution(cmd.nested, 1, ")")  # <( ... ) or >( ... )
        elif char == "(":
            self.scan_array(cmd.nested)  # a=( ... )
        else:
            self.pos += 1

    def skip_single_quoted(self) -> None:
        end = self.text.find("'", self.pos + 1)
        self.pos = len(self.text) if end < 0 else end + 1

    def scan_double_quoted(self, nested: list[list[str]]) -> None:
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return
            self.scan_expanding(char, nested)

    def scan_expanding(self, char: str, nested: list[list[str]]) -> None:
        """One piece of text where only escapes and expansions are special (double quotes,
        here-document bodies)."""
        if char == "\\":
            self.pos += 2
        elif char == "$":
            self.scan_dollar(nested)
        elif char == "`":
            self.scan_substitution(nested, 1, "`")
        else:
            self.pos += 1

    def scan_dollar(self, nested: list[list[str]]) -> None:
        self.descend()
        if self.text.startswith("$((", self.pos):
            self.scan_arithmetic(nested)
        elif self.text.startswith("$(", self.pos):
            self.scan_substitution(nested, 2, ")")
        elif self.text.startswith("${", self.pos):
            self.scan_parameter(nested)
        else:
            self.pos += 1
        self.depth -= 1

    def scan_substitution(self, nested: list[list[str]], opener: int, closer: str) -> None:
        self.pos += opener
        nested.extend(self.commands(closer))

    def scan_parameter(self, nested: list[list[str]]) -> None:
        """``${...}``, whose default values may hold substitutions: ``${x:-$(cmd)}``."""
        self.pos += 2
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "}":
                self.pos += 1
                return
            if char == "'":
                self.skip_single_quoted()
            elif char == '"':
                self.scan_double_quoted(nested)
            else:
                self.scan_expanding(char, nested)

    def scan_arithmetic(self, nested: list[list[str]]) -> None:
        """``$(( ... ))``: not commands, but substitutions inside it still run."""
        self.pos += 3
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == ")" and depth == 0:
                self.pos += 2 if self.at(1) == ")" else 1
                return
            depth += {"(": 1, ")": -1}.get(char, 0)
            self.scan_expanding(char, nested)

    def scan_array(self, nested: list[list[str]]) -> None:
        self.pos += 1
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == ")" and depth == 0:
                self.pos += 1
                return
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "'":
                self.skip_single_quoted()
            elif char == '"':
                self.scan_double_quoted(nested)
            else:
                self.scan_expanding(char, nested)

    def heredoc_operator(self, cmd: _Command) -> None:
        """``<<WORD`` or ``<<-WORD``: note the delimiter; the body starts at the next line."""
        start = self.pos
        self.pos += 3 if self.at(2) == "-" else 2
        strip_tabs = self.pos - start == 3
        cmd.word.append(self.text[start : self.pos])
        if self.at() in _BLANKS and self.at():
            cmd.end_word()
            while self.at() and self.at() in _BLANKS:
                self.pos += 1
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _WORD_END:
            if self.text[self.pos] in "'\"":
                end = self.text.find(self.text[self.pos], self.pos + 1)
                self.pos = len(self.text) if end < 0 else end + 1
            else:
                self.pos += 2 if self.text[self.pos] == "\\" else 1
        raw = self.text[start : self.pos]
        if raw:
            cmd.word.append(raw)
            delimiter = re.sub(r"[\"'\\]", "", raw)
            self.heredocs.append((delimiter, delimiter == raw, strip_tabs))

    def read_heredocs(self, nested: list[list[str]]) -> None:
        """Skip the bodies of the here-documents opened on the line just ended. Unquoted
        delimiters mean the shell expands the body, substitutions included."""
        for delimiter, expands, strip_tabs in self.heredocs:
            start = end = self.pos
            while self.pos < len(self.text):
                newline = self.text.find("\n", self.pos)
                line_end = len(self.text) if newline < 0 else newline
                line = self.text[self.pos : line_end]
                end, self.pos = self.pos, min(line_end + 1, len(self.text))
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
            else:
                end = len(self.text)
            if expands:
                body = _Scanner(self.text[start:end])
                body.depth = self.depth
                while body.pos < len(body.text):
                    body.scan_expanding(body.text[body.pos], nested)
        self.heredocs.clear()
