"""The batch engine contract: load a model once, process tasks, declare capabilities.

An engine sees plain inputs (a local audio file, parameters, its dependencies'
JSON outputs) and returns JSON plus files. Queues, storage and retries belong to the
``EngineRunner``, so the same engine runs in-process or as a remote worker.

Batching: ``process_batch`` receives up to ``capabilities.max_batch_size`` tasks at
once. The default runs them one by one; a GPU engine overrides it to decode several
tasks' audio in one forward pass.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from dalston.audio.limits import AudioLimits
from dalston.engine_sdk.errors import TaskCancelled
from dalston.engine_sdk.priority import RealtimeGate
from dalston.engine_sdk.spec import EngineSpec


@dataclass(frozen=True)
class EngineConfig:
    """Process-wide engine settings, derived once from ``Settings``."""

    device: str = "auto"
    compute_type: str = "default"
    cpu_threads: int = 0
    concurrency: int | None = None  # None: the engine's choice (task_slots)
    max_batch_size: int = 1
    beam_size: int = 5
    vad_batch_threshold_s: float = 120.0
    vad_batch_size: int | None = None  # None: by device (faster-whisper engine)
    model_cache_dir: Path = Path(".dalston/models")
    model_dirs: tuple[Path, ...] = ()
    hf_token: str | None = None
    default_model: str = "whisper-tiny.en"
    audio_limits: AudioLimits = field(default_factory=AudioLimits)


@dataclass(frozen=True)
class EngineCapabilities:
    engine_id: str
    stage: str
    languages: tuple[str, ...] | None = None  # None: any
    word_timestamps: bool = False
    supports_cpu: bool = True
    supports_gpu: bool = False
    max_batch_size: int = 1


@dataclass(frozen=True, eq=False)  # identity: runners keep them in sets
class TaskInput:
    task_id: str
    job_id: str
    stage: str
    params: Mapping[str, Any]
    audio_path: Path | None
    inputs: Mapping[str, Any]
    work_dir: Path
    cancel_event: threading.Event = field(default_factory=threading.Event)
    # Where the process also serves live streams: batch work waits for them here.
    gate: RealtimeGate | None = None
    # Set by the runner: where ``report_progress`` goes.
    on_progress: Callable[[float], None] | None = None
    # Set by the runner when a later stage follows this one: where ``publish``
    # goes.
    on_publish: Callable[[Callable[[], Mapping[str, Any]]], None] | None = None
    # What ``BatchEngine.work_ahead`` keeps for ``process`` (the engine's own).
    ahead: dict[str, Any] = field(default_factory=dict)

    def report_progress(self, fraction: float) -> None:
        """How far the task has got (0-1; the transcriber: the share of the audio
        decoded). Cheap to call often: the runner sends a change now and then."""
        if self.on_progress is not None:
            self.on_progress(min(max(float(fraction), 0.0), 1.0))

    def publish(self, output_so_far: Callable[[], Mapping[str, Any]]) -> None:
        """Offer the output so far (JSON, the shape of the final output) to a
        stage that follows this one. Cheap to call often: the runner builds it
        (``output_so_far()``) and stores it now and then, and only when a stage
        of the job follows this one."""
        if self.on_publish is not None:
            self.on_publish(output_so_far)

    def check_cancelled(self) -> None:
        """Call between units of work; raises once the job is cancelled. In a
        process that also decodes live streams, first waits while they decode
        (``RealtimeGate``): realtime keeps its latency, batch work slows down."""
        if self.gate is not None:
            self.gate.wait_turn()
        if self.cancel_event.is_set():
            raise TaskCancelled(f"task {self.task_id} cancelled")


@dataclass(frozen=True)
class TaskOutput:
    data: dict[str, Any]
    # Files to store, by key relative to the job's prefix (``audio/prepared.wav``).
    files: Mapping[str, Path] = field(default_factory=dict)


class BatchEngine(ABC):
    # Declared once in the engine's package (``SPEC``); an engine class says
    # ``spec = SPEC`` and gets its ``engine_id`` and ``stage`` from it.
    spec: ClassVar[EngineSpec]
    engine_id: ClassVar[str]
    stage: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if isinstance(spec, EngineSpec):
            cls.engine_id = spec.id
            cls.stage = spec.stage

    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    def capabilities(self) -> EngineCapabilities:
        """What the engine can do; the default declares only its id and stage."""
        return EngineCapabilities(engine_id=self.engine_id, stage=self.stage)

    def task_slots(self) -> int:
        """Tasks the runner gives this engine at a time: the setting
        (``DALSTON_ENGINE_CONCURRENCY``) when given, else the engine's own
        choice; one by default."""
        return self.config.concurrency or 1

    def load(self) -> None:  # noqa: B027 - optional hook
        """Load what every task needs (the default model). Called once, in a thread."""

    @abstractmethod
    def process(self, task: TaskInput) -> TaskOutput: ...

    def work_ahead(  # noqa: B027 - optional hook
        self, task: TaskInput, partial: Mapping[str, Any]
    ) -> None:
        """For an engine whose spec ``follows`` a stage: work on the output that
        stage has published so far (``partial``; ``task.inputs`` lacks it) and
        keep in ``task.ahead`` what ``process`` can reuse, once that stage's
        whole output is there. Called in a thread, one call at a time per task,
        never with ``process``; what it cannot do ``process`` does. The default
        does nothing."""

    def process_batch(self, tasks: Sequence[TaskInput]) -> list[TaskOutput | Exception]:
        """One result per task, in order; an exception stands for a failed task."""
        results: list[TaskOutput | Exception] = []
        for task in tasks:
            try:
                results.append(self.process(task))
            except Exception as exc:  # one bad task must not fail its batch mates
                results.append(exc)
        return results

    def loaded_models(self) -> list[str]:
        """Ids of the models held in memory now (heartbeats, ``GET /v1/models``)."""
        return []

    def unload_idle(self, idle_s: float) -> list[str]:
        """Drop the models no task has used for ``idle_s`` seconds (never one a
        running task holds); their ids. The next task that needs one loads it
        again. The default holds nothing it could drop."""
        return []

    def model_load_seconds(self) -> Mapping[str, float]:
        """Seconds the last load of each model took, by model id."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models and threads."""
