"""The shell checker against bash itself: generated lines of harmless commands are run
with xtrace, and the commands bash ran must be exactly the commands the checker lists.

Each generated command carries a unique marker (``@3``) as its first argument, so the
two lists can be matched command by command. Every generated line runs all of its
commands exactly once (``||`` always follows a command that fails), so the lists must
agree exactly, on the markers and on every argument whose value is known before the
line runs. The files the line creates must be exactly its write redirections.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from opencode_python.permissions.shell import analyze

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

NAMES = ["echo", "printf", "true"]
# Characters of generated argument values (never "@", which only markers use).
VALUE_CHARS = "abz09._-/=+,:%^ ;|&$'\"\\`*?~#()<>{}!\t\né"
PLAIN = frozenset("abz09._-/=+,:%^#")
# Expected argument: its value, or None when only known at run time. A run-time value
# that bash splits into any number of words ends the comparable part of the command.
SPLITS = object()


@dataclass
class Expected:
    name: str
    args: list[str | object | None] = field(default_factory=list)


@dataclass
class Line:
    """Builds one line, noting what it runs."""

    draw: st.DrawFn
    commands: dict[str, Expected] = field(default_factory=dict)
    plain: Counter[tuple[str, ...]] = field(default_factory=Counter)  # commands without marker
    writes: set[str] = field(default_factory=set)
    count: int = 0
    live: bool = True  # False inside text bash does not run
    text: str = ""
    in_heredoc: bool = False

    def marker(self) -> str:
        self.count += 1
        return f"@{self.count}"

    def pick(self, options: list[str]) -> str:
        return self.draw(st.sampled_from(options))

    def statements(self, depth: int) -> str:
        """Newline-separated statements; here-documents can only start here."""
        parts = []
        for _ in range(self.draw(st.integers(1, 3))):
            if self.draw(st.integers(0, 5)) == 0:
                parts.append(self.heredoc(depth))
                continue
            parts.append(self.list(depth))
            if self.draw(st.integers(0, 7)) == 0:
                parts[-1] += f" # echo {self.marker()} > never\n"
        return "\n".join(parts)

    def list(self, depth: int) -> str:
        text = self.pipeline(depth)
        background = False
        for _ in range(self.draw(st.integers(0, 2))):
            operator = self.pick(["&&", ";", "&", "||", "\n", " ; ", " && "])
            if operator == "||":  # the left side must fail, or bash skips the right
                text += f" && false {self.marker_for('false')} ||"
            elif operator == "&":
                text += " &"
                background = True
            else:
                text += operator
            text += " " + self.pipeline(depth)
        # a background job must finish before its shell does, or it may outlive the run
        return text + "; wait" if background else text

    def marker_for(self, name: str) -> str:
        marker = self.marker()
        if self.live:
            self.commands[marker] = Expected(name)
        return marker

    def pipeline(self, depth: int) -> str:
        text = self.command(depth)
        for _ in range(self.draw(st.integers(0, 1))):
            if not text.startswith(("echo", "printf", "true", "X", "'", '"', "$", "\\")):
                # a compound left side writing after the right side exits would be killed
                # by SIGPIPE before its later commands run
                text += " >/dev/null 2>&1"
            text += self.pick([" | ", "|", " |& "]) + self.command(depth)
        return text

    def command(self, depth: int) -> str:
        kind = self.draw(st.integers(0, 12)) if depth > 0 else 0
        if kind == 1:
            return f"( {self.list(depth - 1)} )"
        if kind == 2:
            return f"{{ {self.list(depth - 1)}; }}"
        if kind == 3:
            return f"if true {self.marker_for('true')}; then {self.list(depth - 1)}; fi"
        if kind == 4:
            return f"for v in a; do {self.list(depth - 1)}; done"
        if kind == 5:
            return f"case a in a) {self.list(depth - 1)};; esac"
        if kind == 6:
            name = f"fn{self.count}"
            if self.live:
                self.plain[(name,)] += 1
            return f"{{ {name}() {{ {self.list(depth - 1)}; }}; {name}; }}"
        return self.simple(depth)

    def simple(self, depth: int) -> str:
        name = self.pick(NAMES)
        marker = self.marker()
        expected = Expected(name, [])
        words = [self.encode(name), marker]
        prefix = ""
        if self.draw(st.integers(0, 5)) == 0:
            value, _ = self.argument(depth)
            prefix = f"X{self.count}={value} "
        redirected = False
        for _ in range(self.draw(st.integers(0, 3))):
            if self.draw(st.integers(0, 3)) == 0:
                # tree-sitter cannot read a here-string after another redirection
                words.append(self.redirection(depth, herestring=not redirected))
                redirected = True
                continue
            text, value = self.argument(depth)
            words.append(text)
            expected.args.append(value)
        if self.live:
            self.commands[marker] = expected
        return prefix + self.pick([" ", "  ", " \\\n "]).join(words)

    def argument(self, depth: int) -> tuple[str, str | object | None]:
        """An argument's text and its expected value."""
        kind = self.draw(st.integers(0, 14)) if depth > 0 else 0
        if kind in (3, 4) and self.in_heredoc:
            kind = 0  # tree-sitter misreads escapes in backticks nested in a here-document
        if kind == 1:  # "$((" would start arithmetic
            inner = self.statements(depth - 1)
            # a here-document's delimiter must be alone on its line
            return f"$( {inner}{chr(10) if re.search(r'EOF[0-9]+$', inner) else ' '})", SPLITS
        if kind == 2:
            return f'"a $( {self.list(depth - 1)}) b"', None
        if kind == 3:
            return "`" + _for_backticks(self.list(depth - 1), quoted=False) + "`", SPLITS
        if kind == 4:
            inner = _for_backticks(self.list(depth - 1), quoted=True)
            return f'"x`{inner}`"', None
        if kind == 5:  # the output of <(...) goes unread, and >(...) writes to the pipe of
            # the command it belongs to: keep SIGPIPE from stopping either
            direction = self.pick(["<", ">"])
            return f"{direction}( {{ {self.list(depth - 1)}; }} >/dev/null 2>&1)", None
        if kind == 6:
            return f"${{x:-$( {self.list(depth - 1)})}}", SPLITS
        if kind == 7:
            return f'${{x:-"$( {self.list(depth - 1)})"}}', None
        if kind == 8:
            return f"\"${{x:-'$({self.plain_command()})'}}\"", None
        if kind == 9:
            live, self.live = self.live, False
            text = f"${{x:-'$({self.plain_command()})'}}"
            self.live = live
            return text, None
        if kind == 10:  # true prints nothing: the sum is 1
            return f"$(( $(true {self.marker_for('true')}) + 1 ))", None
        value = self.draw(st.text(VALUE_CHARS, max_size=6))
        return self.encode(value), value

    def plain_command(self) -> str:
        """A command with plain arguments only (for text inside single quotes)."""
        name = self.pick(NAMES)
        marker = self.marker()
        value = self.draw(st.text("abz09", max_size=4))
        if self.live:
            self.commands[marker] = Expected(name, [value] if value else [])
        return f"{name} {marker}" + (f" {value}" if value else "")

    def redirection(self, depth: int, *, herestring: bool) -> str:
        kind = self.draw(st.integers(0, 6))
        if kind == 0:
            return self.pick(["2>&1", ">&2", "1>&2", "< /dev/null", "2>/dev/null", ">/dev/null"])
        if kind == 1 and herestring:
            text, _ = self.argument(depth)
            return f"<<< {text}"
        target = f"o{self.draw(st.integers(1, 4))}"
        if self.live:
            self.writes.add(target)
        operator = self.pick([">", ">>", ">|", "&>", "&>>", "2>", "2>>"])
        return operator + self.pick(["", " "]) + self.encode(target)

    def heredoc(self, depth: int) -> str:
        command = self.simple(0)
        if self.draw(st.booleans()):
            self.in_heredoc = True
            body = f"text $( {self.list(max(depth - 1, 0))}) and `{self.plain_command()}`"
            self.in_heredoc = False
            delimiter = end = f"EOF{self.count}"
        else:
            live, self.live = self.live, False
            body = f"$({self.plain_command()}) `{self.plain_command()}` 'x' \"y\" \\ z"
            self.live = live
            end = f"EOF{self.count}"
            delimiter = self.pick([f"'{end}'", f'"{end}"', f"\\{end}"])
        return f"{command} <<{delimiter}\n{body}\n{end}"

    def encode(self, value: str) -> str:
        """``value`` as a shell word, in a quoting style drawn at random."""
        if not value:
            return self.pick(["''", '""', "$''"])
        styles = ["single", "double", "ansi"]
        if "\n" not in value:
            styles.append("backslash")
        if set(value) <= PLAIN and not value.startswith(("#", "-")):
            styles += ["plain", "continued"]
        if len(value) > 1:
            styles.append("mixed")
        style = self.pick(styles)
        if style == "mixed":
            cut = self.draw(st.integers(1, len(value) - 1))
            return self.encode(value[:cut]) + self.encode(value[cut:])
        if style == "single":
            return "'" + value.replace("'", "'\\''") + "'"
        if style == "double":
            return '"' + re.sub(r'([\\"$`])', r"\\\1", value) + '"'
        if style == "backslash":
            return "".join("\\" + char for char in value)
        if style == "continued":  # a line continuation inside the word
            cut = self.draw(st.integers(0, len(value)))
            return value[:cut] + "\\\n" + value[cut:]
        if style == "ansi":
            return "$'" + "".join(self.ansi(char) for char in value) + "'"
        return value

    def ansi(self, char: str) -> str:
        named = {"\n": "\\n", "\t": "\\t", "\\": "\\\\", "'": "\\'"}
        if ord(char) > 127:
            return self.pick([char, f"\\u{ord(char):04x}"])
        options = [f"\\x{ord(char):02x}", f"\\{ord(char):03o}"]
        options.append(named.get(char, char))
        return self.pick(options)


def _for_backticks(text: str, *, quoted: bool) -> str:
    """``text`` escaped so that bash reads it back inside backticks."""
    escaped = re.sub(r"([\\`$])", r"\\\1", text)
    return escaped.replace('"', '\\"') if quoted else escaped


@st.composite
def lines(draw: st.DrawFn) -> Line:
    line = Line(draw)
    line.text = line.statements(depth=2)
    return line


def run_traced(text: str, directory: Path) -> list[list[str]]:
    """Run ``text`` with xtrace on descriptor 3 and return each traced command's words."""
    trace = directory / "trace"
    shell = subprocess.Popen(
        ["bash", "-c", 'exec 3>"$0" && exec bash -x -c "$1"', str(trace), text],
        cwd=directory,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "PS4": "+ "}
        | {"BASH_XTRACEFD": "3"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    shell.wait(timeout=20)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # process substitutions outlive their shells
        try:
            os.killpg(shell.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.005)
    commands = parse_trace(trace.read_bytes())
    trace.unlink()
    return commands


def parse_trace(data: bytes) -> list[list[str]]:
    """Words of each xtrace line (``+ echo 'a b' $'\\001'``), quotes removed."""
    commands: list[list[str]] = []
    index = 0
    while index < len(data):
        start = re.compile(rb"\++ ").match(data, index)
        assert start, f"not a trace line: {data[index : index + 80]!r}"
        index = start.end()
        words: list[bytes] = []
        word: bytearray | None = None
        while index < len(data) and data[index : index + 1] != b"\n":
            char = data[index : index + 1]
            if char == b" ":
                if word is not None:
                    words.append(bytes(word))
                word = None
                index += 1
                continue
            word = word if word is not None else bytearray()
            if char == b"'":
                end = data.index(b"'", index + 1)
                word += data[index + 1 : end]
                index = end + 1
            elif data.startswith(b"$'", index):
                index = _ansi_trace(data, index + 2, word)
            elif char == b"\\":
                word += data[index + 1 : index + 2]
                index += 2
            else:
                word += char
                index += 1
        if word is not None:
            words.append(bytes(word))
        index += 1
        commands.append([w.decode("utf-8", "replace") for w in words])
    return commands


_TRACE_ESCAPES = {b"a": 7, b"b": 8, b"E": 27, b"e": 27, b"f": 12, b"n": 10, b"r": 13}
_TRACE_ESCAPES |= {b"t": 9, b"v": 11, b"\\": 92, b"'": 39, b'"': 34}


def _ansi_trace(data: bytes, index: int, word: bytearray) -> int:
    while data[index : index + 1] != b"'":
        char = data[index : index + 1]
        if char != b"\\":
            word += char
            index += 1
            continue
        code = data[index + 1 : index + 2]
        if code in _TRACE_ESCAPES:
            word.append(_TRACE_ESCAPES[code])
            index += 2
        else:
            digits = re.compile(rb"[0-7]{1,3}").match(data, index + 1)
            assert digits, f"unexpected escape in trace: {data[index : index + 8]!r}"
            word.append(int(digits.group(), 8))
            index = digits.end()
    return index + 1


_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_NOT_COMMANDS = {"for", "case", "select", "[[", "((", "wait"}


def _program(words: list[str] | tuple[str, ...]) -> list[str]:
    """The words after leading assignments (bash traces those on lines of their own)."""
    index = 0
    while index < len(words) and _ASSIGNMENT.match(words[index]):
        index += 1
    return list(words[index:])


def _by_marker(
    commands: list[list[str]],
) -> tuple[dict[str, list[list[str]]], Counter[tuple[str, ...]]]:
    marked: dict[str, list[list[str]]] = {}
    plain: Counter[tuple[str, ...]] = Counter()
    for words in commands:
        if not words or words[0] in _NOT_COMMANDS:
            continue
        if len(words) > 1 and words[1].startswith("@"):
            marked.setdefault(words[1], []).append(words)
        else:
            plain[tuple(words)] += 1
    return marked, plain


def _agrees(expected: Expected, words: list[str], *, exact: bool) -> bool:
    """Whether ``words`` are the expected command; ``exact`` for the checker's words,
    else (bash's) up to the first argument split at run time."""
    if words[0] != expected.name:
        return False
    args = words[2:]
    if exact and len(args) != len(expected.args):
        return False
    for index, value in enumerate(expected.args):
        if value is SPLITS and not exact:
            return True
        if index >= len(args):
            return False
        if isinstance(value, str) and args[index] != value:
            return False
    return exact or len(args) == len(expected.args)


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(lines())
def test_the_checker_lists_exactly_the_commands_bash_runs(line: Line) -> None:
    text = line.text
    analysis = analyze(text)
    if analysis.unknown:  # fails closed: the call is asked, whatever the rules say
        event(f"not understood: {analysis.unknown[0][:30]}")
        return
    checked, checked_plain = _by_marker([_program(c.words) for c in analysis.commands])
    with tempfile.TemporaryDirectory() as directory:
        ran, ran_plain = _by_marker([_program(w) for w in run_traced(text, Path(directory))])
        created = {path.name for path in Path(directory).iterdir()}

    assert sorted(checked) == sorted(line.commands), text
    assert sorted(ran) == sorted(line.commands), text
    for marker, expected in line.commands.items():
        assert len(checked[marker]) == 1, (text, marker)
        assert len(ran[marker]) == 1, (text, marker)
        assert _agrees(expected, checked[marker][0], exact=True), (text, checked[marker])
        assert _agrees(expected, ran[marker][0], exact=False), (text, ran[marker])
    assert checked_plain == ran_plain == line.plain, text
    writes = {r.target for r in analysis.redirections if r.write}
    assert writes == line.writes == created, text
