"""Which model a run uses when the caller does not say: one rule for every run."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..providers.local_info import MODEL_ID as LOCAL_MODEL_ID
from ..providers.registry import ProviderRegistry
from .agent import Agent

# Used when no model is configured: the first provider whose key is in the environment,
# else the small model that runs in this process, offline (the `local` extra).
ENV_DEFAULT_MODELS = (
    ("ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"),
    ("OPENAI_API_KEY", "openai/gpt-4.1-mini"),
)
LOCAL_DEFAULT_MODEL = f"local/{LOCAL_MODEL_ID}"


@dataclass(slots=True)
class ModelChooser:
    """The client's model defaults: ``configured`` (SDKConfig, then opencode.json) and
    ``small`` (for titles and summaries)."""

    providers: ProviderRegistry
    configured: str | None = None
    small: str | None = None

    def resolve(self, model: str | None = None, agent: Agent | None = None) -> str:
        """The ``provider/model`` a run will use: argument, agent, configuration, the
        default provider's model, a provider key in the environment, and last the local
        model (``local/smollm2-135m``, offline; needs the ``local`` extra)."""
        name = (
            model
            or (agent.model if agent else None)
            or self.configured
            or self.providers.default_model
        )
        if name:
            return name
        for env_var, env_model in ENV_DEFAULT_MODELS:
            if os.environ.get(env_var):
                return env_model
        return LOCAL_DEFAULT_MODEL

    def small_model(self) -> str:
        """The model for side calls (titles, summaries): ``small``, else the default."""
        return self.small or self.resolve()
