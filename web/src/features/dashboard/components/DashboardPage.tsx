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
import { countJobs, getHealth, getReady } from '../api/system';

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

  const readyModels = models.data?.data.filter((m) => m.status === 'ready').length ?? 0;
  return (
    <>
      <PageHeader
        title="Dashboard"
        description={me ? `Tenant ${me.tenant_id} · scopes ${me.scopes.join(', ')}` : undefined}
        actions={can('jobs:write') ? <ButtonLink to="/jobs/new">New job</ButtonLink> : null}
      />

      <div className="grid gap-6 lg:grid-cols-3">
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
                      className="block rounded-md p-3 ring-1 ring-slate-200 hover:bg-slate-50"
                      aria-label={`${c.count}${c.more ? ' or more' : ''} ${c.status} jobs`}
                    >
                      <p className="text-2xl font-semibold tabular-nums text-slate-900" data-count={c.status}>
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
                <dt className="text-slate-600">Health</dt>
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
                <dt className="text-slate-600">Ready</dt>
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
                      <dt className="text-slate-500">{check}</dt>
                      <dd>
                        <Badge tone={ok ? 'green' : 'red'}>{ok ? 'ok' : 'failing'}</Badge>
                      </dd>
                    </div>
                  ))
                : null}
              <div className="flex items-center justify-between gap-2 border-t border-slate-100 pt-3">
                <dt className="text-slate-600">Models</dt>
                <dd className="text-slate-900">
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

        <Card className="lg:col-span-3" aria-labelledby="recent-title">
          <CardHeader
            id="recent-title"
            title="Recent jobs"
            actions={
              <Link to="/jobs" className="text-sm font-medium text-indigo-700 hover:underline">
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
