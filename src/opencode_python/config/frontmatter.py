"""Splitting a Markdown file (an agent, a command, a skill) into YAML frontmatter and body.

The frontmatter is optional. A value with an unquoted colon (``description: Use when:
...``) is invalid YAML that OpenCode and Claude Code accept, so it is read as plain text
here too.
"""

from __future__ import annotations

import re
from typing import Any

FENCE = "---"
_TOP_LEVEL_FIELD = re.compile(r"([A-Za-z_][\w-]*)\s*:\s*(.*)")
# `color: #3498DB`: YAML reads the value as a comment; agent files in the wild write it.
_HEX_COLOR = re.compile(r"^([A-Za-z_][\w-]*):[ \t]+(#[0-9A-Fa-f]{3,8})[ \t]*$", re.MULTILINE)


class FrontmatterError(ValueError):
    """Why a file's frontmatter cannot be read; the message is for the user."""


def split_frontmatter(text: str) -> tuple[dict[str, Any], str]:
    """The frontmatter's fields (empty without one) and the stripped body."""
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].rstrip() != FENCE:
        return {}, "".join(lines).strip()
    for end in range(1, len(lines)):
        if lines[end].rstrip() == FENCE:
            return _parse_yaml("".join(lines[1:end])), "".join(lines[end + 1 :]).strip()
    raise FrontmatterError(
        "the frontmatter opened by '---' on line 1 is never closed; end it with a line "
        "holding only '---'"
    )


def _parse_yaml(frontmatter: str) -> dict[str, Any]:
    import yaml  # only when there is a file with frontmatter to read

    frontmatter = _HEX_COLOR.sub(r'\1: "\2"', frontmatter)
    try:
        data = yaml.safe_load(frontmatter)
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        try:
            data = yaml.safe_load(_quote_colon_values(frontmatter))
        except yaml.YAMLError:
            raise FrontmatterError(f"the frontmatter is not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontmatterError(
            f"the frontmatter must be a mapping of settings (key: value); got {type(data).__name__}"
        )
    return data


def _quote_colon_values(frontmatter: str) -> str:
    """Rewrite top-level ``key: text with: colons`` lines as block scalars."""
    out: list[str] = []
    for line in frontmatter.splitlines():
        match = _TOP_LEVEL_FIELD.fullmatch(line)
        value = match.group(2).strip() if match else ""
        if match and ":" in value and not value.startswith(("'", '"', "|", ">", "[", "{")):
            out += [f"{match.group(1)}: |-", f"  {value}"]
        else:
            out.append(line)
    return "\n".join(out)
