import { useEffect, useMemo, useState, type MouseEvent } from 'react';
import type { Segment, Speaker } from '../../../lib/api-types';
import { formatClock } from '../../../lib/format';
import { speakerColor } from './transcript';

/** The loudest sample of each of ``bins`` equal slices, 0-1. */
export function computePeaks(samples: Float32Array, bins: number): number[] {
  const peaks: number[] = [];
  if (samples.length === 0 || bins <= 0) return peaks;
  const step = samples.length / bins;
  for (let b = 0; b < bins; b += 1) {
    const from = Math.floor(b * step);
    const to = Math.max(from + 1, Math.floor((b + 1) * step));
    let peak = 0;
    for (let i = from; i < to && i < samples.length; i += 1) peak = Math.max(peak, Math.abs(samples[i]!));
    peaks.push(Math.min(peak, 1));
  }
  return peaks;
}

const BINS = 400;

/** Decodes the audio in the browser (Web Audio) into peaks; null while it works
 * or where the browser cannot. */
function usePeaks(blob: Blob | null): number[] | null {
  const [peaks, setPeaks] = useState<number[] | null>(null);
  useEffect(() => {
    setPeaks(null);
    const Context = globalThis.AudioContext ?? (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!blob || !Context) return;
    let live = true;
    const context = new Context();
    blob
      .arrayBuffer()
      .then((buffer) => context.decodeAudioData(buffer))
      .then((audio) => {
        if (live) setPeaks(computePeaks(audio.getChannelData(0), BINS));
      })
      .catch(() => {
        if (live) setPeaks([]);
      })
      .finally(() => void context.close().catch(() => {}));
    return () => {
      live = false;
    };
  }, [blob]);
  return peaks;
}

/**
 * The recording's waveform with a playhead, and under it who spoke when (a bar
 * per segment, in its speaker's colour). Clicking either seeks the player.
 */
export function Waveform({
  blob,
  duration,
  segments,
  speakers,
  currentTime,
  onSeek,
}: {
  blob: Blob | null;
  duration: number;
  segments: readonly Segment[];
  speakers?: readonly Speaker[] | null;
  currentTime: number;
  onSeek: (time: number) => void;
}) {
  const peaks = usePeaks(blob);
  const ids = useMemo(
    () => [
      ...new Set([
        ...(speakers ?? []).map((s) => s.id),
        ...segments.map((s) => s.speaker).filter((s): s is string => !!s),
      ]),
    ],
    [speakers, segments],
  );
  const labels = new Map((speakers ?? []).map((s) => [s.id, s.label || s.id]));
  const seekAt = (event: MouseEvent<HTMLElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    if (box.width > 0 && duration > 0) onSeek(((event.clientX - box.left) / box.width) * duration);
  };
  const at = duration > 0 ? Math.min(Math.max(currentTime / duration, 0), 1) : 0;
  const spoken = segments.filter((s) => s.speaker);
  return (
    <div className="space-y-1">
      <div
        role="img"
        aria-label="Waveform"
        data-peaks={peaks ? peaks.length : 0}
        onClick={seekAt}
        className="relative h-14 cursor-pointer overflow-hidden rounded bg-slate-50 dark:bg-slate-800"
        title="Click to play from here"
      >
        {peaks === null ? (
          <span className="absolute inset-0 flex items-center justify-center text-xs text-slate-400">Drawing the waveform…</span>
        ) : (
          <svg viewBox={`0 0 ${BINS} 100`} preserveAspectRatio="none" className="h-full w-full" aria-hidden="true">
            {peaks.map((p, i) => {
              const h = Math.max(p * 96, 1);
              return <rect key={i} x={i} y={50 - h / 2} width={0.8} height={h} className="fill-indigo-400 dark:fill-indigo-300" />;
            })}
          </svg>
        )}
        <span className="absolute inset-y-0 w-px bg-rose-500" style={{ left: `${at * 100}%` }} aria-hidden="true" />
      </div>
      {spoken.length > 0 && duration > 0 ? (
        <div className="relative h-3 cursor-pointer rounded bg-slate-100 dark:bg-slate-800" aria-label="Speaker timeline" role="group" onClick={seekAt}>
          {spoken.map((s, i) => (
            <span
              key={`${s.id}-${i}`}
              data-speaker-span={s.speaker}
              className={`absolute inset-y-0 rounded-sm ${speakerColor(s.speaker!, ids)}`}
              style={{ left: `${(100 * s.start) / duration}%`, width: `${Math.max((100 * (s.end - s.start)) / duration, 0.3)}%` }}
              title={`${labels.get(s.speaker!) ?? s.speaker} ${formatClock(s.start)}–${formatClock(s.end)}`}
            />
          ))}
        </div>
      ) : null}
      {spoken.length > 0 ? <TalkTimes ids={ids} speakers={speakers} labels={labels} /> : null}
    </div>
  );
}

/** Each speaker's colour, name and talk time (with its share of all talk). */
function TalkTimes({
  ids,
  speakers,
  labels,
}: {
  ids: readonly string[];
  speakers?: readonly Speaker[] | null;
  labels: ReadonlyMap<string, string>;
}) {
  const talk = new Map((speakers ?? []).map((s) => [s.id, s.talk_time ?? null]));
  const total = [...talk.values()].reduce<number>((sum, t) => sum + (t ?? 0), 0);
  return (
    <ul aria-label="Talk time" className="flex flex-wrap gap-x-3 gap-y-0.5 text-xs text-slate-600 dark:text-slate-300">
      {ids.map((id) => {
        const seconds = talk.get(id);
        return (
          <li key={id} data-talk-time={id} className="flex items-center gap-1">
            <span aria-hidden="true" className={`inline-block h-2 w-2 rounded-sm ${speakerColor(id, ids)}`} />
            <span>{labels.get(id) ?? id}</span>
            {seconds != null ? (
              <span className="font-mono tabular-nums text-slate-500 dark:text-slate-400">
                {formatClock(seconds, 0)}
                {total > 0 ? ` (${Math.round((100 * seconds) / total)}%)` : ''}
              </span>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
