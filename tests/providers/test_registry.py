"""ProviderRegistry: lazy adapters, on-demand built-ins, model resolution, closing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from opencode_python.core.errors import ConfigError, NotFoundError
from opencode_python.core.models import TokenUsage
from opencode_python.providers import (
    AnthropicProvider,
    ChatRequest,
    Finish,
    ModelOverride,
    OpenAIProvider,
    ProviderConfig,
    ProviderRegistry,
    StreamEvent,
)


class FakeProvider:
    def __init__(self, provider_id: str) -> None:
        self.id = provider_id
        self.closed = 0

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        yield Finish("stop", TokenUsage())

    async def aclose(self) -> None:
        self.closed += 1


@pytest.fixture(autouse=True)
def no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_get_builds_the_right_adapter_once() -> None:
    registry = ProviderRegistry(
        [
            ProviderConfig(provider_id="local", base_url="http://127.0.0.1:1/v1"),
            ProviderConfig(provider_id="claude", kind="anthropic", api_key="k"),
        ]
    )
    local = registry.get("local")
    assert isinstance(local, OpenAIProvider)
    assert registry.get("local") is local
    assert isinstance(registry.get("claude"), AnthropicProvider)
    assert registry.list() == ["local", "claude"]


def test_unknown_provider_says_what_is_known_and_how_to_configure() -> None:
    registry = ProviderRegistry(
        [ProviderConfig(provider_id="local", base_url="http://127.0.0.1:1")]
    )
    with pytest.raises(NotFoundError) as caught:
        registry.get("nope")
    message = str(caught.value)
    assert message.startswith(
        "Unknown provider 'nope' (configured: local; built in: openai, anthropic, local, "
    )
    assert "under 'provider' in opencode.json" in message
    assert "ProviderConfig(provider_id='nope'" in message


@pytest.mark.parametrize(
    ("provider_id", "variable"),
    [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("groq", "GROQ_API_KEY")],
)
def test_a_built_in_provider_without_its_key_says_which_variable_to_set(
    provider_id: str, variable: str
) -> None:
    registry = ProviderRegistry()
    for call in (registry.get, registry.set_default, lambda p: registry.resolve_model(f"{p}/m")):
        with pytest.raises(NotFoundError) as caught:
            call(provider_id)
        assert str(caught.value).startswith(f"No API key for {provider_id}. Set {variable} ")
        assert "Unknown" not in str(caught.value)


def test_removing_what_is_not_registered_says_what_is() -> None:
    registry = ProviderRegistry([ProviderConfig(provider_id="mine", base_url="http://127.0.0.1:1")])
    with pytest.raises(NotFoundError, match=r"'openai' is not registered \(registered: mine\)"):
        registry.remove("openai")


def test_builtins_work_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = ProviderRegistry()
    assert registry.list() == []
    assert registry.default is None
    assert isinstance(registry.get("ollama"), OpenAIProvider)  # local: no key needed
    monkeypatch.setenv("GROQ_API_KEY", "gsk")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant")
    assert registry.list() == ["anthropic", "groq"]  # local built-ins work but are not listed
    groq = registry.get("groq")
    assert isinstance(groq, OpenAIProvider)
    assert groq.base_url == "https://api.groq.com/openai/v1/"
    assert isinstance(registry.get("anthropic"), AnthropicProvider)


def test_resolve_model() -> None:
    registry = ProviderRegistry(
        [
            ProviderConfig(
                provider_id="openrouter",
                api_key="k",
                models={"anthropic/claude-sonnet-4.5": ModelOverride(max_output=16_000)},
            )
        ]
    )
    provider, info = registry.resolve_model("openrouter/anthropic/claude-sonnet-4.5")
    assert provider is registry.get("openrouter")
    assert (info.model_id, info.max_output, info.input_price) == (
        "anthropic/claude-sonnet-4.5",
        16_000,
        3.0,
    )
    with pytest.raises(ConfigError, match="'provider/model'"):
        registry.resolve_model("gpt-4.1-mini")
    with pytest.raises(ConfigError):
        registry.resolve_model("openrouter/")


def test_register_replace_remove_and_defaults() -> None:
    registry = ProviderRegistry()
    first = FakeProvider("fake")
    registry.register(first)
    assert registry.get("fake") is first
    assert registry.default == "fake"
    with pytest.raises(ConfigError, match="already registered"):
        registry.register(FakeProvider("fake"), replace=False)
    registry.register(
        ProviderConfig(
            provider_id="fake", base_url="http://127.0.0.1:1", models={"m": ModelOverride()}
        )
    )
    assert isinstance(registry.get("fake"), OpenAIProvider)
    assert registry.default_model == "fake/m"
    registry.set_default("fake/other")
    assert (registry.default, registry.default_model) == ("fake", "fake/other")
    with pytest.raises(NotFoundError):
        registry.set_default("nope")
    registry.remove("fake")
    assert registry.list() == []
    assert registry.default is None
    with pytest.raises(NotFoundError):
        registry.remove("fake")
    with pytest.raises(ConfigError):
        registry.register("openai")


async def test_aclose_closes_built_and_replaced_adapters() -> None:
    registry = ProviderRegistry()
    replaced, kept = FakeProvider("a"), FakeProvider("b")
    registry.register(replaced)
    registry.register(FakeProvider("a"))
    registry.register(kept)
    built = registry.get("ollama")
    await registry.aclose()
    assert replaced.closed == 1
    assert kept.closed == 1
    assert isinstance(built, OpenAIProvider)
    assert registry.get("ollama") is not built  # rebuilt lazily after closing
    await registry.aclose()
