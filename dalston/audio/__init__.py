"""Audio probing and decoding with PyAV (FFmpeg bundled in the wheel)."""

from dalston.audio.decode import (
    SAMPLE_RATE,
    AudioInfo,
    decode_to_mono,
    probe,
    read_wav_mono16k,
    write_wav_mono16k,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioInfo",
    "decode_to_mono",
    "probe",
    "read_wav_mono16k",
    "write_wav_mono16k",
]
