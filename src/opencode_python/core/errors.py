"""One error hierarchy. Every message says what was wrong and what to do about it."""

from __future__ import annotations

from typing import Any, Literal


class OpenCodeError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(OpenCodeError):
    """The configuration is invalid: a field, a file or an environment variable."""


class NotFoundError(OpenCodeError):
    """A session, message, part, tool, provider or model that does not exist."""


class StorageError(OpenCodeError):
    """The store could not read or write: a broken file, a schema mismatch, a lock."""


class AbortedError(OpenCodeError):
    """A run, stream or tool was aborted by the caller."""


class SessionBusyError(OpenCodeError):
    """A run is in progress on the session and the caller asked not to wait for it."""


class ProviderError(OpenCodeError):
    """A model provider failed. ``retryable`` says whether trying again can help."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider_id: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider_id = provider_id
        self.status_code = status_code
        self.retry_after = retry_after


class ProviderAuthError(ProviderError):
    """The provider rejected the credentials (401/403). Never retried."""


class ContextOverflowError(ProviderError):
    """The request does not fit the model's context window. Never retried."""


class RateLimitError(ProviderError):
    """HTTP 429: the provider asks to slow down."""

    retryable = True


class ProviderUnavailableError(ProviderError):
    """HTTP 5xx or an overloaded provider."""

    retryable = True


class ProviderConnectionError(ProviderError):
    """The provider could not be reached, or the connection dropped or timed out."""

    retryable = True


class BrokenStreamError(ProviderError):
    """The stream ended before the model said it was finished."""

    retryable = True


class ProviderRequestError(ProviderError):
    """The provider refused the request as invalid (4xx other than 401/403/429)."""


class RealRequestBlockedError(ProviderError):
    """A request to a real model endpoint was made while real requests are blocked."""


class OutputValidationError(OpenCodeError):
    """The model's answers did not validate as the run's output type, after every retry.

    ``raw`` is its last answer as it wrote it (text, or the final tool's arguments),
    ``errors`` what was wrong with it, and ``result`` the run's ``AgentResult`` (its
    session, usage and steps): the session keeps every attempt.
    """

    def __init__(self, message: str, *, raw: str, errors: str, result: Any = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.errors = errors
        self.result = result


class ToolError(OpenCodeError):
    """A tool failed; the loop turns this into a tool result the model can read."""


class ToolArgumentsError(ToolError):
    """The model's arguments for a tool do not match the tool's schema."""


class PermissionDeniedError(ToolError):
    """A permission rule or the user refused a tool call.

    ``reason`` is ``denied`` when a rule refused it and ``rejected`` when the approver
    (or the lack of one) did; the audit log keeps it.
    """

    def __init__(self, message: str, *, reason: Literal["denied", "rejected"] = "denied") -> None:
        super().__init__(message)
        self.reason = reason
