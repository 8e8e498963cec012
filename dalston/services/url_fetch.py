"""Fetch audio from a URL with size and time limits, refusing private addresses.

Each redirect hop is checked again, so a public URL cannot bounce the server into
its own network (SSRF).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import httpx

from dalston.errors import InvalidRequest, PayloadTooLarge

_MAX_REDIRECTS = 5


async def check_public_host(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("The URL must be http(s)://host/...", param="audio_url")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or 0, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise InvalidRequest(
            f"The URL's host {parts.hostname!r} does not resolve.", param="audio_url"
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise InvalidRequest(
                f"The URL points at a private or local address ({address}); "
                "fetching it is not allowed.",
                param="audio_url",
            )


async def fetch_to_file(
    url: str,
    sink: BinaryIO,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool,
    param: str = "audio_url",
) -> str:
    """Stream the body into ``sink``; returns the final URL's path (for its suffix)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await _fetch(url, sink, max_bytes, timeout_s, allow_private, param)
    except TimeoutError as exc:
        raise InvalidRequest(
            f"Fetching the URL took longer than {timeout_s:.0f} s.", param=param
        ) from exc


async def _fetch(
    url: str,
    sink: BinaryIO,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool,
    param: str,
) -> str:
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout_s) as client:
        for _ in range(_MAX_REDIRECTS + 1):
            if not allow_private:
                await check_public_host(url)
            try:
                async with client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise InvalidRequest(
                            f"Fetching the URL gave HTTP {response.status_code}.",
                            param=param,
                        )
                    declared = int(response.headers.get("content-length") or 0)
                    if declared > max_bytes:
                        raise _too_large(max_bytes)
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise _too_large(max_bytes)
                        sink.write(chunk)
                    return urlsplit(str(response.url)).path
            except httpx.HTTPError as exc:
                raise InvalidRequest(
                    f"Fetching the URL failed: {type(exc).__name__}: {exc}", param=param
                ) from exc
    raise InvalidRequest("The URL redirected too many times.", param=param)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The audio at the URL is larger than the {max_bytes} byte limit.",
        param="audio_url",
    )
