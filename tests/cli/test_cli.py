"""The command line, run as a real subprocess against the scripted server.

Every run has a timeout, so a process that hangs instead of exiting fails its test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from opencode_python import __version__
from opencode_python.testing import Fault, ScriptedLLMServer, ScriptedToolCall, Turn

from ..local_model import needs_local_model

MODEL = "openai/gpt-4.1-mini"


def cli(
    args: list[str],
    tmp_path: Path,
    *,
    timeout: float = 60,
    base_env: dict[str, str] | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    environment = {
        **(os.environ if base_env is None else base_env),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "opencode_python.cli", *args],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_against(
    server: ScriptedLLMServer, args: list[str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """``opencode-python run ARGS`` with the OpenAI wire pointed at ``server``."""
    return cli(
        ["run", *args],
        tmp_path,
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=server.openai_base_url,
    )


def assert_user_error(done: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    """Exit ``code`` and one ``error:`` line that says ``message``; no traceback."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    assert message in errors[0]


def stored_sessions(tmp_path: Path) -> list[str]:
    """The ids ``opencode-python sessions`` lists."""
    listed = cli(["sessions"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    if listed.stdout.strip() == "no sessions yet":
        return []
    return [line.split()[0] for line in listed.stdout.splitlines()]


def test_run_streams_the_answer_and_sessions_lists_it(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="Hello from the scripted model.")]) as server:
        ran = cli(
            ["run", "say hello", "--model", "openai/gpt-4.1-mini"],
            tmp_path,
            OPENAI_API_KEY="test-key",
            OPENAI_BASE_URL=server.openai_base_url,
        )
    assert ran.returncode == 0, ran.stderr
    assert "Hello from the scripted model." in ran.stdout
    assert "model openai/gpt-4.1-mini" in ran.stderr

    listed = cli(["sessions"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "say hello" in listed.stdout
    session_id = listed.stdout.split()[0]

    with ScriptedLLMServer([Turn(text="Still here.")]) as server:
        again = cli(
            ["run", "again", "--model", "openai/gpt-4.1-mini", "--session", session_id],
            tmp_path,
            OPENAI_API_KEY="test-key",
            OPENAI_BASE_URL=server.openai_base_url,
        )
        history = server.requests[0].messages
    assert [m["content"] for m in history if m["role"] == "user"] == ["say hello", "again"]
    assert again.returncode == 0, again.stderr
    assert f"session {session_id}" in again.stderr


@needs_local_model
def test_run_answers_offline_with_no_configuration(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    ran = cli(["run", "hello"], tmp_path, timeout=300, base_env=env)
    assert ran.returncode == 0, ran.stderr
    assert "model local/smollm2-135m (in-process, offline" in ran.stderr
    assert ran.stdout.strip()
    assert "1 step(s)" in ran.stderr


def test_run_asks_at_the_terminal_when_a_rule_says_ask(tmp_path: Path) -> None:
    turns = [
        Turn(tool_calls=[ScriptedToolCall("bash", {"command": "echo approved-run"})]),
        Turn(text="The command ran."),
    ]
    with ScriptedLLMServer(turns) as server:
        env = {
            **os.environ,
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": server.openai_base_url,
            "OPENCODE_PERMISSION": '{"bash": "ask"}',
            "NO_COLOR": "1",
        }
        child = pexpect.spawn(
            sys.executable,
            ["-m", "opencode_python.cli", "run", "echo it", "--model", "openai/gpt-4.1-mini"],
            env=env,
            cwd=str(tmp_path),
            encoding="utf-8",
            timeout=30,
        )
        child.expect(r"wants \S*bash\S* on echo approved-run")
        child.expect(r"always would allow: \S*echo \*")
        child.expect(r"allow once \(y\), always \(a\), reject \(n\)")
        child.sendline("y")
        child.expect("The command ran.")
        child.expect(pexpect.EOF)
        child.close()
        sent_back = server.requests[1].tool_results
    assert child.exitstatus == 0
    assert "approved-run" in sent_back[0][1]


# --- options -------------------------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    done = cli(["--version"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"opencode-python {__version__}\n"


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["sessions", "--help"]])
def test_help_is_plain_text(tmp_path: Path, args: list[str]) -> None:
    done = cli(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: opencode-python ")
    for markup in ("[/", "[red]", "[dim]", "[bold", "``", "\x1b"):
        assert markup not in done.stdout
    if args == ["run", "--help"]:
        assert "--agent NAME" in done.stdout
        assert "--model PROVIDER/MODEL" in done.stdout


def test_agent_runs_the_named_agent(tmp_path: Path) -> None:
    (tmp_path / "opencode.json").write_text(
        json.dumps({"agent": {"reviewer": {"prompt": "You review code.", "mode": "primary"}}})
    )
    with ScriptedLLMServer([Turn(text="Looks good.")]) as server:
        ran = run_against(server, ["review it", "--model", MODEL, "--agent", "reviewer"], tmp_path)
        system = server.requests[0].system_text
    assert ran.returncode == 0, ran.stderr
    assert "You review code." in system
    assert "Looks good." in ran.stdout
    assert "agent reviewer" in ran.stderr


# --- user errors: a message, exit code 2, no session left behind ---------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope"], "model 'nope' must be named 'provider/model'"),
        (["--model", "openai"], "model 'openai' must be named 'provider/model'"),
        (["--model", "nope/x"], "Unknown provider 'nope' (configured: none; built in: openai, "),
        (["--model", MODEL], "No API key for openai. Set OPENAI_API_KEY "),
        (["--model", "anthropic/claude-sonnet-4-5"], "Set ANTHROPIC_API_KEY "),
        (["--agent", "nope"], "no agent named 'nope'; agents: build, explore, general, plan"),
        (["--session", "ses_nope"], "no session 'ses_nope'; 'opencode-python sessions' lists"),
    ],
)
def test_a_usage_error_is_one_line_and_code_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = cli(["run", "hello", *args], tmp_path)
    assert_user_error(done, 2, message)
    assert done.stdout == ""
    assert stored_sessions(tmp_path) == []


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            '{\n  "model": "openai/gpt-4.1-mini"\n  "small_model": "openai/gpt-4.1-mini"\n}\n',
            ":3:3: invalid JSON",
        ),
        (
            '{\n  "provider": {\n    "openai": {"models": 3}\n  }\n}\n',
            ":3: provider.openai.models: ",
        ),
        ('{\n  "agent": {"a": {"temperature": "hot"}}\n}\n', ":2: agent.a.temperature: "),
    ],
)
@pytest.mark.parametrize("command", [["run", "hello", "--model", MODEL], ["sessions"]])
def test_a_broken_config_file_is_named_and_the_process_exits(
    tmp_path: Path, text: str, where: str, command: list[str]
) -> None:
    config = tmp_path / "opencode.json"
    config.write_text(text)
    done = cli(command, tmp_path, OPENAI_API_KEY="test-key")
    assert_user_error(done, 2, f"{config}{where}")


# --- failed runs: code 1, and a session only if the model said something ------------------


def test_a_run_that_fails_before_the_model_answers_leaves_no_session(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(fault=Fault.status(401))]) as server:
        ran = run_against(server, ["hello", "--model", MODEL], tmp_path)
    assert_user_error(ran, 1, "OPENAI_API_KEY")
    assert stored_sessions(tmp_path) == []


def test_a_run_that_fails_after_the_model_answered_keeps_its_session(tmp_path: Path) -> None:
    turns = [
        Turn(tool_calls=[ScriptedToolCall("bash", {"command": "echo one"})]),
        Turn(fault=Fault.status(400)),
    ]
    with ScriptedLLMServer(turns) as server:
        ran = run_against(server, ["hello", "--model", MODEL, "--yes"], tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert len(stored_sessions(tmp_path)) == 1


def test_a_failed_run_in_an_existing_session_keeps_it(tmp_path: Path) -> None:
    with ScriptedLLMServer([Turn(text="First answer.")]) as server:
        assert run_against(server, ["hello", "--model", MODEL], tmp_path).returncode == 0
    [session_id] = stored_sessions(tmp_path)
    with ScriptedLLMServer([Turn(fault=Fault.status(401))]) as server:
        ran = run_against(server, ["again", "--model", MODEL, "--session", session_id], tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert stored_sessions(tmp_path) == [session_id]


# --- output --------------------------------------------------------------------------------


def test_piped_output_is_not_wrapped_nor_read_as_markup(tmp_path: Path) -> None:
    answer = " ".join(f"word{n}" for n in range(60)) + " [red]not red[/red] :smile:"
    command = "echo " + "x" * 150 + " [bold]"
    turns = [
        Turn(tool_calls=[ScriptedToolCall("bash", {"command": command})]),
        Turn(text=answer),
    ]
    with ScriptedLLMServer(turns) as server:
        ran = cli(
            ["run", "hello", "--model", MODEL, "--yes"],
            tmp_path,
            OPENAI_API_KEY="test-key",
            OPENAI_BASE_URL=server.openai_base_url,
            COLUMNS="80",  # what a console that wraps would cut at
        )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert answer in lines
    assert f"→ bash {json.dumps({'command': command})}" in lines
    assert any(line.startswith("✓ bash") for line in lines)


def test_run_command_sends_the_expanded_template(tmp_path: Path) -> None:
    command = tmp_path / ".opencode" / "command" / "review.md"
    command.parent.mkdir(parents=True)
    command.write_text(
        "---\ndescription: Review code\n---\nReview $1 for bugs. Branch: !`echo main`\n"
    )
    with ScriptedLLMServer([Turn(text="No bugs found.")]) as server:
        ran = run_against(server, ["--command", "review", "src/", "--model", MODEL], tmp_path)
        sent = server.requests[0].last_user_text
    assert ran.returncode == 0, ran.stderr
    assert sent == "Review src/ for bugs. Branch: main"
    assert "No bugs found." in ran.stdout
    assert any("/review src/" in line for line in cli(["sessions"], tmp_path).stdout.splitlines())


def test_an_unknown_command_and_a_missing_message_are_usage_errors(tmp_path: Path) -> None:
    done = cli(["run", "--command", "nope", "--model", MODEL], tmp_path, OPENAI_API_KEY="k")
    assert_user_error(done, 2, "no command named 'nope'")
    assert_user_error(cli(["run"], tmp_path), 2, "give a MESSAGE to send, or --command NAME")


PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def test_run_json_schema_prints_only_the_validated_json(tmp_path: Path) -> None:
    """The OpenAI wire to a compatible server is asked in tool mode: the model calls
    final_result, first wrongly (the error goes back), then rightly."""
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(PERSON_SCHEMA))
    with ScriptedLLMServer() as server:
        server.add_turns(
            [
                Turn(tool_calls=[ScriptedToolCall("final_result", {"name": "Ada"})]),
                Turn(tool_calls=[ScriptedToolCall("final_result", {"name": "Ada", "age": 36})]),
            ]
        )
        result = run_against(
            server, ["--json-schema", str(schema), "Who wrote the first program?"], tmp_path
        )
        second = server.requests[1]
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"name": "Ada", "age": 36}
    assert "'age' is a required property" in second.tool_results[0][1]
    assert "final_result" in result.stderr  # progress goes to stderr, not into the JSON


def test_run_json_schema_mistakes_are_usage_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    not_a_schema = tmp_path / "list.json"
    not_a_schema.write_text("[1, 2]")
    missing = cli(["run", "--json-schema", "nope.json", "hi"], tmp_path)
    assert missing.returncode == 2
    assert "cannot read nope.json" in missing.stderr
    bad = cli(["run", "--json-schema", str(broken), "hi"], tmp_path)
    assert bad.returncode == 2
    assert "is not JSON" in bad.stderr
    wrong = cli(["run", "--json-schema", str(not_a_schema), "hi"], tmp_path)
    assert wrong.returncode == 2
    assert "must hold a JSON schema object" in wrong.stderr
    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"type": "objekt"}')
    refused = cli(["run", "--json-schema", str(invalid), "hi"], tmp_path)
    assert refused.returncode == 2
    assert "not a valid JSON schema" in refused.stderr
    assert "session" not in refused.stderr  # said before any session was made


def test_run_json_schema_that_never_validates_fails_with_the_answer(tmp_path: Path) -> None:
    schema = tmp_path / "person.json"
    schema.write_text(json.dumps(PERSON_SCHEMA))
    with ScriptedLLMServer() as server:
        server.add_turns([Turn(text="I do not know.") for _ in range(3)])
        result = run_against(server, ["--json-schema", str(schema), "Who?"], tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "did not validate" in result.stderr
    assert "I do not know." in result.stderr
