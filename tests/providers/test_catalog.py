"""ModelCatalog: real prices and limits from genai-prices, overrides, unknown models."""

from __future__ import annotations

import logging

import pytest

from opencode_python.core.models import CacheUsage, TokenUsage
from opencode_python.providers import ModelCatalog, ModelInfo, ModelOverride, cost_of


def test_openai_gpt_4_1_mini_has_real_prices_and_context() -> None:
    info = ModelCatalog().info("openai", "gpt-4.1-mini")
    assert info.known
    assert info.context_window == 1_000_000
    assert (info.input_price, info.output_price, info.cache_read_price) == (0.4, 1.6, 0.1)
    assert info.ref == "openai/gpt-4.1-mini"


def test_anthropic_claude_sonnet_4_5_has_real_prices_and_context() -> None:
    info = ModelCatalog().info("anthropic", "claude-sonnet-4-5")
    assert info.known
    assert info.context_window == 200_000
    assert (info.input_price, info.output_price) == (3.0, 15.0)
    assert (info.cache_read_price, info.cache_write_price) == (0.3, 3.75)
    # a dated id resolves to the same model
    dated = ModelCatalog().info("anthropic", "claude-sonnet-4-5-20250929")
    assert dated.input_price == 3.0


def test_cost_counts_every_kind_of_token() -> None:
    info = ModelCatalog().info("anthropic", "claude-sonnet-4-5")
    usage = TokenUsage(
        input=1_000_000,
        output=100_000,
        reasoning=100_000,
        cache=CacheUsage(read=1_000_000, write=1_000_000),
    )
    # 3 input + 1.5 output + 1.5 reasoning (billed as output) + 0.3 read + 3.75 write
    assert cost_of(info, usage) == pytest.approx(10.05)
    assert cost_of(info, TokenUsage()) == 0.0


def test_unknown_model_costs_nothing_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    catalog = ModelCatalog()
    with caplog.at_level(logging.WARNING, logger="opencode_python.providers.catalog"):
        first = catalog.info("ollama", "llama3.2")
        catalog.info("ollama", "llama3.2")
        catalog.info("ollama", "llama3.2", override=ModelOverride(context_window=8192))
    assert not first.known
    assert first.context_window is None
    assert first.max_output == 8192
    assert cost_of(first, TokenUsage(input=10**6, output=10**6)) == 0.0
    warnings = [r for r in caplog.records if "llama3.2" in r.getMessage()]
    assert len(warnings) == 1
    assert "providers.ollama.models" in warnings[0].getMessage()


def test_overrides_win_and_fill_gaps() -> None:
    catalog = ModelCatalog()
    override = ModelOverride(context_window=32_000, input_price=1.0, output_price=2.0)
    info = catalog.info("vllm", "qwen3", override=override)
    assert info.known  # prices from the config count as known
    assert (info.context_window, info.max_output) == (32_000, 8000)  # a quarter of a small window
    # no cache prices given: cached tokens are billed as input
    assert (info.cache_read_price, info.cache_write_price) == (1.0, 1.0)

    partial = catalog.info("openai", "gpt-4.1-mini", override=ModelOverride(max_output=32_768))
    assert (partial.max_output, partial.input_price, partial.context_window) == (
        32_768,
        0.4,
        1_000_000,
    )


def test_custom_provider_id_finds_prices_by_endpoint() -> None:
    info = ModelCatalog().info(
        "my-groq", "llama-3.3-70b-versatile", base_url="https://api.groq.com/openai/v1"
    )
    assert info.known
    assert info.input_price == 0.59


def test_lookups_are_cached() -> None:
    catalog = ModelCatalog()
    assert catalog.info("openai", "gpt-4.1-mini") is catalog.info("openai", "gpt-4.1-mini")
    assert isinstance(catalog.info("openai", "gpt-4.1-mini"), ModelInfo)
