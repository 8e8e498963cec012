import { STAGE_HELP } from '../../../config';
import type { Stage } from '../../../lib/api-types';
import { formatDate, formatMs, formatTime } from '../../../lib/format';
import { StageStatusBadge } from './StatusBadge';

/** Each stage of the job's pipeline with its engine, status and timings. */
export function StageList({ stages }: { stages: Stage[] }) {
  if (stages.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">No stages yet.</p>;
  return (
    <ol className="divide-y divide-slate-100 dark:divide-slate-800" aria-label="Stages">
      {stages.map((stage, i) => (
        <li key={`${stage.stage}-${i}`} className="py-3 first:pt-0 last:pb-0" data-stage={stage.stage}>
          <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
            <span className="flex h-6 w-6 shrink-0 items-center justify-center rounded-full bg-slate-100 dark:bg-slate-800 text-xs font-semibold text-slate-600 dark:text-slate-300">
              {i + 1}
            </span>
            <span className="font-medium text-slate-900 dark:text-slate-100">{stage.stage}</span>
            <StageStatusBadge status={stage.status} />
            <span className="text-xs text-slate-500 dark:text-slate-400">engine {stage.engine_id}</span>
            <span className="ml-auto font-mono text-sm tabular-nums text-slate-700 dark:text-slate-300" aria-label="Duration">
              {formatMs(stage.duration_ms)}
            </span>
          </div>
          <p className="mt-1 pl-9 text-xs text-slate-500 dark:text-slate-400">
            {STAGE_HELP[stage.stage] ? <span className="text-slate-600 dark:text-slate-300">{STAGE_HELP[stage.stage]} · </span> : null}
            {stage.started_at ? (
              <>
                <span className="sr-only">Ran </span>
                <time dateTime={stage.started_at} title={formatDate(stage.started_at)}>
                  {formatTime(stage.started_at)}
                </time>
                {' → '}
                {stage.completed_at ? (
                  <time dateTime={stage.completed_at} title={formatDate(stage.completed_at)}>
                    {formatTime(stage.completed_at)}
                  </time>
                ) : (
                  '…'
                )}
              </>
            ) : (
              'Not started'
            )}
            {stage.retries > 0 ? ` · ${stage.retries} ${stage.retries === 1 ? 'retry' : 'retries'}` : ''}
          </p>
          {stage.error ? <p className="mt-1 pl-9 text-sm text-red-700">{stage.error}</p> : null}
        </li>
      ))}
    </ol>
  );
}
