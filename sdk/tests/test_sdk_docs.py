"""Every Python example of ``sdk/README.md`` and ``docs/sdk.md`` runs, as a user
would run it: a fresh interpreter, ``DALSTON_SERVER``/``DALSTON_API_KEY`` set, an
``audio.wav`` in the current folder, against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, REPO, SDK

from tests.server import ServerProcess

pytestmark = pytest.mark.model

DOCS = [SDK / "README.md", REPO / "docs" / "sdk.md"]
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for n, code in enumerate(_BLOCK.findall(doc.read_text()), 1):
            found.append((f"{doc.name}#{n}", code))
    return found


EXAMPLES = examples()


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("name", "code"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_example_runs(
    name: str, code: str, sdk_server: ServerProcess, tmp_path: Path
) -> None:
    shutil.copy(DATA / "pv_ls_1272_128104_0000.wav", tmp_path / "audio.wav")
    (tmp_path / "example.py").write_text(code)
    env = {
        **os.environ,
        "PYTHONPATH": str(SDK / "src"),  # the SDK only: not the server's checkout
        "DALSTON_SERVER": sdk_server.url,
        "DALSTON_API_KEY": sdk_server.admin_key,
    }
    run = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, f"{name}:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
