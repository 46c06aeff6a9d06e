"""Memory across sessions: stored facts found again by words and by meaning."""

from typing import TYPE_CHECKING, Any

from ..core.models import MemoryEntry, MemoryFilter, MemoryScope
from .embedders import APIEmbedder, LocalEmbedder, MemoryEmbedder, default_embedder
from .manager import MemoryManager
from .search import DEFAULT_FUSION, Fusion, hybrid_search, reciprocal_rank_fusion
from .summarizer import MemorySummarizer, MemorySummary
from .tools import MemorySearchTool, MemoryStoreTool

if TYPE_CHECKING:
    from .vectors import VectorIndex


def __getattr__(name: str) -> Any:
    """``VectorIndex`` (and numpy with it) only when it is asked for."""
    if name == "VectorIndex":
        from .vectors import VectorIndex

        return VectorIndex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_FUSION",
    "APIEmbedder",
    "Fusion",
    "LocalEmbedder",
    "MemoryEmbedder",
    "MemoryEntry",
    "MemoryFilter",
    "MemoryManager",
    "MemoryScope",
    "MemorySearchTool",
    "MemoryStoreTool",
    "MemorySummarizer",
    "MemorySummary",
    "VectorIndex",
    "default_embedder",
    "hybrid_search",
    "reciprocal_rank_fusion",
]
