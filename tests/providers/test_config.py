"""ProviderConfig: kinds, keys from config or environment, endpoints, secrets kept secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opencode_python.core.errors import ConfigError
from opencode_python.providers import ModelOverride, ProviderConfig
from opencode_python.providers.config import merge_options


def test_kind_defaults_from_provider_id() -> None:
    assert ProviderConfig(provider_id="anthropic").kind == "anthropic"
    assert ProviderConfig(provider_id="openai").kind == "openai"
    assert ProviderConfig(provider_id="groq").kind == "openai"
    assert ProviderConfig(provider_id="proxy", kind="anthropic").kind == "anthropic"


def test_invalid_provider_id() -> None:
    with pytest.raises(ValidationError):
        ProviderConfig(provider_id="openai/gpt")


def test_key_from_config_then_own_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("GROQ_API_KEY", "gsk-groq")
    monkeypatch.setenv("MY_PROXY_API_KEY", "proxy-key")
    assert ProviderConfig(provider_id="openai").resolve_api_key() == "sk-openai"
    assert ProviderConfig(provider_id="openai", api_key="sk-cfg").resolve_api_key() == "sk-cfg"
    assert ProviderConfig(provider_id="groq").resolve_api_key() == "gsk-groq"
    assert ProviderConfig(provider_id="my-proxy").api_key_env == "MY_PROXY_API_KEY"
    assert ProviderConfig(provider_id="my-proxy").resolve_api_key() == "proxy-key"
    # another service's key is never borrowed
    monkeypatch.delenv("GROQ_API_KEY")
    assert ProviderConfig(provider_id="groq").resolve_api_key() is None


def test_base_urls() -> None:
    assert ProviderConfig(provider_id="openai").resolve_base_url() is None
    assert ProviderConfig(provider_id="anthropic").resolve_base_url() is None
    assert ProviderConfig(provider_id="ollama").resolve_base_url() == "http://localhost:11434/v1"
    assert ProviderConfig(provider_id="groq").resolve_base_url() == "https://api.groq.com/openai/v1"
    custom = ProviderConfig(provider_id="groq", base_url="http://127.0.0.1:1/v1")
    assert custom.resolve_base_url() == "http://127.0.0.1:1/v1"
    with pytest.raises(ConfigError, match=r"providers\.mine\.base_url"):
        ProviderConfig(provider_id="mine").resolve_base_url()


def test_which_providers_require_a_key() -> None:
    assert ProviderConfig(provider_id="openai").requires_api_key
    assert ProviderConfig(provider_id="openrouter").requires_api_key
    assert not ProviderConfig(provider_id="ollama").requires_api_key
    assert not ProviderConfig(provider_id="x", base_url="https://llm.internal/v1").requires_api_key


def test_secrets_never_show() -> None:
    config = ProviderConfig(
        provider_id="openai",
        api_key="sk-secret-1",
        options={
            "extra_headers": {"Authorization": "Bearer sk-secret-2", "X-Team": "a"},
            "max_tokens": 5,
        },
        models={"gpt-4.1-mini": ModelOverride(max_output=100)},
    )
    for text in (repr(config), str(config), config.model_dump_json(), str(config.as_dict())):
        assert "sk-secret" not in text
    assert "sk-secret" not in str(config.model_dump()["api_key"])
    data = config.as_dict()
    assert data["api_key"] == "**********"
    assert data["options"] == {
        "extra_headers": {"Authorization": "**********", "X-Team": "a"},
        "max_tokens": 5,
    }
    assert data["models"]["gpt-4.1-mini"]["max_output"] == 100
    assert config.resolve_api_key() == "sk-secret-1"  # only when asked


def test_merge_options_passes_known_keys_and_puts_the_rest_in_the_body() -> None:
    merged = merge_options(
        {"temperature": 0.1, "extra_body": {"a": 1}},
        {"seed": 1, "custom": "x", "extra_headers": {"h1": "1"}},
        {"custom": "y", "extra_headers": {"h2": "2"}, "extra_body": {"b": 2}},
        frozenset({"temperature", "seed", "extra_headers", "extra_body"}),
    )
    assert merged == {
        "temperature": 0.1,
        "seed": 1,
        "extra_headers": {"h1": "1", "h2": "2"},
        "extra_body": {"a": 1, "custom": "y", "b": 2},
    }
