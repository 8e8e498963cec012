"""A plain ``websockets`` client that streams a file at a steady pace."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from dalston.audio import decode_to_mono

# What the protocol tests stream at: twice real time, paced by the clock. The
# server decodes tiny.en many times faster than real time on two cores, so what
# they check (messages, VAD commits, partials, WER) is what a real-time client
# gets, in half the wall time. Latency, lag and load tests pace at 1.0 themselves
# (test_realtime_load, test_realtime_priority, test_realtime_limits).
PACE = 2.0


def pcm16(path: Path, trailing_silence_s: float = 1.5) -> bytes:
    audio, _ = decode_to_mono(path)
    audio = np.concatenate(
        [audio, np.zeros(int(trailing_silence_s * 16000), np.float32)]
    )
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def mulaw8k(path: Path) -> bytes:
    """G.711 mu-law at 8 kHz, as telephony sends it."""
    audio, _ = decode_to_mono(path, sample_rate=8000)
    audio = np.concatenate([audio, np.zeros(12000, np.float32)])
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int32)
    sign = (pcm < 0).astype(np.int32) << 7
    magnitude = np.minimum(np.abs(pcm), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


async def stream(
    url: str,
    audio: bytes,
    *,
    bytes_per_second: int = 32000,
    chunk_s: float = 0.1,
    pace: float = PACE,
    commit_at_end: bool = False,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Send ``audio`` at ``pace`` times real time, then ``end``; collect every
    server message."""
    messages: list[tuple[float, dict[str, Any]]] = []
    async with websockets.connect(url, additional_headers=headers or {}) as ws:
        started = time.monotonic()

        async def reader() -> None:
            async for raw in ws:
                messages.append((time.monotonic() - started, json.loads(raw)))

        task = asyncio.create_task(reader())
        step = int(bytes_per_second * chunk_s)
        step -= step % 2
        for n, i in enumerate(range(0, len(audio), step)):
            await ws.send(audio[i : i + step])
            # Pace by the clock, not by sleeps, so a slow loop catches up.
            due = started + (n + 1) * chunk_s / pace
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        sent_at = time.monotonic() - started
        if commit_at_end:
            await ws.send(json.dumps({"type": "commit"}))
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(task, timeout=60)
        close_code = ws.close_code
    return {"messages": messages, "sent_at": sent_at, "close_code": close_code}


def of_type(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [m for _, m in result["messages"] if m.get("type") == kind]
