"""Options several commands take, declared once so they read and check alike."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ModelOption = Annotated[
    str | None,
    typer.Option(metavar="PROVIDER/MODEL", help="The model, e.g. openai/gpt-4.1-mini."),
]
ProjectOption = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        exists=True,
        file_okay=False,
        help="The project the agents work on (default: the current directory).",
    ),
]
