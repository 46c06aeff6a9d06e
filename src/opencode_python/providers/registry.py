"""The providers one client can use, built lazily from their configs.

Owned by the client (no global registry). A provider is registered as a config (the
adapter is built on first use) or as a ready ``Provider``. Built-in ids (openai,
anthropic, groq, openrouter, ollama, local...) work without registering when their key
is in the environment, or when they run locally.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from ..core.errors import ConfigError, NotFoundError
from .base import Provider
from .catalog import ModelCatalog, ModelInfo
from .config import BUILTIN_PROVIDERS, ProviderConfig


class ProviderRegistry:
    """Provider ids to adapters, plus the model catalog used to describe their models."""

    def __init__(
        self,
        configs: Iterable[ProviderConfig] = (),
        *,
        catalog: ModelCatalog | None = None,
        default: str | None = None,
    ) -> None:
        self._catalog = catalog or ModelCatalog()
        self._configs: dict[str, ProviderConfig] = {}
        self._providers: dict[str, Provider] = {}  # registered ready-made adapters
        self._built: dict[str, Provider] = {}  # adapters built from configs
        self._retired: builtins.list[Provider] = []
        self._default: str | None = None
        self._default_model: str | None = None
        for config in configs:
            self.register(config)
        if default is not None:
            self.set_default(default)

    @property
    def catalog(self) -> ModelCatalog:
        return self._catalog

    def register(
        self, config_or_provider: ProviderConfig | Provider, *, replace: bool = True
    ) -> None:
        """Add a provider by config (built lazily) or as a ready adapter.

        With ``replace=False`` an id that is already registered is a ``ConfigError``.
        A replaced adapter is closed by ``aclose``.
        """
        if isinstance(config_or_provider, ProviderConfig):
            provider_id = config_or_provider.provider_id
        elif isinstance(config_or_provider, Provider):
            provider_id = config_or_provider.id
        else:
            raise ConfigError(
                f"Cannot register {config_or_provider!r}: pass a ProviderConfig or an "
                "object with id, stream() and aclose()."
            )
        if not replace and self._is_registered(provider_id):
            raise ConfigError(
                f"Provider {provider_id!r} is already registered; pass replace=True to replace it."
            )
        self._retire(provider_id)
        if isinstance(config_or_provider, ProviderConfig):
            self._configs[provider_id] = config_or_provider
        else:
            self._configs.pop(provider_id, None)
            self._providers[provider_id] = config_or_provider

    def get(self, provider_id: str) -> Provider:
        """The adapter for ``provider_id``, built on first use and cached."""
        provider = self._providers.get(provider_id) or self._built.get(provider_id)
        if provider is not None:
            return provider
        config = self._configs.get(provider_id) or self._on_demand(provider_id)
        if config is None:
            raise NotFoundError(self._unavailable_message(provider_id))
        provider = self._build(config)
        self._built[provider_id] = provider
        return provider

    def config(self, provider_id: str) -> ProviderConfig | None:
        """The config ``provider_id`` is (or would be) built from; None for a ready adapter."""
        if provider_id in self._configs:
            return self._configs[provider_id]
        if provider_id in self._providers:
            return None
        return self._on_demand(provider_id)

    def remove(self, provider_id: str) -> None:
        """Forget a registered provider; its adapter, if built, is closed by ``aclose``."""
        if not self._is_registered(provider_id):
            registered = ", ".join(self._registered_ids()) or "none"
            raise NotFoundError(
                f"Provider {provider_id!r} is not registered (registered: {registered})."
            )
        self._retire(provider_id)
        self._configs.pop(provider_id, None)
        if self._default == provider_id:
            self._default = self._default_model = None

    @property
    def default(self) -> str | None:
        """The provider used when none is named: the one set, else the first available."""
        if self._default is not None:
            return self._default
        available = self.list()
        return available[0] if available else None

    @property
    def default_model(self) -> str | None:
        """``provider/model`` to use when none is named, if one is known.

        The model given to ``set_default``, else the first model configured for the
        default provider; None when neither says.
        """
        if self._default_model is not None:
            return self._default_model
        provider_id = self.default
        config = self.config(provider_id) if provider_id else None
        if config is None or not config.models:
            return None
        return f"{provider_id}/{next(iter(config.models))}"

    def set_default(self, ref: str) -> None:
        """Make ``provider`` (or ``provider/model``) the default."""
        provider_id, _, model_id = ref.partition("/")
        if not self._is_registered(provider_id) and self._on_demand(provider_id) is None:
            raise NotFoundError(self._unavailable_message(provider_id))
        self._default = provider_id
        self._default_model = ref if model_id else None

    def resolve_model(self, ref: str) -> tuple[Provider, ModelInfo]:
        """The adapter and model info for ``"provider/model"``.

        The model part may itself contain ``/`` (``openrouter/anthropic/claude-sonnet-4.5``).
        """
        provider_id, _, model_id = ref.partition("/")
        if not provider_id or not model_id:
            raise ConfigError(
                f"Model {ref!r} must be written 'provider/model', e.g. "
                "'openai/gpt-4.1-mini' or 'anthropic/claude-sonnet-4-5'."
            )
        provider = self.get(provider_id)
        config = self.config(provider_id)
        info = self._catalog.info(
            provider_id,
            model_id,
            override=config.models.get(model_id) if config else None,
            base_url=config.base_url if config else None,
        )
        return provider, info

    def list(self) -> builtins.list[str]:
        """Registered ids, then built-in ids whose key is in the environment."""
        ids = self._registered_ids()
        for provider_id in BUILTIN_PROVIDERS:
            if provider_id in ids:
                continue
            config = ProviderConfig(provider_id=provider_id)
            if config.requires_api_key and config.resolve_api_key():
                ids.append(provider_id)
        return ids

    async def aclose(self) -> None:
        """Close every adapter built or registered. Safe to call twice.

        Adapters built from configs are forgotten and built afresh if used again.
        """
        providers = [*self._retired, *self._built.values(), *self._providers.values()]
        self._retired.clear()
        self._built.clear()
        for provider in providers:
            await provider.aclose()

    def _build(self, config: ProviderConfig) -> Provider:
        # Imported here: each official client takes most of a second to import, and an
        # app pays for the one it uses only.
        if config.kind == "anthropic":
            from .anthropic_provider import AnthropicProvider

            return AnthropicProvider(config, catalog=self._catalog)
        if config.kind == "local":
            from .local_provider import LocalProvider

            return LocalProvider(config)
        from .openai_provider import OpenAIProvider

        return OpenAIProvider(config)

    def _registered_ids(self) -> builtins.list[str]:
        return builtins.list(dict.fromkeys([*self._configs, *self._providers]))

    def _is_registered(self, provider_id: str) -> bool:
        return provider_id in self._configs or provider_id in self._providers

    def _retire(self, provider_id: str) -> None:
        for adapters in (self._providers, self._built):
            provider = adapters.pop(provider_id, None)
            if provider is not None:
                self._retired.append(provider)

    def _on_demand(self, provider_id: str) -> ProviderConfig | None:
        """A config for a built-in id that needs nothing more: a local server, or a key in
        the environment."""
        if provider_id not in BUILTIN_PROVIDERS:
            return None
        config = ProviderConfig(provider_id=provider_id)
        if config.requires_api_key and not config.resolve_api_key():
            return None
        return config

    def _unavailable_message(self, provider_id: str) -> str:
        """Why ``provider_id`` cannot be used, and what to do.

        A built-in id is known and lacks only its key, so the message names the variable
        to set; calling it unknown would send the user looking for a typo.
        """
        if provider_id in BUILTIN_PROVIDERS:
            config = ProviderConfig(provider_id=provider_id)
            return f"No API key for {config.display_name}. {config.missing_key_message()}"
        configured = ", ".join(self._registered_ids()) or "none"
        return (
            f"Unknown provider {provider_id!r} (configured: {configured}; built in: "
            f"{', '.join(BUILTIN_PROVIDERS)}). Add it under 'provider' in opencode.json, or "
            f"register ProviderConfig(provider_id={provider_id!r}, base_url=..., api_key=...)."
        )
