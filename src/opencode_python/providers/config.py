"""How a provider is configured: endpoint, key, pass-through options and model overrides.

Keys are secrets: they live in ``SecretStr``, come from the config or the environment,
and never appear in ``repr``, ``model_dump`` or ``as_dict``; secret-looking options
(an ``Authorization`` header) are masked in ``repr`` and JSON dumps. Read a key on
purpose with ``resolve_api_key()``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
    model_validator,
)

from ..core.errors import ConfigError
from .guard import is_loopback_url

if TYPE_CHECKING:
    import httpx2

ProviderKind = Literal["openai", "anthropic", "local"]

#: Endpoints of well-known OpenAI-compatible services, used when no ``base_url`` is set.
KNOWN_BASE_URLS: dict[str, str] = {
    "openrouter": "https://openrouter.ai/api/v1",
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "together": "https://api.together.xyz/v1",
    "fireworks": "https://api.fireworks.ai/inference/v1",
    "cerebras": "https://api.cerebras.ai/v1",
    "xai": "https://api.x.ai/v1",
    "ollama": "http://localhost:11434/v1",
    "lmstudio": "http://localhost:1234/v1",
    "vllm": "http://localhost:8000/v1",
}

#: Provider ids that work with no configuration besides an API key (or none, if local).
#: ``local`` is the model that runs in this process (``local_provider``).
BUILTIN_PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "local", *KNOWN_BASE_URLS)

_SECRET_KEY = re.compile(
    r"api[-_]?key|secret|passw|authorization|cookie|bearer|(^|[-_])(auth|access)?[-_]?token$",
    re.IGNORECASE,
)
_MASK = "**********"

#: Sent where no key is configured and the endpoint may not need one (a local server).
NO_KEY = "no-key"


class ModelOverride(BaseModel):
    """Limits and prices (USD per million tokens) that replace or fill the catalog's."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    context_window: int | None = Field(default=None, gt=0)
    max_output: int | None = Field(default=None, gt=0)
    input_price: float | None = Field(default=None, ge=0)
    output_price: float | None = Field(default=None, ge=0)
    cache_read_price: float | None = Field(default=None, ge=0)
    cache_write_price: float | None = Field(default=None, ge=0)


class ProviderConfig(BaseModel):
    """One provider. ``kind`` picks the wire format (or ``local``, the model that runs in
    this process); it defaults from ``provider_id``.

    ``options`` are passed to the client's request: parameters the client knows
    (``extra_headers``, ``reasoning_effort``, ``thinking``...) as they are, anything
    else inside the JSON body. For ``local`` they are arguments of ``generate``.
    ``connect_timeout`` and ``read_timeout`` bound how long a call may hang.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    provider_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: ProviderKind = "openai"
    name: str | None = None
    api_key: SecretStr | None = None
    base_url: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Settings kept with the provider but never sent (an ``opencode.json`` provider's
    options that are not request parameters, such as ``modelsDiscovery``)."""
    models: dict[str, ModelOverride] = Field(default_factory=dict)
    connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds to wait for a connection to the endpoint."""
    read_timeout: float = Field(default=120.0, gt=0)
    """Seconds to wait for the response to start and then between stream chunks; a
    stalled stream fails after this and is retried."""

    def http_timeout(self) -> httpx2.Timeout:
        """The timeouts the official clients take (their own default waits 600 s)."""
        import httpx2

        return httpx2.Timeout(self.read_timeout, connect=self.connect_timeout)

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") is None:
            return {**data, "kind": _default_kind(data.get("provider_id"), data.get("base_url"))}
        return data

    @property
    def api_key_env(self) -> str:
        """The environment variable read when ``api_key`` is not set."""
        if self.provider_id == "openai":
            return "OPENAI_API_KEY"
        if self.provider_id == "anthropic":
            return "ANTHROPIC_API_KEY"
        normalized = self.provider_id.upper().replace("-", "_").replace(".", "_")
        return f"{normalized}_API_KEY"

    def resolve_api_key(self) -> str | None:
        """The key in plain text: from the config, else from ``api_key_env``.

        Only the provider's own variable is read, so a key for one service is never
        sent to another (``OPENAI_API_KEY`` does not leak to a groq or local endpoint).
        """
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        return os.environ.get(self.api_key_env) or None

    def resolve_base_url(self) -> str | None:
        """The endpoint to call; None means the official client's own default.

        Raises ``ConfigError`` for an OpenAI-compatible provider that names no endpoint
        and is not a known service, since guessing would send its key to OpenAI.
        """
        if self.base_url:
            return self.base_url
        if self.provider_id in KNOWN_BASE_URLS:
            return KNOWN_BASE_URLS[self.provider_id]
        if self.kind == "anthropic" or self.provider_id == "openai":
            return None
        raise ConfigError(
            f"Provider {self.provider_id!r} has no base_url. Set "
            f"providers.{self.provider_id}.base_url to its OpenAI-compatible endpoint "
            "(e.g. http://localhost:11434/v1)."
        )

    @property
    def requires_api_key(self) -> bool:
        """Whether a missing key is an error before any request is made.

        True for hosted defaults (OpenAI, Anthropic, groq...). A local endpoint or a
        ``base_url`` you set yourself may not need one, so a placeholder is sent there;
        the in-process ``local`` kind needs none at all.
        """
        if self.kind == "local" or self.base_url:
            return False
        default = KNOWN_BASE_URLS.get(self.provider_id)
        return default is None or not is_loopback_url(default)

    def missing_key_message(self) -> str:
        """What to do when the key is missing or rejected."""
        return (
            f"Set {self.api_key_env} or providers.{self.provider_id}.api_key "
            f"to a valid API key for {self.display_name}."
        )

    @property
    def display_name(self) -> str:
        return self.name or self.provider_id

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe view for logs and UIs: the key and secret-looking options masked."""
        return self.model_dump(mode="json")

    @field_serializer("options")
    def _serialize_options(self, options: dict[str, Any], info: SerializationInfo) -> Any:
        """JSON dumps mask secret-looking options (an Authorization header) like the key."""
        return _mask_secrets(options) if info.mode_is_json() else options

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, _mask_secrets(value) if name == "options" else value


def _default_kind(provider_id: object, base_url: object) -> ProviderKind:
    """``anthropic`` for that id; ``local`` for the id ``local`` with no endpoint (with
    one, ``local`` names an OpenAI-compatible server on this machine); else ``openai``."""
    if provider_id == "anthropic":
        return "anthropic"
    if provider_id == "local" and not base_url:
        return "local"
    return "openai"


def _mask_secrets(value: Any) -> Any:
    """Copy ``value`` with the values of secret-looking keys (headers, tokens) masked."""
    if isinstance(value, dict):
        return {
            k: _MASK if isinstance(k, str) and _SECRET_KEY.search(k) else _mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value


#: Keyword arguments every official client's ``create`` takes besides the API's own.
CLIENT_ARGS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
_RESERVED_OPTIONS = frozenset({"model", "messages", "stream"})


def merge_options(
    params: dict[str, Any],
    config_options: dict[str, Any],
    request_options: dict[str, Any],
    known: frozenset[str],
) -> dict[str, Any]:
    """Layer the config's, then the request's, options over an adapter's ``params``.

    Keys in ``known`` (what the client's ``create`` accepts) are passed as they are;
    anything else goes into ``extra_body`` so provider-specific settings still reach
    the server. ``extra_headers``, ``extra_query`` and ``extra_body`` are merged.
    """
    merged = dict(params)
    for options in (config_options, request_options):
        for key, value in options.items():
            if key in _RESERVED_OPTIONS:
                raise ConfigError(
                    f"Option {key!r} is set from the request by the adapter; "
                    "remove it from the provider's or the request's options."
                )
            target: dict[str, Any] = merged if key in known else merged.setdefault("extra_body", {})
            if key in CLIENT_ARGS and isinstance(value, dict):
                target[key] = {**(target.get(key) or {}), **value}
            else:
                target[key] = value
    return merged
