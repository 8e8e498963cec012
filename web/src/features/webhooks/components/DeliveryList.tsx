import { useEffect, useState } from 'react';
import { useApi } from '../../../app/providers/auth';
import { Alert, Badge, Button, EmptyState, ErrorState, Loading, Spinner, type Tone } from '../../../components/ui';
import { errorMessage } from '../../../lib/api-client';
import { formatDate } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { listDeliveries, retryDelivery, type Delivery, type DeliveryList as Page } from '../api/webhooks';

const TONES: Record<Delivery['status'], Tone> = { pending: 'blue', succeeded: 'green', failed: 'red' };

/** How often the list is read again while a delivery is still pending. */
export const DELIVERY_POLL_MS = 3000;

/** One endpoint's deliveries, newest first, with a retry for each. */
export function DeliveryList({ webhookId }: { webhookId: string }) {
  const client = useApi();
  const first = useQuery(`webhook:${webhookId}:deliveries`, (signal) => listDeliveries(client, webhookId, null, signal), {
    refetchInterval: (data) => (data?.deliveries.some((d) => d.status === 'pending') ? DELIVERY_POLL_MS : false),
  });
  const [more, setMore] = useState<Page[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [retrying, setRetrying] = useState<string | null>(null);
  useEffect(() => setMore([]), [first.data]);

  const last = more[more.length - 1] ?? first.data;
  const deliveries = [...(first.data?.deliveries ?? []), ...more.flatMap((p) => p.deliveries)];

  async function retry(delivery: Delivery) {
    setError(null);
    setRetrying(delivery.id);
    try {
      await retryDelivery(client, webhookId, delivery.id);
      first.reload();
    } catch (reason) {
      setError(reason);
    } finally {
      setRetrying(null);
    }
  }

  async function loadMore() {
    if (!last?.cursor) return;
    try {
      const page = await listDeliveries(client, webhookId, last.cursor);
      setMore((pages) => [...pages, page]);
    } catch (reason) {
      setError(reason);
    }
  }

  if (first.loading) return <Loading label="Loading deliveries…" />;
  if (first.error && !first.data) return <ErrorState error={first.error} title="Could not load deliveries" onRetry={first.reload} />;
  return (
    <div className="rounded-md ring-1 ring-slate-200 dark:ring-slate-700">
      <div className="flex items-center justify-between gap-2 border-b border-slate-200 px-3 py-2 dark:border-slate-700">
        <h3 className="text-sm font-semibold text-slate-800 dark:text-slate-100">Deliveries</h3>
        <Button variant="ghost" size="sm" onClick={first.reload} disabled={first.fetching}>
          {first.fetching ? <Spinner className="h-3 w-3" /> : null}
          Refresh
        </Button>
      </div>
      {error ? <Alert tone="error" className="m-3">{errorMessage(error)}</Alert> : null}
      {deliveries.length === 0 ? (
        <EmptyState title="No deliveries yet">Each event for this endpoint appears here with its attempts.</EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" aria-label="Deliveries">
            <thead className="text-xs text-slate-500 dark:text-slate-400">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">Created</th>
                <th scope="col" className="px-3 py-2 font-medium">Event</th>
                <th scope="col" className="px-3 py-2 font-medium">Status</th>
                <th scope="col" className="px-3 py-2 font-medium">Attempts</th>
                <th scope="col" className="px-3 py-2 font-medium">Last answer</th>
                <th scope="col" className="px-3 py-2 font-medium"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {deliveries.map((d) => (
                <tr key={d.id} data-delivery-status={d.status} className="align-top text-slate-700 dark:text-slate-200">
                  <td className="whitespace-nowrap px-3 py-2">{formatDate(d.created_at)}</td>
                  <td className="px-3 py-2">
                    <code className="text-xs">{d.event_type}</code>
                  </td>
                  <td className="px-3 py-2">
                    <Badge tone={TONES[d.status] ?? 'gray'}>{d.status}</Badge>
                    {d.status === 'pending' && d.next_attempt_at ? (
                      <span className="block text-xs text-slate-500 dark:text-slate-400">next {formatDate(d.next_attempt_at)}</span>
                    ) : null}
                  </td>
                  <td className="px-3 py-2 tabular-nums">{d.attempts}</td>
                  <td className="px-3 py-2">
                    {d.last_status_code !== null ? <span className="tabular-nums">HTTP {d.last_status_code}</span> : null}
                    {d.last_error ? (
                      <span className="block max-w-xs break-words text-xs text-red-700 dark:text-red-300">{d.last_error}</span>
                    ) : null}
                    {d.last_status_code === null && !d.last_error ? '–' : null}
                  </td>
                  <td className="px-3 py-2 text-right">
                    {d.status !== 'succeeded' ? (
                      <Button variant="secondary" size="sm" disabled={retrying === d.id} onClick={() => void retry(d)}>
                        Retry
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {last?.has_more ? (
        <div className="border-t border-slate-200 px-3 py-2 text-center dark:border-slate-700">
          <Button variant="secondary" size="sm" onClick={() => void loadMore()}>
            Load more
          </Button>
        </div>
      ) : null}
    </div>
  );
}
