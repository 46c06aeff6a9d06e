"""The SDK: configuration and the async and sync clients."""

from ..agents.result import AgentResult
from .callbacks import Notification
from .client import OpenCodeAsyncClient
from .config import SDKConfig
from .io import IOHandler
from .sync_client import OpenCodeSyncClient

__all__ = [
    "AgentResult",
    "IOHandler",
    "Notification",
    "OpenCodeAsyncClient",
    "OpenCodeSyncClient",
    "SDKConfig",
]
