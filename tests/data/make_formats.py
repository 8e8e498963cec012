"""Re-encode the wenet LibriSpeech clip into the compressed test formats.

Source: ``wenet_ls_1995_1837_0001.wav`` (LibriSpeech 1995-1837-0001, CC BY 4.0;
see SOURCES.md). Outputs, next to this script, named
``wenet_ls_1995_1837_0001`` plus:

* ``.mp3``  - MP3 (libmp3lame), 16 kHz mono, 32 kbit/s
* ``.opus`` - Opus in Ogg (libopus), 48 kHz mono, 24 kbit/s
* ``.m4a``  - AAC (FFmpeg's aac) in MP4 (ipod muxer), 16 kHz mono, 32 kbit/s

Run from the repository root: ``.venv/bin/python tests/data/make_formats.py``.
The outputs are committed; rerun only to regenerate them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import av

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "wenet_ls_1995_1837_0001.wav"

# suffix -> (container format, codec, output sample rate, bit rate)
FORMATS: dict[str, tuple[str, str, int, int]] = {
    ".mp3": ("mp3", "libmp3lame", 16_000, 32_000),
    ".opus": ("ogg", "libopus", 48_000, 24_000),
    ".m4a": ("ipod", "aac", 16_000, 32_000),
}


def encode(
    source: Path, target: Path, fmt: str, codec: str, rate: int, bit_rate: int
) -> None:
    with av.open(str(source)) as src, av.open(str(target), "w", format=fmt) as dst:
        in_stream = src.streams.audio[0]
        out_stream = dst.add_stream(codec, rate=rate, layout="mono")
        out_stream.bit_rate = bit_rate
        # Feed the encoder frames in the sample format it wants; the encoder's
        # frame_size is enforced by PyAV's audio FIFO for codecs that need it.
        resampler = av.AudioResampler(
            format=out_stream.codec_context.format.name, layout="mono", rate=rate
        )
        fifo = av.AudioFifo()
        frame_size = out_stream.codec_context.frame_size or 1024

        def drain(final: bool) -> None:
            while fifo.samples >= frame_size or (final and fifo.samples):
                frame = fifo.read(min(frame_size, fifo.samples))
                for packet in out_stream.encode(frame):
                    dst.mux(packet)

        for frame in src.decode(in_stream):
            for out in resampler.resample(frame):
                fifo.write(out)
            drain(final=False)
        for out in resampler.resample(None):
            fifo.write(out)
        drain(final=True)
        for packet in out_stream.encode(None):
            dst.mux(packet)


def main() -> int:
    from dalston.audio import decode_to_mono, probe

    for suffix, (fmt, codec, rate, bit_rate) in FORMATS.items():
        target = SOURCE.with_suffix(suffix)
        encode(SOURCE, target, fmt, codec, rate, bit_rate)
        info = probe(target)
        samples, _ = decode_to_mono(target)
        print(
            f"{target.name}: {target.stat().st_size} bytes, "
            f"{info.container}/{info.codec} "
            f"{info.sample_rate} Hz x{info.channels}, {info.duration_s:.3f} s, "
            f"decoded {len(samples) / 16_000:.3f} s"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    raise SystemExit(main())
