"""Memory goes back to the system after a large task (glibc keeps freed heap pages
in its arenas otherwise: a server stayed at 835 MB after a 10-minute job that
started from 506 MB; with the release it went back to 462 MB)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dalston.engine_sdk.memory import _TRIM

# Many small objects, as a model run or a decode leaves them: freed, they stay in
# the heap; a task "ends" and the runner's release runs.
_SCRIPT = """
from dalston.engine_sdk.memory import release_if_grown, resident_bytes

before = resident_bytes()
chunks = [bytearray(1000) for _ in range(300_000)]  # ~330 MB of small blocks
keep = chunks[-1]  # one survivor at the top of the heap pins it
del chunks
held = resident_bytes()
ran = release_if_grown(before)
after = resident_bytes()
print(before >> 20, held >> 20, after >> 20, ran)
"""


@pytest.mark.skipif(_TRIM is None, reason="malloc_trim needs glibc")
def test_a_large_task_gives_its_memory_back() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True
    )
    before, held, after, ran = done.stdout.split()
    assert ran == "True"
    assert int(held) - int(before) > 200, done.stdout  # freed, yet still resident
    assert int(after) - int(before) < 64, done.stdout  # handed back
