"""Which provider failures are worth retrying, and how long to wait before trying again.

Adapters classify failures here (``error_from_status``, ``error_from_transport``) so
both wire formats agree on what is retryable; the agent loop asks ``RetryPolicy``
whether and when to retry. The official clients' own retries are switched off.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from ..core.errors import (
    BrokenStreamError,
    ConfigError,
    ContextOverflowError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitError,
)

# Wordings providers use when a request does not fit the context window.
_CONTEXT_OVERFLOW = re.compile(
    "|".join(
        (
            r"context[_ ]length[_ ]exceeded",
            r"context_window_exceeded",
            r"maximum context length",
            r"prompt is too long",
            r"too many tokens",
            r"input is too long",
            r"exceeds the context window",
            r"exceeds the (?:available )?context (?:size|length|window)",
            r"greater than the context length",
            r"reduce the length of the messages",
            r"maximum prompt length",
            r"input token count.*exceeds the maximum",
            r"context window exceeds limit",
            r"exceeded model token limit",
        )
    ),
    re.IGNORECASE,
)


def looks_like_context_overflow(text: str) -> bool:
    """Whether an error text says the prompt does not fit the model's context."""
    return _CONTEXT_OVERFLOW.search(text) is not None


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_from_status(
    *,
    provider_id: str,
    status_code: int | None,
    message: str,
    error_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    key_hint: str = "",
) -> ProviderError:
    """Classify an error response, or an error event sent inside a stream.

    ``status_code`` is None (or 200) for an in-stream error; ``error_type`` is the
    body's error type or code (``rate_limit_error``, ``overloaded_error``...).
    """
    kind = (error_type or "").lower()
    message = message.strip().rstrip(".") or "no details given"
    status = status_code if status_code and status_code >= 400 else None
    retry_after = parse_retry_after(headers)
    where = f"{provider_id} ({status})" if status else provider_id

    def make(cls: type[ProviderError], text: str) -> ProviderError:
        return cls(text, provider_id=provider_id, status_code=status, retry_after=retry_after)

    if status == 413 or looks_like_context_overflow(f"{message} {kind}"):
        return make(
            ContextOverflowError,
            f"The request does not fit the model's context window ({where}): {message}. "
            "Compact or shorten the history, or pick a model with a larger context.",
        )
    if status in (401, 403) or kind in (
        "authentication_error",
        "permission_error",
        "invalid_api_key",
    ):
        return make(
            ProviderAuthError, f"{where} rejected the credentials: {message}. {key_hint}".rstrip()
        )
    if status == 429 or "rate_limit" in kind:
        wait = f" Retry after {retry_after:g}s." if retry_after is not None else ""
        return make(RateLimitError, f"{where} is rate limiting requests: {message}.{wait}")
    if status is None or status >= 500 or status == 408:
        return make(
            ProviderUnavailableError,
            f"{where} failed on its side: {message}. Trying again later may help.",
        )
    if status == 404:
        return make(
            ProviderRequestError,
            f"{where} found no such resource: {message}. Check the model id and base_url.",
        )
    return make(
        ProviderRequestError,
        f"{where} refused the request as invalid: {message}. Check the model id, "
        "the options and the message history sent.",
    )


def error_from_transport(
    *,
    provider_id: str,
    base_url: str,
    error: BaseException,
    during_stream: bool,
    timed_out: bool = False,
) -> ProviderError:
    """Classify a failure to connect, or a connection lost while streaming.

    ``timed_out`` is set by adapters whose client wrapped the timeout in its own class.
    """
    import httpx2  # the adapters' transport; imported with them, not with the policy

    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if timed_out or any(isinstance(e, httpx2.TimeoutException) for e in chain):
        return ProviderConnectionError(
            f"The request to {provider_id} at {base_url} timed out "
            f"({'the stream stalled' if during_stream else 'no answer'}). Trying again may "
            f"help; for a slow model raise providers.{provider_id}.read_timeout.",
            provider_id=provider_id,
        )
    if during_stream and any(isinstance(e, httpx2.RemoteProtocolError) for e in chain):
        return BrokenStreamError(
            f"{provider_id} closed the stream before the response was complete. "
            "Trying again may help.",
            provider_id=provider_id,
        )
    if during_stream:
        return ProviderConnectionError(
            f"The connection to {provider_id} at {base_url} broke while streaming "
            f"({chain[-1]!r}). Trying again may help.",
            provider_id=provider_id,
        )
    return ProviderConnectionError(
        f"Could not reach {provider_id} at {base_url} ({chain[-1]!r}). "
        "Check the base_url and that the server is running and reachable.",
        provider_id=provider_id,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter that honours the server's ``retry-after``.

    ``attempt`` is the number of retries already made: 0 when the first call failed.
    The wait before retry ``attempt`` is ``base_delay * 2**attempt`` (capped at
    ``max_delay``, shortened by up to ``jitter`` of itself so clients spread out), or
    exactly what the server asked for. A server asking for more than
    ``max_retry_after`` seconds is not retried: waiting less would fail again, waiting
    that long would stall the run.
    """

    max_retries: int = 4
    base_delay: float = 2.0
    max_delay: float = 30.0
    max_retry_after: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ConfigError("RetryPolicy needs max_retries, base_delay and max_delay >= 0.")
        if self.max_retry_after < 0 or not 0 <= self.jitter <= 1:
            raise ConfigError("RetryPolicy needs max_retry_after >= 0 and 0 <= jitter <= 1.")

    def should_retry(self, error: ProviderError, attempt: int) -> bool:
        """Whether to retry after ``error`` when ``attempt`` retries were already made."""
        if isinstance(error, ProviderAuthError | ContextOverflowError) or not error.retryable:
            return False
        if not 0 <= attempt < self.max_retries:
            return False
        return error.retry_after is None or error.retry_after <= self.max_retry_after

    def delay_for(self, attempt: int, error: ProviderError) -> float:
        """Seconds to wait before the retry that follows ``attempt`` earlier retries."""
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2.0 ** min(max(attempt, 0), 32))
        return backoff * (1.0 - self.jitter * random.random())
