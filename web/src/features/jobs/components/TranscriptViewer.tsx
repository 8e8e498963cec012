import { memo, useEffect, useMemo, useRef } from 'react';
import type { Segment, Speaker } from '../../../lib/api-types';
import { formatClock } from '../../../lib/format';
import { cn } from '../../../components/ui';
import { findActiveIndex, flattenWords, speakerColor, type FlatWord } from './transcript';

export interface TranscriptViewerProps {
  segments: readonly Segment[];
  /** The player's position, in seconds. */
  currentTime: number;
  /** Called with a time in seconds when a word or a segment time is clicked. */
  onSeek: (time: number) => void;
  /** Keep the playing word in view. */
  follow?: boolean;
  /** The job's speakers: their order picks the colours, and a label replaces the id. */
  speakers?: readonly Speaker[] | null;
}

/**
 * The transcript, segment by segment, with speakers. The word being played is
 * highlighted; clicking a word (or a segment's time) seeks the player there.
 */
export function TranscriptViewer({
  segments,
  currentTime,
  onSeek,
  follow = false,
  speakers: known,
}: TranscriptViewerProps) {
  const words = useMemo(() => flattenWords(segments), [segments]);
  const bySegment = useMemo(() => {
    const groups: FlatWord[][] = segments.map(() => []);
    for (const word of words) groups[word.segment]!.push(word);
    return groups;
  }, [segments, words]);
  const speakers = useMemo(
    () => [
      ...new Set([
        ...(known ?? []).map((s) => s.id),
        ...segments.map((s) => s.speaker).filter((s): s is string => !!s),
      ]),
    ],
    [known, segments],
  );
  const labels = useMemo(
    () => new Map((known ?? []).filter((s) => s.label).map((s) => [s.id, s.label as string])),
    [known],
  );
  const activeWord = findActiveIndex(words, currentTime);
  const activeSegment = findActiveIndex(segments, currentTime);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!follow || activeWord < 0) return;
    const el = root.current?.querySelector<HTMLElement>(`[data-word-index="${activeWord}"]`);
    el?.scrollIntoView?.({ block: 'nearest', behavior: 'smooth' });
  }, [activeWord, follow]);

  if (segments.length === 0) {
    return <p className="px-1 py-4 text-sm text-slate-500">The transcript is empty: no speech was found.</p>;
  }
  return (
    <div ref={root} className="space-y-4" role="group" aria-label="Transcript text">
      {segments.map((segment, i) => (
        <SegmentView
          key={`${segment.id}-${i}`}
          segment={segment}
          words={bySegment[i]!}
          active={i === activeSegment}
          activeWord={words[activeWord]?.segment === i ? activeWord : -1}
          speakerClass={segment.speaker ? speakerColor(segment.speaker, speakers) : ''}
          speakerLabel={segment.speaker ? (labels.get(segment.speaker) ?? segment.speaker) : ''}
          onSeek={onSeek}
        />
      ))}
    </div>
  );
}

interface SegmentViewProps {
  segment: Segment;
  words: FlatWord[];
  active: boolean;
  activeWord: number;
  speakerClass: string;
  speakerLabel: string;
  onSeek: (time: number) => void;
}

/** Memoised: while playing, only the segments whose highlight moves re-render. */
const SegmentView = memo(function SegmentView({
  segment,
  words,
  active,
  activeWord,
  speakerClass,
  speakerLabel,
  onSeek,
}: SegmentViewProps) {
  return (
    <div
      className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1"
      data-segment-id={segment.id}
      data-speaker={segment.speaker ?? undefined}
    >
      <button
        type="button"
        onClick={() => onSeek(segment.start)}
        className="h-fit rounded px-1 font-mono text-xs text-slate-500 tabular-nums hover:bg-slate-100 hover:text-indigo-700 focus-visible:outline-2 focus-visible:outline-indigo-600"
        aria-label={`Play from ${formatClock(segment.start)}`}
      >
        {formatClock(segment.start)}
      </button>
      <div className="min-w-0">
        {segment.speaker ? (
          <span
            className={cn('mb-1 inline-block rounded px-1.5 py-0.5 text-xs font-semibold', speakerClass)}
            data-speaker-label={segment.speaker}
            title={speakerLabel !== segment.speaker ? segment.speaker : undefined}
          >
            {speakerLabel}
          </span>
        ) : null}
        <p className="leading-7 text-slate-800">
          {words.length > 0 ? (
            words.map((word, j) => (
              <span key={word.index}>
                {j > 0 ? ' ' : null}
                <button
                  type="button"
                  data-word-index={word.index}
                  data-start={word.start}
                  data-end={word.end}
                  aria-current={word.index === activeWord ? 'true' : undefined}
                  title={`${formatClock(word.start, 2)} – ${formatClock(word.end, 2)}`}
                  onClick={() => onSeek(word.start)}
                  className={cn(
                    'rounded px-0.5 focus-visible:outline-2 focus-visible:outline-indigo-600',
                    word.index === activeWord ? 'bg-amber-200 text-slate-950' : 'hover:bg-indigo-50',
                  )}
                >
                  {word.text.trim()}
                </button>
              </span>
            ))
          ) : (
            <span
              data-active={active ? 'true' : undefined}
              className={cn('rounded px-0.5', active && 'bg-amber-100')}
            >
              {segment.text.trim()}
            </span>
          )}
        </p>
      </div>
    </div>
  );
});
