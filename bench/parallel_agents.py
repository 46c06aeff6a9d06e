"""Parallel subagents: wall time of 100 delegated tasks at full concurrency against one
at a time.

Each subagent makes one model call to a ScriptedLLMServer on loopback that waits a
fixed delay before answering (a stand-in for a model's latency). Both runs go through
``run_parallel_agents`` in the same process, each child in its own stored child
session; the first shows what concurrency buys, the second the sequential baseline.
Prints both wall times, the speedup, and how far from ideal the parallel run is.

    python bench/parallel_agents.py [--agents 100] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from opencode_python import AgentTask, DelegationLimits, OpenCodeAsyncClient, SDKConfig
from opencode_python.testing import RecordedRequest, ScriptedLLMServer, Turn


async def run(client: OpenCodeAsyncClient, agents: int, concurrency: int) -> float:
    parent = await client.create_session(title=f"bench x{concurrency}")
    tasks = [AgentTask(agent_name="general", prompt=f"job {i}") for i in range(agents)]
    start = time.perf_counter()
    results = await client.run_parallel_agents(tasks, parent.id, max_concurrency=concurrency)
    elapsed = time.perf_counter() - start
    failed = [r.error for r in results if r.error]
    assert not failed, failed[:3]
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per model call")
    args = parser.parse_args()

    def respond(request: RecordedRequest) -> Turn:
        return Turn(text=f"done: {request.last_user_text}", delay=args.delay)

    with ScriptedLLMServer(responder=respond) as server, tempfile.TemporaryDirectory() as tmp:
        config = SDKConfig(
            storage_path=Path(tmp),
            project_dir=Path(tmp),
            model="openai/gpt-4.1-mini",
            builtin_tools=False,
            memory_embedder="none",
            delegation=DelegationLimits(max_agents=args.agents),
            providers={"openai": {"api_key": "bench", "base_url": server.openai_base_url}},
        )
        async with OpenCodeAsyncClient(config) as client:
            await run(client, 2, 2)  # warm up: imports, connections, the store
            parallel = await run(client, args.agents, args.agents)
            sequential = await run(client, args.agents, 1)

    ideal = args.delay
    print(f"subagents:                    {args.agents}")
    print(f"delay per model call:         {args.delay * 1000:8.1f} ms")
    print(f"max_concurrency={args.agents:<3}:          {parallel:8.2f} s")
    print(f"max_concurrency=1:            {sequential:8.2f} s")
    print(f"speedup:                      {sequential / parallel:8.1f}x   (ideal {args.agents}x)")
    print(f"parallel run over one delay:  {parallel / ideal:8.1f}x   (ideal 1x)")


if __name__ == "__main__":
    asyncio.run(main())
