"""What a shell line will run, read with bash's grammar (tree-sitter-bash), so that the
bash tool can check each command against the rules.

Every command bash would run is listed, on its words after quote removal: those of
pipelines and lists, subshells and groups, compound commands and function bodies;
command and process substitutions wherever bash expands them (double quotes,
parameter defaults, here-documents, here-strings, arithmetic); strings run again by
``eval``, ``bash -c`` or ``trap``; and the commands that wrappers such as ``sudo``,
``env``, ``xargs`` or ``find -exec`` start. Whatever is not understood is named in
``unknown``, so that the caller asks rather than allows: a checker that misreads a
line must never let a hidden command through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Final, Literal

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from .shell_words import Word, ansi_c, backtick_end, double_quoted, in_backticks, unquoted_word
from .shell_wrappers import unwrap


@dataclass(frozen=True, slots=True)
class ShellCommand:
    """One command that will run, as the words bash passes it (after quote removal;
    expansions bash only resolves when it runs stay as written: ``$HOME/x``)."""

    words: tuple[str, ...]

    @property
    def text(self) -> str:
        """What permission rules match: the words joined by single spaces."""
        return " ".join(self.words)


@dataclass(frozen=True, slots=True)
class Redirection:
    """A file a command reads or writes through a redirection (``> out``, ``< in``)."""

    target: str
    write: bool


@dataclass(frozen=True, slots=True)
class ShellAnalysis:
    """Everything a shell line will do that permission rules care about.

    ``paths`` are the arguments that name paths which may leave the project (absolute,
    ``~``, with ``..``, and ``cd``/``pushd`` targets); ``workdirs`` are the directories the
    line moves into, in order, so relative paths can be resolved from each. A non-empty
    ``unknown`` means the line was not fully understood: fail closed.
    """

    commands: tuple[ShellCommand, ...] = ()
    redirections: tuple[Redirection, ...] = ()
    paths: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    workdirs: tuple[str, ...] = ()


def analyze(command: str) -> ShellAnalysis:
    """Read a shell line (a whole ``bash -c`` script) and list what it will run."""
    found = _Found()
    _read(found, command, depth=0)
    return ShellAnalysis(
        commands=tuple(found.commands),
        redirections=tuple(dict.fromkeys(found.redirections)),
        paths=tuple(dict.fromkeys(found.paths)),
        unknown=tuple(dict.fromkeys(found.unknown)),
        workdirs=tuple(found.workdirs),
    )


# How deep the checker follows nesting (syntax nodes, counting each string parsed again);
# deeper than this is reported rather than followed, and nothing is left unchecked.
_MAX_DEPTH: Final = 200
_STRUCTURE: Final = frozenset(
    {"program", "list", "pipeline", "subshell", "compound_statement", "do_group"}
    | {"if_statement", "elif_clause", "else_clause", "while_statement", "negated_command"}
    | {"case_statement", "case_item", "for_statement", "c_style_for_statement"}
    | {"function_definition", "variable_assignments"}
    | {"test_command", "binary_expression", "unary_expression", "ternary_expression"}
    | {"parenthesized_expression", "postfix_expression", "command_name"}
)
_HEREDOC_PARTS: Final = frozenset(
    {"heredoc_start", "heredoc_body", "heredoc_content", "heredoc_end"}
)
_VALUES: Final = frozenset(
    {"word", "string", "raw_string", "ansi_c_string", "translated_string", "concatenation"}
    | {"simple_expansion", "expansion", "command_substitution", "process_substitution"}
    | {"arithmetic_expansion", "number", "brace_expression", "extglob_pattern", "regex"}
    | {"variable_name", "special_variable_name", "string_content", "array", "subscript"}
    | {"test_operator", "file_descriptor"}
)
_REDIRECTS: Final = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_EMBEDDED: Final = frozenset({"command_substitution", "expansion", "arithmetic_expansion"})
_READS: Final = frozenset({"<", "<&"})
# Files a redirection may use without touching anything.
_HARMLESS: Final = re.compile(r"/dev/(null|stdin|stdout|stderr|tty|zero|u?random|fd/\d+)")
_NETWORK: Final = re.compile(r"/dev/(tcp|udp)/")
# Variables whose assignment changes what later commands in the line run or read.
_SHELL_VARIABLES: Final = frozenset(
    {"PATH", "IFS", "BASH_ENV", "ENV", "CDPATH", "PS4", "SHELLOPTS", "BASHOPTS"}
)
# Quoted text that bash would still run if it became an array subscript: a[$(cmd)].
_SUBSCRIPT_CODE: Final = re.compile(r"\[[^\]]*(\$\(|`)")
_CD_OPTION: Final = re.compile(r"-[LPe@n]+|[+-]\d+")
# How many times a line is rewritten, or an expansion in plain text tried with another
# end, before the checker gives up.
_MAX_TRIES: Final = 64

# Where text is: unquoted, inside double quotes, or in a here-document body. Inside
# double quotes and here-documents, single quotes in ${x:-'...'} do not quote.
_Context = Literal["unquoted", "double", "heredoc"]


@cache
def _language() -> Language:
    return Language(tree_sitter_bash.language())


@dataclass(slots=True)
class _Found:
    commands: list[ShellCommand] = field(default_factory=list)
    redirections: list[Redirection] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    workdirs: list[str] = field(default_factory=list)


def _read(found: _Found, text: str, depth: int) -> None:
    """Parse ``text`` as a script and record what it runs."""
    source, root = _normalized(text.encode("utf-8", "surrogatepass"))
    _Reader(found, source, depth).walk(root)
    if root.has_error:
        found.unknown.append(_syntax_error(root, source))


def _parse(source: bytes) -> Node:
    return Parser(_language()).parse(source).root_node


def _normalized(source: bytes) -> tuple[bytes, Node]:
    """``source`` rewritten, without changing what bash makes of it, until tree-sitter
    reads it as bash does (see ``_ansi_c_pairs`` and ``_as_bash_reads``), and its tree.
    Each rewrite can reveal text the previous parse misread, so they repeat."""
    root = _parse(source)
    for _ in range(_MAX_TRIES):
        rewritten = _backticks(source, root)
        if rewritten is None:
            rewritten = _ansi_c_pairs(source, root)
        if rewritten is None and b"\\" in source:
            rewritten = _as_bash_reads(source, root)
        if rewritten is None or rewritten == source:
            break
        source, root = rewritten, _parse(rewritten)
    return source, root


def _ansi_c_pairs(source: bytes, root: Node) -> bytes | None:
    """``source`` with the first ``$'...'`` that holds an escaped backslash rewritten,
    or None. tree-sitter ends ``$'a\\\\' ; rm x ; echo '`` at the last quote, hiding
    ``rm x``; bash ends it after ``a\\\\``. ``\\x5c`` is the same backslash without
    the pair that misleads tree-sitter."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ansi_c_string" and b"\\\\" in source[node.start_byte : node.end_byte]:
            break
        if node.type != "heredoc_body":  # its expansions are parsed again on their own
            stack.extend(reversed(node.children))  # (backticks are gone by now)
    else:
        return None
    out = bytearray()
    index = node.start_byte + 2
    while index < len(source) and source[index : index + 1] != b"'":
        pair = source[index : index + 2]
        if pair[:1] == b"\\":
            out += b"\\x5c" if pair == b"\\\\" else pair
            index += 2
        else:
            out += pair[:1]
            index += 1
    return source[: node.start_byte + 2] + bytes(out) + source[index:]


def _backticks(source: bytes, root: Node) -> bytes | None:
    """``source`` with its first backtick substitution written as ``$(...)``, or None.
    tree-sitter misreads escapes inside backticks (``\\```, ``\\\\``); bash reads the
    text between them, unescaped, as the script of a ``$(...)``."""
    stack = [(root, False)]
    while stack:
        node, quoted = stack.pop()
        if node.type == "`":  # the first backtick, even where the parse went wrong after it
            break
        opens_backticks = bool(node.children) and node.children[0].type == "`"
        if node.type in ("command_substitution", "process_substitution") and not opens_backticks:
            quoted = False  # the script of $(...) is unquoted, even inside "..."
        if node.type != "heredoc_body":  # its expansions are parsed again on their own
            stack.extend(reversed(_quoting(node, quoted)))
    else:
        return None
    text = source.decode("utf-8", "surrogatepass")
    start = len(source[: node.start_byte].decode("utf-8", "surrogatepass"))
    end = backtick_end(text, start + 1)
    if end < 0:
        return None  # unterminated: left to the parser to report
    script = in_backticks(text[start + 1 : end], quoted=quoted)
    # the blank keeps "$((" from starting arithmetic; the newline ends a comment
    return (text[:start] + "$( " + script + "\n)" + text[end + 1 :]).encode(
        "utf-8", "surrogatepass"
    )


def _quoting(node: Node, quoted: bool) -> list[tuple[Node, bool]]:
    """Each child of ``node`` and whether it lies inside double quotes: after an odd
    number of ``"`` among its siblings (in a string, or in an error node where the
    parse broke off inside one)."""
    children = []
    for child in node.children:
        children.append((child, quoted))
        if child.type == '"':
            quoted = not quoted
    return children


# How a backslash reads in each part of a line, for _as_bash_reads.
_UNQUOTED, _QUOTED, _LITERAL = 0, 1, 2


def _as_bash_reads(source: bytes, root: Node) -> bytes:
    """``source`` with its backslash escapes written the way tree-sitter reads as bash
    does. tree-sitter takes an escaped blank for a blank and a backslash-newline for a
    blank even inside a word, where bash joins the lines (``r\\<newline>m`` is ``rm``):
    so backslash-newlines are removed, and outside quotes every escaped character is
    single-quoted instead (``\\;`` becomes ``';'``)."""
    modes = bytearray(len(source))
    stack = [(root, _UNQUOTED)]
    while stack:
        node, mode = stack.pop()
        mode = _mode(node, mode)
        modes[node.start_byte : node.end_byte] = bytes([mode]) * (node.end_byte - node.start_byte)
        if mode != _LITERAL and node.type != "heredoc_body":
            stack.extend((child, mode) for child in node.children)
    out = bytearray()
    index = 0
    while index < len(source):
        byte = source[index : index + 1]
        following = source[index + 1 : index + 2]
        if byte != b"\\" or modes[index] == _LITERAL or not following:
            out += byte
            index += 1
            continue
        if following == b"\n":
            pass  # a line continuation: bash joins the lines
        elif modes[index] == _QUOTED:
            out += byte + following
        elif following == b"'":
            out += b'"\'"'
        else:
            following = source[index + 1 : index + 1 + _char_length(following[0])]
            out += b"'" + following + b"'"
        index += 1 + len(following)
    return bytes(out)


def _char_length(lead: int) -> int:
    """How many bytes the UTF-8 character starting with ``lead`` takes."""
    return 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def _mode(node: Node, inherited: int) -> int:
    """How backslashes read inside ``node``: as escapes (unquoted), as escapes of a few
    characters (double quotes, here-documents), or not at all (single quotes, comments,
    backticks, whose text is parsed again later, and quoted here-documents). The
    expansions in a here-document are parsed again later, on their own."""
    kind = node.type
    if kind in ("raw_string", "ansi_c_string", "comment"):
        return _LITERAL
    if kind == "heredoc_start" and node.parent is not None:  # not in an error's debris
        return _LITERAL if node.parent.type == "heredoc_redirect" else inherited
    if kind == "command_substitution":
        backticks = bool(node.children) and node.children[0].type == "`"
        return _LITERAL if backticks else _UNQUOTED
    if kind == "process_substitution":
        return _UNQUOTED
    if kind == "heredoc_body":
        return _LITERAL if _quoted_body(node) else _QUOTED
    if kind in ("string", "translated_string"):
        return _QUOTED
    return inherited


def _quoted_body(node: Node) -> bool:
    """Whether ``node`` is the body of a here-document with a quoted delimiter."""
    if node.type != "heredoc_body" or node.parent is None:
        return False
    start = next((c for c in node.parent.children if c.type == "heredoc_start"), None)
    return start is not None and re.search(rb"['\"\\\\]", start.text or b"") is not None


def _syntax_error(root: Node, source: bytes) -> str:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            return f"a syntax error: a missing {node.type!r}"
        if node.is_error:
            return f"a syntax error at {_snippet(source[node.start_byte : node.end_byte])}"
        stack.extend(reversed(node.children))
    return "a syntax error"


def _snippet(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return repr(text if len(text) <= 40 else text[:40] + "...")


class _Reader:
    """Walks one parsed text (the line, or a string bash parses again) for what it runs."""

    def __init__(self, found: _Found, source: bytes, depth: int) -> None:
        self.found = found
        self.source = source
        self.depth = depth

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")

    def unknown(self, reason: str) -> None:
        self.found.unknown.append(reason)

    def deeper(self) -> bool:
        """Count one level of nesting; False (and reported) past the limit."""
        self.depth += 1
        if self.depth <= _MAX_DEPTH:
            return True
        self.unknown("nesting too deep to check")
        return False

    # Statements

    def walk(self, node: Node) -> None:
        if not self.deeper():
            self.depth -= 1
            return
        try:
            self._walk(node)
        finally:
            self.depth -= 1

    def _walk(self, node: Node) -> None:
        kind = node.type
        if not node.is_named or kind == "comment":
            return
        if kind == "command":
            self.command(node)
        elif kind == "redirected_statement":
            self.redirected(node)
        elif kind in ("declaration_command", "unset_command"):
            self.declaration(node)
        elif kind == "variable_assignment":
            self.assignment(node)
        elif kind in _REDIRECTS:
            self.redirect(node)
        elif kind in _STRUCTURE or kind == "ERROR":
            for child in node.children:
                self.walk(child)
        elif kind in _HEREDOC_PARTS:
            return  # pieces of a here-document the parser could not place: an error

        elif kind in _VALUES:
            self.value(node)
        else:
            self.unknown(f"a construct this checker does not know: {kind}")

    def redirected(self, node: Node) -> None:
        """A statement with redirections after it. tree-sitter reads the words that follow
        a redirection target as more targets (``echo a > f b``); bash passes them to the
        command, so they are put back there."""
        body = node.child_by_field_name("body")
        extra: list[Word] = []
        for child in node.children:
            if child.type in _REDIRECTS:
                extra.extend(self.redirect(child))
            elif child != body:
                self.walk(child)
        while body is not None and body.type in ("pipeline", "list") and extra:
            *first, body = body.named_children  # the words belong to its last command
            for child in first:
                self.walk(child)
        if body is not None and body.type == "command":
            self.command(body, extra)
            return
        if body is not None:
            self.walk(body)
        if extra:
            self.unknown(f"words after a redirection: {' '.join(w.text for w in extra)}")

    def command(self, node: Node, extra: list[Word] | None = None) -> None:
        words: list[Word] = []
        end = -1  # where the previous word ended: an adjacent part continues it
        for child in node.children:
            if child.type in _REDIRECTS:
                words.extend(self.redirect(child))
                end = -1
                continue
            if child.type == "comment":
                continue
            if child.type == "variable_assignment":
                word = self.assignment_word(child)
            elif child.type == "command_name":
                word = self.parts(child.children)
            else:
                word = self.part(child, child.next_sibling)
            if child.start_byte == end and words:
                words[-1].add(word)
            else:
                words.append(word)
            end = child.end_byte
        self.run(words + (extra or []))

    def declaration(self, node: Node) -> None:
        """``export``, ``declare``, ``local``, ``readonly``, ``typeset``, ``unset``."""
        words: list[Word] = []
        for child in node.children:
            if child.type in _REDIRECTS:
                words.extend(self.redirect(child))
            elif child.type == "variable_assignment":
                word = self.assignment_word(child)
                word.assignment = False  # an argument of the builtin
                self.check_assignment(child)
                words.append(word)
            else:
                words.append(self.part(child, child.next_sibling))
        self.run(words)

    def assignment(self, node: Node) -> None:
        """``NAME=value`` alone: not a command, but its substitutions run."""
        self.assignment_word(node)
        self.check_assignment(node)

    def check_assignment(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        if name is not None and self.text(name) in _SHELL_VARIABLES:
            self.unknown(
                f"an assignment to {self.text(name)}, which changes what later commands do"
            )

    def assignment_word(self, node: Node) -> Word:
        name = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if name is not None and name.type == "subscript":
            self.walk(name)
        head_end = value.start_byte if value is not None else node.end_byte
        word = Word.literal(self.source[node.start_byte : head_end].decode("utf-8", "replace"))
        if value is not None:
            word.add(self.parts([c for c in node.children if c.start_byte >= value.start_byte]))
        word.assignment = True
        return word

    def run(self, words: list[Word]) -> None:
        """Record a command that will run, and whatever it runs in turn."""
        if not words:
            return
        self.found.commands.append(ShellCommand(tuple(word.text for word in words)))
        for word in words:
            if word.static and _SUBSCRIPT_CODE.search(word.text):
                self.unknown(f"text bash may run as code in an array subscript: {word.text}")
        program = [word for word in words if not word.assignment]
        for word in words[: len(words) - len(program)]:
            self.path_argument(Word(word.text.partition("=")[2], expands=word.expands))
        if not program:
            return
        name = program[0]
        if name.expands:
            self.unknown(f"a command name only known when it runs: {name.text}")
            return
        if name.pattern:
            self.unknown(f"a command name bash expands as a pattern: {name.text}")
            return
        self.path_arguments(program)
        unwrapped = unwrap(program)
        if unwrapped is None:
            return
        self.found.unknown.extend(unwrapped.unknown)
        for directory in unwrapped.chdir:
            self.directory(directory)
        for command in unwrapped.commands:
            self.run(command)
        for script in unwrapped.scripts:
            if script.static:
                self.script(script.text)
            else:
                self.unknown(f"a string run as commands, only known when it runs: {script.text}")

    def script(self, text: str) -> None:
        """Parse a string bash runs as commands (``eval``, ``bash -c``, backticks)."""
        if self.deeper():
            _read(self.found, text, self.depth)
        self.depth -= 1

    # Paths

    def path_arguments(self, program: list[Word]) -> None:
        name, args = program[0].text, program[1:]
        if name in ("cd", "pushd"):
            targets = [w for w in args if not (w.static and _CD_OPTION.fullmatch(w.text))]
            if targets:
                self.directory(targets[0])
            elif name == "cd":
                self.directory(Word.literal("~"))  # cd alone goes home
            return
        for word in args:
            self.path_argument(word)
            if word.text.startswith("-") and "=" in word.text:  # --output=/tmp/x
                self.path_argument(Word(word.text.partition("=")[2], expands=word.expands))

    def path_argument(self, word: Word) -> None:
        text = word.text
        if word.expands:
            # $HOME is the one variable whose value is known to be outside the project.
            for home in ("$HOME", "${HOME}"):
                rest = text.removeprefix(home)
                if rest != text and rest[:1] in ("", "/") and not re.search(r"[$`]", rest):
                    self.found.paths.append("~" + rest)
            return
        leaves = text.startswith(("/", "~")) or ".." in text.split("/")
        if leaves and not _HARMLESS.fullmatch(text):
            self.found.paths.append(text)

    def directory(self, word: Word) -> None:
        """A directory the line moves into (``cd``, ``pushd``, ``env -C``)."""
        if not word.static or word.text == "-":
            self.unknown(f"a directory only known when it runs: cd {word.text}")
            return
        self.found.paths.append(word.text)
        self.found.workdirs.append(word.text)

    # Redirections

    def redirect(self, node: Node) -> list[Word]:
        """Record a redirection; return the words after it that belong to the command."""
        if node.type == "heredoc_redirect":
            return self.heredoc(node)
        if node.type == "herestring_redirect":  # <<< word: the word is input, not a file
            for child in node.named_children:
                self.walk(child)
            return []
        operator = next((self.text(c) for c in node.children if not c.is_named), "")
        targets = node.children_by_field_name("destination")
        if operator in (">&-", "<&-"):
            return []
        if not targets:
            self.unknown(f"a redirection this checker cannot read: {self.text(node)}")
            return []
        target, *extra = self.words(
            [c for c in node.children if c.start_byte >= targets[0].start_byte]
        )
        self.redirection(operator, target)
        return extra

    def redirection(self, operator: str, target: Word) -> None:
        if (
            operator in (">&", "<&")
            and target.static
            and (target.text.isdigit() or target.text == "-")
        ):
            return  # 2>&1: a copy of a descriptor, not a file
        if not target.static:
            self.unknown(f"a redirection to a file only known when it runs: {target.text}")
        elif _NETWORK.match(target.text):
            self.unknown(f"a network connection: {target.text}")
        elif _HARMLESS.fullmatch(target.text):
            return
        self.found.redirections.append(Redirection(target.text, operator not in _READS))

    def heredoc(self, node: Node) -> list[Word]:
        """``<<WORD``: the body is input; unless WORD is quoted, its expansions run."""
        body = next((c for c in node.children if c.type == "heredoc_body"), None)
        expands = body is not None and not _quoted_body(body)
        extra: list[Word] = []
        arguments = node.children_by_field_name("argument")
        for child in node.named_children:
            if child.type == "heredoc_body":
                if expands:
                    self.expanding(self.text(child), "heredoc")
            elif child.type in _REDIRECTS:
                extra.extend(self.redirect(child))
            elif child in arguments:
                extra.append(self.value(child))
            elif child.type not in ("heredoc_start", "heredoc_end"):
                self.walk(child)  # what follows the operator: a pipeline, a list
        return extra

    # Words

    def words(self, nodes: list[Node]) -> list[Word]:
        """Nodes grouped into words: adjacent nodes make one word, a blank ends it."""
        groups: list[list[Node]] = []
        for node in nodes:
            if groups and groups[-1][-1].end_byte == node.start_byte:
                groups[-1].append(node)
            else:
                groups.append([node])
        return [self.parts(group) for group in groups]

    def parts(self, nodes: list[Node], context: _Context = "unquoted") -> Word:
        """The word made of adjacent parts (``a"b"$c``)."""
        word = Word()
        for index, node in enumerate(nodes):
            word.add(self.part(node, nodes[index + 1] if index + 1 < len(nodes) else None, context))
        return word

    def part(self, node: Node, following: Node | None, context: _Context = "unquoted") -> Word:
        if node.is_named:
            return self.value(node, context)
        text = self.text(node)
        if (
            text == "$"
            and following is not None
            and following.type == "string"
            and following.start_byte == node.end_byte
        ):
            return Word()  # $"...": a translated string, the $ is not part of it
        return unquoted_word(text)

    def value(self, node: Node, context: _Context = "unquoted") -> Word:
        if not self.deeper():
            self.depth -= 1
            return Word.expansion(self.text(node))
        try:
            return self._value(node, context)
        finally:
            self.depth -= 1

    def _value(self, node: Node, context: _Context) -> Word:
        kind, text = node.type, self.text(node)
        if kind == "string":
            return self.double_quoted(node)
        if kind == "translated_string":
            return self.parts(node.children, context)
        if kind == "raw_string":
            return Word.literal(text[1:-1])
        if kind == "ansi_c_string":
            return Word.literal(ansi_c(text[2:-1]))
        if kind == "concatenation":
            return self.parts(node.children, context)
        if kind == "expansion":
            self.expansion(node, context)
            return Word.expansion(text)
        if kind == "command_substitution":
            self.substitution(node, context)
            return Word.expansion(text)
        if kind in ("simple_expansion", "process_substitution", "arithmetic_expansion"):
            for child in node.named_children:
                self.walk(child)
            return Word.expansion(text)
        if kind == "array":
            for child in node.named_children:
                self.value(child)
            return Word.expansion(text)
        for child in node.named_children:
            self.walk(child)
        word = unquoted_word(text)
        if not node.named_children and self.expanding(text, context):
            word.expands = True  # tree-sitter left an expansion as text: `a` in ${x:-`a`}
        return word

    def double_quoted(self, node: Node) -> Word:
        word = Word()
        position = node.start_byte + 1
        for child in node.children[1:]:
            closing = child.type == '"' and child.end_byte == node.end_byte
            # text tree-sitter leaves out of the parts (the closing token holds the blanks
            # before it)
            end = node.end_byte - 1 if closing else child.start_byte
            if end > position:
                gap = self.source[position:end].decode("utf-8", "surrogatepass")
                word.add(Word.literal(double_quoted(gap)))
            if closing:
                break
            if child.type == "string_content":
                word.add(Word.literal(double_quoted(self.text(child))))
            elif child.is_named:
                word.add(self.value(child, "double"))
            else:
                word.add(Word.literal(self.text(child)))
            position = child.end_byte
        return word

    def expansion(self, node: Node, context: _Context) -> None:
        """``${...}``: its operands may run commands, ``${x:-$(cmd)}``."""
        for child in node.named_children:
            if child.type == "raw_string":
                if context != "unquoted":  # "${x:-'$(cmd)'}" runs cmd
                    self.expanding(self.text(child)[1:-1], context)
            elif child.type in ("variable_name", "special_variable_name"):
                continue
            else:
                self.value(child, context)

    def substitution(self, node: Node, context: _Context) -> None:
        if node.children and node.children[0].type == "`":
            text = self.text(node)
            if len(text) < 2 or backtick_end(text, 1) != len(text) - 1:
                self.unknown(f"a backtick substitution this checker cannot read: {text}")
                return
            self.script(in_backticks(text[1:-1], quoted=context == "double"))
            return
        if _semicolon_after_heredoc(node):
            self.unknown(
                "a here-document inside $(...) followed by ';' (bash 5.2 joins the "
                f"commands around that ';' into one): {self.text(node)[:40]}"
            )
        for child in node.children:
            self.walk(child)

    def expanding(self, text: str, context: _Context) -> bool:
        """Run the substitutions in text where only ``$``, backticks and backslashes are
        special (a here-document body, a parameter default). True if it expands."""
        expands = False
        index = 0
        while index < len(text):
            char = text[index]
            following = text[index + 1 : index + 2]
            if char == "\\":
                index += 2
                continue
            if char == "`":
                end = backtick_end(text, index + 1)
                if end < 0:
                    self.unknown(f"an unterminated backtick: {text[index:][:40]}")
                    return True
                self.script(in_backticks(text[index + 1 : end], quoted=context == "double"))
                expands, index = True, end + 1
                continue
            if char == "$" and following in ("(", "{", "["):
                expands = True
                index += self.embedded(text[index:], context)
                continue
            if char == "$" and (
                following.isalnum() or following in ("_", "@", "*", "#", "?", "-", "$", "!")
            ):
                expands = True
            index += 1
        return expands

    def embedded(self, text: str, context: _Context) -> int:
        """Read the expansion ``text`` starts with; return its length. It ends at the
        first closing character where it parses whole, so text after it cannot disturb
        it."""
        for end in [i + 1 for i, char in enumerate(text) if char in ")}]"][:_MAX_TRIES]:
            source, root = _normalized(b": " + text[:end].encode("utf-8", "surrogatepass"))
            node = _first_argument(root)
            if (
                node is not None
                and (node.start_byte, node.end_byte) == (2, len(source))
                and not node.has_error
                and node.type in _EMBEDDED
            ):
                _Reader(self.found, source, self.depth).value(node, context)
                return end
        self.unknown(f"an expansion this checker cannot read: {text[:40]}")
        return len(text)


def _first_argument(root: Node) -> Node | None:
    """The first argument of ``: ARG...``, or its first part when it is a concatenation."""
    if root.named_child_count == 0 or root.named_children[0].type != "command":
        return None
    arguments = root.named_children[0].children_by_field_name("argument")
    node = arguments[0] if arguments else None
    while node is not None and node.type == "concatenation" and node.children:
        node = node.children[0]
    return node


def _semicolon_after_heredoc(substitution: Node) -> bool:
    """Whether a ``$(...)`` has a ``;`` after a here-document in it, which bash 5.2
    drops, running ``printf a ; printf b`` as ``printf a printf b``."""
    heredoc = -1
    stack = list(reversed(substitution.children))
    while stack:
        node = stack.pop()
        if node.type == "heredoc_redirect" and heredoc < 0:
            heredoc = node.start_byte
        elif node.type == ";" and heredoc >= 0 and node.start_byte > heredoc:
            return True
        if node.type not in ("command_substitution", "process_substitution"):
            stack.extend(reversed(node.children))
    return False
