"""``audio-prepare``: any common container and codec -> 16 kHz mono PCM WAV."""

from __future__ import annotations

from dalston.audio import SAMPLE_RATE, decode_to_mono, probe, write_wav_mono16k
from dalston.engine_sdk import (
    BatchEngine,
    EngineCapabilities,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.errors import DalstonError

PREPARED_AUDIO = "audio/prepared.wav"


class AudioPrepareEngine(BatchEngine):
    engine_id = "audio-prepare"
    stage = "prepare"

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(engine_id=self.engine_id, stage=self.stage)

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("prepare needs the original audio")
        try:
            info = probe(task.audio_path)
            task.check_cancelled()
            samples, channels = decode_to_mono(task.audio_path)
        except DalstonError as exc:
            raise PermanentEngineError(exc.message) from exc
        task.check_cancelled()
        out = task.work_dir / "prepared.wav"
        write_wav_mono16k(out, samples)
        return TaskOutput(
            data={
                "audio_key": PREPARED_AUDIO,
                "duration": round(len(samples) / SAMPLE_RATE, 3),
                "channels": channels,
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
