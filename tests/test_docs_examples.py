"""Every ```python block of the user docs runs, as written, in a fresh interpreter.

Each block runs alone (no state carries over from the block before it), in a temp
directory, with the user's data and config dirs pointed into that directory, real
model requests blocked and no API keys in the environment: the examples must work
offline, against the scripted model of ``opencode_python.testing``. A block whose
first line is ``# not run`` (or ``# not run: why``) is shown to readers but skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from opencode_python.providers.guard import BLOCK_ENV

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"

# The pages whose examples are promised to run. A new page with runnable examples
# belongs here too.
RUNNABLE_DOCS = (
    "sdk.md",
    "sessions.md",
    "events.md",
    "tools.md",
    "testing.md",
    "storage.md",
    "permissions.md",
    "providers.md",
    "builtin-tools.md",
    "skills.md",
    "commands.md",
    "config.md",
    "agents.md",
    "context.md",
    "memory.md",
    "delegation.md",
    "local-model.md",
    "mcp.md",
    "output.md",
    "server.md",
)

NOT_RUN_MARKER = "# not run"
BLOCK_TIMEOUT_S = 60

# Environment variables that would let an example reach a real model or change which
# provider it picks.
_SCRUBBED_SUFFIXES = ("_API_KEY", "_BASE_URL")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced ```python block: where it is and what it says."""

    doc: str
    line: int  # 1-based line of the opening fence
    code: str

    @property
    def name(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def skipped(self) -> bool:
        first = self.code.lstrip("\n").split("\n", 1)[0].strip().lower()
        return first == NOT_RUN_MARKER or first.startswith(NOT_RUN_MARKER + ":")


def python_blocks(doc: str, text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, in order (fences at column 0)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        fence = lines[index].strip()
        if lines[index].startswith("```") and fence[3:].strip().lower() in ("python", "py"):
            start = index
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].startswith("```"):
                body.append(lines[index])
                index += 1
            if index == len(lines):
                raise ValueError(f"{doc}:{start + 1}: a ```python block is never closed")
            blocks.append(Block(doc, start + 1, "\n".join(body) + "\n"))
        index += 1
    return blocks


def _collect() -> list[object]:
    params: list[object] = []
    for doc in RUNNABLE_DOCS:
        path = DOCS_DIR / doc
        if not path.is_file():
            params.append(pytest.param(Block(doc, 0, ""), id=f"{doc}:missing"))
            continue
        for block in python_blocks(doc, path.read_text(encoding="utf-8")):
            marks = [pytest.mark.skip(reason="marked '# not run'")] if block.skipped else []
            params.append(pytest.param(block, id=block.name, marks=marks))
    return params


def _environment(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(_SCRUBBED_SUFFIXES) and not key.startswith("PYTEST_")
    }
    env.update(
        {
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            BLOCK_ENV: "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _numbered(code: str) -> str:
    return "\n".join(f"{n:4} | {line}" for n, line in enumerate(code.splitlines(), 1))


@pytest.mark.parametrize("block", _collect())
def test_doc_example_runs(block: Block, tmp_path: Path) -> None:
    if block.line == 0:
        pytest.fail(f"docs/{block.doc} is listed in RUNNABLE_DOCS but does not exist")
    work = tmp_path / "work"
    work.mkdir()
    script = work / "example.py"
    script.write_text(block.code, encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=work,
            env=_environment(tmp_path / "home"),
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"docs/{block.name}: the example ran over {BLOCK_TIMEOUT_S} s")
    if done.returncode != 0:
        pytest.fail(
            f"docs/{block.name}: the example exited with {done.returncode}.\n"
            f"--- code ---\n{_numbered(block.code)}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}\n"
            f"Fix the example (or the code it documents); a block that cannot run "
            f"offline may start with '{NOT_RUN_MARKER}'.",
            pytrace=False,
        )


def test_block_extraction_and_the_not_run_marker() -> None:
    text = "\n".join(
        [
            "# Title",
            "```python",
            "print(1)",
            "```",
            "```bash",
            "echo no",
            "```",
            "```python",
            "# not run",
            "print(2)",
            "```",
            "```py",
            "# not run: needs a real key",
            "```",
        ]
    )
    blocks = python_blocks("x.md", text)
    assert [(b.line, b.code, b.skipped) for b in blocks] == [
        (2, "print(1)\n", False),
        (8, "# not run\nprint(2)\n", True),
        (12, "# not run: needs a real key\n", True),
    ]
    with pytest.raises(ValueError, match="never closed"):
        python_blocks("x.md", "```python\nprint(1)\n")
