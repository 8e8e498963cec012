import { STAGE_HELP } from '../../../config';
import type { Stage } from '../../../lib/api-types';
import { formatMs } from '../../../lib/format';
import { StageStatusBadge } from './StatusBadge';

/** Each stage's column in the graph: 0 for stages that wait for nothing, else
 * one more than the deepest stage it waits for. */
export function stageColumns(stages: Stage[]): Stage[][] {
  const byName = new Map(stages.map((s) => [s.stage, s]));
  const depth = new Map<string, number>();
  const visit = (stage: Stage, seen: Set<string>): number => {
    const known = depth.get(stage.stage);
    if (known !== undefined) return known;
    if (seen.has(stage.stage)) return 0; // a cycle cannot happen; never loop on one
    seen.add(stage.stage);
    const deps = (stage.depends_on ?? []).map((d) => byName.get(d)).filter((d): d is Stage => !!d);
    const value = deps.length ? 1 + Math.max(...deps.map((d) => visit(d, seen))) : 0;
    depth.set(stage.stage, value);
    return value;
  };
  const columns: Stage[][] = [];
  stages.forEach((stage, i) => {
    // Without depends_on (an older server) the stages run in their listed order.
    const col = stage.depends_on ? visit(stage, new Set()) : i;
    (columns[col] ??= []).push(stage);
  });
  return columns.filter(Boolean);
}

/** Milliseconds between two ISO times (null when either is missing). */
function between(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(ms, 0) : null;
}

/** The job's pipeline as a graph: a row per step of the DAG, top to bottom
 * (stages that can run side by side share one), each stage with its status,
 * queue wait and processing time; under it a waterfall of the same on one time
 * axis, from the job's creation. */
export function StageGraph({ stages, createdAt }: { stages: Stage[]; createdAt: string }) {
  if (stages.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">No stages yet.</p>;
  const columns = stageColumns(stages);
  const spans = stages.map((s) => {
    const offset = between(createdAt, s.queued_at ?? s.started_at);
    const wait = s.queue_wait_ms ?? between(s.queued_at, s.started_at);
    const run = s.duration_ms ?? (s.started_at && s.status === 'running' ? between(s.started_at, new Date().toISOString()) : null);
    return { stage: s, offset, wait, run };
  });
  const end = Math.max(1, ...spans.map((x) => (x.offset ?? 0) + (x.wait ?? 0) + (x.run ?? 0)));
  const pct = (ms: number | null) => `${(100 * (ms ?? 0)) / end}%`;
  return (
    <div className="space-y-4">
      <ol className="flex flex-col gap-1" aria-label="Stage graph">
        {columns.map((column, c) => (
          <li key={c} className="flex flex-col gap-1">
            {c > 0 ? (
              <span aria-hidden="true" className="self-center text-slate-400">
                ↓
              </span>
            ) : null}
            {/* Stages of one step of the graph run side by side: one row. */}
            <ul className="flex flex-wrap gap-2">
              {column.map((stage) => (
                <li
                  key={stage.stage}
                  data-stage={stage.stage}
                  className="min-w-[9rem] flex-1 rounded-lg border border-slate-200 bg-white p-2 text-xs shadow-sm dark:border-slate-700 dark:bg-slate-900"
                  title={STAGE_HELP[stage.stage] ?? undefined}
                >
                  <div className="flex flex-wrap items-center gap-1.5">
                    <span className="font-medium text-slate-900 dark:text-slate-100">{stage.stage}</span>
                    <StageStatusBadge status={stage.status} />
                    <span className="text-slate-500 dark:text-slate-400">{stage.engine_id}</span>
                  </div>
                  <dl className="mt-1 flex flex-wrap gap-x-3 tabular-nums text-slate-700 dark:text-slate-300">
                    <div className="flex gap-1">
                      <dt className="text-slate-500 dark:text-slate-400">queue</dt>
                      <dd aria-label={`${stage.stage} queue wait`}>{formatMs(stage.queue_wait_ms ?? null)}</dd>
                    </div>
                    <div className="flex gap-1">
                      <dt className="text-slate-500 dark:text-slate-400">ran</dt>
                      <dd aria-label={`${stage.stage} processing time`}>{formatMs(stage.duration_ms)}</dd>
                    </div>
                  </dl>
                  {stage.status === 'running' && typeof stage.progress === 'number' ? (
                    <div
                      className="mt-1 h-1.5 overflow-hidden rounded bg-slate-100 dark:bg-slate-800"
                      role="progressbar"
                      aria-label={`${stage.stage} progress`}
                      aria-valuemin={0}
                      aria-valuemax={100}
                      aria-valuenow={Math.round(stage.progress * 100)}
                    >
                      <div className="h-full bg-sky-500" style={{ width: `${stage.progress * 100}%` }} />
                    </div>
                  ) : null}
                  {stage.retries > 0 ? (
                    <div className="mt-1 text-amber-700 dark:text-amber-400">
                      {stage.retries} {stage.retries === 1 ? 'retry' : 'retries'}
                    </div>
                  ) : null}
                  {stage.error ? <div className="mt-1 text-red-700 dark:text-red-400">{stage.error}</div> : null}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
      <div aria-label="Stage timeline" className="space-y-1">
        {spans.map(({ stage, offset, wait, run }) => (
          <div key={stage.stage} className="flex items-center gap-2 text-xs" data-timeline={stage.stage}>
            <span className="w-24 shrink-0 truncate text-slate-600 dark:text-slate-300">{stage.stage}</span>
            <div className="relative h-3 flex-1 rounded bg-slate-50 dark:bg-slate-800">
              <div
                className="absolute inset-y-0 bg-slate-300 dark:bg-slate-600"
                style={{ left: pct(offset), width: pct(wait) }}
                title={`queued ${formatMs(wait)}`}
              />
              <div
                className="absolute inset-y-0 bg-sky-500"
                style={{ left: pct((offset ?? 0) + (wait ?? 0)), width: pct(run) }}
                title={`ran ${formatMs(run)}`}
              />
            </div>
          </div>
        ))}
        <p className="text-xs text-slate-500 dark:text-slate-400">
          <span className="mr-1 inline-block h-2 w-3 rounded-sm bg-slate-300 align-middle dark:bg-slate-600" /> waiting in the queue
          <span className="ml-3 mr-1 inline-block h-2 w-3 rounded-sm bg-sky-500 align-middle" /> processing, from the job's creation ({formatMs(end)})
        </p>
      </div>
    </div>
  );
}
