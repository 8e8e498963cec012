"""Outbound HTTP to user-given URLs (``audio_url``, ElevenLabs ``source_url``,
webhook deliveries) that reaches only public addresses (no SSRF).

The host is resolved once, every address it resolves to is checked, and the
connection goes to a checked address: the request carries the name in its
``Host`` header and TLS ``server_hostname`` (SNI and certificate check), but the
socket is opened to the pinned IP, so a name that answers differently the second
time (DNS rebinding) cannot steer the connection. Each redirect hop is checked
and pinned the same way. Refusals never echo the internal address they found.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from dalston.errors import InvalidRequest, PayloadTooLarge

_MAX_REDIRECTS = 5
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _is_public(address: _Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Pinned:
    """A URL's host, resolved once and checked: where to connect, and as whom."""

    url: str
    host: str
    addresses: tuple[str, ...]

    def targets(self) -> list[tuple[str, dict[str, str], dict[str, str]]]:
        """For each address: the URL with that IP as its host, the headers and the
        request extensions that keep the name for ``Host`` and TLS."""
        parts = urlsplit(self.url)
        userinfo = parts.netloc.rpartition("@")[0]  # httpx makes it basic auth
        extensions = {"sni_hostname": self.host} if parts.scheme == "https" else {}
        headers = {"Host": _netloc(self.host, parts.port)}
        out = []
        for ip in self.addresses:
            netloc = _netloc(ip, parts.port)
            if userinfo:
                netloc = f"{userinfo}@{netloc}"
            target = urlunsplit(parts._replace(netloc=netloc))
            out.append((target, headers, extensions))
        return out


def _netloc(host: str, port: int | None) -> str:
    literal = f"[{host}]" if ":" in host else host
    return f"{literal}:{port}" if port else literal


async def pin(url: str, *, allow_private: bool, param: str = "audio_url") -> Pinned:
    """Resolve ``url``'s host once; refuse it unless every address is public
    (or ``allow_private``)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL": an unclosed '['
        raise InvalidRequest(f"The URL is not valid ({exc}).", param=param) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("The URL must be http(s)://host/...", param=param)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidRequest("The URL's port is not valid.", param=param) from exc
    try:
        # The ASCII (IDNA) form: what is resolved is what Host and SNI carry.
        host = parts.hostname.encode("idna").decode("ascii")
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidRequest(
            f"The URL's host {parts.hostname!r} does not resolve.", param=param
        ) from exc
    addresses: list[str] = []
    for info in infos:
        ip = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        if not allow_private and not _is_public(ipaddress.ip_address(ip)):
            raise InvalidRequest(
                "The URL's host is not a public address; fetching it is not allowed.",
                param=param,
            )
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise InvalidRequest(f"The URL's host {host!r} does not resolve.", param=param)
    return Pinned(url=url, host=host, addresses=tuple(addresses))


async def check_public_host(url: str, *, param: str = "audio_url") -> None:
    """Refuse a URL whose host is not public (at registration time)."""
    await pin(url, allow_private=False, param=param)


async def send_pinned(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    allow_private: bool,
    param: str,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """One request to ``url`` over a connection to a checked address (the first
    that accepts). The response is streamed: the caller closes it."""
    pinned = await pin(url, allow_private=allow_private, param=param)
    failure: httpx.ConnectError | None = None
    for target, host_header, extensions in pinned.targets():
        request = client.build_request(
            method,
            target,
            headers={**(headers or {}), **host_header},
            content=content,
            extensions=extensions,
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError as exc:
            failure = exc
    assert failure is not None
    raise failure


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
            try:
                response = await send_pinned(
                    client, "GET", url, allow_private=allow_private, param=param
                )
                try:
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
                        raise _too_large(max_bytes, param)
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise _too_large(max_bytes, param)
                        sink.write(chunk)
                    return urlsplit(url).path
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                raise InvalidRequest(
                    f"Fetching the URL failed: {type(exc).__name__}.", param=param
                ) from exc
    raise InvalidRequest("The URL redirected too many times.", param=param)


def _too_large(max_bytes: int, param: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The audio at the URL is larger than the {max_bytes} byte limit.",
        param=param,
    )
