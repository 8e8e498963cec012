import { useState } from 'react';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Badge,
  Button,
  Card,
  ConfirmButton,
  EmptyState,
  ErrorState,
  Loading,
  PageHeader,
} from '../../../components/ui';
import type { Model } from '../../../lib/api-types';
import { errorMessage } from '../../../lib/api-client';
import { formatBytes } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { listModels, pullModel, removeModel } from '../api/models';

const STATUS_LABEL: Record<string, string> = {
  ready: 'ready',
  not_downloaded: 'not downloaded',
  downloading: 'downloading',
  loading: 'loading',
  failed: 'failed',
};

function StatusCell({ model }: { model: Model }) {
  const tone = model.status === 'ready' ? 'green' : model.status === 'failed' ? 'red' : 'gray';
  const progress = model.status === 'downloading' && typeof model.download_progress === 'number'
    ? ` ${Math.round(model.download_progress * 100)}%`
    : '';
  return (
    <div className="space-y-1">
      <Badge tone={tone}>{(STATUS_LABEL[model.status] ?? model.status) + progress}</Badge>
      {model.loaded ? <Badge tone="blue">loaded</Badge> : null}
      {model.status === 'failed' && model.error ? (
        <p className="max-w-xs text-xs text-red-700 dark:text-red-300">{model.error}</p>
      ) : null}
    </div>
  );
}

/** Pull (a hub model not on disk) or remove (a downloaded hub model): admins only. */
function ModelActions({ model, onChange }: { model: Model; onChange: () => void }) {
  const client = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (model.source !== 'hub') return null;
  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (reason) {
      setError(errorMessage(reason));
    } finally {
      setBusy(false);
      onChange();
    }
  }
  return (
    <div className="space-y-1">
      {model.status === 'not_downloaded' || model.status === 'failed' ? (
        <Button size="sm" variant="secondary" disabled={busy} onClick={() => run(() => pullModel(client, model.id))}>
          {model.status === 'failed' ? 'Retry download' : 'Download'}
        </Button>
      ) : null}
      {model.status === 'ready' ? (
        <ConfirmButton
          label="Remove"
          question={`Remove the downloaded weights of ${model.id}?`}
          confirmLabel="Remove"
          disabled={busy || model.loaded === true}
          onConfirm={() => run(() => removeModel(client, model.id))}
        />
      ) : null}
      {error ? (
        <p role="alert" className="max-w-xs text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
    </div>
  );
}

function languages(codes: string[] | null): string {
  return codes ? codes.join(', ') : 'multilingual';
}

export function ModelsPage() {
  const client = useApi();
  const { can } = useAuth();
  const admin = can('admin');
  // Poll while a download runs, so its progress and its end show.
  const models = useQuery('models', (signal) => listModels(client, signal), {
    refetchInterval: (data) => (data?.data.some((m) => m.status === 'downloading') ? 1000 : false),
  });
  return (
    <>
      <PageHeader
        title="Models"
        description="Models this server can run. A hub model that is not downloaded yet downloads when a job first uses it, or now with Download."
      />
      {admin ? null : (
        <Alert tone="info" title="Downloads and removals need an admin key" className="mb-4">
          Sign in with a key that has the <code>admin</code> scope to download or remove models.
        </Alert>
      )}
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
              <thead className="border-b border-slate-200 dark:border-slate-800 bg-slate-50 dark:bg-slate-800/50 text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">
                <tr>
                  <th scope="col" className="px-4 py-2 font-medium">Model</th>
                  <th scope="col" className="px-4 py-2 font-medium">Status</th>
                  <th scope="col" className="hidden px-4 py-2 font-medium sm:table-cell">Languages</th>
                  <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">Engine</th>
                  <th scope="col" className="hidden px-4 py-2 font-medium md:table-cell">Source</th>
                  <th scope="col" className="hidden px-4 py-2 text-right font-medium sm:table-cell">Size</th>
                  {admin ? (
                    <th scope="col" className="px-4 py-2 font-medium">
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {models.data.data.map((m) => (
                  <tr key={m.id} className="align-top">
                    <td className="px-4 py-3">
                      <p className="font-medium text-slate-900 dark:text-slate-100">{m.id}</p>
                      {m.description ? <p className="max-w-md text-xs text-slate-500 dark:text-slate-400">{m.description}</p> : null}
                      <p className="text-xs text-slate-600 dark:text-slate-300 sm:hidden">
                        {languages(m.languages)} · {formatBytes(m.size_bytes)}
                      </p>
                      <p className="mt-1 flex flex-wrap gap-1">
                        {m.word_timestamps ? <Badge>word times</Badge> : null}
                        {m.supports_gpu ? <Badge>GPU</Badge> : null}
                        {m.supports_cpu ? <Badge>CPU</Badge> : null}
                      </p>
                    </td>
                    <td className="px-4 py-3">
                      <StatusCell model={m} />
                    </td>
                    <td className="hidden px-4 py-3 text-slate-700 dark:text-slate-200 sm:table-cell">{languages(m.languages)}</td>
                    <td className="hidden px-4 py-3 text-slate-700 dark:text-slate-200 md:table-cell">{m.engine_id}</td>
                    <td className="hidden px-4 py-3 text-slate-700 dark:text-slate-200 md:table-cell">{m.source}</td>
                    <td className="hidden px-4 py-3 text-right font-mono tabular-nums text-slate-700 dark:text-slate-200 sm:table-cell">
                      {formatBytes(m.size_bytes)}
                    </td>
                    {admin ? (
                      <td className="px-4 py-3">
                        <ModelActions model={m} onChange={models.reload} />
                      </td>
                    ) : null}
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
