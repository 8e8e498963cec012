"""How often the automatic speaker count splits one voice, and finds several, by
the number of embedding windows (short recordings are where the count is hard).

    .venv/bin/python bench/diar_counts.py [--corpus PATH] [--lengths 9 12 16 20 30]
        [--margins 1.0 1.1]

Two populations, cropped from ``../shared/corpus`` (nothing is kept between runs):
- one voice: every single-speaker ASR case of 8 s or more, whole, and crops of
  ``--lengths`` seconds (overlapping by a quarter) of those of 30 s or more;
- several voices: crops of the same lengths of every ``diar`` case, counted as
  multi-voice when two or more reference speakers talk 2 s or more in the crop.

Each crop goes through the diarizer's own speech regions, windows and Resemblyzer
embeddings once; the automatic count (``clustering.assign_speakers``) is then
read per crop, once per ``--margins`` value (``ClusterOptions.first_split_margin``,
the default's first). Output (JSON): per margin, population and bucket of windows
(10-14, 15-19, ...), crops and how many came out with more than one speaker. A
change to the split rule should move the one-voice rate down, not the other.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLE_RATE = 16000
# ASR cases with more than one voice (or a voice per channel): not one voice.
NOT_ONE_VOICE = {"pyannote_sample_asr"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lengths", type=float, nargs="+", default=[9, 12, 16, 20, 30])
    parser.add_argument("--margins", type=float, nargs="+")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    result = measure(args.corpus, args.lengths, args.margins)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


def measure(
    corpus: Path, lengths: list[float], margins: list[float] | None = None
) -> dict[str, Any]:
    from dataclasses import replace

    from dalston.audio import decode_to_mono
    from dalston.engines.resemblyzer_diarize.pipeline import PipelineOptions
    from dalston.eval.der import read_rttm

    default = PipelineOptions().cluster
    options = {
        str(m): replace(default, first_split_margin=m)
        for m in [default.first_split_margin, *(margins or [])]
    }

    with (corpus / "MANIFEST.tsv").open() as fh:
        cases = list(csv.DictReader(fh, delimiter="\t"))
    counts: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for case in cases:
        if case["kind"] != "asr" or case["case_id"] in NOT_ONE_VOICE:
            continue
        if float(case["duration_s"]) < 8:
            continue
        samples, _ = decode_to_mono(corpus / case["file"])
        crops = [samples]
        if samples.size >= 30 * SAMPLE_RATE:
            crops += [c for c, _ in _crops(samples, lengths)]
        for crop in crops:
            _count(counts, "one_voice", crop, options)
    for case in cases:
        if case["kind"] != "diar":
            continue
        wav = corpus / case["file"]
        samples, _ = decode_to_mono(wav)
        reference = read_rttm(wav.with_suffix(".rttm"))
        for crop, (start, end) in _crops(samples, lengths):
            talk: dict[str, float] = defaultdict(float)
            for turn in reference:
                overlap = min(turn["end"], end) - max(turn["start"], start)
                talk[turn["speaker"]] += max(overlap, 0.0)
            voices = sum(seconds >= 2.0 for seconds in talk.values())
            if voices >= 2:
                _count(counts, "several_voices", crop, options)
    result: dict[str, Any] = defaultdict(dict)
    for (margin, population), buckets in counts.items():
        result[f"first_split_margin={margin}"][population] = {
            bucket: {"crops": total, "more_than_one_speaker": split}
            for bucket, (total, split) in sorted(
                buckets.items(), key=lambda kv: int(kv[0].split("-")[0])
            )
        }
    return dict(result)


def _crops(
    samples: np.ndarray, lengths: list[float]
) -> list[tuple[np.ndarray, tuple[float, float]]]:
    duration = samples.size / SAMPLE_RATE
    out = []
    for length in lengths:
        for start in np.arange(0.0, duration - length + 0.01, length * 0.75):
            first, last = int(start * SAMPLE_RATE), int((start + length) * SAMPLE_RATE)
            out.append((samples[first:last], (float(start), float(start + length))))
    return out


_ENCODER: list[Any] = []


def _count(
    counts: dict[tuple[str, str], dict[str, list[int]]],
    population: str,
    samples: np.ndarray,
    options: dict[str, Any],
) -> None:
    """Add the crop's automatic count, under each of ``options``, to its bucket
    of windows."""
    from dalston.audio import Samples
    from dalston.engines.resemblyzer_diarize.clustering import (
        SpeakerCount,
        assign_speakers,
    )
    from dalston.engines.resemblyzer_diarize.embeddings import (
        SpeakerEncoder,
        level_gain,
        sliding_windows,
    )
    from dalston.engines.resemblyzer_diarize.pipeline import PipelineOptions
    from dalston.engines.resemblyzer_diarize.speech import speech_regions

    if not _ENCODER:
        _ENCODER.append(SpeakerEncoder())
    tuning = PipelineOptions()
    source = Samples(samples.astype(np.float32))
    regions = speech_regions(source, tuning.speech)
    windows = sliding_windows(regions, tuning.windows)
    if len(windows) < 10:  # under min_windows_to_split: always one voice
        return
    embeddings = _ENCODER[0].embed(source, windows, gain=level_gain(source, regions))
    low = min(len(windows) // 5 * 5, 30)
    for name, cluster in options.items():
        labels = assign_speakers(embeddings, SpeakerCount(), 1.0, cluster)
        bucket = counts[(name, population)][f"{low}-{low + 4}" if low < 30 else "30-"]
        bucket[0] += 1
        bucket[1] += int(labels.max() > 0)


if __name__ == "__main__":
    main()
