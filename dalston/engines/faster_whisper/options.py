"""Task parameters for transcription, parsed once into a frozen value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TranscribeOptions:
    model: str
    language: str | None = None  # None: detect
    word_timestamps: bool = True
    vad_filter: bool = True
    beam_size: int = 5
    vocabulary: tuple[str, ...] = ()
    prompt: str | None = None
    temperature: float | None = None  # None: Whisper's fallback schedule
    seed: int | None = None
    task: str = "transcribe"  # or "translate"

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], *, default_beam: int
    ) -> TranscribeOptions:
        granularity = params.get("timestamps_granularity", "word")
        language = params.get("language")
        temperature = params.get("temperature")
        seed = params.get("seed")
        return cls(
            model=str(params["model"]),
            language=None if language in (None, "", "auto") else str(language),
            # Character times are derived from word times, so they need words too;
            # so do speakers and PII redaction spans (need_word_times).
            word_timestamps=granularity in ("word", "character")
            or bool(params.get("need_word_times")),
            vad_filter=bool(params.get("vad_filter", True)),
            beam_size=int(params.get("beam_size") or default_beam),
            vocabulary=tuple(params.get("vocabulary") or ()),
            prompt=params.get("prompt") or None,
            temperature=None if temperature is None else float(temperature),
            seed=None if seed is None else int(seed),
            task=str(params.get("task", "transcribe")),
        )

    @property
    def prompt_terms(self) -> str | None:
        return ", ".join(self.vocabulary) if self.vocabulary else None
