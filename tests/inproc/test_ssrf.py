"""SSRF by DNS rebinding: a name that resolves to a public address when checked and
to 127.0.0.1 when connected must never reach 127.0.0.1.

The resolver (``socket.getaddrinfo``, under both the guard and httpx: the loop's
``getaddrinfo`` calls it, and anyio hands it the name as IDNA bytes) is patched
to flip: the first answer for ``rebind.test`` is a public IPv6 address (no route
from here, so that connection fails at once), every later answer is the loopback
address of a local server that counts its requests. The old guard resolved twice
and the server saw the request.
"""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from dalston.errors import InvalidRequest
from dalston.services import url_fetch
from dalston.services.url_fetch import fetch_to_file, pin, send_pinned
from dalston.services.webhook_endpoints import Rendered, post
from tests.audio_fixtures import DATA
from tests.inproc.conftest import InProcess, fast_settings, running

PUBLIC_V6 = "2606:4700::1111"
PUBLIC_V4 = "1.1.1.1"  # only ever behind httpx.MockTransport: nothing connects


class _Counting(http.server.SimpleHTTPRequestHandler):
    hits: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(DATA), **kwargs)

    def do_GET(self) -> None:
        self.hits.append(self.headers.get("Host", ""))
        super().do_GET()

    def do_POST(self) -> None:
        self.hits.append(self.headers.get("Host", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def local_port() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


def _ascii(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """``rebind.test``: public on the first lookup, 127.0.0.1 afterwards;
    ``name.test``: always 127.0.0.1. Yields the log of lookups."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        # The C resolver sees ASCII: anyio (under httpx) passes the IDNA bytes,
        # and socket encodes a str with the idna codec.
        name = host.decode() if isinstance(host, bytes) else _ascii(host)
        if name == "rebind.test":
            lookups.append(name)
            ip = PUBLIC_V6 if len(lookups) == 1 else "127.0.0.1"
        elif name in ("name.test", "xn--bcher-kva.test"):  # the latter: bücher.test
            ip = "127.0.0.1"
        elif name == "public.test":
            ip = PUBLIC_V4
        else:
            return real(host, port, *args, **kwargs)
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        address: tuple[Any, ...] = (ip, int(port or 0))
        if family == socket.AF_INET6:
            address = (ip, int(port or 0), 0, 0)
        return [(family, socket.SOCK_STREAM, 6, "", address)]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    _Counting.hits.clear()
    yield lookups


@pytest.fixture(scope="module")
async def guarded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcess]:
    settings = fast_settings(
        tmp_path_factory.mktemp("ssrf"),
        allow_private_urls=False,
        url_fetch_timeout_s=5.0,
    )
    async for state in running(settings):
        yield state


async def test_audio_url_rebinding_never_reaches_loopback(
    guarded: InProcess, rebinding: list[str], local_port: int
) -> None:
    url = f"http://rebind.test:{local_port}/whisper_jfk.flac"
    response = await guarded.client.post(
        "/v1/audio/transcriptions/jobs", data={"audio_url": url}
    )
    assert response.status_code == 400, response.text
    assert _Counting.hits == []
    assert rebinding == ["rebind.test"]  # resolved once, then pinned
    assert "127.0.0.1" not in response.text


async def test_elevenlabs_source_url_rebinding_never_reaches_loopback(
    guarded: InProcess, rebinding: list[str], local_port: int
) -> None:
    response = await guarded.client.post(
        "/v1/speech-to-text",
        data={
            "model_id": "scribe_v1",
            "source_url": f"http://rebind.test:{local_port}/whisper_jfk.flac",
        },
    )
    assert 400 <= response.status_code < 500, response.text
    assert _Counting.hits == []
    assert "127.0.0.1" not in response.text


async def test_webhook_delivery_rebinding_never_reaches_loopback(
    rebinding: list[str], local_port: int
) -> None:
    delivery = Rendered(
        url=f"http://rebind.test:{local_port}/hook",
        body=b"{}",
        headers={},
        max_attempts=3,
    )
    # Each attempt resolves the name again: the first gets the public address
    # (unreachable here: retried), the next the loopback one (refused for good).
    for _ in range(delivery.max_attempts):
        outcome, status, error = await post(delivery, allow_private=False, timeout_s=3)
        if outcome is not None:
            break
    assert outcome is False and status is None
    assert error and "not a public address" in error
    assert _Counting.hits == []


async def test_private_answers_are_refused_without_echoing_them(
    rebinding: list[str],
) -> None:
    for url in (
        "http://name.test/a.wav",
        "http://127.0.0.1/a.wav",
        "http://[::ffff:127.0.0.1]/a.wav",
        "http://[::1]/a.wav",
        "http://0.0.0.0/a.wav",
        "http://2130706433/a.wav",  # 127.0.0.1 written as one number
        "http://0177.0.0.1/a.wav",  # ... in octal
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/a.wav",
    ):
        with pytest.raises(InvalidRequest) as caught:
            await pin(url, allow_private=False)
        assert "not a public address" in caught.value.message, url
        for internal in ("127.0.0.1", "169.254", "10.0.0.1", "::1", "0.0.0.0"):
            assert internal not in caught.value.message.replace(url, ""), url


async def test_pinned_fetch_keeps_the_name_for_host(
    inproc: InProcess, rebinding: list[str], local_port: int
) -> None:
    """Where private addresses are allowed, a fetch by name still works, and the
    server sees the name (not the pinned IP) in ``Host``."""
    url = f"http://name.test:{local_port}/whisper_jfk.flac"
    response = await inproc.client.post(
        "/v1/audio/transcriptions/jobs", data={"audio_url": url, "language": "en"}
    )
    assert response.status_code == 201, response.text
    assert _Counting.hits == [f"name.test:{local_port}"]


async def test_webhook_delivery_by_name_is_pinned(
    rebinding: list[str], local_port: int
) -> None:
    delivery = Rendered(
        url=f"http://name.test:{local_port}/hook",
        body=b"{}",
        headers={},
        max_attempts=1,
    )
    outcome, status, _ = await post(delivery, allow_private=True, timeout_s=3)
    assert outcome is True and status is not None and 200 <= status < 300
    assert _Counting.hits == [f"name.test:{local_port}"]


def test_https_keeps_sni_and_certificate_name() -> None:
    import asyncio

    async def targets() -> list[tuple[str, dict[str, str], dict[str, str]]]:
        pinned = await pin("https://localhost:8443/a.wav", allow_private=True)
        return pinned.targets()

    target, headers, extensions = asyncio.run(targets())[0]
    assert httpx.URL(target).host in ("127.0.0.1", "::1")
    assert headers == {"Host": "localhost:8443"}
    assert extensions == {"sni_hostname": "localhost"}


@pytest.mark.parametrize(
    "location",
    [
        "http://name.test/a.wav",
        "http://[::ffff:127.0.0.1]/a.wav",
        "http://169.254.169.254/latest/meta-data",
        "http://2130706433/a.wav",
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, rebinding: list[str], location: str
) -> None:
    """The first hop is public and pinned (the request goes to its IP, with the
    name in ``Host`` and SNI); the hop it redirects to is checked the same way,
    and refused before any request is sent."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": location})

    real_client = httpx.AsyncClient

    def mocked(**kwargs: Any) -> httpx.AsyncClient:
        return real_client(transport=httpx.MockTransport(handler), **kwargs)

    monkeypatch.setattr(url_fetch.httpx, "AsyncClient", mocked)
    with pytest.raises(InvalidRequest) as caught:
        await fetch_to_file(
            "https://public.test/a.wav",
            io.BytesIO(),
            max_bytes=1 << 20,
            timeout_s=5.0,
            allow_private=False,
        )
    assert "not a public address" in caught.value.message
    for internal in ("127.0.0.1", "169.254", "2130706433"):
        assert internal not in caught.value.message
    assert len(seen) == 1
    assert seen[0].url.host == PUBLIC_V4
    assert seen[0].headers["Host"] == "public.test"
    assert seen[0].extensions["sni_hostname"] == "public.test"


async def test_an_internationalised_name_is_fetched_by_its_ascii_form(
    inproc: InProcess, rebinding: list[str], local_port: int
) -> None:
    """``Host`` carries the IDNA form (a header is ASCII), not a 500."""
    url = f"http://bücher.test:{local_port}/whisper_jfk.flac"
    response = await inproc.client.post(
        "/v1/audio/transcriptions/jobs", data={"audio_url": url, "language": "en"}
    )
    assert response.status_code == 201, response.text
    assert _Counting.hits == [f"xn--bcher-kva.test:{local_port}"]


async def test_credentials_in_the_url_survive_pinning(rebinding: list[str]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        response = await send_pinned(
            client,
            "GET",
            "http://user:pw@name.test:81/a.wav",
            allow_private=True,
            param="audio_url",
        )
        await response.aclose()
    assert seen[0].url.host == "127.0.0.1"
    assert seen[0].headers["Host"] == "name.test:81"
    assert seen[0].headers["Authorization"] == "Basic dXNlcjpwdw=="  # user:pw
