"""Shared by the file-tool tests: a real ToolContext that records permission asks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode_python.core.errors import PermissionDeniedError
from opencode_python.tools import ToolContext
from opencode_python.tools.framework import PermissionCheck


@dataclass
class Asks:
    """Every ``ctx.ask`` made, as (permission, patterns, metadata); rejects when ``deny``."""

    deny: bool = False
    calls: list[tuple[str, list[str], dict[str, Any]]] = field(default_factory=list)

    async def __call__(self, check: PermissionCheck, metadata: dict[str, Any]) -> None:
        self.calls.append((check.permission, list(check.patterns), metadata))
        if self.deny:
            raise PermissionDeniedError(
                f"the user rejected {check.permission} for {check.patterns}"
            )


def make_ctx(root: Path, asks: Asks | None = None) -> ToolContext:
    return ToolContext(
        session_id="s",
        message_id="m",
        agent="build",
        directory=str(root),
        working_dir=str(root),
        _on_ask=asks if asks is not None else Asks(),
    )
