"""Audio probing and decoding with PyAV (FFmpeg bundled in the wheel)."""

from dalston.audio.decode import (
    SAMPLE_RATE,
    AudioInfo,
    decode_channels,
    decode_to_mono,
    probe,
    read_wav16k,
    write_wav16k,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioInfo",
    "decode_channels",
    "decode_to_mono",
    "probe",
    "read_wav16k",
    "write_wav16k",
]
