import type { Segment, Word } from '../../../lib/api-types';

export interface Timed {
  start: number;
  end: number;
}

/**
 * The index of the item playing at `time` (start <= time < end), or -1 in a gap
 * or outside the list. Items are in time order; binary search keeps this cheap
 * enough to run on every animation frame.
 */
export function findActiveIndex(items: readonly Timed[], time: number): number {
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const item = items[mid]!;
    if (time < item.start) hi = mid - 1;
    else if (time >= item.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

export interface FlatWord extends Word {
  /** Position in the flat list of all words. */
  index: number;
  segment: number;
}

/** The words of all segments in one list, each knowing its segment. */
export function flattenWords(segments: readonly Segment[]): FlatWord[] {
  const out: FlatWord[] = [];
  segments.forEach((segment, s) => {
    for (const word of segment.words ?? []) out.push({ ...word, index: out.length, segment: s });
  });
  return out;
}

const SPEAKER_COLORS = [
  'bg-sky-100 text-sky-900',
  'bg-violet-100 text-violet-900',
  'bg-emerald-100 text-emerald-900',
  'bg-amber-100 text-amber-900',
  'bg-rose-100 text-rose-900',
];

export function speakerColor(speaker: string, speakers: readonly string[]): string {
  const i = Math.max(0, speakers.indexOf(speaker));
  return SPEAKER_COLORS[i % SPEAKER_COLORS.length]!;
}

export interface Turn {
  speaker: string | null;
  /** Indices of its segments, in order. */
  segments: number[];
}

/** Consecutive segments of one speaker, as turns (a transcript without speakers
 * is one turn per segment: nothing to group by). */
export function groupTurns(segments: readonly Segment[]): Turn[] {
  const turns: Turn[] = [];
  segments.forEach((segment, i) => {
    const speaker = segment.speaker ?? null;
    const last = turns[turns.length - 1];
    if (last && speaker !== null && last.speaker === speaker) last.segments.push(i);
    else turns.push({ speaker, segments: [i] });
  });
  return turns;
}

function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase();
}

/** Whether a word contains the search text (case and accents ignored). */
export function matchesQuery(word: string, query: string): boolean {
  const q = fold(query.trim());
  return q.length > 0 && fold(word).includes(q);
}
