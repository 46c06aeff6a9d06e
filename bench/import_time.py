"""How long a cold ``import opencode_python`` takes, beside what it cannot go below.

Each line runs in fresh interpreters, alternating, and prints the median wall time of
the import. ``import pydantic, asyncio`` is the floor: the package's models and its
async code need both. The CLI line runs ``opencode-python --version`` as a whole
process. ``-X importtime`` shows where the rest goes.

    python bench/import_time.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "floor: import pydantic, asyncio": "import pydantic, asyncio",
    "import opencode_python": "import opencode_python",
    "build a client": (
        "from opencode_python import OpenCodeAsyncClient, SDKConfig\n"
        "OpenCodeAsyncClient(SDKConfig(model='openai/gpt-4.1-mini'))"
    ),
}


def import_ms(code: str) -> float:
    probe = f"import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return float(done.stdout.strip()) * 1000


def process_ms(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    cli = shutil.which("opencode-python", path=str(Path(sys.executable).parent))
    if cli:
        times["opencode-python --version (whole process)"] = []
    for code in CASES.values():  # warm the bytecode caches
        import_ms(code)
    for _ in range(args.runs):
        for name, code in CASES.items():
            times[name].append(import_ms(code))
        if cli:
            times["opencode-python --version (whole process)"].append(
                process_ms([cli, "--version"])
            )
    floor = statistics.median(times["floor: import pydantic, asyncio"])
    print(f"{args.runs} runs each, median wall time")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:45s} {median:7.1f} ms   {median / floor:4.1f}x the floor")


if __name__ == "__main__":
    main()
