import { Link } from 'react-router-dom';
import { Badge, Card, CardBody, CardHeader } from '../../../components/ui';
import type { EngineList, RealtimeStatus } from '../../../lib/api-types';
import type { QueryState } from '../../../lib/use-query';
import type { JobStats } from '../api/operations';

function Figure({ label, value, to }: { label: string; value: string | number; to?: string }) {
  const body = (
    <>
      <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="text-2xl font-semibold tabular-nums text-slate-900 dark:text-slate-100">{value}</dd>
    </>
  );
  return to ? (
    <Link to={to} className="block rounded-md p-2 ring-1 ring-slate-200 hover:bg-slate-50 dark:ring-slate-800 dark:hover:bg-slate-800">
      {body}
    </Link>
  ) : (
    <div className="rounded-md p-2 ring-1 ring-slate-200 dark:ring-slate-800">{body}</div>
  );
}

/** Jobs running and queued, realtime sessions live, and each engine's queue now. */
export function NowCard({
  stats,
  realtime,
  engines,
}: {
  stats: QueryState<JobStats>;
  realtime: QueryState<RealtimeStatus>;
  engines: QueryState<EngineList>;
}) {
  const depth = Object.entries(engines.data?.queue_depth ?? {});
  return (
    <Card aria-labelledby="now-title">
      <CardHeader id="now-title" title="Now" />
      <CardBody className="space-y-4">
        <dl className="grid grid-cols-3 gap-2">
          <Figure label="Jobs running" value={stats.data?.running ?? '–'} to="/jobs?status=running" />
          <Figure label="Jobs queued" value={stats.data?.queued ?? '–'} to="/jobs?status=pending" />
          <Figure
            label="Live sessions"
            value={realtime.data ? `${realtime.data.active}/${realtime.data.capacity}` : '–'}
            to="/realtime"
          />
        </dl>
        <div>
          <h3 className="mb-1 text-xs font-medium text-slate-500 dark:text-slate-400">Queue depth per engine</h3>
          {depth.length === 0 ? (
            <p className="text-sm text-slate-500 dark:text-slate-400">{engines.error ? 'Engines unavailable.' : 'No engines reporting.'}</p>
          ) : (
            <ul className="space-y-1 text-sm" aria-label="Queue depth per engine">
              {depth.map(([engine, n]) => (
                <li key={engine} className="flex items-center justify-between gap-2" data-engine={engine}>
                  <span className="text-slate-700 dark:text-slate-200">{engine}</span>
                  {n < 0 ? <Badge tone="red">unreadable</Badge> : <Badge tone={n > 0 ? 'amber' : 'gray'}>{n} waiting</Badge>}
                </li>
              ))}
            </ul>
          )}
        </div>
      </CardBody>
    </Card>
  );
}
