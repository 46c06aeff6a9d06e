"""RetryPolicy and the classification of provider failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from opencode_python.core.errors import (
    BrokenStreamError,
    ConfigError,
    ContextOverflowError,
    ProviderAuthError,
    ProviderRequestError,
    ProviderUnavailableError,
    RateLimitError,
)
from opencode_python.providers import RetryPolicy
from opencode_python.providers.retry import (
    error_from_status,
    looks_like_context_overflow,
    parse_retry_after,
)


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.0)
    error = ProviderUnavailableError("busy")
    assert [policy.delay_for(n, error) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay_for(10_000, error) == 5.0


def test_jitter_only_shortens() -> None:
    policy = RetryPolicy(base_delay=2.0, max_delay=30.0, jitter=0.5)
    delays = {policy.delay_for(1, BrokenStreamError("cut")) for _ in range(200)}
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert len(delays) > 1


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.delay_for(0, RateLimitError("slow", retry_after=7.5)) == 7.5
    assert policy.delay_for(3, RateLimitError("slow", retry_after=0.0)) == 0.0
    assert policy.delay_for(0, RateLimitError("slow", retry_after=600.0)) == 60.0


def test_should_retry_is_bounded_and_only_for_retryable_errors() -> None:
    policy = RetryPolicy(max_retries=2)
    busy = ProviderUnavailableError("busy")
    assert [policy.should_retry(busy, n) for n in range(4)] == [True, True, False, False]
    assert not policy.should_retry(ProviderAuthError("bad key"), 0)
    assert not policy.should_retry(ContextOverflowError("too long"), 0)
    assert not policy.should_retry(ProviderRequestError("bad"), 0)
    assert policy.should_retry(RateLimitError("slow", retry_after=30), 0)
    assert not policy.should_retry(RateLimitError("slow", retry_after=3600), 0)
    assert not RetryPolicy(max_retries=0).should_retry(busy, 0)


def test_invalid_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ConfigError):
        RetryPolicy(jitter=2.0)


def test_parse_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "junk", "retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    parsed = parse_retry_after({"retry-after": later})
    assert parsed is not None
    assert 25 <= parsed <= 31


@pytest.mark.parametrize(
    "text",
    [
        "This model's maximum context length is 128000 tokens",
        "prompt is too long: 210000 tokens > 200000 maximum",
        "context_length_exceeded",
        "Please reduce the length of the messages or completion.",
        "the request exceeds the available context size",
        "Trying to keep the first 5000 tokens when context the overflows. too many tokens",
    ],
)
def test_context_overflow_wordings(text: str) -> None:
    assert looks_like_context_overflow(text)
    assert isinstance(
        error_from_status(provider_id="p", status_code=400, message=text), ContextOverflowError
    )


def test_in_stream_errors_classify_by_type() -> None:
    def classify(kind: str) -> type:
        return type(
            error_from_status(provider_id="p", status_code=None, message="m", error_type=kind)
        )

    assert classify("rate_limit_error") is RateLimitError
    assert classify("overloaded_error") is ProviderUnavailableError
    assert classify("authentication_error") is ProviderAuthError
    assert classify("api_error") is ProviderUnavailableError
