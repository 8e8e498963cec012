import { useApi } from '../../../app/providers/auth';
import {
  Badge,
  Card,
  CardHeader,
  EmptyState,
  ErrorState,
  Loading,
  NotAvailable,
  PageHeader,
} from '../../../components/ui';
import { ApiError } from '../../../lib/api-client';
import { useQuery } from '../../../lib/use-query';
import { listEngines } from '../api/engines';
import { engineLoad } from '../api/metrics';

export function EnginesPage() {
  const client = useApi();
  const engines = useQuery('engines', (signal) => listEngines(client, signal), { refetchInterval: 5000 });
  const missing = engines.error instanceof ApiError && engines.error.status === 404;
  return (
    <>
      <PageHeader title="Engines & workers" description="The engine workers that run the stages of jobs, refreshed every 5 seconds." />
      {engines.loading ? (
        <Loading label="Loading engines…" />
      ) : missing ? (
        <MetricsOnly />
      ) : engines.error && !engines.data ? (
        <ErrorState error={engines.error} title="Could not load engines" onRetry={engines.reload} />
      ) : (
        <Card>
          <CardHeader title="Workers" />
          {!engines.data?.engines.length ? (
            <EmptyState title="No engine workers">No worker has sent a heartbeat yet.</EmptyState>
          ) : (
            <div className="overflow-x-auto">
              <table className="min-w-full text-left text-sm">
                <caption className="sr-only">Engine workers</caption>
                <thead className="border-b border-slate-200 dark:border-slate-800 bg-slate-50 dark:bg-slate-800/50 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                  <tr>
                    <th scope="col" className="px-4 py-2 font-medium">Engine</th>
                    <th scope="col" className="px-4 py-2 font-medium">Status</th>
                    <th scope="col" className="px-4 py-2 text-right font-medium">Busy</th>
                    <th scope="col" className="hidden px-4 py-2 text-right font-medium sm:table-cell">Waiting</th>
                    <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">Models</th>
                    <th scope="col" className="hidden px-4 py-2 font-medium lg:table-cell">Worker</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {engines.data.engines.map((w) => {
                    const depth = engines.data?.queue_depth[w.engine_id];
                    return (
                      <tr key={w.id} className="align-top">
                        <td className="px-4 py-2">
                          <p className="font-medium text-slate-900 dark:text-slate-100">{w.engine_id}</p>
                          <p className="text-xs text-slate-500 dark:text-slate-400">stage {w.stage}</p>
                        </td>
                        <td className="px-4 py-2">
                          <Badge tone={w.status === 'ready' ? 'green' : w.status === 'loading' ? 'blue' : 'amber'}>
                            {w.status}
                          </Badge>
                          <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">seen {w.seconds_since_heartbeat} s ago</p>
                        </td>
                        <td className="px-4 py-2 text-right font-mono tabular-nums">
                          {w.active}/{w.capacity}
                        </td>
                        <td className="hidden px-4 py-2 text-right font-mono tabular-nums sm:table-cell">
                          {depth === undefined ? '–' : depth < 0 ? 'unknown' : depth}
                        </td>
                        <td className="hidden px-4 py-2 text-xs text-slate-700 dark:text-slate-200 md:table-cell">
                          {w.loaded_models.length ? w.loaded_models.join(', ') : 'none loaded'}
                        </td>
                        <td className="hidden px-4 py-2 font-mono text-xs text-slate-500 dark:text-slate-400 lg:table-cell">
                          {w.host}:{w.pid}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      )}
    </>
  );
}

/** Servers without GET /v1/engines: what /metrics tells. */
function MetricsOnly() {
  const client = useApi();
  const load = useQuery('engines:load', (signal) => engineLoad(client, signal), { refetchInterval: 5000 });
  return (
    <div className="space-y-6">
      <NotAvailable feature="The engines API">
        <p>
          This server has no <code>GET /v1/engines</code>. Below is what its Prometheus metrics at{' '}
          <code>/metrics</code> tell.
        </p>
      </NotAvailable>
      <Card>
        <CardHeader title="Queue and running tasks" description="From /metrics" />
        {load.loading ? (
          <Loading label="Reading metrics…" />
        ) : load.error && !load.data ? (
          <ErrorState error={load.error} title="Could not read /metrics" onRetry={load.reload} />
        ) : !load.data?.length ? (
          <EmptyState title="No engine metrics yet" />
        ) : (
          <ul className="divide-y divide-slate-100 dark:divide-slate-800 text-sm">
            {load.data.map((row) => (
              <li key={row.engine} className="flex justify-between px-4 py-2 sm:px-5">
                <span className="font-medium text-slate-900 dark:text-slate-100">{row.engine}</span>
                <span className="font-mono tabular-nums text-slate-700 dark:text-slate-200">
                  {row.queueDepth ?? '–'} waiting · {row.activeTasks ?? '–'} running
                </span>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}
