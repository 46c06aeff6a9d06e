"""Model limits and prices, from the offline ``genai-prices`` data plus config overrides.

``ModelCatalog.info`` answers "how big is this model's context, how much may it write,
what does a token cost" for any ``provider/model``. Lookups are cached, so the agent
loop may ask on every step. Models this package runs itself are described here; any
other model the data does not know costs 0 and is warned about once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from ..core.models import TokenUsage
from . import local_info
from .config import ModelOverride

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # the price data loads on the first lookup
    from genai_prices.types import ModelInfo as PricesModelInfo
    from genai_prices.types import TieredPrices

#: Output limit used when neither the data nor the config gives one.
DEFAULT_MAX_OUTPUT = 8192


@cache
def _builtin_models() -> dict[tuple[str, str], ModelOverride]:
    """Models the price data cannot know because they run in this process, free of
    charge. A provider's config still overrides them field by field."""
    return {
        ("local", local_info.MODEL_ID): ModelOverride(
            context_window=local_info.CONTEXT_WINDOW,
            max_output=local_info.DEFAULT_MAX_OUTPUT,
            input_price=0.0,
            output_price=0.0,
        ),
    }


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the engine needs to know about a model. Prices are USD per million tokens.

    ``context_window`` is None when unknown. ``known`` is False when neither the price
    data nor the config describes the model; its cost then counts as 0.
    """

    provider_id: str
    model_id: str
    context_window: int | None
    max_output: int
    input_price: float = 0.0
    output_price: float = 0.0
    cache_read_price: float = 0.0
    cache_write_price: float = 0.0
    known: bool = False

    @property
    def ref(self) -> str:
        return f"{self.provider_id}/{self.model_id}"


def cost_of(model: ModelInfo, usage: TokenUsage) -> float:
    """Dollars for ``usage``: reasoning is billed as output, cache reads and writes apart."""
    return (
        usage.input * model.input_price
        + usage.output * model.output_price
        + usage.reasoning * model.output_price
        + usage.cache.read * model.cache_read_price
        + usage.cache.write * model.cache_write_price
    ) / 1_000_000


def _per_million(value: Decimal | TieredPrices | None) -> float | None:
    """A price as a float; tiered (long-context) prices count at their base tier."""
    if value is None:
        return None
    from genai_prices.types import TieredPrices

    if isinstance(value, TieredPrices):
        return float(value.base)
    return float(value)


class ModelCatalog:
    """Cached model lookups. One per client; cheap to query on every step."""

    def __init__(self, *, default_max_output: int = DEFAULT_MAX_OUTPUT) -> None:
        self._default_max_output = default_max_output
        self._cache: dict[tuple[str, str, ModelOverride | None, str | None], ModelInfo] = {}
        self._warned: set[tuple[str, str]] = set()

    def info(
        self,
        provider_id: str,
        model_id: str,
        *,
        override: ModelOverride | None = None,
        base_url: str | None = None,
    ) -> ModelInfo:
        """Limits and prices for ``provider_id/model_id``.

        ``override`` (from the provider's config) wins field by field. ``base_url`` lets
        a provider with a custom id find its service's prices (e.g. an endpoint on
        api.groq.com gets groq's).
        """
        key = (provider_id, model_id, override, base_url)
        found = self._cache.get(key)
        if found is None:
            found = self._build(provider_id, model_id, override, base_url)
            self._cache[key] = found
        return found

    def _build(
        self,
        provider_id: str,
        model_id: str,
        override: ModelOverride | None,
        base_url: str | None,
    ) -> ModelInfo:
        data = _lookup(provider_id, model_id, base_url)
        prices = data.get_prices(datetime.now(UTC)) if data is not None else None
        over = _with_builtin(_builtin_models().get((provider_id, model_id)), override)

        def pick(configured: float | None, price_key: str) -> float | None:
            if configured is not None:
                return configured
            if prices is None:
                return None
            value: Decimal | TieredPrices | None = getattr(prices, price_key, None)
            return _per_million(value)

        input_price = pick(over.input_price, "input_mtok")
        output_price = pick(over.output_price, "output_mtok")
        # A cached token with no cache price was billed as plain input, as far as we know.
        cache_read = pick(over.cache_read_price, "cache_read_mtok")
        cache_write = pick(over.cache_write_price, "cache_write_mtok")
        known = data is not None or (input_price is not None and output_price is not None)
        if not known and (provider_id, model_id) not in self._warned:
            self._warned.add((provider_id, model_id))
            logger.warning(
                "No price or limit data for model %s/%s: its cost counts as 0. Set "
                "providers.%s.models[%r] (context_window, max_output, prices) to fix this.",
                provider_id,
                model_id,
                provider_id,
                model_id,
            )

        context_window = over.context_window or (data.context_window if data else None)
        max_output = over.max_output or self._default_output(context_window)
        input_value = input_price or 0.0
        return ModelInfo(
            provider_id=provider_id,
            model_id=model_id,
            context_window=context_window,
            max_output=max_output,
            input_price=input_value,
            output_price=output_price or 0.0,
            cache_read_price=input_value if cache_read is None else cache_read,
            cache_write_price=input_value if cache_write is None else cache_write,
            known=known,
        )

    def _default_output(self, context_window: int | None) -> int:
        """The default output limit, kept to a quarter of a small context window."""
        if context_window is None:
            return self._default_max_output
        return max(1, min(self._default_max_output, context_window // 4))


def _with_builtin(builtin: ModelOverride | None, override: ModelOverride | None) -> ModelOverride:
    """The built-in description of a model with the config's fields laid over it."""
    if builtin is None:
        return override or ModelOverride()
    if override is None:
        return builtin
    return builtin.model_copy(update=override.model_dump(exclude_none=True))


def _lookup(provider_id: str, model_id: str, base_url: str | None) -> PricesModelInfo | None:
    """The price data's entry for a model, by provider id, else by endpoint URL."""
    from genai_prices import data_snapshot  # the price data loads on the first lookup

    snapshot = data_snapshot.get_snapshot()
    try:
        return snapshot.find_provider_model(model_id, None, provider_id, None)[1]
    except LookupError:
        pass
    if base_url is None:
        return None
    try:
        return snapshot.find_provider_model(model_id, None, None, base_url)[1]
    except LookupError:
        return None
