import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencode_python.permissions import command_prefix, split_commands, wildcard_match
from opencode_python.permissions.shell import analyze


@pytest.mark.parametrize(
    ("line", "commands"),
    [
        ("ls", ["ls"]),
        ("git  status\t--short", ["git status --short"]),
        ("cd x && rm -rf /", ["cd x", "rm -rf /"]),
        ("a || b", ["a", "b"]),
        ("a; b;", ["a", "b"]),
        ("a | b", ["a", "b"]),
        ("a |& b", ["a", "b"]),
        ("a & b", ["a", "b"]),
        ("a\nb\n\nc", ["a", "b", "c"]),
        ("(a; b)", ["a", "b"]),
        ("(a && (b | c))", ["a", "b", "c"]),
        ("{ a; b; }", ["a", "b"]),
        # substitutions run first, so they come before the command that uses them
        ("echo $(c)", ["c", "echo $(c)"]),
        ("x=$(a $(b))", ["b", "a $(b)"]),
        ("diff <(ls a) <(ls b)", ["ls a", "ls b", "diff <(ls a) <(ls b)"]),
        ("echo ${X:-$(c)}", ["c", "echo ${X:-$(c)}"]),
        ("echo $(( 1 + $(c) ))", ["c", "echo $(( 1 + $(c) ))"]),
        ("a=(1 $(c))", ["c"]),
        # each command is its words after quote removal: quotes hide nothing
        ('echo "a && b"', ["echo a && b"]),
        ("echo 'a; b | c'", ["echo a; b | c"]),
        ('echo "a  b"  c', ["echo a  b c"]),
        ("echo a\\;b \\&\\& c", ["echo a;b && c"]),
        ("echo a \\\n  b", ["echo a b"]),
        ("r''m -rf x", ["rm -rf x"]),
        ("\\rm x", ["rm x"]),
        ("$'\\x72m' x", ["rm x"]),
        ('"r"m x', ["rm x"]),
        # double quotes still run substitutions; single quotes do not
        ('echo "$(rm -rf /)"', ["rm -rf /", "echo $(rm -rf /)"]),
        ("echo '$(rm -rf /)'", ["echo $(rm -rf /)"]),
        # ...except inside a parameter default in double quotes, where bash runs them
        ("echo \"${x:-'$(rm v)'}\"", ["rm v", "echo ${x:-'$(rm v)'}"]),
        # redirections are not part of the command: write targets are checked as edits
        ("ls > out 2>&1", ["ls"]),
        ("make &> log && echo ok", ["make", "echo ok"]),
        ("cat < in | sort", ["cat", "sort"]),
        # shell syntax words are not commands
        ("if test -f x; then rm x; else touch x; fi", ["test -f x", "rm x", "touch x"]),
        ("for f in $(ls); do rm $f; done", ["ls", "rm $f"]),
        ("while read l; do echo $l; done < f", ["read l", "echo $l"]),
        ("! grep x f", ["grep x f"]),
        ("f() { rm -rf /; }", ["rm -rf /"]),
        # comments
        ("ls # && rm -rf /", ["ls"]),
        ("# only a comment", []),
        ("echo a#b", ["echo a#b"]),
        # here-documents: the body is data, but an unquoted one still substitutes
        ("cat <<EOF\nx; y\nEOF\nls", ["cat", "ls"]),
        ("cat <<EOF > f\n$(rm y)\nEOF", ["rm y", "cat"]),
        ("cat << 'EOF'\n$(rm y)\nEOF", ["cat"]),
        ("cat <<-EOF\n\tbody\n\tEOF\necho done", ["cat", "echo done"]),
        # a here-string is input, but its substitutions run
        ("cat <<< 'a; b'", ["cat"]),
        ("cat <<< $(rm x)", ["rm x", "cat"]),
        # wrappers: the command they start is checked too
        ("sudo rm -rf /", ["sudo rm -rf /", "rm -rf /"]),
        ("find . -name x -exec rm {} +", ["find . -name x -exec rm {} +", "rm {}"]),
        ("bash -c 'ls; rm x'", ["bash -c ls; rm x", "ls", "rm x"]),
        ("", []),
    ],
)
def test_split(line: str, commands: list[str]) -> None:
    assert split_commands(line) == commands


def test_backticks_run_their_commands() -> None:
    first, second = split_commands("echo `c`")
    assert first == "c"
    assert second.startswith("echo ")


def test_what_is_not_understood_is_named() -> None:
    for line, reason in [
        ('echo "a; b', "a syntax error"),
        ("echo $(ls", "a syntax error"),
        ("$tool x", "a command name only known when it runs: $tool"),
        ('eval "$cmd"', "a string run as commands, only known when it runs"),
        ("echo hi > $out", "a redirection to a file only known when it runs"),
        ("(" * 10_000, "a syntax error"),
        ("$(" * 10_000, "a syntax error"),
    ]:
        unknown = analyze(line).unknown
        assert unknown, line
        assert any(reason in found for found in unknown), (line, unknown)


def test_a_write_redirection_is_listed_with_its_target() -> None:
    found = analyze("echo hi >| 'a b' 2>/dev/null; sort < in >> log 2>&1").redirections
    assert [(r.target, r.write) for r in found] == [("a b", True), ("in", False), ("log", True)]


@pytest.mark.parametrize(
    ("command", "prefix"),
    [
        ("git status --short", "git status *"),
        ("git", "git *"),
        ("npm run build", "npm run *"),
        ("npm install", "npm install *"),
        ("ls -la", "ls *"),
        ("ls", "ls *"),
        ("cargo test --release", "cargo test *"),
        ("docker compose up -d", "docker compose up *"),
        ("docker ps", "docker ps *"),
        ("kubectl get pods", "kubectl get *"),
        ("go test ./...", "go test *"),
        ("pip install requests", "pip install *"),
        ("uv run pytest", "uv run *"),
        ("uv pip install x", "uv pip install *"),
        ("python -m pytest -x", "python -m pytest *"),
        ("python script.py --flag", "python script.py *"),
        ("yarn add react", "yarn add *"),
        ("pnpm install", "pnpm install *"),
        ("git  commit -m 'a b'", "git commit *"),
        # assignments are kept: "FOO=1 *" would approve any command
        ("FOO=1 BAR=2 git status", "FOO=1 BAR=2 git status *"),
        # commands that run other commands are approved exactly
        ("sudo apt install x", "sudo apt install x"),
        ("xargs rm", "xargs rm"),
        ("", ""),
    ],
)
def test_prefix(command: str, prefix: str) -> None:
    assert command_prefix(command) == prefix


def test_prefix_pattern_matches_its_command() -> None:
    for command in ["git status --short", "ls", "npm run build", "FOO=1 make test"]:
        assert wildcard_match(command_prefix(command), command)
    assert not wildcard_match(command_prefix("git status"), "git push")


@given(st.text(alphabet="ab $(){}`'\"\\;&|<>#=\n\t-", max_size=60))
def test_any_text_is_read_without_crashing(line: str) -> None:
    analysis = analyze(line)
    for command in analysis.commands:
        assert command.words, (line, analysis)


# No vowels, so no word is a shell keyword such as "do" or "fi".
_word = st.from_regex(r"[b-df-hj-np-tv-z0-9./-]{1,6}", fullmatch=True)
_words = st.lists(_word, min_size=1, max_size=4)


@given(
    st.lists(_words, min_size=1, max_size=5),
    st.lists(st.sampled_from(["&&", "||", ";", "|", "\n", "&", " && ", " ; ", " | "])),
)
def test_simple_chains_split_into_their_commands(
    commands: list[list[str]], separators: list[str]
) -> None:
    line = "  ".join(commands[0])
    for index, words in enumerate(commands[1:]):
        line += (separators[index] if index < len(separators) else ";") + " ".join(words)
    assert split_commands(line) == [" ".join(words) for words in commands]
