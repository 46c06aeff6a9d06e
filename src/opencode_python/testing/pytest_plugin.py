"""pytest fixtures for apps tested with opencode-python (loaded automatically).

``scripted_llm_server`` gives a started ``ScriptedLLMServer``; ``no_real_model_requests``
makes any request to a non-loopback model endpoint fail for the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ..providers.guard import BLOCK_ENV

if TYPE_CHECKING:
    from .scripted_server import ScriptedLLMServer


@pytest.fixture
def no_real_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any model request to a real (non-loopback) endpoint raise at once."""
    monkeypatch.setenv(BLOCK_ENV, "1")


@pytest.fixture
def scripted_llm_server() -> Iterator[ScriptedLLMServer]:
    """A started ``ScriptedLLMServer`` on loopback; add turns with ``add_turn``."""
    from .scripted_server import ScriptedLLMServer

    with ScriptedLLMServer() as server:
        yield server
