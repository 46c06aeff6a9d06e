"""The real-request guard: loopback passes, everything else is refused while blocked."""

from __future__ import annotations

import os

import pytest

from opencode_python.core.errors import RealRequestBlockedError
from opencode_python.providers import block_real_requests, real_requests_blocked
from opencode_python.providers.guard import BLOCK_ENV, check_real_request, is_loopback_url


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://127.8.9.10/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:9000", True),
        ("https://api.openai.com/v1", False),
        ("https://api.anthropic.com", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://localhost.evil.com/v1", False),
        ("http://127.0.0.1.nip.io/v1", False),
    ],
)
def test_is_loopback_url(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_context_manager_sets_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BLOCK_ENV, raising=False)
    assert not real_requests_blocked()
    with block_real_requests():
        assert real_requests_blocked()
        with block_real_requests(False):
            assert not real_requests_blocked()
        assert real_requests_blocked()
    assert BLOCK_ENV not in os.environ


def test_check_refuses_remote_only_while_blocked() -> None:
    with block_real_requests():
        check_real_request("local", "http://127.0.0.1:1234/v1")
        with pytest.raises(RealRequestBlockedError, match=BLOCK_ENV) as caught:
            check_real_request("openai", "https://api.openai.com/v1")
        assert caught.value.provider_id == "openai"
        assert not caught.value.retryable
    with block_real_requests(False):
        check_real_request("openai", "https://api.openai.com/v1")
