"""Memory across sessions: stored facts found again by words and by meaning."""

from ..core.models import MemoryEntry, MemoryFilter, MemoryScope
from .embedders import APIEmbedder, LocalEmbedder, MemoryEmbedder, default_embedder
from .manager import MemoryManager
from .search import hybrid_search, reciprocal_rank_fusion
from .summarizer import MemorySummarizer, MemorySummary
from .tools import MemorySearchTool, MemoryStoreTool
from .vectors import VectorIndex

__all__ = [
    "APIEmbedder",
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
