"""The grep tool: the pure-Python search always, ripgrep where installed, same output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from opencode_python.core.errors import ToolError
from opencode_python.tools.builtin.grep import GrepTool

from .file_tool_support import Asks, make_ctx

HAS_RG = shutil.which("rg") is not None
needs_rg = pytest.mark.skipif(not HAS_RG, reason="ripgrep (rg) is not installed")


def write(root: Path, name: str, data: str | bytes, mtime: float) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, "src/app.py", "import os\n\ndef handler():\n    return os.getcwd()\n", 5_000)
    write(tmp_path, "src/util/strings.py", "def handler_name(x):\n    return x.upper()\n", 4_000)
    write(tmp_path, "web/ui.tsx", "export const handler = () => 1;\n", 3_000)
    write(tmp_path, "web/ui.ts", "// handler\n", 2_500)
    write(tmp_path, "docs/guide.md", "Call the handler.\r\nThen stop.\r\n", 2_000)
    write(tmp_path, ".github/workflow.yml", "run: handler\n", 1_500)
    write(tmp_path, "no_newline.txt", "last handler", 1_200)
    write(tmp_path, "unicode.txt", "naïve handler — ok\n", 1_100)
    write(tmp_path, "latin1.txt", b"caf\xe9 handler\n", 1_050)
    write(tmp_path, "blob.bin", b"handler\0\x01\x02", 1_000)
    write(tmp_path, "node_modules/lib/index.js", "handler\n", 9_000)
    write(tmp_path, ".venv/lib/site.py", "handler\n", 9_000)
    write(tmp_path, "pkg/build/gen.py", "handler\n", 9_000)
    write(tmp_path, "build", "handler in a file named build\n", 900)  # only dirs are junk
    os.symlink(tmp_path / "src", tmp_path / "linked")
    return tmp_path


async def grep(root: Path, *, use_ripgrep: bool, **args: object) -> str:
    result = await GrepTool(use_ripgrep=use_ripgrep).execute(dict(args), make_ctx(root))
    return result.output


async def test_python_search_output(tree: Path) -> None:
    output = await grep(tree, use_ripgrep=False, pattern=r"handler\b")
    assert output == "\n".join(
        [
            "Found 9 matches",
            f"{tree}/src/app.py:",
            "  Line 3: def handler():",
            "",
            f"{tree}/web/ui.tsx:",
            "  Line 1: export const handler = () => 1;",
            "",
            f"{tree}/web/ui.ts:",
            "  Line 1: // handler",
            "",
            f"{tree}/docs/guide.md:",
            "  Line 1: Call the handler.",
            "",
            f"{tree}/.github/workflow.yml:",
            "  Line 1: run: handler",
            "",
            f"{tree}/no_newline.txt:",
            "  Line 1: last handler",
            "",
            f"{tree}/unicode.txt:",
            "  Line 1: naïve handler — ok",
            "",
            f"{tree}/latin1.txt:",
            "  Line 1: caf\ufffd handler",
            "",
            f"{tree}/build:",
            "  Line 1: handler in a file named build",
        ]
    )


async def test_include_filters_by_glob(tree: Path) -> None:
    output = await grep(tree, use_ripgrep=False, pattern="handler", include="*.{ts,tsx}")
    assert output.splitlines()[1:] == [
        f"{tree}/web/ui.tsx:",
        "  Line 1: export const handler = () => 1;",
        "",
        f"{tree}/web/ui.ts:",
        "  Line 1: // handler",
    ]
    anchored = await grep(tree, use_ripgrep=False, pattern="handler", include="src/*.py")
    assert anchored.splitlines()[1] == f"{tree}/src/app.py:"
    assert "strings.py" not in anchored


async def test_a_single_file_and_no_match(tree: Path) -> None:
    output = await grep(tree, use_ripgrep=True, pattern="return", path="src/app.py")
    assert output == f"Found 1 match\n{tree}/src/app.py:\n  Line 4:     return os.getcwd()"
    assert await grep(tree, use_ripgrep=False, pattern="zzz") == "No files found"


async def test_cap_at_100_matches(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "hit\n" * 80, 2_000)
    write(tmp_path, "b.txt", "hit\n" * 80, 1_000)
    result = await GrepTool(use_ripgrep=False).execute({"pattern": "hit"}, make_ctx(tmp_path))
    lines = result.output.splitlines()
    assert lines[0] == "Found 160 matches (showing the first 100)"
    assert lines[-1] == "(Results are truncated. Use a more specific path, pattern or include.)"
    assert sum(line.startswith("  Line") for line in lines) == 100
    assert lines[-3] == "  Line 20: hit"  # b.txt, the older file, is cut
    assert result.metadata == {"matches": 160, "truncated": True}


async def test_invalid_regex_python(tree: Path) -> None:
    with pytest.raises(ToolError, match=r"Invalid regex '\(unclosed'"):
        await grep(tree, use_ripgrep=False, pattern="(unclosed")


async def test_missing_path_and_external_ask(tree: Path) -> None:
    with pytest.raises(ToolError, match="Path not found: nope"):
        await grep(tree, use_ripgrep=False, pattern="x", path="nope")
    project = tree / "src"
    asks = Asks()
    await GrepTool(use_ripgrep=False).execute(
        {"pattern": "x", "path": "../web"}, make_ctx(project, asks)
    )
    assert [c[:2] for c in asks.calls] == [("external_directory", [str(tree / "web/*")])]
    assert GrepTool().permission_patterns({"pattern": "x", "path": "web"}, make_ctx(tree)) == [
        "web"
    ]


@needs_rg
@pytest.mark.parametrize(
    ("pattern", "include"),
    [
        (r"handler\b", None),
        ("handler", None),
        ("^", None),
        (r"Then stop\.$", None),
        ("handler", "*.{ts,tsx}"),
        ("handler", "src/*.py"),
        ("handler", "**/*.py"),
        ("[A-Z]", "*.md"),
        ("naïve", None),
        ("x", "*.nothing"),
    ],
)
async def test_ripgrep_and_python_agree(tree: Path, pattern: str, include: str | None) -> None:
    args: dict[str, object] = {"pattern": pattern}
    if include is not None:
        args["include"] = include
    python = await grep(tree, use_ripgrep=False, **args)
    ripgrep = await grep(tree, use_ripgrep=True, **args)
    assert ripgrep == python


@needs_rg
async def test_ripgrep_and_python_agree_when_capped(tmp_path: Path) -> None:
    for n in range(30):
        write(tmp_path, f"d{n % 3}/f{n:02}.txt", "hit\nmiss\nhit\nhit\nhit\n", 1_000 + n // 2)
    python = await grep(tmp_path, use_ripgrep=False, pattern="hit")
    ripgrep = await grep(tmp_path, use_ripgrep=True, pattern="hit")
    assert ripgrep == python
    assert python.startswith("Found 120 matches (showing the first 100)")


@needs_rg
async def test_invalid_regex_ripgrep(tree: Path) -> None:
    with pytest.raises(ToolError, match=r"Invalid regex '\(unclosed'"):
        await grep(tree, use_ripgrep=True, pattern="(unclosed")


async def test_without_ripgrep_the_python_search_runs(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("opencode_python.tools.builtin.grep.shutil.which", lambda _: None)
    expected = await grep(tree, use_ripgrep=False, pattern="handler")
    assert await grep(tree, use_ripgrep=True, pattern="handler") == expected
