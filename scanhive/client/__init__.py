"""The ScanHive Python SDK: Client and AsyncClient for ScanHive and MetaDefender Core/Cloud v4 servers."""

from scanhive.client.errors import (
    ApiError,
    AuthError,
    ConnectionFailed,
    NotFound,
    RateLimited,
    ScanHiveError,
    ScanTimeout,
    ServerBusy,
)
from scanhive.client.models import BatchStatus, EngineInfo, EngineResult, FileInfo, HashResult, ScanReport, Submission
from scanhive.client.sdk import AsyncClient, Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthError",
    "BatchStatus",
    "Client",
    "ConnectionFailed",
    "EngineInfo",
    "EngineResult",
    "FileInfo",
    "HashResult",
    "NotFound",
    "RateLimited",
    "ScanHiveError",
    "ScanReport",
    "ScanTimeout",
    "ServerBusy",
    "Submission",
]
