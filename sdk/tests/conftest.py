"""Fixtures of the SDK's tests.

- ``sdk_app``: the real app in process (``tests/inproc``: fake transcriber, SQLite),
  reached by ``AsyncDalston`` over ``httpx.ASGITransport`` (fast, no model);
- ``sdk_server``: a real server in a subprocess with the real tiny.en model
  (``tests/server.py``), for the sync client, realtime and the installed SDK.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "sdk"
DATA = REPO / "tests" / "data"
# The SDK from its source tree (without installing it), and the repo's test helpers.
for path in (str(SDK / "src"), str(REPO)):
    if path not in sys.path:
        sys.path.insert(0, path)

from tests.inproc.conftest import BASE_URL, InProcess, fast_settings, running  # noqa: E402
from tests.server import ServerProcess  # noqa: E402


@pytest.fixture(scope="module")
async def sdk_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcess]:
    async for state in running(fast_settings(tmp_path_factory.mktemp("sdk-inproc"))):
        yield state


@pytest.fixture
def app(sdk_app: InProcess) -> InProcess:
    sdk_app.fake.reset()
    return sdk_app


@pytest.fixture(scope="session")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server (SQLite, tiny.en), shared by the SDK's live tests."""
    proc = ServerProcess(tmp_path_factory.mktemp("sdk-server"))
    proc.start()
    yield proc
    proc.stop()


__all__ = ["BASE_URL", "DATA", "SDK"]
