import { memo, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { Segment, Speaker } from '../../../lib/api-types';
import { formatClock } from '../../../lib/format';
import { cn } from '../../../components/ui';
import { findActiveIndex, flattenWords, groupTurns, matchesQuery, speakerColor, type FlatWord } from './transcript';

export interface TranscriptViewerProps {
  segments: readonly Segment[];
  /** The player's position, in seconds. */
  currentTime: number;
  /** Called with a time in seconds when a word or a turn's time is clicked. */
  onSeek: (time: number) => void;
  /** Keep the playing word in view. */
  follow?: boolean;
  /** The job's speakers: their order picks the colours, and a label replaces the id. */
  speakers?: readonly Speaker[] | null;
  /** Words containing this text are marked (case and accents ignored). */
  query?: string;
  /** Index (into the flat word list) of the match to bring into view. */
  focusWord?: number;
  /** Given, each speaker chip can be renamed: called with the id and the new name ("" clears). */
  onRenameSpeaker?: (speaker: string, name: string) => Promise<void>;
}

/**
 * The transcript by speaker turn: consecutive segments of one speaker read as one
 * paragraph under one chip. The word being played is highlighted; clicking a word
 * (or a turn's time) seeks the player there; words matching the search are marked.
 */
export function TranscriptViewer({
  segments,
  currentTime,
  onSeek,
  follow = false,
  speakers: known,
  query = '',
  focusWord = -1,
  onRenameSpeaker,
}: TranscriptViewerProps) {
  const words = useMemo(() => flattenWords(segments), [segments]);
  const turns = useMemo(() => groupTurns(segments), [segments]);
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
  const matches = useMemo(
    () => new Set(query.trim() ? words.filter((w) => matchesQuery(w.text, query)).map((w) => w.index) : []),
    [words, query],
  );
  const activeWord = findActiveIndex(words, currentTime);
  const activeSegment = findActiveIndex(segments, currentTime);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!follow || activeWord < 0) return;
    const el = root.current?.querySelector<HTMLElement>(`[data-word-index="${activeWord}"]`);
    el?.scrollIntoView?.({ block: 'nearest', behavior: 'smooth' });
  }, [activeWord, follow]);

  useEffect(() => {
    if (focusWord < 0) return;
    const el = root.current?.querySelector<HTMLElement>(`[data-word-index="${focusWord}"]`);
    el?.scrollIntoView?.({ block: 'center', behavior: 'smooth' });
  }, [focusWord]);

  if (segments.length === 0) {
    return <p className="px-1 py-4 text-sm text-slate-500 dark:text-slate-400">The transcript is empty: no speech was found.</p>;
  }
  return (
    <div ref={root} className="space-y-4" role="group" aria-label="Transcript text">
      {turns.map((turn) => {
        const first = segments[turn.segments[0]!]!;
        return (
          <TurnView
            key={`${first.id}-${turn.segments[0]}`}
            turnSegments={turn.segments.map((i) => ({ segment: segments[i]!, index: i }))}
            words={words}
            speaker={turn.speaker}
            activeSegment={activeSegment}
            activeWord={activeWord}
            matches={matches}
            speakerClass={turn.speaker ? speakerColor(turn.speaker, speakers) : ''}
            speakerLabel={turn.speaker ? (labels.get(turn.speaker) ?? turn.speaker) : ''}
            onSeek={onSeek}
            onRename={onRenameSpeaker}
          />
        );
      })}
    </div>
  );
}

interface TurnViewProps {
  turnSegments: { segment: Segment; index: number }[];
  words: readonly FlatWord[];
  speaker: string | null;
  activeSegment: number;
  activeWord: number;
  matches: ReadonlySet<number>;
  speakerClass: string;
  speakerLabel: string;
  onSeek: (time: number) => void;
  onRename?: (speaker: string, name: string) => Promise<void>;
}

const TurnView = memo(function TurnView({
  turnSegments,
  words,
  speaker,
  activeSegment,
  activeWord,
  matches,
  speakerClass,
  speakerLabel,
  onSeek,
  onRename,
}: TurnViewProps) {
  const start = turnSegments[0]!.segment.start;
  return (
    <div className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1" data-turn data-speaker={speaker ?? undefined}>
      <button
        type="button"
        onClick={() => onSeek(start)}
        className="h-fit rounded px-1 font-mono text-xs text-slate-500 tabular-nums hover:bg-slate-100 hover:text-indigo-700 focus-visible:outline-2 focus-visible:outline-indigo-600 dark:text-slate-400 dark:hover:bg-slate-800"
        aria-label={`Play from ${formatClock(start)}`}
      >
        {formatClock(start)}
      </button>
      <div className="min-w-0">
        {speaker ? (
          <SpeakerChip speaker={speaker} label={speakerLabel} className={speakerClass} onRename={onRename} />
        ) : null}
        <p className="leading-7 text-slate-800 dark:text-slate-200">
          {turnSegments.map(({ segment, index }, k) => {
            const own = words.filter((w) => w.segment === index);
            return (
              <span key={`${segment.id}-${index}`} data-segment-id={segment.id}>
                {k > 0 ? ' ' : null}
                {own.length > 0 ? (
                  own.map((word, j) => (
                    <span key={word.index}>
                      {j > 0 ? ' ' : null}
                      <button
                        type="button"
                        data-word-index={word.index}
                        data-start={word.start}
                        data-end={word.end}
                        data-match={matches.has(word.index) ? 'true' : undefined}
                        aria-current={word.index === activeWord ? 'true' : undefined}
                        title={`${formatClock(word.start, 2)} – ${formatClock(word.end, 2)}`}
                        onClick={() => onSeek(word.start)}
                        className={cn(
                          'rounded px-0.5 focus-visible:outline-2 focus-visible:outline-indigo-600',
                          word.index === activeWord
                            ? 'bg-amber-200 text-slate-950'
                            : matches.has(word.index)
                              ? 'bg-yellow-100 ring-1 ring-yellow-400 dark:bg-yellow-900/60'
                              : 'hover:bg-indigo-50 dark:hover:bg-slate-800',
                        )}
                      >
                        {word.text.trim()}
                      </button>
                    </span>
                  ))
                ) : (
                  <span
                    data-active={index === activeSegment ? 'true' : undefined}
                    className={cn('rounded px-0.5', index === activeSegment && 'bg-amber-100 dark:bg-amber-900/60')}
                  >
                    {segment.text.trim()}
                  </span>
                )}
              </span>
            );
          })}
        </p>
      </div>
    </div>
  );
});

/** A speaker's chip; with ``onRename``, a button beside it edits the name in place. */
function SpeakerChip({
  speaker,
  label,
  className,
  onRename,
}: {
  speaker: string;
  label: string;
  className: string;
  onRename?: (speaker: string, name: string) => Promise<void>;
}) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(label === speaker ? '' : label);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!onRename) return;
    setBusy(true);
    setError(null);
    try {
      await onRename(speaker, value.trim());
      setEditing(false);
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : String(reason));
    } finally {
      setBusy(false);
    }
  }

  if (editing && onRename) {
    return (
      <form onSubmit={(e) => void submit(e)} className="mb-1 flex flex-wrap items-center gap-1.5" aria-label={`Rename ${speaker}`}>
        <input
          autoFocus
          value={value}
          maxLength={100}
          onChange={(e) => setValue(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') setEditing(false);
          }}
          placeholder={speaker}
          aria-label={`Name for ${speaker}`}
          className="rounded border border-slate-300 px-1.5 py-0.5 text-xs dark:border-slate-600 dark:bg-slate-900"
        />
        <button type="submit" disabled={busy} className="rounded bg-indigo-600 px-2 py-0.5 text-xs font-medium text-white">
          Save
        </button>
        <button type="button" onClick={() => setEditing(false)} className="text-xs text-slate-500">
          Cancel
        </button>
        {error ? <span className="text-xs text-red-700 dark:text-red-400">{error}</span> : null}
      </form>
    );
  }
  return (
    <span className="mb-1 inline-flex items-center gap-1">
      <span
        className={cn('inline-block rounded px-1.5 py-0.5 text-xs font-semibold', className)}
        data-speaker-label={speaker}
        title={label !== speaker ? speaker : undefined}
      >
        {label}
      </span>
      {onRename ? (
        <button
          type="button"
          onClick={() => {
            setValue(label === speaker ? '' : label);
            setEditing(true);
          }}
          className="rounded px-1 text-xs text-slate-400 hover:text-indigo-700 focus-visible:outline-2 focus-visible:outline-indigo-600"
          aria-label={`Rename ${label}`}
          title="Rename this speaker (kept on the job, used by every export)"
        >
          ✎
        </button>
      ) : null}
    </span>
  );
}
