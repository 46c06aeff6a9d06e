"""What both adapters do around a wire stream: check before any I/O, then relay.

The adapters differ in how they open a stream and map its chunks; checking the
real-request guard and the key, mapping failures mid-stream, closing the response
and flushing the mapper at the end are the same, and live here once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

import httpx2

from ..core.errors import BrokenStreamError, ProviderError
from .base import StreamEvent
from .retry import error_from_transport

Chunk = TypeVar("Chunk", contravariant=True)


class ChunkMapping(Protocol[Chunk]):
    """Turns one wire chunk into stream events; ``finish`` flushes what is pending."""

    def feed(self, chunk: Chunk) -> list[StreamEvent]: ...

    def finish(self, provider_id: str) -> list[StreamEvent]: ...


class WireStream(Protocol):
    """The official clients' async stream: iterable, closable."""

    def __aiter__(self) -> AsyncIterator[Any]: ...

    async def close(self) -> None: ...


async def relay(
    open_stream: Callable[[], Awaitable[WireStream]],
    mapper: ChunkMapping[Any],
    *,
    provider_id: str,
    base_url: str,
    api_error: type[Exception],
    map_error: Callable[[Any, bool], ProviderError],
) -> AsyncIterator[StreamEvent]:
    """Open the wire stream, map each chunk, and turn every failure into a ProviderError.

    ``map_error(exc, during_stream)`` maps the client's own ``api_error``; transport
    errors (which a client may not wrap while streaming) and undecodable data map here.
    """
    try:
        response = await open_stream()
    except api_error as exc:
        raise map_error(exc, False) from exc
    try:
        async for chunk in response:
            for event in mapper.feed(chunk):
                yield event
    except api_error as exc:
        raise map_error(exc, True) from exc
    except httpx2.RequestError as exc:
        raise error_from_transport(
            provider_id=provider_id, base_url=base_url, error=exc, during_stream=True
        ) from exc
    except json.JSONDecodeError as exc:
        raise BrokenStreamError(
            f"{provider_id} streamed data that is not JSON ({exc}). Trying again may help.",
            provider_id=provider_id,
        ) from exc
    finally:
        await response.close()
    for event in mapper.finish(provider_id):
        yield event
