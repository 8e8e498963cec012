"""``audio-prepare``: any common container and codec -> 16 kHz PCM WAV.

Mono (down-mixed) by default; with ``multichannel`` the channels are kept apart
(at most ``MAX_CHANNELS``) so the transcribe stage can give each its own transcript.
Raw ``pcm_s16le_16`` uploads were wrapped in a WAV header at submit time.
"""

from __future__ import annotations

from dalston.audio import (
    SAMPLE_RATE,
    decode_channels,
    decode_to_mono,
    probe,
    write_wav16k,
)
from dalston.engine_sdk import (
    BatchEngine,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.audio_prepare import SPEC
from dalston.errors import DalstonError

PREPARED_AUDIO = "audio/prepared.wav"
MAX_CHANNELS = 5


class AudioPrepareEngine(BatchEngine):
    spec = SPEC

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("prepare needs the original audio")
        multichannel = bool(task.params.get("multichannel"))
        try:
            info = probe(task.audio_path)
            task.check_cancelled()
            if multichannel:
                samples = decode_channels(task.audio_path)
                channels = samples.shape[0]
                if channels > MAX_CHANNELS:
                    raise PermanentEngineError(
                        f"The audio has {channels} channels; multichannel "
                        f"transcription takes at most {MAX_CHANNELS}."
                    )
            else:
                samples, channels = decode_to_mono(task.audio_path)
        except DalstonError as exc:
            raise PermanentEngineError(exc.message) from exc
        task.check_cancelled()
        out = task.work_dir / "prepared.wav"
        write_wav16k(out, samples)
        return TaskOutput(
            data={
                "audio_key": PREPARED_AUDIO,
                "duration": round(samples.shape[-1] / SAMPLE_RATE, 3),
                "channels": channels,
                "channels_kept": samples.shape[0] if samples.ndim == 2 else 1,
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
