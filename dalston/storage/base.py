"""The artifact store seam: audio, stage outputs and transcripts, by key.

Keys are relative POSIX paths such as ``jobs/{id}/audio/original.wav`` and
``jobs/{id}/transcript.json``. Writes are atomic: a reader sees the whole object
or nothing.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import BinaryIO, Protocol


def job_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/"


def partial_key(job_id: str, stage: str) -> str:
    """Where a running stage stores its output so far, for a stage that follows
    it (``EngineSpec.follows``)."""
    return f"{job_prefix(job_id)}stages/{stage}.partial.json"


class ArtifactStore(Protocol):
    async def put_bytes(self, key: str, data: bytes) -> None: ...

    async def put_stream(self, key: str, source: BinaryIO) -> int:
        """Copy a file object under ``key``; returns the byte count."""
        ...

    async def put_path(self, key: str, source: Path) -> int: ...

    async def get_bytes(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A readable file on this machine holding the object, for decoders."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete_prefix(self, prefix: str) -> None: ...

    async def probe(self) -> None:
        """A real round trip to the store (readiness); raises when it fails."""
        ...
