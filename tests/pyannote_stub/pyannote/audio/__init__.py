"""A stand-in for ``pyannote.audio``'s ``Pipeline`` API, for tests only.

The real pipelines are gated on the Hugging Face Hub, which these machines cannot
reach. This one speaks the same API (``Pipeline.from_pretrained(name, token=...)``,
then ``pipeline({"waveform": (channels, samples) tensor, "sample_rate": 16000},
num_speakers=...)`` returning a ``pyannote.core.Annotation``) and answers from an
RTTM file instead of a model, so tests check what Dalston does around it: the
backend setting, the token, the counts passed, the output's shape.

``STUB_PYANNOTE_RTTM``: the RTTM it answers with. ``STUB_PYANNOTE_TOKEN``: the only
token it accepts (anything else is refused like a gated repository).
``STUB_PYANNOTE_LOG``: a file it appends each call to, as JSON lines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class GatedRepoError(OSError):
    """What huggingface_hub raises for a token without access (HTTP 403)."""


class Pipeline:
    def __init__(self, checkpoint: str) -> None:
        self.checkpoint = checkpoint

    @classmethod
    def from_pretrained(cls, checkpoint: str, token: str | None = None) -> Pipeline:
        _log({"call": "from_pretrained", "checkpoint": checkpoint, "token": token})
        if token != os.environ.get("STUB_PYANNOTE_TOKEN"):
            raise GatedRepoError(f"403: access to {checkpoint} is restricted")
        return cls(checkpoint)

    def to(self, device: Any) -> Pipeline:
        return self

    def __call__(self, audio: dict[str, Any], **counts: int) -> Any:
        from pyannote.core import Annotation, Segment

        waveform = audio["waveform"]
        _log(
            {
                "call": "pipeline",
                "shape": list(waveform.shape),
                "dtype": str(waveform.dtype),
                "sample_rate": audio["sample_rate"],
                "counts": counts,
            }
        )
        annotation = Annotation()
        rttm = Path(os.environ["STUB_PYANNOTE_RTTM"]).read_text().splitlines()
        for index, line in enumerate(rttm):
            fields = line.split()
            start, duration = float(fields[3]), float(fields[4])
            annotation[Segment(start, start + duration), index] = fields[7]
        return annotation


def _log(entry: dict[str, Any]) -> None:
    path = os.environ.get("STUB_PYANNOTE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")
