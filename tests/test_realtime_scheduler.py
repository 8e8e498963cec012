"""The decode scheduler shared by a worker's sessions: finals go before
speculative finals before partials; a partial that waited too long is skipped,
not run late. The unit under test is the scheduling, so the model here only
sleeps and records the order it was called in (the real model is exercised by
tests/test_realtime_load.py and every realtime test; the short window partials
are decoded in, by tests/test_realtime_partials.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dalston.realtime_sdk.decoder import Priority, Skipped, StreamDecoder


class _SlowModel:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, **_: Any) -> tuple[Any, Any]:
        time.sleep(self.seconds)
        with self.lock:
            self.calls.append(str(int(audio[0])))
        segment = SimpleNamespace(
            text=str(int(audio[0])), no_speech_prob=0.0, avg_logprob=-0.1, words=[]
        )
        return [segment], SimpleNamespace(language="en", language_probability=1.0)


class _Pool:
    def __init__(self, model: _SlowModel) -> None:
        self.model = model

    @property
    def loaded(self) -> list[str]:
        return ["m"]

    def get(self, model_id: str) -> Any:
        return self.model


def _decode(decoder: StreamDecoder, tag: int, priority: Priority) -> Any:
    return decoder.decode(
        np.full(160, tag, dtype=np.float32),
        model_id="m",
        language="en",
        prompt=None,
        hotwords=None,
        word_timestamps=False,
        priority=priority,
    )


def test_finals_overtake_queued_partials() -> None:
    model = _SlowModel(0.2)
    decoder = StreamDecoder(
        _Pool(model), threads=1, partial_max_wait_s=5.0, short_partials=False
    )

    async def run() -> list[Any]:
        busy = asyncio.ensure_future(_decode(decoder, 0, Priority.PARTIAL))
        await asyncio.sleep(0.05)  # the only thread is taken
        queued = [
            asyncio.ensure_future(_decode(decoder, 1, Priority.PARTIAL)),
            asyncio.ensure_future(_decode(decoder, 2, Priority.SPECULATIVE)),
            asyncio.ensure_future(_decode(decoder, 3, Priority.FINAL)),
        ]
        await asyncio.sleep(0)
        assert decoder.waiting == 3
        return await asyncio.gather(busy, *queued)

    results = asyncio.run(run())
    assert [r.text for r in results] == ["0", "1", "2", "3"]
    assert model.calls == ["0", "3", "2", "1"]  # final, speculative, then partial
    decoder.close()


def test_a_partial_that_waited_too_long_is_skipped() -> None:
    model = _SlowModel(0.3)
    decoder = StreamDecoder(
        _Pool(model), threads=1, partial_max_wait_s=0.1, short_partials=False
    )

    async def run() -> tuple[Any, ...]:
        final = asyncio.ensure_future(_decode(decoder, 1, Priority.FINAL))
        await asyncio.sleep(0.01)
        late = asyncio.ensure_future(_decode(decoder, 2, Priority.PARTIAL))
        next_final = asyncio.ensure_future(_decode(decoder, 3, Priority.FINAL))
        return await asyncio.gather(final, late, next_final, return_exceptions=True)

    first, late, following = asyncio.run(run())
    assert first.text == "1" and following.text == "3"
    assert isinstance(late, Skipped)
    assert model.calls == ["1", "3"]  # the stale partial never ran
    assert decoder.skipped_partials == 1
    decoder.close()


def test_threads_are_all_used_and_errors_reach_their_caller() -> None:
    model = _SlowModel(0.2)
    decoder = StreamDecoder(
        _Pool(model), threads=3, partial_max_wait_s=5.0, short_partials=False
    )

    async def run() -> float:
        started = time.monotonic()
        await asyncio.gather(*(_decode(decoder, i, Priority.FINAL) for i in range(3)))
        return time.monotonic() - started

    assert asyncio.run(run()) < 0.5  # three at once, not one after another

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("model failed")

    model.transcribe = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="model failed"):
        asyncio.run(_decode(decoder, 9, Priority.FINAL))
    decoder.close()


@pytest.mark.parametrize("threads", [1, 2])
def test_auto_capacity_follows_decode_cost_and_threads(threads: int) -> None:
    """Each stream brings a final about every 3 s; the threads are kept 60 %
    busy: 0.1 s decodes on two threads hold 2 * 0.6 / (0.1 / 3) = 36 streams."""
    decoder = StreamDecoder(_Pool(_SlowModel(0.1)), threads=threads)
    try:
        capacity = decoder.capacity_for("m")
    finally:
        decoder.close()
    ideal = 18 * threads
    assert ideal * 0.6 <= capacity <= ideal  # slower than 0.1 s: fewer, never more


class _BatchRecorder(StreamDecoder):
    """Records which partials each decode served (the unit under test is which
    waiting partials the scheduler puts together)."""

    def __init__(self, model: _SlowModel, **kwargs: Any) -> None:
        super().__init__(_Pool(model), threads=1, **kwargs)
        self.slow = model
        self.served: list[tuple[str, ...]] = []

    def _decode_partials(
        self, model_id: str, language: str | None, partials: list[Any]
    ) -> list[Any]:
        time.sleep(self.slow.seconds)
        tags = tuple(f"{language}{int(p.audio[0])}" for p in partials)
        if "en9" in tags:
            raise ValueError("audio the model cannot take")
        self.served.append(tags)
        return [SimpleNamespace(text=tag) for tag in tags]


def _partial(
    decoder: StreamDecoder, tag: int, language: str | None, seconds: float = 0.01
) -> Any:
    return decoder.decode(
        np.full(int(seconds * 16000), tag, dtype=np.float32),
        model_id="m",
        language=language,
        prompt=None,
        hotwords=None,
        word_timestamps=False,
        priority=Priority.PARTIAL,
    )


def test_waiting_partials_of_one_model_and_language_are_batched() -> None:
    decoder = _BatchRecorder(_SlowModel(0.2), batch_size=3, partial_max_wait_s=5.0)

    async def run() -> list[Any]:
        busy = asyncio.ensure_future(_decode(decoder, 0, Priority.FINAL))
        await asyncio.sleep(0.05)  # the only thread is taken
        queued = [
            asyncio.ensure_future(_partial(decoder, 1, "en")),
            asyncio.ensure_future(_partial(decoder, 2, "fr")),
            asyncio.ensure_future(_partial(decoder, 3, "en")),
            asyncio.ensure_future(_partial(decoder, 4, "en")),
            asyncio.ensure_future(_partial(decoder, 5, "en")),
            asyncio.ensure_future(_decode(decoder, 6, Priority.FINAL)),
            # No language yet (detection), or as long as Whisper's window:
            # decoded the ordinary way, never batched.
            asyncio.ensure_future(_partial(decoder, 7, None)),
            asyncio.ensure_future(_partial(decoder, 8, None)),
            asyncio.ensure_future(_partial(decoder, 10, "en", seconds=28.0)),
            asyncio.ensure_future(_partial(decoder, 11, "en")),
        ]
        return await asyncio.gather(busy, *queued)

    results = asyncio.run(run())
    # Each caller gets its own result, whatever batch served it.
    assert [r.text for r in results] == [
        "0",
        "en1",
        "fr2",
        "en3",
        "en4",
        "en5",
        "6",
        "None7",
        "None8",
        "en10",
        "en11",
    ]
    assert decoder.slow.calls == ["0", "6"]  # finals first, never batched
    # The oldest partial and two more of its model and language; then the others.
    assert decoder.served == [
        ("en1", "en3", "en4"),
        ("fr2",),
        ("en5", "en11"),
        ("None7",),
        ("None8",),
        ("en10",),
    ]
    assert decoder.batches == 2
    decoder.close()


def test_stale_partials_are_skipped_not_batched() -> None:
    decoder = _BatchRecorder(_SlowModel(0.3), batch_size=4, partial_max_wait_s=0.1)

    async def run() -> list[Any]:
        busy = asyncio.ensure_future(_decode(decoder, 0, Priority.FINAL))
        await asyncio.sleep(0.01)
        stale = [asyncio.ensure_future(_partial(decoder, n, "en")) for n in (1, 2)]
        return await asyncio.gather(busy, *stale, return_exceptions=True)

    first, *stale = asyncio.run(run())
    assert first.text == "0"
    assert all(isinstance(s, Skipped) for s in stale)
    assert decoder.served == [] and decoder.skipped_partials == 2
    decoder.close()


def test_one_sessions_failure_stays_its_own_in_a_batch() -> None:
    """A batch that fails is decoded member by member: only the partial that
    fails alone gets the error, the others their text."""
    decoder = _BatchRecorder(_SlowModel(0.1), batch_size=4, partial_max_wait_s=5.0)

    async def run() -> list[Any]:
        busy = asyncio.ensure_future(_decode(decoder, 0, Priority.FINAL))
        await asyncio.sleep(0.02)
        queued = [asyncio.ensure_future(_partial(decoder, n, "en")) for n in (1, 9, 3)]
        return await asyncio.gather(busy, *queued, return_exceptions=True)

    _, first, bad, third = asyncio.run(run())
    assert (first.text, third.text) == ("en1", "en3")
    assert isinstance(bad, ValueError)
    assert decoder.served == [("en1",), ("en3",)]
    decoder.close()
