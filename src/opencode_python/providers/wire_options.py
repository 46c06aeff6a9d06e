"""Which options written in ``opencode.json`` (and agent files) go on the wire.

OpenCode hands every unknown agent key (``variant``, ``tags``, ``icon``) and every
provider option (``modelsDiscovery``, ``setCacheKey``) to its AI SDK provider, and some
of those end up in the request body; a strict OpenAI-compatible server answers 400 to a
field it does not know. Here only the request parameters of the official APIs go on the
wire, with the AI SDK's camelCase names (``reasoningEffort``) renamed to the API's; the
rest is kept as metadata. Options set in code are not filtered: there they are meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .config import CLIENT_ARGS

#: The request parameters of OpenAI's chat completions and Anthropic's messages APIs
#: that an option may set (``model``, ``messages``, ``tools`` and the like come from the
#: request itself); tests/providers check them against the official clients' types.
REQUEST_OPTIONS: Final = frozenset(
    {
        # OpenAI chat completions
        "audio", "frequency_penalty", "logit_bias", "logprobs", "max_completion_tokens",
        "max_tokens", "metadata", "modalities", "moderation", "n", "parallel_tool_calls",
        "prediction", "presence_penalty", "prompt_cache_key", "prompt_cache_options",
        "prompt_cache_retention", "reasoning_effort", "response_format",
        "safety_identifier", "seed", "service_tier", "stop", "store", "temperature",
        "tool_choice", "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
        # Anthropic messages
        "cache_control", "container", "diagnostics", "inference_geo", "output_config",
        "speed", "stop_sequences", "thinking", "top_k", "user_profile_id", "workspace_id",
    }
) | CLIENT_ARGS  # fmt: skip

#: The AI SDK's names for request parameters, as OpenCode users write them.
AI_SDK_NAMES: Final[Mapping[str, str]] = {
    "reasoningEffort": "reasoning_effort",
    "textVerbosity": "verbosity",
    "maxTokens": "max_tokens",
    "maxOutputTokens": "max_tokens",
    "maxCompletionTokens": "max_completion_tokens",
    "parallelToolCalls": "parallel_tool_calls",
    "serviceTier": "service_tier",
    "promptCacheKey": "prompt_cache_key",
    "safetyIdentifier": "safety_identifier",
    "frequencyPenalty": "frequency_penalty",
    "presencePenalty": "presence_penalty",
    "stopSequences": "stop_sequences",
    "topK": "top_k",
    "topP": "top_p",
}


def split_wire_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` as (what goes on the wire, under the API's names; what is kept as
    metadata only)."""
    wire: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    for key, value in options.items():
        name = AI_SDK_NAMES.get(key, key)
        if name in REQUEST_OPTIONS:
            wire[name] = value
        else:
            kept[key] = value
    return wire, kept
