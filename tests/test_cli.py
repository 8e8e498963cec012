"""The ``dalston`` command against a running server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dalston.eval.scoring import wer
from tests.audio_fixtures import DATA
from tests.server import REPO, ServerProcess


def _dalston(
    *args: str, server: ServerProcess, key: str | None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DALSTON_SERVER": server.url}
    env.pop("DALSTON_API_KEY", None)
    if key:
        env["DALSTON_API_KEY"] = key
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
