"""The console's operator pages end to end in real headless Chromium
(``web/e2e/operator.e2e.mjs``): `/` reaches the console, dark mode toggles and is
remembered, a webhook endpoint made on the webhooks page gets a signed delivery
after a real job (the receiver refuses its first attempt: the list shows it and
it is retried by hand), the audit log lists and filters entries, a realtime
session's page shows its transcript (scored by WER against the reference), plays
its kept audio, exports SRT and links to its batch job, the keys page creates a
key with a rate limit and an expiry, ``/docs`` renders with every request off this
server blocked, a server with ``DALSTON_AUTH=none`` opens without sign-in, and the
pages work at 390 px (the nav collapses and is driven from the keyboard, nothing
is wider than the screen).

The first contentful paint of every page (Performance API) is printed, not
asserted: it measures this machine's load as much as the console.

Screenshots (desktop and 390 px) are kept in ``web/e2e/screenshots/operator/``
(git-ignored). The server, browser and build helpers are ``tests/test_console.py``'s.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dalston.eval.scoring import wer
from tests.audio_fixtures import STREAMED_JFK_MAX_WER
from tests.realtime_client import of_type, pcm16, stream
from tests.server import ServerProcess
from tests.test_console import (  # noqa: F401  (console_server is a fixture)
    CHROMIUM,
    JFK,
    WEB,
    _ensure_console_built,
    _require_browser_tools,
    console_server,
)

SHOTS = WEB / "e2e" / "screenshots" / "operator"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with no authentication, no realtime slots and only the prepare
    engine: enough to show that the console opens without a sign-in."""
    _require_browser_tools()
    _ensure_console_built()
    proc = ServerProcess(
        tmp_path_factory.mktemp("open-server"),
        env={
            "DALSTON_AUTH": "none",
            "DALSTON_ENGINES": "audio-prepare",
            "DALSTON_REALTIME_CAPACITY": "0",
        },
    )
    proc.start()
    yield proc
    proc.stop()


def _recorded_session(server: ServerProcess) -> str:
    """A hybrid realtime session (audio kept, a batch job after it) of JFK."""
    url = (
        f"ws://127.0.0.1:{server.port}/v1/audio/transcriptions/stream"
        "?language=en&store_audio=true&batch_after=true&interim_results=false"
    )
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    result = asyncio.run(stream(url, pcm16(JFK), headers=headers))
    session_id: str = of_type(result, "session.begin")[0]["session_id"]
    with server.client() as client:
        for _ in range(300):
            record = client.get(f"/v1/realtime/sessions/{session_id}").json()
            if record["status"] != "active" and record.get("batch_job_id"):
                break
            time.sleep(0.1)
        assert record["has_audio"] and record["batch_job_id"], record
    return session_id


def test_operator_pages_in_chromium(
    console_server: ServerProcess,  # noqa: F811
    open_server: ServerProcess,
    tmp_path: Path,
) -> None:
    session_id = _recorded_session(console_server)
    shots = tmp_path / "screenshots"
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        ["node", "e2e/operator.e2e.mjs"],
        cwd=WEB,
        env={
            **os.environ,
            "DALSTON_URL": console_server.url,
            "DALSTON_ADMIN_KEY": console_server.admin_key,
            "DALSTON_OPEN_URL": open_server.url,
            "OPERATOR_AUDIO": str(JFK),
            "OPERATOR_SESSION_ID": session_id,
            "OPERATOR_SCREENSHOTS": str(shots),
            "OPERATOR_REPORT": str(report_path),
            "CHROMIUM_PATH": CHROMIUM,
        },
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    for png in shots.glob("*.png"):
        shutil.copy2(png, SHOTS / png.name)
    output = f"{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, (
        f"{output}\nserver log:\n{console_server.log()}\nscreenshots: {SHOTS}"
    )
    assert "all steps passed" in result.stdout
    report = json.loads(report_path.read_text())
    print(
        "first contentful paint, ms:",
        json.dumps(
            {
                "desktop": report["first_paint_ms"],
                "phone": report["phone_first_paint_ms"],
            }
        ),
    )
    # What the session page showed is what was said.
    reference = JFK.with_suffix(".txt").read_text()
    shown = report["session_transcript"]
    assert shown and wer([reference], [shown]) <= STREAMED_JFK_MAX_WER, shown
    taken = {p.stem for p in shots.glob("*.png")}
    for name in (
        "desktop-01-dashboard",
        "desktop-02-dashboard-dark",
        "desktop-04-webhook-deliveries",
        "desktop-05-audit",
        "desktop-06-session",
        "desktop-07-keys",
        "desktop-08-docs-offline",
        "desktop-09-auth-off",
        "phone-01-dashboard-dark",
        "phone-03-webhooks",
    ):
        assert name in taken, sorted(taken)
    # The session's batch job exists and the delivery list is real: the API agrees.
    with httpx.Client(
        base_url=console_server.url,
        headers={"Authorization": f"Bearer {console_server.admin_key}"},
    ) as client:
        hooks = client.get("/v1/webhooks").json()["webhooks"]
        assert hooks, "the endpoint made in the browser is stored"
        deliveries = client.get(f"/v1/webhooks/{hooks[0]['id']}/deliveries").json()
        done = [d for d in deliveries["deliveries"] if d["status"] == "succeeded"]
        assert done and done[0]["last_status_code"] == 200, deliveries
