"""Artifact store on S3 or an S3-compatible server (MinIO, moto, ...), for
distributed mode.

Keys are used as object keys unchanged. boto3 is synchronous, so every call runs
in a worker thread. Credentials and region come from the usual AWS settings
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, profiles,
instance roles); the endpoint comes from the constructor. The bucket is created on
first use when it does not exist.

Writes are atomic as S3 makes them: an object, multipart or not, is visible only
once complete. ``delete_prefix`` treats its argument as a folder, like the local
store: ``jobs/1`` removes ``jobs/1`` and ``jobs/1/...``, never ``jobs/10/...``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dalston.errors import StorageUnavailable

_MB = 1024 * 1024
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
# Short limits for the readiness probe's own client: it must answer in seconds.
_PROBE_CONFIG = Config(
    connect_timeout=2, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"}
)
_DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


def _check_key(key: str) -> str:
    rel = PurePosixPath(key)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"invalid artifact key: {key!r}")
    return key


def _is_missing(exc: ClientError) -> bool:
    """The object (or, for a bucket call, the bucket) does not exist."""
    error = exc.response.get("Error", {})
    return str(error.get("Code")) in _MISSING_CODES


class _CountingReader:
    """A read-only view of a file object that counts the bytes read."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        self.count += len(chunk)
        return chunk


class S3ArtifactStore:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        multipart_threshold: int = 16 * _MB,
        multipart_chunksize: int = 16 * _MB,
        max_concurrency: int = 8,
        list_page_size: int = 1000,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        probe_client = client
        if client is None:
            # S3-compatible servers on a custom endpoint want path-style URLs.
            addressing = {"addressing_style": "path" if endpoint_url else "auto"}
            config = Config(
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=max(10, max_concurrency * 2),
                connect_timeout=connect_timeout_s,
                read_timeout=read_timeout_s,
                s3=addressing,
            )
            session = boto3.session.Session()
            client = session.client(
                "s3", endpoint_url=endpoint_url, region_name=region_name, config=config
            )
            probe_client = session.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region_name,
                config=_PROBE_CONFIG.merge(Config(s3=addressing)),
            )
        self.client = client
        self._probe_client = probe_client
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=max_concurrency,
        )
        self.list_page_size = list_page_size
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    # --- bucket -------------------------------------------------------------------
    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (done on first use anyway)."""
        if not self._bucket_ready:
            await asyncio.to_thread(self._ensure_bucket_sync)

    def _ensure_bucket_sync(self) -> None:
        with self._bucket_lock:
            if self._bucket_ready:
                return
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if not _is_missing(exc):
                    raise
                self._create_bucket_sync()
            self._bucket_ready = True

    def _create_bucket_sync(self, client: Any = None) -> None:
        client = client or self.client
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        region = client.meta.region_name
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            client.create_bucket(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    async def _call(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking client call in a thread. Errors of the store itself (no
        connection, timeouts, a vanished bucket, refusals) become
        ``StorageUnavailable``; a missing object stays ``KeyError``."""
        try:
            await self.ensure_bucket()
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(
                f"the artifact store (bucket {self.bucket!r}) failed: {exc}"
            ) from exc

    async def probe(self) -> None:
        """A round trip to the bucket itself, not the cached first-use check: a
        bucket that vanished or a server that hangs is noticed."""

        def _head() -> None:
            try:
                self._probe_client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if not _is_missing(exc) or self._bucket_ready:
                    raise  # not there any more: writes would fail too
                with self._bucket_lock:  # first use: made, as by any call
                    self._create_bucket_sync(self._probe_client)
                    self._bucket_ready = True

        try:
            await asyncio.to_thread(_head)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(
                f"the artifact store (bucket {self.bucket!r}) failed: {exc}"
            ) from exc

    # --- ArtifactStore --------------------------------------------------------------
    async def put_bytes(self, key: str, data: bytes) -> None:
        await self._call(
            self.client.put_object, Bucket=self.bucket, Key=_check_key(key), Body=data
        )

    async def put_stream(self, key: str, source: BinaryIO) -> int:
        reader = _CountingReader(source)
        await self._call(
            self.client.upload_fileobj,
            reader,
            self.bucket,
            _check_key(key),
            Config=self._transfer,
        )
        return reader.count

    async def put_path(self, key: str, source: Path) -> int:
        def _upload() -> int:
            size = source.stat().st_size
            self.client.upload_file(
                str(source), self.bucket, key, Config=self._transfer
            )
            return size

        _check_key(key)
        size: int = await self._call(_upload)
        return size

    async def get_bytes(self, key: str) -> bytes:
        def _get() -> bytes:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _is_missing(exc):
                    raise KeyError(key) from None
                raise
            body = response["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

        _check_key(key)
        result: bytes = await self._call(_get)
        return result

    @asynccontextmanager
    async def local_path(self, key: str) -> AsyncIterator[Path]:
        """Download the object to a temporary file, removed on exit."""
        _check_key(key)
        folder = Path(tempfile.mkdtemp(prefix="dalston-s3-"))
        try:
            target = folder / (PurePosixPath(key).name or "object")

            def _download() -> None:
                try:
                    self.client.download_file(
                        self.bucket, key, str(target), Config=self._transfer
                    )
                except ClientError as exc:
                    if _is_missing(exc):
                        raise KeyError(key) from None
                    raise

            await self._call(_download)
            yield target
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def exists(self, key: str) -> bool:
        def _head() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _is_missing(exc):
                    return False
                raise
            return True

        _check_key(key)
        found: bool = await self._call(_head)
        return found

    async def delete_prefix(self, prefix: str) -> None:
        base = _check_key(prefix.rstrip("/"))

        def _delete_batch(keys: list[str]) -> None:
            response = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise RuntimeError(
                    f"deleting {len(errors)} object(s) under {prefix!r} failed: "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )

        def _delete() -> None:
            # The object named like the folder, if any, then everything inside it,
            # a listing page (at most 1000 keys: one DeleteObjects call) at a time.
            self.client.delete_object(Bucket=self.bucket, Key=base)
            paginator = self.client.get_paginator("list_objects_v2")
            pages = paginator.paginate(
                Bucket=self.bucket,
                Prefix=base + "/",
                PaginationConfig={"PageSize": self.list_page_size},
            )
            for page in pages:
                keys = [item["Key"] for item in page.get("Contents", [])]
                for start in range(0, len(keys), _DELETE_BATCH):
                    _delete_batch(keys[start : start + _DELETE_BATCH])

        await self._call(_delete)

    # --- extras ---------------------------------------------------------------------
    async def presigned_url(self, key: str, expires_s: int = 3600) -> str:
        """A URL that downloads the object without credentials, for ``expires_s``."""
        _check_key(key)
        url: str = await self._call(
            self.client.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=int(expires_s),
        )
        return url

    def close(self) -> None:
        self.client.close()
        if self._probe_client is not self.client:
            self._probe_client.close()
