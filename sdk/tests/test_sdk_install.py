"""The SDK as a user gets it: ``pip install ./sdk`` into a fresh virtual
environment (not the server's), then a script there transcribes against a live
server; the server package is not importable there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import DATA, SDK

from tests.server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.model]

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys

    from dalston_sdk import Dalston, Final, NotFoundError

    assert importlib.util.find_spec("dalston") is None, "the server is importable"
    url, key, clip = sys.argv[1:4]
    missing = False
    with Dalston(url, api_key=key) as client:
        job = client.transcribe(clip, language="en")
        srt = client.export(job.id, "srt")
        try:
            client.get_job("00000000-0000-0000-0000-000000000000")
        except NotFoundError:
            missing = True
        with client.realtime(language="en") as session:
            finals = [e.text for e in session.stream_file(clip) if isinstance(e, Final)]
    print(json.dumps({"status": job.status, "text": job.text, "srt": srt,
                      "missing": missing, "finals": finals}))
    """
)


def test_installed_sdk_transcribes(sdk_server: ServerProcess, tmp_path: Path) -> None:
    from dalston.eval.scoring import wer

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # A copy: pip builds in the source folder (build/, *.egg-info), and a stale
    # build/ there could ship modules the source no longer has.
    source = tmp_path / "sdk"
    shutil.copytree(
        SDK,
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"),
    )
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    script = tmp_path / "client.py"
    script.write_text(SCRIPT)
    clip = DATA / "pv_ls_1272_128104_0000.wav"
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    run = subprocess.run(
        [str(python), str(script), sdk_server.url, sdk_server.admin_key, str(clip)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the checkout: ``dalston`` must not be importable
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    import json

    result = json.loads(run.stdout.strip().splitlines()[-1])
    reference = clip.with_suffix(".txt").read_text()
    assert result["status"] == "completed" and result["missing"]
    assert wer([reference], [result["text"]]) < 0.15
    assert "-->" in result["srt"]
    assert wer([reference], [" ".join(result["finals"])]) < 0.15
