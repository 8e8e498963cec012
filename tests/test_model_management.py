"""Model management on a real server with the real model: an idle model is
unloaded after ``DALSTON_MODEL_IDLE_TTL_S`` (reported, memory handed back) and
the next job loads it again and transcribes as well; pull and delete work on the
server's own Hugging Face cache (``HF_HOME``).

The HTTP rules (scopes, 404, 409, progress) are checked in process by
``tests/inproc/test_models.py``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dalston.eval.scoring import wer
from tests.audio_fixtures import JFK
from tests.hub_cache import HUB_MODEL, HUB_REPO, fake_cached_model
from tests.server import ServerProcess, submit, wait_for_job

TTL_S = 3.0
MODEL = "whisper-tiny.en"
REFERENCE = (Path(__file__).parent / "data" / "whisper_jfk.txt").read_text()


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose models unload after ``TTL_S`` idle, with no realtime slots
    (they would hold a model of their own) and a Hugging Face cache of its own."""
    data = tmp_path_factory.mktemp("idle-server")
    proc = ServerProcess(
        data,
        env={
            "DALSTON_MODEL_IDLE_TTL_S": str(TTL_S),
            "DALSTON_REALTIME_CAPACITY": "0",
            "HF_HOME": str(data / "hf"),
        },
    )
    proc.start()
    yield proc
    proc.stop()


def _rss_mb(proc: ServerProcess) -> float:
    assert proc.proc is not None
    status = Path(f"/proc/{proc.proc.pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match, status
    return int(match.group(1)) / 1024


def _loaded(client: httpx.Client) -> bool:
    response = client.get(f"/v1/models/{MODEL}")
    assert response.status_code == 200, response.text
    loaded: bool = response.json()["loaded"]
    return loaded


def _transcribe(client: httpx.Client) -> tuple[str, float]:
    started = time.monotonic()
    job = wait_for_job(client, submit(client, JFK))
    assert job["status"] == "completed", job
    return job["text"], time.monotonic() - started


def _wait_for(what: str, check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.2)


def test_an_idle_model_is_unloaded_and_the_next_job_reloads_it(
    idle_server: ServerProcess,
) -> None:
    with idle_server.client() as client:
        first, first_s = _transcribe(client)
        assert wer([REFERENCE], [first]) <= 0.1, first
        assert _loaded(client)  # the job just used it
        rss_loaded = _rss_mb(idle_server)

        _wait_for("unloaded", lambda: not _loaded(client), timeout=TTL_S + 15)
        labels = f'engine="faster-whisper",model="{MODEL}"'
        unloaded = client.get("/metrics").text
        assert f"dalston_model_loaded{{{labels}}} 0.0" in unloaded, unloaded
        # The runner logs the unload once the memory is handed back (after the
        # model is reported unloaded): wait for the line.
        unload_line = rf"unloaded {re.escape(MODEL)}, idle for 3 s"
        _wait_for(
            "the unload logged",
            lambda: re.search(unload_line, idle_server.log()) is not None,
            timeout=15,
        )
        rss_unloaded = _rss_mb(idle_server)  # after the memory was handed back

        second, second_s = _transcribe(client)
        assert wer([REFERENCE], [second]) <= 0.1, second
        assert _loaded(client)
        reload = re.search(
            rf"model {re.escape(MODEL)} loaded in ([\d.]+) s, again after an idle "
            "unload",
            idle_server.log(),
        )
        assert reload, idle_server.log()
        print(
            f"\nRSS loaded {rss_loaded:.0f} MB, unloaded {rss_unloaded:.0f} MB; "
            f"first job {first_s:.2f} s, job after unload {second_s:.2f} s "
            f"(reload {float(reload.group(1)):.2f} s)"
        )
        # tiny.en in int8 holds some 40-100 MB; what is freed must show.
        assert rss_loaded - rss_unloaded >= 20, (rss_loaded, rss_unloaded)

        metrics = client.get("/metrics").text
        assert f"dalston_model_loaded{{{labels}}} 1.0" in metrics, metrics
        seconds = re.search(
            rf"dalston_model_load_seconds\{{{re.escape(labels)}\}} ([\d.e-]+)", metrics
        )
        assert seconds and float(seconds.group(1)) > 0, metrics

        def whisper_ready() -> bool:  # heartbeats report it every few seconds
            engines = client.get("/v1/engines").json()["engines"]
            whisper = next(e for e in engines if e["engine_id"] == "faster-whisper")
            return bool(whisper["status"] == "ready")

        _wait_for("the engine ready again", whisper_ready, timeout=15)


def test_pull_and_delete_on_the_servers_own_cache(idle_server: ServerProcess) -> None:
    """The test servers run with ``HF_HUB_OFFLINE=1``: a pull says so at once;
    a model in the server's ``HF_HOME`` cache is reported and removed."""
    with idle_server.client() as client:
        started = time.monotonic()
        pull = client.post(f"/v1/models/{HUB_MODEL}/pull")
        assert time.monotonic() - started < 10
        assert pull.status_code == 503 and "HF_HUB_OFFLINE" in pull.text
        failed = client.get(f"/v1/models/{HUB_MODEL}").json()
        assert failed["status"] == "failed" and "HF_HUB_OFFLINE" in failed["error"]

        packaged = client.post(f"/v1/models/{MODEL}/pull")
        assert packaged.status_code == 200
        assert "already present" in packaged.json()["message"]

        folder = fake_cached_model(idle_server.data_dir / "hf" / "hub", HUB_REPO)
        assert client.get(f"/v1/models/{HUB_MODEL}").json()["status"] == "ready"
        assert client.delete(f"/v1/models/{HUB_MODEL}").status_code == 204
        assert not folder.exists()
        gone = client.get(f"/v1/models/{HUB_MODEL}").json()
        assert gone["status"] == "not_downloaded" and gone["error"] is None
