"""``faster-whisper``: transcription (and translation) with CTranslate2 Whisper.

Short audio goes through ``WhisperModel.transcribe`` (sequential 30 s windows,
previous-text conditioning); audio longer than ``vad_batch_threshold_s`` is cut
into windows at its pauses (``windows.py``) and the windows are decoded in batches
with timestamps by ``BatchedInferencePipeline``, on CPU groups of them side by side
(``_side_by_side``): the way to keep many cores or a GPU busy. Audio with no
speech at all takes the sequential path (VAD-filtered).
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from difflib import SequenceMatcher
from functools import partial
from queue import SimpleQueue
from typing import Any, ClassVar

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.transcribe import (
    Segment,
    TranscriptionInfo,
    restore_speech_timestamps,
)
from faster_whisper.vad import VadOptions, collect_chunks

from dalston.audio import SAMPLE_RATE, WavReader
from dalston.audio.vad import quiet_gain, quiet_gain_of, speech_timestamps
from dalston.catalog import ModelCatalog
from dalston.engine_sdk import (
    BatchEngine,
    EngineCapabilities,
    EngineConfig,
    PermanentEngineError,
    TaskInput,
    TaskOutput,
)
from dalston.engines.faster_whisper import SPEC
from dalston.engines.faster_whisper.models import SideBySide, WhisperModels
from dalston.engines.faster_whisper.options import TranscribeOptions
from dalston.engines.faster_whisper.windows import (
    Window,
    speech_windows,
    unheard,
    unheard_in,
)
from dalston.errors import DalstonError

# Long audio: the VAD reads the file this many seconds at a time, and the windows
# are decoded this many batches per read (4 windows of up to 28 s with CPU's
# batch of 1, 32 with a GPU's 8: at most ~15 min of speech, ~60 MB, per read).
VAD_CHUNK_S = 600.0
GROUP_BATCHES = 4
FRAMES_PER_SECOND = 100  # Whisper's mel frames (``Segment.seek``)
LANGUAGE_VOTERS = 5  # windows that vote on a long recording's language
# A window's language counts as heard (and, in a recording that switches
# language, decides how the window is decoded) from this probability.
CONFIDENT_LANGUAGE = 0.8


class FasterWhisperEngine(BatchEngine):
    spec = SPEC

    def __init__(
        self, config: EngineConfig, catalog: ModelCatalog | None = None
    ) -> None:
        super().__init__(config)
        self.catalog = catalog or ModelCatalog(
            cache_dir=config.model_cache_dir,
            local_dirs=config.model_dirs,
            hf_token=config.hf_token,
        )
        self.models = WhisperModels(self.catalog, config)

    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(
            engine_id=self.engine_id,
            stage=self.stage,
            languages=None,
            word_timestamps=True,
            supports_gpu=True,
            max_batch_size=self.config.max_batch_size,
        )

    def task_slots(self) -> int:
        return self.models.slots

    def load(self) -> None:
        self.models.get(self.config.default_model)

    def loaded_models(self) -> list[str]:
        return self.models.loaded

    def unload_idle(self, idle_s: float) -> list[str]:
        return self.models.unload_idle(idle_s)

    def model_load_seconds(self) -> Mapping[str, float]:
        return dict(self.models.load_seconds)

    def process(self, task: TaskInput) -> TaskOutput:
        if task.audio_path is None:
            raise PermanentEngineError("transcribe needs prepared audio")
        options = TranscribeOptions.from_params(
            task.params, default_beam=self.config.beam_size
        )
        with ExitStack() as held:  # the model stays loaded while the task runs
            try:
                model = held.enter_context(self.models.use(options.model))
            except DalstonError as exc:
                raise PermanentEngineError(exc.message) from exc
            if options.seed is None:
                return self._transcribe(task, options, model)
            # Sampling (temperature > 0, or the fallback schedule) repeats only on
            # a fresh model instance seeded before its first decode: see
            # models.seeded.
            with self.models.seeded(options.model, options.seed) as seeded:
                return self._transcribe(task, options, seeded)

    def _transcribe(
        self, task: TaskInput, options: TranscribeOptions, model: WhisperModel
    ) -> TaskOutput:
        assert task.audio_path is not None
        with WavReader(task.audio_path) as wav:
            duration = wav.duration
            multichannel = bool(task.params.get("multichannel")) and wav.channels > 1
            tracks: list[int | None] = (
                list(range(wav.channels)) if multichannel else [None]
            )
            results = []
            for index, channel in enumerate(tracks):
                # A recording too quiet for the VAD is raised, for Whisper too
                # (audio.vad.quiet_gain), whichever path decodes it.
                wav.gain = 1.0
                long = duration >= self.config.vad_batch_threshold_s
                if long:
                    wav.gain = quiet_gain_of(wav.chunks(VAD_CHUNK_S, channel))
                windows = (
                    speech_windows(wav.chunks(VAD_CHUNK_S, channel)) if long else []
                )
                if windows:
                    # Long audio: windows cut at its pauses, decoded in batches
                    # with timestamps (see windows.py), groups of them side by
                    # side, read from the file group by group so memory does not
                    # grow with the audio.
                    # (A seeded run keeps its own instance, one window at a time.)
                    side = (
                        self.models.side_by_side(options.model, model)
                        if options.seed is None
                        else SideBySide(model, 1)
                    )
                    segments, info = _windowed(
                        side.model,
                        wav,
                        channel,
                        windows,
                        options,
                        self.models.vad_batch_size,
                        side.parallel,
                        task.check_cancelled,
                    )
                    mode = "vad_batched"
                else:
                    samples = wav.read(channel=channel)
                    if (gain := quiet_gain(samples)) != 1.0:
                        samples *= np.float32(gain)
                    first, info = _whole(model, samples, options)
                    segments = _and_unheard(
                        first,
                        partial(
                            _decode_unheard,
                            model,
                            samples,
                            # In the language the first pass heard: a short
                            # stretch alone is a poor guide to it.
                            replace(
                                options, language=options.language or info.language
                            ),
                            self.models.vad_batch_size,
                        ),
                    )
                    mode = "sequential"
                part = (index, len(tracks))
                results.append(
                    _result(
                        task,
                        _without_echoes(segments),
                        info,
                        duration,
                        mode,
                        channel,
                        part,
                    )
                )
        if not multichannel:
            return TaskOutput(data=results[0])
        return TaskOutput(data=_merge_channels(results, duration))


def _whole(
    model: WhisperModel, samples: np.ndarray, options: TranscribeOptions
) -> tuple[Iterable[Segment], TranscriptionInfo]:
    """``WhisperModel.transcribe`` over the whole audio, VAD-filtered the way it
    filters (the speech joined and decoded, the times moved back, its default VAD
    settings) with ``audio.vad``'s regions: its own Silero carries one state
    over the whole recording, and after a beep or half a minute of music hears
    none of the speech that follows (``audio.vad`` starts the state afresh
    after each quiet stretch)."""
    if not options.vad_filter:
        return model.transcribe(samples, vad_filter=False, **_kwargs(options))
    spans = speech_timestamps([(0, samples)], VadOptions())
    if not spans:  # none, or audio too short to listen to: as faster-whisper does
        return model.transcribe(samples, vad_filter=True, **_kwargs(options))
    chunks = [{"start": start, "end": end} for start, end in spans]
    speech = np.concatenate(collect_chunks(samples, chunks, SAMPLE_RATE)[0])
    segments, info = model.transcribe(speech, vad_filter=False, **_kwargs(options))
    return restore_speech_timestamps(segments, chunks, SAMPLE_RATE), replace(
        info,
        duration=samples.size / SAMPLE_RATE,
        duration_after_vad=speech.size / SAMPLE_RATE,
        vad_options=VadOptions(),
    )


def _windowed(
    model: WhisperModel,
    wav: WavReader,
    channel: int | None,
    windows: list[Window],
    options: TranscribeOptions,
    batch_size: int,
    parallel: int,
    checkpoint: Callable[[], None],
) -> tuple[Iterator[Segment], TranscriptionInfo]:
    """Segments of ``windows`` (times in the recording), decoded in groups of
    ``GROUP_BATCHES`` batches, ``parallel`` groups at a time on threads of their
    own (each on its own CTranslate2 worker: ``WhisperModels.side_by_side``),
    in the recording's order. A group's windows are read from the file (and their
    features computed) when it is handed to a thread, at most one group ahead
    of the threads, so memory does not grow with the audio. ``checkpoint`` is
    called between the segments each thread decodes (cancellation, and the
    realtime gate).

    Without a language in the request (and a multilingual model), windows spread
    over the speech vote for it (``vote_language``). When they disagree, the
    recording switches language: every window is then identified, runs of one
    language are decoded in it, and each segment says its language.
    """
    languages: list[str | None] = [options.language] * len(windows)
    vote = None
    if options.language is None and model.model.is_multilingual:
        vote = vote_language(model, wav, channel, windows)
        languages = [vote.language] * len(windows)
        if len(vote.heard) > 1:
            languages = [
                _window_language(model, wav, channel, w, vote.language) for w in windows
            ]
    size = batch_size * GROUP_BATCHES
    runs: list[tuple[str | None, list[Window]]] = []
    for window, language in zip(windows, languages, strict=True):
        if runs and runs[-1][0] == language and len(runs[-1][1]) < size:
            runs[-1][1].append(window)
        else:
            runs.append((language, [window]))
    switched = len(set(languages)) > 1

    def decode(language: str | None, group: list[Window]) -> Iterator[Segment]:
        run_options = replace(options, language=language)
        segments, _ = _decode_group(model, wav, channel, group, run_options, batch_size)
        tag = language if switched else None
        return (LanguageSegment.of(s, tag) for s in segments)

    first_language, first_group = runs[0]
    run_options = replace(options, language=first_language)
    first, info = _decode_group(
        model, wav, channel, first_group, run_options, batch_size
    )
    if vote is not None:
        info = replace(
            info, language=vote.language, language_probability=vote.probability
        )
    fixed = options.language or info.language
    tag = first_language if switched else None
    groups = itertools.chain(
        [(LanguageSegment.of(s, tag) for s in first)],
        (decode(language or fixed, group) for language, group in runs[1:]),
    )
    return _without_hallucinations(_side_by_side(groups, parallel, checkpoint)), info


def _side_by_side(
    groups: Iterator[Iterator[Segment]],
    parallel: int,
    checkpoint: Callable[[], None],
) -> Iterator[Segment]:
    """The segments of each group in turn, as they are decoded, ``parallel``
    groups decoding at once on threads of their own and one more prepared
    (``next(groups)``: its audio read, its features computed) meanwhile."""
    if parallel <= 1:  # lazily, in this thread: the caller checks between them
        yield from itertools.chain.from_iterable(groups)
        return

    def run(group: Iterator[Segment], out: SimpleQueue[Segment | None]) -> None:
        try:
            for segment in group:
                checkpoint()
                out.put(segment)
        finally:
            out.put(None)  # the end, or a failure the future holds

    pending: deque[tuple[Future[None], SimpleQueue[Segment | None]]] = deque()

    def head() -> Iterator[Segment]:
        future, out = pending.popleft()
        while (segment := out.get()) is not None:
            yield segment
        future.result()  # its failure (a cancellation) is the caller's

    # Threads started from this one keep its priority (nice, SCHED_IDLE).
    with ThreadPoolExecutor(parallel, thread_name_prefix="dalston-windows") as pool:
        try:
            for group in groups:
                out: SimpleQueue[Segment | None] = SimpleQueue()
                pending.append((pool.submit(run, group, out), out))
                if len(pending) > parallel:
                    yield from head()
            while pending:
                yield from head()
        finally:  # cancelled, failed or abandoned: drop what has not started
            for future, _ in pending:
                future.cancel()


@dataclass
class LanguageSegment(Segment):
    """A decoded segment and the language it was decoded in, when the recording
    switches language (``None`` otherwise)."""

    language: str | None = None

    @classmethod
    def of(cls, segment: Segment, language: str | None) -> LanguageSegment:
        fields = {f.name: getattr(segment, f.name) for f in dataclass_fields(Segment)}
        return cls(**fields, language=language)


@dataclass(frozen=True)
class LanguageVote:
    language: str  # the winner
    probability: float  # its mean probability over the voters
    heard: frozenset[str]  # every voter's own top language


def vote_language(
    model: WhisperModel,
    wav: WavReader,
    channel: int | None,
    windows: list[Window],
    voters: int = LANGUAGE_VOTERS,
) -> LanguageVote:
    """The language of a long recording: the speech is split into ``voters``
    equal shares and the window at the middle of each share gives Whisper's
    language probabilities for it (a window holding several middles votes for
    each). Whisper alone looks at the first 30 s, which may be an intro, music
    or another speaker."""
    lengths = np.array([w.end - w.start for w in windows])
    middles = (np.arange(voters) + 0.5) / voters * lengths.sum()
    chosen = np.searchsorted(np.cumsum(lengths), middles)
    picks, shares = np.unique(np.minimum(chosen, len(windows) - 1), return_counts=True)
    totals: dict[str, float] = {}
    heard: set[str] = set()
    for index, share in zip(picks, shares, strict=True):
        probabilities = _probabilities(model, wav, channel, windows[int(index)])
        top, confidence = probabilities[0]
        if confidence >= CONFIDENT_LANGUAGE:
            heard.add(top)
        for language, probability in probabilities:
            totals[language] = totals.get(language, 0.0) + probability * share
    best = max(totals, key=lambda language: totals[language])
    return LanguageVote(best, totals[best] / int(shares.sum()), frozenset(heard))


def _window_language(
    model: WhisperModel,
    wav: WavReader,
    channel: int | None,
    window: Window,
    fallback: str,
) -> str:
    """The window's own language when Whisper is sure of it, else ``fallback``
    (a short or unclear window follows the recording)."""
    top, confidence = _probabilities(model, wav, channel, window)[0]
    return top if confidence >= CONFIDENT_LANGUAGE else fallback


def _probabilities(
    model: WhisperModel, wav: WavReader, channel: int | None, window: Window
) -> list[tuple[str, float]]:
    """Whisper's language probabilities for one window, most likely first."""
    audio = wav.read(
        round(window.start * SAMPLE_RATE), round(window.end * SAMPLE_RATE), channel
    )
    _, _, probabilities = model.detect_language(audio=audio)
    return sorted(probabilities, key=lambda p: -p[1])


def _decode_group(
    model: WhisperModel,
    wav: WavReader,
    channel: int | None,
    group: list[Window],
    options: TranscribeOptions,
    batch_size: int,
) -> tuple[Iterator[Segment], TranscriptionInfo]:
    audio, layout = _read_windows(wav, channel, group)

    def again(decoded: list[Segment]) -> list[Segment]:
        # Speech the timestamps jumped over, decoded on its own (windows.py).
        gaps = unheard(group, _covered(decoded), precise=options.word_timestamps)
        return _second_pass(model, audio, gaps, layout, options, batch_size)

    # Lazily, batch by batch as the caller reads (it checks for cancellation
    # between segments), then the second pass for the group.
    first, info = _decode_windows(model, audio, group, layout, options, batch_size)
    return _and_unheard(first, again), info


@dataclass(frozen=True)
class Layout:
    """Where stretches of the recording lie in an array read for them: each
    stretch's first sample in the recording and in the array, in order. Each
    window is decoded as its own clip, so the pauses between a group's windows
    need not be read (a meeting's group of four windows can span minutes); a
    second of zeros (``SPACING``) between them in the array keeps a segment
    whose time faster-whisper rounds to before its clip's start from passing for
    the clip before's."""

    recording: tuple[int, ...]
    array: tuple[int, ...]

    SPACING: ClassVar[int] = SAMPLE_RATE

    @classmethod
    def from_sample(cls, first: int) -> Layout:
        """An array that is the recording from sample ``first`` on."""
        return cls((first,), (0,))

    def _shift(self, index: int) -> int:
        return self.recording[index] - self.array[index]

    def clip(self, window: Window) -> dict[str, float]:
        """``window`` (recording seconds) as a clip of the array (seconds,
        a quarter sample in, so that faster-whisper's ``int`` lands on it)."""
        at = round(window.start * SAMPLE_RATE)
        shift = self._shift(max(0, bisect_right(self.recording, at) - 1))
        return {
            "start": (at - shift + 0.25) / SAMPLE_RATE,
            "end": (round(window.end * SAMPLE_RATE) - shift + 0.25) / SAMPLE_RATE,
        }

    def to_recording(self, seg: Segment) -> Segment:
        """``seg`` (array times, within one clip) in recording times."""
        at = round(seg.start * SAMPLE_RATE) + self.SPACING // 2
        index = max(0, bisect_right(self.array, at) - 1)
        return _shifted(seg, self._shift(index) / SAMPLE_RATE)


def _read_windows(
    wav: WavReader, channel: int | None, windows: list[Window]
) -> tuple[np.ndarray, Layout]:
    """The samples of ``windows`` (sorted, apart), ``Layout.SPACING`` apart."""
    spacing = np.zeros(Layout.SPACING, np.float32)
    pieces: list[np.ndarray] = []
    array: list[int] = []
    for window in windows:
        if pieces:
            pieces.append(spacing)
        array.append(sum(p.size for p in pieces))
        start, end = round(window.start * SAMPLE_RATE), round(window.end * SAMPLE_RATE)
        pieces.append(wav.read(start, end, channel))
    layout = Layout(tuple(round(w.start * SAMPLE_RATE) for w in windows), tuple(array))
    return np.concatenate(pieces), layout


def _decode_windows(
    model: WhisperModel,
    audio: np.ndarray,
    windows: list[Window],
    layout: Layout,
    options: TranscribeOptions,
    batch_size: int,
) -> tuple[Iterator[Segment], TranscriptionInfo]:
    """``windows`` (recording times) of ``audio`` (laid out as ``layout``
    says), decoded in batches with timestamps."""
    segments, info = BatchedInferencePipeline(model).transcribe(
        audio,
        batch_size=batch_size,
        vad_filter=False,
        clip_timestamps=[layout.clip(w) for w in windows],
        without_timestamps=False,
        **_kwargs(options),
    )
    return (layout.to_recording(seg) for seg in segments), info


def _second_pass(
    model: WhisperModel,
    audio: np.ndarray,
    gaps: list[Window],
    layout: Layout,
    options: TranscribeOptions,
    batch_size: int,
) -> list[Segment]:
    """The speech a first pass left out, decoded on its own; its confident
    segments only."""
    if not gaps:
        return []
    segments, _ = _decode_windows(model, audio, gaps, layout, options, batch_size)
    return [s for s in segments if _confident(s)]


def _covered(segments: Iterable[Segment]) -> list[tuple[float, float]]:
    """The time the decoded segments account for (with word timestamps,
    faster-whisper moves a segment's bounds to its first and last words)."""
    return [(s.start, s.end) for s in segments]


def _confident(seg: Segment) -> bool:
    """A second pass's segment: the first pass went over its audio and wrote
    nothing, so either sign of a non-speech guess drops it, and text that repeats
    itself (the batched decode has no temperature fallback to escape a loop)."""
    return (
        seg.no_speech_prob <= _NO_SPEECH
        and seg.avg_logprob >= _LOW_LOGPROB
        and seg.compression_ratio <= _REPETITIVE
    )


def _and_unheard(
    first: Iterable[Segment], recover: Callable[[list[Segment]], list[Segment]]
) -> Iterator[Segment]:
    """The first pass's segments as they come, then ``recover``'s for the
    speech they left out (out of time order: ``_result`` sorts)."""
    decoded = []
    for seg in first:
        decoded.append(seg)
        yield seg
    yield from recover(decoded)


def _decode_unheard(
    model: WhisperModel,
    samples: np.ndarray,
    options: TranscribeOptions,
    batch_size: int,
    decoded: list[Segment],
) -> list[Segment]:
    """Speech a whole-audio decode jumped over, decoded again on its own."""
    gaps = unheard_in(samples, _covered(decoded), precise=options.word_timestamps)
    return _second_pass(
        model, samples, gaps, Layout.from_sample(0), options, batch_size
    )


def _shifted(seg: Segment, shift: float) -> Segment:
    """``seg`` with its times (and its words') moved by ``shift`` seconds."""
    if not shift:
        return seg
    words = (
        [replace(w, start=w.start + shift, end=w.end + shift) for w in seg.words]
        if seg.words is not None
        else None
    )
    return replace(
        seg,
        start=seg.start + shift,
        end=seg.end + shift,
        seek=seg.seek + round(shift * FRAMES_PER_SECOND),
        words=words,
    )


def _so_far(
    segments: list[dict[str, Any]], info: TranscriptionInfo, duration: float
) -> dict[str, Any]:
    """The transcript so far (``TaskInput.publish``): the segments decoded, in
    time order (a second pass's come later and may fall between them), without
    their tokens."""
    ordered = sorted(segments, key=lambda s: s["start"])
    return {
        "language_code": info.language,
        "duration": round(duration, 3),
        "segments": [
            {k: v for k, v in s.items() if k != "tokens"} | {"id": i}
            for i, s in enumerate(ordered)
        ],
    }


def _merge_channels(results: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    segments = sorted(
        (s for r in results for s in r["segments"]), key=lambda s: (s["start"], s["id"])
    )
    for index, segment in enumerate(segments):
        segment["id"] = index
    best = max(results, key=lambda r: r["language_probability"])
    return {
        "text": " ".join(r["text"] for r in results if r["text"]),
        "language_code": best["language_code"],
        "language_probability": best["language_probability"],
        "duration": round(duration, 3),
        "segments": segments,
        "channels": [
            {
                "channel_index": i,
                "text": r["text"],
                "language_code": r["language_code"],
                "language_probability": r["language_probability"],
            }
            for i, r in enumerate(results)
        ],
        "decode_mode": results[0]["decode_mode"],
    }


# Whisper's own rules for text it should not be trusted on: a window it thinks
# holds no speech and decoded with low confidence, or text that repeats itself
# (compresses too well). The sequential path applies them while decoding (with
# temperature fallback); the batched decode does not, so they apply here.
_NO_SPEECH = 0.6
_LOW_LOGPROB = -1.0
_REPETITIVE = 2.4


def _without_hallucinations(segments: Iterable[Segment]) -> Iterator[Segment]:
    for seg in segments:
        if seg.no_speech_prob > _NO_SPEECH and seg.avg_logprob < _LOW_LOGPROB:
            continue
        if seg.compression_ratio > _REPETITIVE:
            continue
        yield seg


# Whisper conditioned on its previous text can write that text again over audio
# it hears no speech in (a quiet room, a voice too far away to make out): the
# sentence before, or a run of it, a second time. Such a copy has the confidence
# of the text it copies, so the rule above keeps it; a segment whose window holds
# no speech (Whisper's own judgement) and which repeats a run of ECHO_WORDS words
# of the segment before it (or all its words, if fewer) is dropped. So is a
# copy (the same words, or all of them within a segment, _ECHO_WORDS or more)
# of one of the last few segments kept that touches it (overlapping it, or
# within _ECHO_GAP_S of it), whatever Whisper thought of the window: the same
# speech written twice, once where Whisper's timestamps misplaced it and once
# where the unheard pass found it (tiny.en on an AVX2-only CPU put a window's
# last words, "In 1813.", 1.4 s late and past the audio's end; decoded again
# where they were, they came twice). A speaker who says it again pauses first.
_ECHO_WORDS = 4
_ECHO_GAP_S = 0.25
_ECHO_RECENT = 4  # segments kept that a repeat is compared with


def _without_echoes(segments: Iterable[Segment]) -> Iterator[Segment]:
    previous: list[str] = []
    recent: deque[tuple[float, float, list[str]]] = deque(maxlen=_ECHO_RECENT)
    for seg in segments:
        words = re.findall(r"\w+", seg.text.casefold())
        if seg.no_speech_prob > _NO_SPEECH and _repeats(previous, words):
            continue
        if any(
            seg.start < end + _ECHO_GAP_S
            and start < seg.end + _ECHO_GAP_S
            and _copies(before, words)
            for start, end, before in recent
        ):
            continue
        if words:
            previous = words
            recent.append((seg.start, seg.end, words))
        yield seg


def _copies(before: list[str], words: list[str]) -> bool:
    """Whether ``words`` are ``before`` again: the same words, or all of them a
    run of ``before`` at least ``_ECHO_WORDS`` long."""
    if not words or words == before:
        return bool(words)
    return len(words) >= _ECHO_WORDS and _longest_run(before, words) == len(words)


def _repeats(before: list[str], words: list[str]) -> bool:
    """Whether ``words`` repeat a run of ``_ECHO_WORDS`` of ``before`` (all of
    them, if fewer)."""
    if not before or not words:
        return False
    return _longest_run(before, words) >= min(_ECHO_WORDS, len(words))


def _longest_run(before: list[str], words: list[str]) -> int:
    """The length of the longest run of words ``before`` and ``words`` share."""
    match = SequenceMatcher(None, before, words, autojunk=False).find_longest_match(
        0, len(before), 0, len(words)
    )
    return match.size


def _language_of(seg: Segment) -> dict[str, str]:
    """``{"language": ...}`` for a segment of a recording that switches language."""
    language = getattr(seg, "language", None)
    return {"language": language} if language else {}


def _kwargs(options: TranscribeOptions) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "language": options.language,
        "task": options.task,
        "beam_size": options.beam_size,
        "word_timestamps": options.word_timestamps,
        "hotwords": options.prompt_terms,
        "initial_prompt": options.prompt,
    }
    if options.temperature is not None:
        kwargs["temperature"] = options.temperature
    return kwargs


def _within(seconds: float, duration: float) -> float:
    """A time Whisper gave, kept inside the audio: its timestamp tokens count in
    a 30 s window, so a short clip's segment can end past the clip (0.4 s of
    audio, a segment to 2.0 s)."""
    if duration > 0:
        seconds = min(max(seconds, 0.0), duration)
    return round(seconds, 3)


def _result(
    task: TaskInput,
    segments: Iterable[Segment],
    info: TranscriptionInfo,
    duration: float,
    mode: str,
    channel: int | None,
    part: tuple[int, int] = (0, 1),
) -> dict[str, Any]:
    out_segments: list[dict[str, Any]] = []
    track, tracks = part
    done = 0.0
    # The generator decodes lazily: check for cancellation between segments.
    for seg in segments:
        task.check_cancelled()
        if duration > 0:  # the share of all the audio decoded so far
            done = max(done, min(seg.end / duration, 1.0))
            task.report_progress((track + done) / tracks)
        words = None
        if seg.words is not None:
            words = [
                {
                    "text": w.word.strip(),
                    "start": _within(w.start, duration),
                    "end": _within(w.end, duration),
                    "confidence": round(w.probability, 4),
                    "channel": channel,
                }
                for w in seg.words
                if w.word.strip()
            ]
        if tracks == 1:  # a stage that follows this one may start on them
            task.publish(partial(_so_far, out_segments, info, duration))
        out_segments.append(
            {
                "id": 0,  # numbered below, in time order
                "start": _within(seg.start, duration),
                "end": _within(seg.end, duration),
                "text": seg.text.strip(),
                "avg_logprob": round(seg.avg_logprob, 4),
                "no_speech_prob": round(seg.no_speech_prob, 4),
                "compression_ratio": round(seg.compression_ratio, 4),
                "temperature": seg.temperature,
                "tokens": list(seg.tokens),
                "seek": seg.seek,
                "channel": channel,
                "words": words,
                **_language_of(seg),
            }
        )
    # A second pass's segments come last (``_and_unheard``): time order.
    out_segments.sort(key=lambda s: s["start"])
    for index, segment in enumerate(out_segments):
        segment["id"] = index
    return {
        "text": " ".join(s["text"] for s in out_segments if s["text"]),
        "language_code": info.language,
        "language_probability": round(info.language_probability, 4),
        "duration": round(duration, 3),
        "segments": out_segments,
        "decode_mode": mode,
    }
