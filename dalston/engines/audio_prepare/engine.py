"""``audio-prepare``: any common container and codec -> 16 kHz PCM WAV.

Decoded frame by frame into the WAV (memory flat in the audio's length), within
the server's audio limits. Mono (down-mixed) by default; with ``multichannel`` the
channels are kept apart (at most ``MAX_CHANNELS``) so the transcribe stage can give
each its own transcript.
Raw ``pcm_s16le_16`` uploads were wrapped in a WAV header at submit time.
Submit read only the header; the checks that need the whole file (truncation,
frames that do not decode) run here, and their refusals fail the job with the
input's error code (``Job.error_code``).
"""

from __future__ import annotations

from dalston.audio import SAMPLE_RATE, decode_to_wav16k, probe
from dalston.engine_sdk import (
    BatchEngine,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.audio_prepare import SPEC
from dalston.errors import InvalidRequest

PREPARED_AUDIO = "audio/prepared.wav"
MAX_CHANNELS = 5


class AudioPrepareEngine(BatchEngine):
    spec = SPEC

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("prepare needs the original audio")
        multichannel = bool(task.params.get("multichannel"))
        limits = self.config.audio_limits
        out = task.work_dir / "prepared.wav"
        # The whole file is checked here, not at submit (which reads the header
        # only): a refusal is a DalstonError, so the job fails as the input's fault.
        info = probe(task.audio_path, limits)
        if multichannel and info.channels > MAX_CHANNELS:
            raise InvalidRequest(
                f"The audio has {info.channels} channels; multichannel "
                f"transcription takes at most {MAX_CHANNELS}.",
                param="file",
            )
        task.check_cancelled()
        decoded = decode_to_wav16k(
            task.audio_path, out, keep_channels=multichannel, limits=limits
        )
        task.check_cancelled()
        return TaskOutput(
            data={
                "audio_key": PREPARED_AUDIO,
                "duration": round(decoded.duration_s, 3),
                "channels": decoded.source_channels,
                "channels_kept": decoded.channels,
                "sample_rate": SAMPLE_RATE,
                "source": {
                    "container": info.container,
                    "codec": info.codec,
                    "sample_rate": info.sample_rate,
                    "channels": info.channels,
                    "duration": round(info.duration_s, 3),
                },
            },
            files={PREPARED_AUDIO: out},
        )
