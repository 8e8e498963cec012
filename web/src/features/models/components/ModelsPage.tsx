import { useApi } from '../../../app/providers/auth';
import { Badge, Card, EmptyState, ErrorState, Loading, PageHeader } from '../../../components/ui';
import { formatBytes } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { listModels } from '../api/models';

function languages(codes: string[] | null): string {
  return codes ? codes.join(', ') : 'multilingual';
}

export function ModelsPage() {
  const client = useApi();
  const models = useQuery('models', (signal) => listModels(client, signal));
  return (
    <>
      <PageHeader
        title="Models"
        description="Models this server can run. A model that is not downloaded yet downloads when a job first uses it."
      />
      <Card>
        {models.loading ? (
          <Loading label="Loading models…" />
        ) : models.error && !models.data ? (
          <ErrorState error={models.error} title="Could not load models" onRetry={models.reload} />
        ) : !models.data?.data.length ? (
          <EmptyState title="No models">The server lists no models.</EmptyState>
        ) : (
          <div className="overflow-x-auto">
            <table className="min-w-full text-left text-sm">
              <caption className="sr-only">Models</caption>
              <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th scope="col" className="px-4 py-2 font-medium">Model</th>
                  <th scope="col" className="px-4 py-2 font-medium">Status</th>
                  <th scope="col" className="hidden px-4 py-2 font-medium sm:table-cell">Languages</th>
                  <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">Engine</th>
                  <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">Source</th>
                  <th scope="col" className="hidden px-4 py-2 text-right font-medium sm:table-cell">Size</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {models.data.data.map((m) => (
                  <tr key={m.id} className="align-top">
                    <td className="px-4 py-3">
                      <p className="font-medium text-slate-900">{m.id}</p>
                      {m.description ? <p className="max-w-md text-xs text-slate-500">{m.description}</p> : null}
                      <p className="text-xs text-slate-600 sm:hidden">
                        {languages(m.languages)} · {formatBytes(m.size_bytes)}
                      </p>
                      <p className="mt-1 flex flex-wrap gap-1">
                        {m.word_timestamps ? <Badge>word times</Badge> : null}
                        {m.supports_gpu ? <Badge>GPU</Badge> : null}
                        {m.supports_cpu ? <Badge>CPU</Badge> : null}
                      </p>
                    </td>
                    <td className="px-4 py-3">
                      <Badge tone={m.status === 'ready' ? 'green' : 'gray'}>
                        {m.status === 'ready' ? 'ready' : 'not downloaded'}
                      </Badge>
                    </td>
                    <td className="hidden px-4 py-3 text-slate-700 sm:table-cell">{languages(m.languages)}</td>
                    <td className="hidden px-4 py-3 text-slate-700 md:table-cell">{m.engine_id}</td>
                    <td className="hidden px-4 py-3 text-slate-700 md:table-cell">{m.source}</td>
                    <td className="hidden px-4 py-3 text-right font-mono tabular-nums text-slate-700 sm:table-cell">
                      {formatBytes(m.size_bytes)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
