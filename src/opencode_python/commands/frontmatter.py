"""Splitting a command file into its YAML frontmatter and its body.

The frontmatter is optional. A value with an unquoted colon (``description: Review:
the diff``) is invalid YAML that OpenCode accepts, so it is read as plain text here too.
"""

from __future__ import annotations

import re
from typing import Any

_FENCE = "---"
_TOP_LEVEL_FIELD = re.compile(r"([A-Za-z_][\w-]*)\s*:\s*(.*)")


class FrontmatterError(ValueError):
    """Why a file's frontmatter cannot be read; the message is for the user."""


def split_frontmatter(text: str) -> tuple[dict[str, Any], str]:
    """The frontmatter's fields (empty without one) and the stripped body."""
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].rstrip() != _FENCE:
        return {}, "".join(lines).strip()
    for end in range(1, len(lines)):
        if lines[end].rstrip() == _FENCE:
            return _parse_yaml("".join(lines[1:end])), "".join(lines[end + 1 :]).strip()
    raise FrontmatterError("the frontmatter opened by '---' is never closed: add a '---' line")


def _parse_yaml(frontmatter: str) -> dict[str, Any]:
    import yaml  # only when there is a command file to read

    try:
        data = yaml.safe_load(frontmatter)
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        try:
            data = yaml.safe_load(_quote_colon_values(frontmatter))
        except yaml.YAMLError:
            raise FrontmatterError(f"invalid YAML in the frontmatter: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontmatterError(
            f"the frontmatter must be fields (description: ...); got {type(data).__name__}"
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
