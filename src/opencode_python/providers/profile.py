"""``ModelProfile``: what a model family can do, as far as the engine has to know.

The adapters answer for their wire format (``profile(model_id)``); a provider without
that method gets the default profile, which asks for structured output through a
final-answer tool, the mode nearly every chat model with tool calling follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

OutputMode = Literal["native", "tool", "prompted"]
"""How the model is asked: the API's structured output, a final-answer tool, or a prompt."""


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """``native_output``: the API constrains the answer to a JSON schema.
    ``tool_calls``: the model calls tools and can be made to (``tool_choice``)."""

    native_output: bool = False
    tool_calls: bool = True

    @property
    def output_mode(self) -> OutputMode:
        """The best way to ask this model for structured output."""
        if self.native_output:
            return "native"
        return "tool" if self.tool_calls else "prompted"


DEFAULT_PROFILE = ModelProfile()

# OpenAI's models with json_schema response formats: gpt-4o (not the first snapshot),
# gpt-4.1, gpt-5 and the o-series reasoning models after o1-mini.
_OPENAI_NATIVE = re.compile(r"^(gpt-4o(?!-2024-05-13)|gpt-4\.1|gpt-5|o1(?!-mini)|o3|o4|chatgpt-4o)")
# Claude's structured outputs: Opus 4.1, and every family from 4.5 on.
_CLAUDE = re.compile(r"claude-(opus|sonnet|haiku)-(\d+)(?:-(\d)(?!\d))?")


def openai_profile(model_id: str, *, official: bool) -> ModelProfile:
    """Chat Completions: native on OpenAI's own recent models. Compatible servers vary
    (some ignore ``response_format`` silently), so they get the tool mode."""
    return ModelProfile(native_output=official and bool(_OPENAI_NATIVE.match(model_id)))


def anthropic_profile(model_id: str) -> ModelProfile:
    """Messages: native ``output_config`` from Claude Opus 4.1 and the 4.5 families on."""
    match = _CLAUDE.search(model_id)
    if match is None:
        return DEFAULT_PROFILE
    family, major, minor = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    native = (major, minor) >= (4, 5) or (family == "opus" and (major, minor) >= (4, 1))
    return ModelProfile(native_output=native)


def profile_of(provider: object, model_id: str) -> ModelProfile:
    """The provider's profile of ``model_id``: its ``profile`` method's, else the default."""
    profile = getattr(provider, "profile", None)
    if callable(profile):
        found = profile(model_id)
        if isinstance(found, ModelProfile):
            return found
    return DEFAULT_PROFILE
