"""Run sdk_client.mjs against the REAL ``opencode serve``, with ScriptedLLMServer as its model.

Not a pytest test: a helper that proves the SDK script (and so the wire protocol it
expects) against OpenCode itself, offline. It starts a ScriptedLLMServer, writes an
``opencode.json`` whose custom provider ``scripted`` points at it, starts
``opencode serve --port 0`` in a throwaway git repository with ``HOME`` in a temp dir,
runs ``node sdk_client.mjs <url>`` and prints the script's JSON summary.

    npm install --prefix tests/server            # once: @opencode-ai/sdk
    npm install --prefix /tmp/oc opencode-linux-x64
    OPENCODE_BIN=/tmp/oc/node_modules/opencode-linux-x64/bin/opencode \\
        .venv/bin/python tests/server/run_real_opencode.py [--password PW] [--serve]

``--opencode PATH`` overrides ``OPENCODE_BIN``. ``--serve`` skips the SDK script and
keeps the scripted model and ``opencode serve`` running (prints the URL; SIGINT or
SIGTERM stops both) for poking with curl; its scripted model answers a prompt
mentioning "bash" with a bash tool call, and one mentioning "http error" with HTTP 400
(for session.error).
Exit status: the node script's (0 when every step passed).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from opencode_python.core.models import TokenUsage
from opencode_python.testing import (
    Fault,
    RecordedRequest,
    ScriptedLLMServer,
    ScriptedToolCall,
    Turn,
)

HERE = Path(__file__).resolve().parent
PROVIDER, MODEL = "scripted", "test-model"
PROMPT = "Say hello"
PERMISSION_PROMPT = "Please run the bash tool to echo hi"


def _is_title_request(request: RecordedRequest) -> bool:
    """OpenCode asks the model for a session title in a side request on the first prompt."""
    return "title generator" in request.system_text.lower()


def _is_agent_request(request: RecordedRequest) -> bool:
    return not _is_title_request(request)


def _after_tool_result(request: RecordedRequest) -> bool:
    return _is_agent_request(request) and bool(request.tool_results)


def _responder(request: RecordedRequest) -> Turn:
    """Answers what the queued turns do not: title requests, and (``--serve``) anything."""
    if _is_title_request(request):
        return Turn(text="Scripted Title")
    if request.messages and request.messages[-1].get("role") == "tool":
        return Turn(text="The tool ran; done.")
    if "http error" in request.last_user_text.lower():
        return Turn(fault=Fault.status(400))
    if "bash" in request.last_user_text.lower():
        return Turn(
            tool_calls=[ScriptedToolCall("bash", {"command": "echo hi", "description": "Say hi"})]
        )
    return Turn(text="Hello from the scripted model.")


def _script_turns() -> list[Turn]:
    usage = TokenUsage(input=11, output=7)
    return [
        # prompt 1: plain text
        Turn(
            text="Hello from the scripted model. This is a plain text answer.",
            usage=usage,
            when=_is_agent_request,
        ),
        # prompt 2: a bash call (asks permission under "bash": "ask"), then text
        Turn(
            tool_calls=[ScriptedToolCall("bash", {"command": "echo hi", "description": "Say hi"})],
            usage=usage,
            when=lambda r: (
                _is_agent_request(r)
                and PERMISSION_PROMPT in r.last_user_text
                and not r.tool_results
            ),
        ),
        Turn(text="The bash tool printed hi.", usage=usage, when=_after_tool_result),
    ]


def _opencode_config(openai_base_url: str) -> dict[str, object]:
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Scripted",
                "options": {"baseURL": openai_base_url, "apiKey": "sk-test"},
                "models": {MODEL: {}},
            }
        },
        "model": f"{PROVIDER}/{MODEL}",
        "share": "disabled",
        "autoupdate": False,
        "permission": {"bash": "ask"},
    }


def _make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# scratch repo for opencode serve\n")
    git = ["git", "-c", "user.email=test@example.com", "-c", "user.name=test"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


def _start_opencode(
    binary: str, repo: Path, home: Path, config: Path, password: str | None
) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCODE_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_STATE_HOME=str(home / ".local/state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        OPENCODE_CONFIG=str(config),
    )
    if password:
        env["OPENCODE_SERVER_PASSWORD"] = password
    proc = subprocess.Popen(
        [binary, "serve", "--port", "0", "--hostname", "127.0.0.1"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            match = re.search(r"listening on (http://\S+)", line)
            if match and not found:
                found.append(match.group(1).rstrip("/"))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60) or not found:
        proc.kill()
        raise SystemExit("opencode serve did not start:\n" + "\n".join(lines[-40:]))
    return proc, found[0], lines


def _wait_healthy(url: str, password: str | None) -> None:
    request = urllib.request.Request(f"{url}/global/health")
    if password:
        token = base64.b64encode(f"opencode:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    for _ in range(100):
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url}/global/health never answered 200")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--opencode",
        default=os.environ.get("OPENCODE_BIN") or shutil.which("opencode"),
        help="the opencode binary (default: $OPENCODE_BIN, else opencode on PATH)",
    )
    parser.add_argument(
        "--password", help="start the server with OPENCODE_SERVER_PASSWORD (basic auth)"
    )
    parser.add_argument(
        "--serve", action="store_true", help="only start everything and wait (Ctrl-C to stop)"
    )
    parser.add_argument("--node", default=shutil.which("node") or "node")
    args = parser.parse_args()
    if not args.opencode or not Path(args.opencode).exists():
        parser.error("no opencode binary: pass --opencode PATH or set OPENCODE_BIN")
    script = HERE / "sdk_client.mjs"
    # Stop cleanly (so `finally` stops opencode serve) on SIGTERM, and on SIGINT even
    # where a background shell ignores it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if not args.serve and not (HERE / "node_modules" / "@opencode-ai" / "sdk").is_dir():
        parser.error(f"@opencode-ai/sdk is not installed: run npm install --prefix {HERE}")

    with (
        tempfile.TemporaryDirectory(prefix="real-opencode-") as tmp,
        ScriptedLLMServer([] if args.serve else _script_turns(), responder=_responder) as llm,
    ):
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        repo = _make_repo(root)
        config = root / "opencode.json"
        config.write_text(json.dumps(_opencode_config(llm.openai_base_url), indent=2))
        proc, url, log = _start_opencode(args.opencode, repo, home, config, args.password)
        try:
            _wait_healthy(url, args.password)
            if args.serve:
                print(
                    f"opencode serve: {url}  (repo {repo}, scripted model {llm.openai_base_url})",
                    flush=True,
                )
                try:
                    while proc.poll() is None:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
                return 0
            env = dict(
                os.environ,
                OC_PROVIDER=PROVIDER,
                OC_MODEL=MODEL,
                OC_PROMPT_TEXT=PROMPT,
                OC_PERMISSION_PROMPT_TEXT=PERMISSION_PROMPT,
            )
            env.pop("OPENCODE_SERVER_PASSWORD", None)
            env.pop("OPENCODE_SERVER_USERNAME", None)
            if args.password:
                env["OPENCODE_SERVER_PASSWORD"] = args.password
            result = subprocess.run(
                [args.node, str(script), url], env=env, capture_output=True, text=True, timeout=180
            )
            sys.stdout.write(result.stdout)
            if result.returncode != 0:
                sys.stderr.write(result.stderr)
                sys.stderr.write(
                    "\n--- opencode serve output (tail) ---\n" + "\n".join(log[-40:]) + "\n"
                )
                sys.stderr.write(
                    f"--- scripted model: {len(llm.requests)} requests, "
                    f"{len(llm.remaining_turns)} turns left ---\n"
                )
            elif llm.remaining_turns:
                sys.stderr.write(
                    f"warning: {len(llm.remaining_turns)} scripted turns were not used\n"
                )
            return result.returncode
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    raise SystemExit(main())
