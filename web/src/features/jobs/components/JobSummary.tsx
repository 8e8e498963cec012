import type { Job } from '../../../lib/api-types';
import { formatClock } from '../../../lib/format';

/** Audio seconds per second of processing, from the job's start to its end. */
export function jobRtfx(job: Pick<Job, 'audio_duration_seconds' | 'started_at' | 'completed_at'>): number | null {
  if (!job.audio_duration_seconds || !job.started_at || !job.completed_at) return null;
  const seconds = (Date.parse(job.completed_at) - Date.parse(job.started_at)) / 1000;
  return seconds > 0 ? job.audio_duration_seconds / seconds : null;
}

function retention(job: Job): string {
  const r = job.retention;
  if (!r) return '–';
  if (r.mode === 'keep') return 'kept';
  if (r.mode === 'after_delivery') return 'until read';
  return r.days ? `${r.days} ${r.days === 1 ? 'day' : 'days'}` : 'days';
}

/** The job at a glance: one tile per fact. */
export function JobSummary({ job }: { job: Job }) {
  const rtfx = jobRtfx(job);
  const words = job.words?.length ?? job.segments?.reduce((n, s) => n + (s.words?.length ?? 0), 0) ?? null;
  const tiles: [string, string, string?][] = [
    ['Duration', formatClock(job.audio_duration_seconds, 1)],
    [
      'Language',
      job.language_code ?? '–',
      job.language_probability != null ? `${Math.round(job.language_probability * 100)} % sure` : undefined,
    ],
    ['Words', words != null ? String(words) : '–'],
    ['Speakers', job.speakers?.length ? String(job.speakers.length) : '–'],
    ['Speed', rtfx ? `${rtfx >= 10 ? rtfx.toFixed(0) : rtfx.toFixed(1)}× real time` : '–', rtfx ? 'audio s per s of work' : undefined],
    ['Retention', retention(job)],
  ];
  return (
    <dl className="grid grid-cols-2 gap-2 sm:grid-cols-3 xl:grid-cols-6" aria-label="Summary">
      {tiles.map(([label, value, hint]) => (
        <div key={label} className="rounded-lg border border-slate-200 bg-white px-3 py-2 dark:border-slate-700 dark:bg-slate-900">
          <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
          <dd className="font-semibold tabular-nums text-slate-900 dark:text-slate-100" data-tile={label}>
            {value}
          </dd>
          {hint ? <dd className="text-xs text-slate-500 dark:text-slate-400">{hint}</dd> : null}
        </div>
      ))}
    </dl>
  );
}
