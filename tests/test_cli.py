"""The ``dalston`` command against a running server: every client command, their
``--json`` output parsed, errors that say what to do, the config file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA, JFK, STREAMED_JFK_MAX_WER
from tests.server import REPO, ServerProcess


def _dalston(
    *args: str,
    server: ServerProcess | None,
    key: str | None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    base = dict(os.environ)
    for name in ("DALSTON_SERVER", "DALSTON_API_KEY", "DALSTON_PROFILE"):
        base.pop(name, None)
    env = {**base, **(env or {})}
    if server is not None:
        env["DALSTON_SERVER"] = server.url
    if key:
        env["DALSTON_API_KEY"] = key
    # Never the developer's own config file.
    env.setdefault("DALSTON_CONFIG", "/nonexistent/dalston.toml")
    return subprocess.run(
        [sys.executable, "-m", "dalston", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_transcribe_prints_text_and_writes_srt(
    server: ServerProcess, tmp_path: Path
) -> None:
    clip = DATA / "mfa_ls_61_70968_0000.flac"
    reference = (DATA / "mfa_ls_61_70968_0000.txt").read_text()
    done = _dalston("transcribe", str(clip), server=server, key=server.admin_key)
    assert done.returncode == 0, done.stderr
    assert wer([reference], [done.stdout]) <= 0.1

    out = tmp_path / "out.srt"
    done = _dalston(
        "transcribe",
        str(clip),
        "--format",
        "srt",
        "--output",
        str(out),
        "--language",
        "en",
        server=server,
        key=server.admin_key,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("1\n00:00:")


def test_transcribe_reports_server_errors(server: ServerProcess) -> None:
    clip = DATA / "mfa_ls_61_70968_0000.flac"
    done = _dalston(
        "transcribe", str(clip), "--model", "nope", server=server, key=server.admin_key
    )
    assert done.returncode == 1
    assert "HTTP 400" in done.stderr and "nope" in done.stderr
    done = _dalston("transcribe", str(clip), server=server, key="dk_wrong")
    assert done.returncode == 1 and "HTTP 401" in done.stderr
    assert "--api-key" in done.stderr and "DALSTON_API_KEY" in done.stderr


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_jobs_export_and_discovery_commands(
    server: ServerProcess, tmp_path: Path
) -> None:
    key = server.admin_key
    clips = [DATA / "mfa_ls_61_70968_0000.flac", DATA / "lhotse_lj002_0020.wav"]
    refs = [(c.with_suffix(".txt")).read_text() for c in clips]

    # Several files, no waiting: one created job each.
    created = _json(
        _dalston(
            "transcribe",
            *map(str, clips),
            "--no-wait",
            "--json",
            "--language",
            "en",
            server=server,
            key=key,
        )
    )
    assert [j["status"] for j in created] == ["pending", "pending"]
    ids = [j["id"] for j in created]
    for job_id in ids:
        done = _dalston("jobs", "wait", job_id, server=server, key=key)
        assert done.returncode == 0 and done.stdout.split() == [job_id, "completed"]
    got = [
        _json(_dalston("jobs", "get", i, "--json", server=server, key=key)) for i in ids
    ]
    for job, ref in zip(got, refs, strict=True):
        assert job["status"] == "completed"
        assert wer([ref], [job["text"]]) <= 0.15
    listed = _json(
        _dalston("jobs", "list", "--json", "--limit", "100", server=server, key=key)
    )
    assert set(ids) <= {j["id"] for j in listed}
    assert (
        len(
            _json(
                _dalston(
                    "jobs", "list", "--json", "--limit", "1", server=server, key=key
                )
            )
        )
        == 1
    )
    table = _dalston("jobs", "list", server=server, key=key)
    assert table.returncode == 0 and "completed" in table.stdout

    # Several files with --output: a folder of exports.
    folder = tmp_path / "out"
    done = _dalston(
        "transcribe",
        *map(str, clips),
        "-f",
        "vtt",
        "-o",
        str(folder),
        server=server,
        key=key,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in folder.iterdir())
    assert written == sorted(f"{c.stem}.vtt" for c in clips)
    assert all(p.read_text().startswith("WEBVTT") for p in folder.iterdir())

    srt = _dalston("export", ids[0], "-f", "srt", server=server, key=key)
    assert srt.returncode == 0 and srt.stdout.startswith("1\n00:00:")
    exported = _json(_dalston("export", ids[0], "-f", "json", server=server, key=key))
    assert wer([refs[0]], [exported["text"]]) <= 0.15

    models = _json(_dalston("models", "list", "--json", server=server, key=key))
    assert {m["id"] for m in models} >= {"whisper-tiny.en", "whisper-base"}
    engines = _json(_dalston("engines", "--json", server=server, key=key))
    assert "faster-whisper" in {e.get("engine_id") or e["id"] for e in engines}
    status = _json(_dalston("status", "--json", server=server, key=key))
    assert status["health"]["status"] and "admin" in status["key"]["scopes"]
    assert status["realtime"]["capacity"] >= 1

    # Cancel a finished job: 409, said plainly; delete it.
    done = _dalston("jobs", "cancel", ids[1], server=server, key=key)
    assert done.returncode == 1 and "HTTP 409" in done.stderr
    assert _dalston("jobs", "delete", ids[1], server=server, key=key).returncode == 0
    done = _dalston("jobs", "get", ids[1], server=server, key=key)
    assert done.returncode == 1 and "HTTP 404" in done.stderr


def test_keys_commands_and_scopes(server: ServerProcess) -> None:
    admin = server.admin_key
    created = _json(
        _dalston(
            "keys",
            "create",
            "cli-reader",
            "--scope",
            "jobs:read",
            "--json",
            server=server,
            key=admin,
        )
    )
    assert created["key"].startswith("dk_") and created["scopes"] == ["jobs:read"]
    keys = _json(_dalston("keys", "list", "--json", server=server, key=admin))
    assert created["id"] in {k["id"] for k in keys}
    assert "key" not in next(k for k in keys if k["id"] == created["id"])
    # The reader may list jobs, not create keys: 403 with what to do.
    reader = created["key"]
    assert _dalston("jobs", "list", "--json", server=server, key=reader).returncode == 0
    done = _dalston("keys", "list", server=server, key=reader)
    assert done.returncode == 1 and "HTTP 403" in done.stderr
    assert "scope" in done.stderr
    assert (
        _dalston("keys", "revoke", created["id"], server=server, key=admin).returncode
        == 0
    )
    done = _dalston("jobs", "list", server=server, key=reader)
    assert done.returncode == 1 and "HTTP 401" in done.stderr


def test_listen_file_prints_the_finals(server: ServerProcess) -> None:
    reference = (DATA / "whisper_jfk.txt").read_text()
    done = _dalston(
        "listen",
        "--file",
        str(JFK),  # at real-time pace: --fast can outrun a busy CI machine
        "--language",
        "en",
        server=server,
        key=server.admin_key,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, done.stderr
    assert wer([reference], [" ".join(lines)]) <= STREAMED_JFK_MAX_WER
    # The session is recorded: the sessions commands see it.
    sessions = _json(
        _dalston("sessions", "list", "--json", server=server, key=server.admin_key)
    )
    assert sessions
    newest = sessions[0]["id"]
    # The server closes the session's record just after the socket: wait for it.
    deadline = time.monotonic() + 15
    while True:
        one = _json(
            _dalston(
                "sessions", "get", newest, "--json", server=server, key=server.admin_key
            )
        )
        if one["status"] != "active":
            break
        assert time.monotonic() < deadline, one
        time.sleep(0.2)
    assert one["id"] == newest and one["status"] == "completed"
    text = _dalston("sessions", "export", newest, server=server, key=server.admin_key)
    assert text.returncode == 0
    assert wer([reference], [text.stdout]) <= STREAMED_JFK_MAX_WER
    assert (
        _dalston(
            "sessions", "delete", newest, server=server, key=server.admin_key
        ).returncode
        == 0
    )
    gone = _dalston("sessions", "get", newest, server=server, key=server.admin_key)
    assert gone.returncode == 1 and "HTTP 404" in gone.stderr


def test_errors_say_what_to_do(server: ServerProcess, tmp_path: Path) -> None:
    clip = DATA / "mfa_ls_61_70968_0000.flac"
    # Nothing listens there: exit 2, and how to point at a server.
    done = _dalston(
        "transcribe",
        str(clip),
        server=None,
        key="dk_x",
        env={"DALSTON_SERVER": "http://127.0.0.1:9"},
    )
    assert done.returncode == 2
    assert "Cannot reach a Dalston server at http://127.0.0.1:9" in done.stderr
    assert "dalston serve" in done.stderr and "--server" in done.stderr
    # An English-only model asked for French: the message names the model to use.
    done = _dalston(
        "transcribe",
        str(clip),
        "--model",
        "whisper-tiny.en",
        "--language",
        "fr",
        server=server,
        key=server.admin_key,
    )
    assert done.returncode == 1 and "HTTP 400" in done.stderr
    assert "whisper-base" in done.stderr
    # A model pull on this offline machine fails fast with the reason.
    started = time.monotonic()
    done = _dalston(
        "models", "pull", "whisper-small", server=server, key=server.admin_key
    )
    assert done.returncode == 1 and time.monotonic() - started < 30
    assert "HTTP 503" in done.stderr and "whisper-small" in done.stderr
    # Not audio: refused before any job.
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 100)
    done = _dalston("transcribe", str(junk), server=server, key=server.admin_key)
    assert done.returncode == 1 and "HTTP 4" in done.stderr
    done = _dalston("listen", "--file", str(junk), server=server, key=server.admin_key)
    assert done.returncode == 2 and "Cannot read" in done.stderr


def test_config_file_and_profiles(server: ServerProcess, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'server = "http://127.0.0.1:9"\napi_key = "dk_wrong"\n'
        f"[profiles.local]\n"
        f'server = "{server.url}"\napi_key = "{server.admin_key}"\n'
    )
    env = {"DALSTON_CONFIG": str(config)}
    done = _dalston("status", server=None, key=None, env=env)
    assert done.returncode == 2 and "http://127.0.0.1:9" in done.stderr
    listed = _dalston(
        "jobs", "list", "--json", "--profile", "local", server=None, key=None, env=env
    )
    assert listed.returncode == 0, listed.stderr
    # The environment beats the file; the option beats the environment.
    done = _dalston(
        "jobs", "list", "--json", server=server, key=server.admin_key, env=env
    )
    assert done.returncode == 0, done.stderr
    done = _dalston(
        "jobs",
        "list",
        "--json",
        "--server",
        "http://127.0.0.1:9",
        server=server,
        key=server.admin_key,
        env=env,
    )
    assert done.returncode == 2
    done = _dalston("status", "--profile", "nope", server=None, key=None, env=env)
    assert done.returncode == 2 and "No profile 'nope'" in done.stderr


def test_help_and_shell_completion() -> None:
    done = _dalston("--help", server=None, key=None)
    assert done.returncode == 0
    for command in (
        "transcribe",
        "listen",
        "jobs",
        "export",
        "sessions",
        "models",
        "engines",
        "status",
        "keys",
        "serve",
        "--install-completion",
    ):
        assert command in done.stdout, command
    done = _dalston("jobs", "--help", server=None, key=None)
    assert all(c in done.stdout for c in ("list", "get", "wait", "cancel", "delete"))
