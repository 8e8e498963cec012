"""``pyannote-diarize``: speaker diarization with a pyannote.audio pipeline.

Opt-in: the pipelines are gated on the Hugging Face Hub, so this needs
``pip install 'dalston[pyannote]'``, a token (``HF_TOKEN``) whose account accepted
the model's conditions, and network access or a warm Hugging Face cache. The
output has the same shape as ``resemblyzer-diarize`` (see docs/stages.md). Param
``diarization_model`` picks another pipeline; ``diarization_threshold`` has no
pyannote equivalent and is ignored.
"""

from __future__ import annotations

import threading
from typing import Any

from dalston.audio import read_wav16k
from dalston.engine_sdk import (
    BatchEngine,
    EngineCapabilities,
    EngineConfig,
    EngineError,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.pyannote_diarize import SPEC

DEFAULT_MODEL = "pyannote/speaker-diarization-3.1"
SAMPLE_RATE = 16000
COUNT_PARAMS = ("num_speakers", "min_speakers", "max_speakers")


class PyannoteDiarizeEngine(BatchEngine):
    spec = SPEC

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        self._lock = threading.Lock()
        self._pipelines: dict[str, Any] = {}

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(
            engine_id=self.engine_id, stage=self.stage, supports_gpu=True
        )

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("diarize needs the prepared audio")
        model = str(task.params.get("diarization_model") or DEFAULT_MODEL)
        pipeline = self._pipeline(model)
        task.check_cancelled()
        import torch

        try:
            samples = read_wav16k(task.audio_path).mean(axis=0, keepdims=True)
        except ValueError as exc:
            raise PermanentEngineError(str(exc)) from exc
        counts = {k: int(task.params[k]) for k in COUNT_PARAMS if task.params.get(k)}
        if "num_speakers" in counts:  # pyannote rejects a count with bounds
            counts = {"num_speakers": counts["num_speakers"]}
        audio = {"waveform": torch.from_numpy(samples), "sample_rate": SAMPLE_RATE}
        result = pipeline(audio, **counts)
        # pyannote.audio 4 wraps the annotation; 3.x returns it directly.
        annotation = getattr(result, "speaker_diarization", result)
        return TaskOutput(data=_stage_output(annotation))

    def _pipeline(self, model: str) -> Any:
        with self._lock:
            if model not in self._pipelines:
                self._pipelines[model] = self._load(model)
            return self._pipelines[model]

    def _load(self, model: str) -> Any:
        token = self.config.hf_token
        if not token:
            raise PermanentEngineError(
                "pyannote-diarize needs a Hugging Face token (set HF_TOKEN) whose "
                f"account accepted the conditions of {model}"
            )
        try:
            import torch
            from pyannote.audio import Pipeline
        except ImportError:
            raise PermanentEngineError(
                "pyannote-diarize needs pyannote.audio: pip install 'dalston[pyannote]'"
            ) from None
        try:
            try:
                pipeline = Pipeline.from_pretrained(model, token=token)
            except TypeError:  # pyannote.audio 3.x names it use_auth_token
                pipeline = Pipeline.from_pretrained(model, use_auth_token=token)
        except Exception as exc:  # the hub's errors have no common base here
            raise _load_error(model, exc) from exc
        if pipeline is None:  # 3.x returns None when the download is refused
            raise PermanentEngineError(f"could not load {model} from Hugging Face")
        if self.config.device in ("auto", "cuda") and torch.cuda.is_available():
            pipeline.to(torch.device("cuda"))
        return pipeline


def _load_error(model: str, exc: Exception) -> EngineError:
    """Unreachable hub: retried. Refused (gated, bad token, no such model) or
    not cached while offline: the job fails with what to do about it."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is None and any("Connection" in k or "Timeout" in k for k in kinds):
        return EngineError(f"could not reach Hugging Face to load {model}: {exc}")
    return PermanentEngineError(
        f"could not load {model} ({type(exc).__name__}: {exc}); HF_TOKEN's account "
        "must have accepted the model's conditions on huggingface.co, and without "
        "network access the model must already be in the Hugging Face cache"
    )


def _stage_output(annotation: Any) -> dict[str, Any]:
    """Speakers renamed ``SPEAKER_00``... in order of first appearance."""
    tracks = sorted(
        annotation.itertracks(yield_label=True), key=lambda track: track[0].start
    )
    names: dict[str, str] = {}
    turns = []
    for segment, _, label in tracks:
        name = names.setdefault(str(label), f"SPEAKER_{len(names):02d}")
        turns.append(
            {
                "start": round(float(segment.start), 3),
                "end": round(float(segment.end), 3),
                "speaker": name,
            }
        )
    return {
        "backend": "pyannote",
        "speakers": list(names.values()),
        "turns": turns,
        "num_speakers": len(names),
    }
