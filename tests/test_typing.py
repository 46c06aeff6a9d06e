"""``output_type`` is typed: mypy sees ``result.output`` as the type that was passed.

mypy runs on ``typing_cases/typed_output.py`` and each ``reveal_type`` must show the
type its comment names.
"""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "typing_cases" / "typed_output.py"
EXPECTED = {
    "Invoice": "tests.typing_cases.typed_output.Invoice",
    "int": "int",
    "list[str]": "list[str]",
    "Any": "Any",
    "Event | AgentResult[Invoice]": (
        "opencode_python.core.events.Event | "
        "opencode_python.agents.result.AgentResult[tests.typing_cases.typed_output.Invoice]"
    ),
}


def test_reveal_type_shows_the_output_type() -> None:
    stdout, stderr, _ = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", str(CASES)]
    )
    revealed = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r":(\d+): note: Revealed type is \"(.+)\"", stdout)
    }
    lines = CASES.read_text().splitlines()
    wanted = {
        number: line.split("# ")[-1]
        for number, line in enumerate(lines, start=1)
        if "reveal_type(" in line
    }
    assert wanted, "the cases file has no reveal_type lines"
    for number, name in wanted.items():
        assert revealed.get(number) == EXPECTED[name], (number, name, stdout, stderr)
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert errors == [], stdout
