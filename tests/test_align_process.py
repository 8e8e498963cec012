"""The aligner runs in child processes: pocketsphinx's binding holds the GIL for a
whole utterance, which in the server's own process stalls the event loop and
live streams. Real pocketsphinx on real speech: the same times as in-process, the
server's threads keep running while it aligns, a child that dies is replaced,
and children run at the CPU priority of the engine thread that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faster_whisper import decode_audio

from dalston.engines.pocketsphinx_align.aligner import Aligner, DecoderPool
from tests.server import process_tree

DATA = Path(__file__).parent / "data"
RATE = 16000


@pytest.fixture(scope="module")
def speech() -> tuple[object, list[str]]:
    audio = decode_audio(str(DATA / "mfa_cold_corpus.wav"))
    texts = (DATA / "mfa_cold_corpus.txt").read_text().split()
    # About the first half: one long alignment call.
    return audio[: 12 * RATE], texts[: len(texts) * 12 // 26]


def _aligner_processes() -> list[int]:
    """This process's own children started as pool workers: not multiprocessing's
    resource tracker, nor the aligners of servers other tests started. Found by
    each process's parent in ``/proc/*/stat``: a thread's ``children`` list misses
    the children of a thread that has exited (the idle test's spawning thread)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if b"spawn_main" in cmdline and parent == os.getpid():
            found.append(int(entry.name))
    return found


@pytest.fixture
def pool() -> Iterator[DecoderPool]:
    pool = DecoderPool()
    yield pool
    pool.close()


def _longest_stall(work: Callable[[], object]) -> tuple[float, object]:
    """Run ``work`` in a thread; the longest this thread waited for a 1 ms sleep
    meanwhile (a thread that holds the GIL shows as a long wait)."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(work()))
    worker.start()
    longest = 0.0
    while worker.is_alive():
        started = time.perf_counter()
        time.sleep(0.001)
        longest = max(longest, time.perf_counter() - started)
    worker.join()
    return longest, result[0]


def test_alignment_leaves_the_servers_threads_running(
    pool: DecoderPool, speech: tuple[object, list[str]]
) -> None:
    samples, texts = speech
    inline = Aligner()
    pool.warm()
    inline.align_texts(samples, texts)  # first-call costs out of the comparison
    # Scheduling on a busy machine can hide a stall (the aligning thread runs
    # while this one is off the CPU anyway) or add a wait to either side: the
    # worst of three tries in process, the best of three in the child.
    in_process, here = 0.0, None
    for _ in range(3):
        stall, here = _longest_stall(lambda: inline.align_texts(samples, texts))
        in_process = max(in_process, stall)
    in_child, there = float("inf"), None
    for _ in range(3):
        stall, there = _longest_stall(lambda: pool.align_texts(samples, texts))
        in_child = min(in_child, stall)
    assert there == here  # the same words, the same times
    assert here[1] is not None and len(here[1]) >= 20
    # Side by side: in this process the sleeper waits for the whole call.
    assert in_process > 0.1, in_process
    assert in_child < in_process / 2, (in_child, in_process)


def test_a_dead_aligner_process_is_replaced(
    pool: DecoderPool, speech: tuple[object, list[str]]
) -> None:
    samples, texts = speech
    others = set(_aligner_processes())  # other tests' pools are left alone
    expected = pool.align_texts(samples, texts)
    children = [pid for pid in _aligner_processes() if pid not in others]
    assert children
    for child in children:
        os.kill(child, signal.SIGKILL)
    time.sleep(0.2)
    answers = [pool.align_texts(samples, texts) for _ in range(2)]
    # The call that meets the dead child answers "no alignment" (the words keep
    # Whisper's times); the next one is served by a new child.
    assert answers[-1] == expected
    assert all(a in (([], None), expected) for a in answers)


def test_children_run_at_the_engine_threads_priority(pool: DecoderPool) -> None:
    def start_from_a_nicer_thread() -> None:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + 5)
        pool.warm()

    others = set(_aligner_processes())
    thread = threading.Thread(target=start_from_a_nicer_thread)
    thread.start()
    thread.join()
    own = os.getpriority(os.PRIO_PROCESS, 0)
    children = [pid for pid in _aligner_processes() if pid not in others]
    assert children
    for child in children:
        assert os.getpriority(os.PRIO_PROCESS, child) >= min(own + 5, 19)


def test_children_of_an_idle_thread_run_idle(pool: DecoderPool) -> None:
    """Started from an engine thread under SCHED_IDLE (batch work beside live
    streams), the aligner's processes are too: they must not outrun the
    streams' decodes any more than the thread that asked for them."""

    def start_from_an_idle_thread() -> None:
        tid = threading.get_native_id()
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        pool.warm()

    others = set(_aligner_processes())
    thread = threading.Thread(target=start_from_an_idle_thread)
    thread.start()
    thread.join()
    children = [pid for pid in _aligner_processes() if pid not in others]
    assert children
    for child in children:
        assert os.sched_getscheduler(child) == os.SCHED_IDLE


def test_children_end_when_the_process_that_started_them_is_killed() -> None:
    """A server killed with -9 (or by the OOM killer) leaves no aligner behind: a
    pool worker never sees its queue close (it holds the writing end too), so
    each child watches its parent."""
    script = (
        "import time\n"
        "from dalston.engines.pocketsphinx_align.aligner import DecoderPool\n"
        "pool = DecoderPool()\n"
        "pool.warm()\n"
        "print('warm', flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "warm"
        children = [
            pid
            for pid in process_tree(parent.pid)[1:]
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert children
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
