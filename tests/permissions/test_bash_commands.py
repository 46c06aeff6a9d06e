import pytest
from hypothesis import given
from hypothesis import strategies as st

from opencode_python.core.errors import ToolError
from opencode_python.permissions import command_prefix, split_commands, wildcard_match


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
        ("echo $(c)", ["echo $(c)", "c"]),
        ("echo `c`", ["echo `c`", "c"]),
        ("x=$(a $(b))", ["x=$(a $(b))", "a $(b)", "b"]),
        ("diff <(ls a) <(ls b)", ["diff <(ls a) <(ls b)", "ls a", "ls b"]),
        ("echo ${X:-$(c)}", ["echo ${X:-$(c)}", "c"]),
        ("echo $(( 1 + $(c) ))", ["echo $(( 1 + $(c) ))", "c"]),
        ("a=(1 $(c))", ["a=(1 $(c))", "c"]),
        # quotes and escapes do not split
        ('echo "a && b"', ['echo "a && b"']),
        ("echo 'a; b | c'", ["echo 'a; b | c'"]),
        ('echo "a  b"  c', ['echo "a  b" c']),
        ("echo a\\;b \\&\\& c", ["echo a\\;b \\&\\& c"]),
        ("echo a \\\n  b", ["echo a b"]),
        # but double quotes still run substitutions; single quotes do not
        ('echo "$(rm -rf /)"', ['echo "$(rm -rf /)"', "rm -rf /"]),
        ("echo '$(rm -rf /)'", ["echo '$(rm -rf /)'"]),
        ('echo "`rm x`"', ['echo "`rm x`"', "rm x"]),
        # redirections stay with their command
        ("ls > out 2>&1", ["ls > out 2>&1"]),
        ("make &> log && echo ok", ["make &> log", "echo ok"]),
        ("echo hi >| f", ["echo hi >| f"]),
        ("cat < in | sort", ["cat < in", "sort"]),
        # shell syntax words are not commands
        ("if test -f x; then rm x; else touch x; fi", ["test -f x", "rm x", "touch x"]),
        ("for f in $(ls); do rm $f; done", ["ls", "rm $f"]),
        ("while read l; do echo $l; done < f", ["read l", "echo $l", "< f"]),
        ("! grep x f", ["grep x f"]),
        ("f() { rm -rf /; }", ["f", "rm -rf /"]),
        # comments
        ("ls # && rm -rf /", ["ls"]),
        ("# only a comment", []),
        ("echo a#b", ["echo a#b"]),
        # here-documents: the body is data, but an unquoted one still substitutes
        ("cat <<EOF\nx; y\nEOF\nls", ["cat <<EOF", "ls"]),
        ("cat <<EOF > f\n$(rm y)\nEOF", ["cat <<EOF > f", "rm y"]),
        ("cat << 'EOF'\n$(rm y)\nEOF", ["cat << 'EOF'"]),
        ("cat <<-EOF\n\tbody\n\tEOF\necho done", ["cat <<-EOF", "echo done"]),
        ("cat <<< 'a; b'", ["cat <<< 'a; b'"]),
        ("", []),
        ("  ;  ", []),
    ],
)
def test_split(line: str, commands: list[str]) -> None:
    assert split_commands(line) == commands


def test_unterminated_input_does_not_raise() -> None:
    assert split_commands('echo "a; b') == ['echo "a; b']
    assert split_commands("echo $(ls") == ["echo $(ls", "ls"]
    assert split_commands("echo \\") == ["echo \\"]


def test_nesting_depth() -> None:
    assert split_commands("echo " + "$(" * 20 + "ls" + ")" * 20)[-1] == "ls"
    for line in ["(" * 10_000, "$(" * 10_000, '"${a:-' * 10_000, "$((" * 10_000]:
        with pytest.raises(ToolError, match="too deeply"):
            split_commands(line)


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
def test_any_text_splits_without_crashing(line: str) -> None:
    try:
        commands = split_commands(line)
    except ToolError:
        return
    for command in commands:
        assert command
        assert command[0] not in " \t\n"


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
