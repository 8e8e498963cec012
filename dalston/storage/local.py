"""Artifact store on a local folder (embedded mode)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from dalston.errors import StorageUnavailable

_COPY_CHUNK = 1024 * 1024


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        rel = PurePosixPath(key)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"invalid artifact key: {key!r}")
        return self.root.joinpath(*rel.parts)

    def _write_atomic(self, key: str, source: BinaryIO) -> int:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(_COPY_CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    async def put_bytes(self, key: str, data: bytes) -> None:
        import io

        await asyncio.to_thread(self._write_atomic, key, io.BytesIO(data))

    async def put_stream(self, key: str, source: BinaryIO) -> int:
        return await asyncio.to_thread(self._write_atomic, key, source)

    async def put_path(self, key: str, source: Path) -> int:
        def _copy() -> int:
            with source.open("rb") as src:
                return self._write_atomic(key, src)

        return await asyncio.to_thread(_copy)

    async def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise KeyError(key) from None

    @asynccontextmanager
    async def local_path(self, key: str) -> AsyncIterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        yield path

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def probe(self) -> None:
        """The folder is still there and writable."""

        def _check() -> None:
            if not self.root.is_dir() or not os.access(self.root, os.W_OK | os.X_OK):
                raise StorageUnavailable(f"artifact folder {self.root} is not usable")

        await asyncio.to_thread(_check)

    async def delete_prefix(self, prefix: str) -> None:
        target = self._path(prefix.rstrip("/"))
        if target.is_dir():
            await asyncio.to_thread(shutil.rmtree, target, True)
        elif target.exists():
            target.unlink()
