"""Loaded Whisper models, one shared instance per model id per process.

A batch engine's models can be unloaded once idle (``unload_idle``, driven by the
runner under ``DALSTON_MODEL_IDLE_TTL_S``): a model in use by a task (``use``)
never is, and the next task that asks for an unloaded model loads it again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from faster_whisper import WhisperModel

from dalston.catalog import ModelCatalog
from dalston.engine_sdk import EngineConfig

log = logging.getLogger(__name__)


def pick_device(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # a CUDA runtime that cannot even be queried is not usable
        return "cpu"


def pick_compute_type(device: str, requested: str) -> str:
    if requested != "default":
        return requested
    return "float16" if device == "cuda" else "int8"


def pick_vad_batch_size(device: str, requested: int | None) -> int:
    """Windows per batch on the long-audio path. On CPU one: the encoder's cost
    is linear in the batch (measured 10 min of speech on 2 cores: the same time
    at 1, 2, 4 and 8) while its attention memory grows with it (+178 MB at 2,
    +447 MB at 8 with tiny.en), and the cores are kept busy by decoding windows
    side by side instead (``WhisperModels.side_by_side``); a GPU gains from large
    batches."""
    if requested is not None:
        return requested
    return 8 if device == "cuda" else 1


def pick_stream_batch_size(device: str, requested: int | None) -> int:
    """Live streams' partials decoded as one batch, at most. On CPU a batch
    costs more than its members decoded one by one (tiny.en on one core, 10 s
    windows: x1.09 for 4, x1.12 for 6; the encoder alone is linear in the
    batch), so streams are not batched there; a GPU runs a batch of windows in
    about the time of one."""
    if requested is not None:
        return requested
    return 8 if device == "cuda" else 1


def pick_task_slots(device: str, requested: int | None, cores: int) -> int:
    """Transcriptions run side by side. On CPU with two cores or more, two:
    measured on 2 cores with tiny.en (bench/batch.py --only-concurrent), 16
    short jobs in flight finish 1.46x faster than one decode at a time on both
    cores (Whisper's small matrices parallelise poorly within one decode). On
    a GPU one at a time: its batches fill it."""
    if requested is not None:
        return requested
    return 2 if device == "cpu" and cores >= 2 else 1


@dataclass(frozen=True)
class SideBySide:
    """A model for windows decoded ``parallel`` at a time, on threads of their
    own."""

    model: WhisperModel
    parallel: int


class WhisperModels:
    """Each model is loaded "wide" (one CTranslate2 worker on every core) for a
    task that runs alone. With ``auto_width`` (CPU, two task slots or more, and
    neither slots nor threads set), a task that starts while another uses the
    model gets a "narrow" instance instead (one worker per slot, the cores
    shared out): a lone job keeps every core, jobs that queue run side by side
    without two wide decodes fighting over the cores. The narrow instance is
    loaded the first time tasks overlap and holds its own copy of the weights.
    """

    def __init__(self, catalog: ModelCatalog, config: EngineConfig) -> None:
        self.catalog = catalog
        self.config = config
        self.device = pick_device(config.device)
        self.compute_type = pick_compute_type(self.device, config.compute_type)
        self.vad_batch_size = pick_vad_batch_size(self.device, config.vad_batch_size)
        self.cores = os.cpu_count() or 1
        self.slots = pick_task_slots(self.device, config.concurrency, self.cores)
        self.auto_width = (
            self.device == "cpu"
            and self.slots > 1
            and config.concurrency is None
            and not config.cpu_threads
        )
        self._models: dict[tuple[str, bool], WhisperModel] = {}  # (id, narrow)
        # Tasks using each model now, and when each was last used (monotonic).
        self._users: dict[str, int] = {}
        self._last_used: dict[str, float] = {}
        self._unloaded: set[str] = set()  # unloaded once idle: a load is a reload
        # Seconds the last load of each model took.
        self.load_seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._seed_lock = threading.Lock()

    @property
    def loaded(self) -> list[str]:
        # list() copies the keys in one step: a load or unload on another
        # thread cannot change the dict under the iteration.
        return list(dict.fromkeys(model_id for model_id, _ in list(self._models)))

    def get(self, model_id: str) -> WhisperModel:
        """The model's wide instance, loaded if need be."""
        model = self._models.get((model_id, False))
        if model is not None:
            return model
        with self._lock:
            return self._get_locked(model_id, narrow=False)

    def _get_locked(self, model_id: str, *, narrow: bool) -> WhisperModel:
        model = self._models.get((model_id, narrow))
        if model is None:
            started = time.monotonic()
            if narrow:
                model = self._load(
                    model_id,
                    num_workers=self.slots,
                    cpu_threads=max(1, self.cores // self.slots),
                )
            elif self.auto_width:
                model = self._load(model_id, num_workers=1)
            else:
                # One CTranslate2 worker per task the runner allows at once.
                model = self._load(model_id, num_workers=self.slots)
            seconds = time.monotonic() - started
            if not narrow:
                self.load_seconds[model_id] = seconds
            again = ", again after an idle unload" if model_id in self._unloaded else ""
            log.info(
                "model %s%s loaded in %.2f s%s",
                model_id,
                " (narrow: tasks side by side)" if narrow else "",
                seconds,
                again,
            )
            self._models[(model_id, narrow)] = model
            self._last_used[model_id] = time.monotonic()
        return model

    @contextmanager
    def use(self, model_id: str) -> Iterator[WhisperModel]:
        """The model, loaded if need be, held loaded until the block ends: the
        wide instance, or the narrow one while another task uses the model
        (``auto_width``)."""
        with self._lock:
            narrow = self.auto_width and self._users.get(model_id, 0) > 0
            model = self._get_locked(model_id, narrow=narrow)
            self._users[model_id] = self._users.get(model_id, 0) + 1
        try:
            yield model
        finally:
            with self._lock:
                self._users[model_id] -= 1
                self._last_used[model_id] = time.monotonic()

    def side_by_side(self, model_id: str, model: WhisperModel) -> SideBySide:
        """How a long recording's windows are decoded by a task holding ``model``
        (``use``): with ``auto_width``, on the narrow instance, one window per
        task slot at once, each on a worker of one core. Measured on 2 cores,
        tiny.en, 605 s of many voices: 11.4 s against 25.5 s for the wide
        instance at batch 2 (CTranslate2's two threads on one decode spent 35 s of
        CPU for what one thread per window did in 22 s), +128 MB. Else ``model``,
        one batch at a time (its batches fill a GPU)."""
        if not self.auto_width:
            return SideBySide(model, 1)
        with self._lock:
            narrow = self._get_locked(model_id, narrow=True)
        return SideBySide(narrow, self.slots)

    def unload_idle(self, idle_s: float) -> list[str]:
        """Drop the models no task has used for ``idle_s`` seconds; their ids."""
        now = time.monotonic()
        with self._lock:
            idle = [
                model_id
                for model_id in self.loaded
                if not self._users.get(model_id)
                and now - self._last_used.get(model_id, now) >= idle_s
            ]
            for model_id in idle:
                for narrow in (False, True):
                    self._models.pop((model_id, narrow), None)
                self._last_used.pop(model_id, None)
                self._unloaded.add(model_id)
        return idle

    @contextmanager
    def seeded(self, model_id: str, seed: int) -> Iterator[WhisperModel]:
        """A private instance of the model whose sampling repeats for ``seed``.

        CTranslate2 samples from a thread-local generator that each worker thread
        seeds once, on first use, from the process-wide seed: ``set_random_seed``
        does not reach the workers of a model already in use
        (OpenNMT/CTranslate2#1757). A fresh instance has fresh workers, so setting
        the seed just before its first decode makes the run repeatable. The cost is
        a model load per seeded task; seeded tasks run one at a time, as the seed
        is process-wide.
        """
        import ctranslate2

        with self._seed_lock:
            ctranslate2.set_random_seed(seed)
            model = self._load(model_id, num_workers=1)
            try:
                yield model
            finally:
                del model

    def _load(
        self, model_id: str, *, num_workers: int, cpu_threads: int | None = None
    ) -> WhisperModel:
        path: Path = self.catalog.resolve_path(model_id)
        return WhisperModel(
            str(path),
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=self.config.cpu_threads if cpu_threads is None else cpu_threads,
            num_workers=num_workers,
        )

    def close(self) -> None:
        with self._lock:
            self._models.clear()
