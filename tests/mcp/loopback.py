"""Servers on loopback for the MCP tests: a free port, and waiting until one listens."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(process: subprocess.Popen[str], port: int, timeout: float) -> None:
    """Return once ``port`` accepts connections; fail if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"the server exited: {stderr}")
        if time.monotonic() > deadline:
            raise AssertionError("the server never accepted a connection")
        time.sleep(0.05)
