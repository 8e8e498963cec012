"""One contract for every ArtifactStore: the local folder store of embedded mode and
the S3 store of distributed mode run the same tests, S3 against moto's S3 server
started here on a free port of 127.0.0.1. S3-only tests follow (multipart,
pagination, presigned URLs, temp file cleanup).

Fake AWS credentials are set in the environment for each S3 test only.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from dalston.errors import StorageUnavailable
from dalston.storage import LocalArtifactStore
from dalston.storage.s3 import S3ArtifactStore
from tests.faults import silent_server

_MB = 1024 * 1024


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, and nothing from this machine's AWS setup."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-creds"))


def _s3_store(moto_url: str, **kwargs: Any) -> S3ArtifactStore:
    # A fresh bucket per test, created by the store on first use; a 5 MB
    # threshold (the S3 minimum part size) makes the 10 MB upload multipart.
    kwargs.setdefault("multipart_threshold", 5 * _MB)
    kwargs.setdefault("multipart_chunksize", 5 * _MB)
    return S3ArtifactStore(
        f"dalston-test-{uuid.uuid4().hex[:12]}", endpoint_url=moto_url, **kwargs
    )


@pytest_asyncio.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "local":
        yield LocalArtifactStore(tmp_path / "artifacts")
        return
    request.getfixturevalue("aws_env")
    s3 = _s3_store(request.getfixturevalue("moto_url"))
    yield s3
    s3.close()


@pytest_asyncio.fixture
async def s3(moto_url: str, aws_env: None) -> AsyncIterator[S3ArtifactStore]:
    store = _s3_store(moto_url)
    yield store
    store.close()


# --- the contract ---------------------------------------------------------------
async def test_put_and_get_bytes(store: Any) -> None:
    await store.put_bytes("jobs/1/transcript.json", b'{"text": "hello"}')
    assert await store.get_bytes("jobs/1/transcript.json") == b'{"text": "hello"}'
    await store.put_bytes("jobs/1/transcript.json", b"replaced")
    assert await store.get_bytes("jobs/1/transcript.json") == b"replaced"
    await store.put_bytes("jobs/1/empty", b"")
    assert await store.get_bytes("jobs/1/empty") == b""


async def test_put_path_of_a_10_mb_file(store: Any, tmp_path: Path) -> None:
    data = os.urandom(10 * _MB + 123)
    source = tmp_path / "big.wav"
    source.write_bytes(data)
    assert await store.put_path("jobs/1/audio/original.wav", source) == len(data)
    assert await store.get_bytes("jobs/1/audio/original.wav") == data


async def test_put_stream_counts_bytes(store: Any) -> None:
    small = b"x" * 1000
    assert await store.put_stream("jobs/1/small", io.BytesIO(small)) == len(small)
    assert await store.get_bytes("jobs/1/small") == small
    big = os.urandom(6 * _MB)
    assert await store.put_stream("jobs/1/big", io.BytesIO(big)) == len(big)
    assert await store.get_bytes("jobs/1/big") == big


async def test_local_path_gives_a_readable_file(store: Any) -> None:
    await store.put_bytes("jobs/1/audio/original.wav", b"RIFF....WAVE")
    async with store.local_path("jobs/1/audio/original.wav") as path:
        assert isinstance(path, Path)
        assert path.read_bytes() == b"RIFF....WAVE"
        assert path.suffix == ".wav"


async def test_exists(store: Any) -> None:
    assert not await store.exists("jobs/1/a.json")
    await store.put_bytes("jobs/1/a.json", b"{}")
    assert await store.exists("jobs/1/a.json")
    assert not await store.exists("jobs/1/b.json")
    assert not await store.exists("jobs/1")  # a folder is not an object


async def test_missing_keys_raise_key_error(store: Any) -> None:
    with pytest.raises(KeyError):
        await store.get_bytes("jobs/nope/transcript.json")
    with pytest.raises(KeyError):
        async with store.local_path("jobs/nope/audio.wav"):
            pass


async def test_delete_prefix_removes_only_that_prefix(store: Any) -> None:
    keys = [
        "jobs/1/audio/original.wav",
        "jobs/1/stages/transcribe.json",
        "jobs/1/transcript.json",
        "jobs/10/transcript.json",
        "jobs/2/transcript.json",
        "jobs/2/audio/original.wav",
        "other/1/file",
    ]
    for key in keys:
        await store.put_bytes(key, key.encode())
    await store.delete_prefix("jobs/1/")
    for key in keys:
        assert await store.exists(key) == (not key.startswith("jobs/1/")), key
    await store.delete_prefix("jobs/2")  # without the slash: still a folder
    assert not await store.exists("jobs/2/audio/original.wav")
    assert not await store.exists("jobs/2/transcript.json")
    assert await store.exists("jobs/10/transcript.json")
    assert await store.exists("other/1/file")
    await store.delete_prefix("jobs/nothing-here/")  # no error


async def test_invalid_keys_are_refused(store: Any) -> None:
    for key in ["../escape", "/absolute", "", "jobs/../../x"]:
        with pytest.raises(ValueError):
            await store.put_bytes(key, b"x")
    with pytest.raises(ValueError):
        await store.delete_prefix("")


# --- S3 only --------------------------------------------------------------------
async def test_large_upload_is_multipart(s3: S3ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(11 * _MB))
    await s3.put_path("jobs/1/big.bin", source)
    head = await asyncio.to_thread(
        s3.client.head_object, Bucket=s3.bucket, Key="jobs/1/big.bin"
    )
    assert head["ETag"].strip('"').endswith("-3")  # three parts of 5 MB at most
    assert head["ContentLength"] == 11 * _MB


async def test_local_path_temp_file_is_removed(s3: S3ArtifactStore) -> None:
    await s3.put_bytes("jobs/1/audio/original.wav", b"RIFF")
    async with s3.local_path("jobs/1/audio/original.wav") as path:
        assert path.exists()
    assert not path.exists()
    assert not path.parent.exists()
    with pytest.raises(RuntimeError):
        async with s3.local_path("jobs/1/audio/original.wav") as path:
            raise RuntimeError("decoder failed")
    assert not path.parent.exists()


async def test_delete_prefix_pages_through_many_objects(
    moto_url: str, aws_env: None
) -> None:
    s3 = _s3_store(moto_url, list_page_size=10)
    limit = asyncio.Semaphore(8)

    async def put(n: int) -> None:
        async with limit:
            await s3.put_bytes(f"jobs/many/part-{n:04d}", b"x")

    await asyncio.gather(*(put(n) for n in range(45)))  # five listing pages
    await s3.put_bytes("jobs/keep/file", b"x")
    await s3.delete_prefix("jobs/many/")
    listing = await asyncio.to_thread(
        s3.client.list_objects_v2, Bucket=s3.bucket, Prefix="jobs/"
    )
    assert [item["Key"] for item in listing.get("Contents", [])] == ["jobs/keep/file"]
    s3.close()


async def test_presigned_url_downloads_without_credentials(
    s3: S3ArtifactStore,
) -> None:
    await s3.put_bytes("jobs/1/transcript.txt", "héllo wörld".encode())
    url = await s3.presigned_url("jobs/1/transcript.txt", expires_s=300)
    assert "Signature" in url or "X-Amz-Signature" in url
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == "héllo wörld".encode()
    with pytest.raises(KeyError):
        await s3.get_bytes("jobs/1/other.txt")


async def test_bucket_is_created_in_another_region(
    moto_url: str, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    store = _s3_store(moto_url)
    try:
        await store.put_bytes("a/b", b"c")
        assert await store.get_bytes("a/b") == b"c"
        location = await asyncio.to_thread(
            store.client.get_bucket_location, Bucket=store.bucket
        )
        assert location["LocationConstraint"] == "eu-west-1"
        # A second store on the existing bucket finds it.
        again = S3ArtifactStore(store.bucket, endpoint_url=moto_url)
        assert await again.get_bytes("a/b") == b"c"
        again.close()
    finally:
        store.close()


# --- failures of the store --------------------------------------------------------
async def test_probe_is_a_round_trip(store: Any) -> None:
    await store.probe()


async def test_a_vanished_bucket_fails_probe_and_writes_as_unavailable(
    s3: S3ArtifactStore,
) -> None:
    """The first-use bucket check is cached; the probe is not, so readiness sees
    a bucket that went away, and writes fail as ``StorageUnavailable`` (503)."""
    await s3.put_bytes("jobs/1/a", b"x")
    await s3.delete_prefix("jobs")
    await asyncio.to_thread(s3.client.delete_bucket, Bucket=s3.bucket)
    with pytest.raises(StorageUnavailable):
        await s3.probe()
    with pytest.raises(StorageUnavailable):
        await s3.put_bytes("jobs/2/a", b"y")
    with pytest.raises(StorageUnavailable):
        await s3.get_bytes("jobs/1/a")


async def test_a_hung_store_fails_the_probe_within_seconds(aws_env: None) -> None:
    with silent_server() as port:
        hung = S3ArtifactStore("b", endpoint_url=f"http://127.0.0.1:{port}")
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            await hung.probe()
        assert time.monotonic() - started < 5
        hung.close()
