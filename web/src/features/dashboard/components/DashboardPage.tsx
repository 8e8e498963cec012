import { Link } from 'react-router-dom';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Badge,
  ButtonLink,
  Card,
  CardBody,
  CardHeader,
  EmptyState,
  ErrorState,
  Loading,
  PageHeader,
} from '../../../components/ui';
import { config } from '../../../config';
import { useQuery } from '../../../lib/use-query';
import { listJobs } from '../../jobs/api/jobs';
import { JobTable } from '../../jobs/components/JobsPage';
import { JobStatusBadge } from '../../jobs/components/StatusBadge';
import { listModels } from '../../models/api/models';
import { getEngines, getJobStats, getRealtimeCapacity, getTaskBoard } from '../api/operations';
import { countJobs, getHealth, getReady } from '../api/system';
import { NowCard } from './NowCard';
import { QueueBoard } from './QueueBoard';
import { UsageCard } from './UsageCard';

export function DashboardPage() {
  const client = useApi();
  const { me, can } = useAuth();
  const canRead = can('jobs:read');
  const counts = useQuery('dashboard:counts', (signal) => countJobs(client, signal), {
    enabled: canRead,
    refetchInterval: 10_000,
  });
  const recent = useQuery('dashboard:recent', (signal) => listJobs(client, { limit: 5 }, signal), {
    enabled: canRead,
    refetchInterval: 10_000,
  });
  const health = useQuery('health', (signal) => getHealth(client, signal), { refetchInterval: 15_000 });
  const ready = useQuery('ready', (signal) => getReady(client, signal), { refetchInterval: 15_000 });
  const models = useQuery('models', (signal) => listModels(client, signal));
  const stats = useQuery('dashboard:stats', (signal) => getJobStats(client, signal), {
    enabled: canRead,
    refetchInterval: 10_000,
  });
  const realtime = useQuery('dashboard:realtime', (signal) => getRealtimeCapacity(client, signal), {
    enabled: canRead,
    refetchInterval: 5000,
  });
  const engines = useQuery('dashboard:engines', (signal) => getEngines(client, signal), {
    enabled: canRead,
    refetchInterval: 5000,
  });
  const board = useQuery('dashboard:board', (signal) => getTaskBoard(client, signal), {
    enabled: can('admin'),
    refetchInterval: 3000,
  });

  const readyModels = models.data?.data.filter((m) => m.status === 'ready').length ?? 0;
  return (
    <>
      <PageHeader
        title="Dashboard"
        description={me ? `Tenant ${me.tenant_id} · scopes ${me.scopes.join(', ')}` : undefined}
        actions={can('jobs:write') ? <ButtonLink to="/jobs/new">New job</ButtonLink> : null}
      />

      <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
        <Card className="lg:col-span-2" aria-labelledby="counts-title">
          <CardHeader id="counts-title" title="Jobs by status" description={`Counted up to ${config.countPageSize} per status`} />
          {!canRead ? (
            <EmptyState title="Your key cannot read jobs">Reading jobs needs the jobs:read scope.</EmptyState>
          ) : counts.loading ? (
            <Loading label="Counting jobs…" />
          ) : counts.error && !counts.data ? (
            <ErrorState error={counts.error} title="Could not count jobs" onRetry={counts.reload} />
          ) : (
            <CardBody>
              <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3">
                {counts.data?.map((c) => (
                  <li key={c.status}>
                    <Link
                      to={`/jobs?status=${c.status}`}
                      className="block rounded-md p-3 ring-1 ring-slate-200 hover:bg-slate-50 dark:ring-slate-800 dark:hover:bg-slate-800"
                      aria-label={`${c.count}${c.more ? ' or more' : ''} ${c.status} jobs`}
                    >
                      <p className="text-2xl font-semibold tabular-nums text-slate-900 dark:text-slate-100" data-count={c.status}>
                        {c.count}
                        {c.more ? '+' : ''}
                      </p>
                      <JobStatusBadge status={c.status} animate={false} />
                    </Link>
                  </li>
                ))}
              </ul>
            </CardBody>
          )}
        </Card>

        <Card aria-labelledby="server-title">
          <CardHeader id="server-title" title="Server" />
          <CardBody>
            <dl className="space-y-3 text-sm">
              <div className="flex items-center justify-between gap-2">
                <dt className="text-slate-600 dark:text-slate-400">Health</dt>
                <dd>
                  {health.loading ? (
                    <Badge>checking…</Badge>
                  ) : health.data ? (
                    <Badge tone="green">
                      {health.data.status} · v{health.data.version}
                    </Badge>
                  ) : (
                    <Badge tone="red">unreachable</Badge>
                  )}
                </dd>
              </div>
              <div className="flex items-center justify-between gap-2">
                <dt className="text-slate-600 dark:text-slate-400">Ready</dt>
                <dd>
                  {ready.loading ? (
                    <Badge>checking…</Badge>
                  ) : ready.data ? (
                    <Badge tone={ready.data.status === 'ready' ? 'green' : 'amber'}>{ready.data.status.replace('_', ' ')}</Badge>
                  ) : (
                    <Badge tone="red">unreachable</Badge>
                  )}
                </dd>
              </div>
              {ready.data
                ? Object.entries(ready.data.checks).map(([check, ok]) => (
                    <div key={check} className="flex items-center justify-between gap-2 pl-3">
                      <dt className="text-slate-500 dark:text-slate-400">{check}</dt>
                      <dd>
                        <Badge tone={ok ? 'green' : 'red'}>{ok ? 'ok' : 'failing'}</Badge>
                      </dd>
                    </div>
                  ))
                : null}
              <div className="flex items-center justify-between gap-2 border-t border-slate-100 pt-3 dark:border-slate-800">
                <dt className="text-slate-600 dark:text-slate-400">Models</dt>
                <dd className="text-slate-900 dark:text-slate-100">
                  {models.loading ? (
                    <Badge>loading…</Badge>
                  ) : models.data ? (
                    <Link to="/models" className="underline decoration-slate-300 hover:decoration-slate-600">
                      {readyModels} ready of {models.data.data.length}
                    </Link>
                  ) : (
                    <Badge tone="red">unavailable</Badge>
                  )}
                </dd>
              </div>
            </dl>
          </CardBody>
        </Card>

        {canRead ? (
          <>
            <div className="lg:col-span-2">
              <UsageCard stats={stats} />
            </div>
            <NowCard stats={stats} realtime={realtime} engines={engines} />
          </>
        ) : null}
        {can('admin') ? (
          <div className="lg:col-span-3">
            <QueueBoard board={board} />
          </div>
        ) : null}

        <Card className="lg:col-span-3" aria-labelledby="recent-title">
          <CardHeader
            id="recent-title"
            title="Recent jobs"
            actions={
              <Link to="/jobs" className="text-sm font-medium text-indigo-700 hover:underline dark:text-indigo-300">
                All jobs
              </Link>
            }
          />
          {!canRead ? null : recent.loading ? (
            <Loading label="Loading recent jobs…" />
          ) : recent.error && !recent.data ? (
            <ErrorState error={recent.error} onRetry={recent.reload} />
          ) : recent.data?.jobs.length ? (
            <JobTable jobs={recent.data.jobs} />
          ) : (
            <EmptyState title="No jobs yet" action={can('jobs:write') ? <ButtonLink to="/jobs/new">Transcribe a file</ButtonLink> : null} />
          )}
        </Card>
      </div>
    </>
  );
}
