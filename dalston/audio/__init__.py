"""Audio probing and decoding with PyAV (FFmpeg bundled in the wheel)."""

from dalston.audio.decode import (
    SAMPLE_RATE,
    AudioInfo,
    DecodedWav,
    Pcm16Chunk,
    decode_channels,
    decode_pcm16,
    decode_to_mono,
    decode_to_wav16k,
    iter_pcm16,
    probe,
    read_wav16k,
    write_wav16k,
)
from dalston.audio.header import AudioHeader, read_header
from dalston.audio.limits import AudioLimits
from dalston.audio.wavfile import MonoSource, Samples, WavReader

__all__ = [
    "SAMPLE_RATE",
    "AudioHeader",
    "AudioInfo",
    "AudioLimits",
    "DecodedWav",
    "MonoSource",
    "Pcm16Chunk",
    "Samples",
    "WavReader",
    "decode_channels",
    "decode_pcm16",
    "decode_to_mono",
    "decode_to_wav16k",
    "iter_pcm16",
    "probe",
    "read_header",
    "read_wav16k",
    "write_wav16k",
]
