"""The switch that keeps test suites from calling real, paid model endpoints.

With ``OPENCODE_PYTHON_BLOCK_REAL_REQUESTS=1`` every adapter refuses, before any
network I/O, to talk to an endpoint that is not on loopback (127.0.0.0/8, ::1,
localhost). Scripted servers on loopback keep working. The switch is an environment
variable so that subprocesses started by a test inherit it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..core.errors import ProviderAuthError, RealRequestBlockedError

if TYPE_CHECKING:
    from .config import ProviderConfig

BLOCK_ENV = "OPENCODE_PYTHON_BLOCK_REAL_REQUESTS"
_TRUE = frozenset({"1", "true", "yes", "on"})


def real_requests_blocked() -> bool:
    """Whether requests to non-loopback model endpoints are refused right now."""
    return os.environ.get(BLOCK_ENV, "").strip().lower() in _TRUE


@contextmanager
def block_real_requests(blocked: bool = True) -> Iterator[None]:
    """Block (or, with ``blocked=False``, allow) real requests inside the ``with``."""
    previous = os.environ.get(BLOCK_ENV)
    os.environ[BLOCK_ENV] = "1" if blocked else "0"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(BLOCK_ENV, None)
        else:
            os.environ[BLOCK_ENV] = previous


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine: localhost, 127.0.0.0/8 or ::1."""
    host = urlsplit(url if "//" in url else f"//{url}").hostname
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_real_request(provider_id: str, base_url: str) -> None:
    """Raise ``RealRequestBlockedError`` if real requests are blocked and this one is."""
    if real_requests_blocked() and not is_loopback_url(base_url):
        raise RealRequestBlockedError(
            f"Refused to call {base_url} for provider {provider_id!r}: real model requests "
            f"are blocked ({BLOCK_ENV}=1). Point the provider's base_url at a loopback "
            "server such as opencode_python.testing's scripted server, or unset the "
            "variable to allow real requests.",
            provider_id=provider_id,
        )


def check_ready(config: ProviderConfig, base_url: str, *, missing_key: bool) -> None:
    """Refuse before any network I/O: blocked real requests, or no key where one is needed."""
    check_real_request(config.provider_id, base_url)
    if missing_key:
        raise ProviderAuthError(
            f"No API key for {config.display_name}. {config.missing_key_message()}",
            provider_id=config.provider_id,
        )
