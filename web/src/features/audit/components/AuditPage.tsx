import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Badge,
  Button,
  Card,
  CardBody,
  CardHeader,
  EmptyState,
  ErrorState,
  Field,
  Input,
  Loading,
  PageHeader,
  Select,
} from '../../../components/ui';
import { errorMessage } from '../../../lib/api-client';
import { formatDate } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import {
  AUDIT_ACTIONS,
  RESOURCE_TYPES,
  listAudit,
  type AuditEntry,
  type AuditFilters,
  type AuditList,
} from '../api/audit';

export function AuditPage() {
  const { can } = useAuth();
  if (!can('admin')) {
    return (
      <>
        <PageHeader title="Audit log" />
        <Alert tone="warning" title="Admins only">
          The audit log needs a key with the <code>admin</code> scope.
        </Alert>
      </>
    );
  }
  return <AuditLog />;
}

/** A `datetime-local` value (the browser's local time) as an ISO instant. */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The filters that have a value, as the API takes them. */
export function cleanFilters(form: Record<keyof AuditFilters, string>): AuditFilters {
  const out: AuditFilters = {};
  for (const name of ['action', 'resource_type', 'resource_id', 'actor_id'] as const) {
    const value = form[name].trim();
    if (value) out[name] = value;
  }
  const since = localToIso(form.since);
  const until = localToIso(form.until);
  if (since) out.since = since;
  if (until) out.until = until;
  return out;
}

const EMPTY = { action: '', resource_type: '', resource_id: '', actor_id: '', since: '', until: '' };

function AuditLog() {
  const client = useApi();
  const [form, setForm] = useState(EMPTY);
  const [filters, setFilters] = useState<AuditFilters>({});
  const first = useQuery(`audit:${JSON.stringify(filters)}`, (signal) => listAudit(client, filters, null, signal));
  const [more, setMore] = useState<AuditList[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  useEffect(() => setMore([]), [first.data]);

  const last = more[more.length - 1] ?? first.data;
  const events = [...(first.data?.events ?? []), ...more.flatMap((p) => p.events)];
  const set = (name: keyof typeof EMPTY) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [name]: e.target.value }));

  function apply(event: FormEvent) {
    event.preventDefault();
    setFilters(cleanFilters(form));
  }

  async function loadMore() {
    if (!last?.cursor) return;
    setLoadingMore(true);
    try {
      const page = await listAudit(client, filters, last.cursor);
      setMore((pages) => [...pages, page]);
    } catch (reason) {
      setError(reason);
    } finally {
      setLoadingMore(false);
    }
  }

  return (
    <>
      <PageHeader title="Audit log" description="Who changed keys, jobs, sessions and webhooks of your tenant, newest first." />
      <div className="space-y-6">
        <Card>
          <CardHeader title="Filters" />
          <CardBody>
            <form onSubmit={apply} className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label="Audit filters">
              <Field label="Action">
                {(p) => (
                  <>
                    <Input {...p} list="audit-actions" value={form.action} onChange={set('action')} placeholder="key.created" />
                    <datalist id="audit-actions">
                      {AUDIT_ACTIONS.map((a) => (
                        <option key={a} value={a} />
                      ))}
                    </datalist>
                  </>
                )}
              </Field>
              <Field label="Resource type">
                {(p) => (
                  <Select {...p} value={form.resource_type} onChange={set('resource_type')}>
                    <option value="">Any</option>
                    {RESOURCE_TYPES.map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
              <Field label="Resource id">
                {(p) => <Input {...p} value={form.resource_id} onChange={set('resource_id')} />}
              </Field>
              <Field label="Actor (API key id)">
                {(p) => <Input {...p} value={form.actor_id} onChange={set('actor_id')} />}
              </Field>
              <Field label="Since">
                {(p) => <Input {...p} type="datetime-local" value={form.since} onChange={set('since')} />}
              </Field>
              <Field label="Until">
                {(p) => <Input {...p} type="datetime-local" value={form.until} onChange={set('until')} />}
              </Field>
              <div className="flex gap-2 sm:col-span-2 lg:col-span-3">
                <Button type="submit">Apply filters</Button>
                <Button
                  variant="ghost"
                  onClick={() => {
                    setForm(EMPTY);
                    setFilters({});
                  }}
                >
                  Clear
                </Button>
              </div>
            </form>
          </CardBody>
        </Card>
        {error ? <Alert tone="error">{errorMessage(error)}</Alert> : null}
        <Card>
          <CardHeader title="Entries" />
          {first.loading ? (
            <Loading label="Loading the audit log…" />
          ) : first.error && !first.data ? (
            <ErrorState error={first.error} title="Could not load the audit log" onRetry={first.reload} />
          ) : events.length === 0 ? (
            <EmptyState title="No entries">Nothing recorded matches these filters.</EmptyState>
          ) : (
            <div className="overflow-x-auto">
              <table className="w-full text-left text-sm" aria-label="Audit entries">
                <thead className="text-xs text-slate-500 dark:text-slate-400">
                  <tr>
                    <th scope="col" className="px-4 py-2 font-medium">Time</th>
                    <th scope="col" className="px-4 py-2 font-medium">Action</th>
                    <th scope="col" className="px-4 py-2 font-medium">Resource</th>
                    <th scope="col" className="px-4 py-2 font-medium">Actor</th>
                    <th scope="col" className="px-4 py-2 font-medium">From</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {events.map((e) => (
                    <AuditRow key={e.id} entry={e} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {last?.has_more ? (
            <div className="border-t border-slate-200 px-4 py-3 text-center dark:border-slate-800">
              <Button variant="secondary" onClick={() => void loadMore()} disabled={loadingMore}>
                Load more
              </Button>
            </div>
          ) : null}
        </Card>
      </div>
    </>
  );
}

function resourceLink(entry: AuditEntry): string | null {
  if (entry.action.endsWith('.deleted')) return null;
  if (entry.resource_type === 'job') return `/jobs/${entry.resource_id}`;
  if (entry.resource_type === 'session') return `/realtime/${entry.resource_id}`;
  return null;
}

function AuditRow({ entry }: { entry: AuditEntry }) {
  const link = resourceLink(entry);
  const detail = Object.keys(entry.detail).length ? JSON.stringify(entry.detail) : null;
  return (
    <tr className="align-top text-slate-700 dark:text-slate-200" data-action={entry.action}>
      <td className="whitespace-nowrap px-4 py-2">{formatDate(entry.timestamp)}</td>
      <td className="px-4 py-2">
        <Badge tone={entry.action.endsWith('deleted') || entry.action.endsWith('revoked') ? 'red' : 'indigo'}>
          {entry.action}
        </Badge>
        {detail ? (
          <code className="mt-1 block max-w-md break-all text-xs text-slate-500 dark:text-slate-400">{detail}</code>
        ) : null}
      </td>
      <td className="px-4 py-2">
        <span className="text-xs text-slate-500 dark:text-slate-400">{entry.resource_type}</span>
        <br />
        {link ? (
          <Link to={link} className="font-mono text-xs underline decoration-slate-300 hover:decoration-slate-600">
            {entry.resource_id}
          </Link>
        ) : (
          <span className="font-mono text-xs">{entry.resource_id}</span>
        )}
      </td>
      <td className="px-4 py-2">
        <span className="text-xs text-slate-500 dark:text-slate-400">{entry.actor_type}</span>
        <br />
        <span className="font-mono text-xs">{entry.actor_id ?? '–'}</span>
      </td>
      <td className="px-4 py-2 text-xs">
        {entry.ip_address ?? '–'}
        {entry.user_agent ? (
          <span className="block max-w-[16rem] truncate text-slate-500 dark:text-slate-400" title={entry.user_agent}>
            {entry.user_agent}
          </span>
        ) : null}
      </td>
    </tr>
  );
}
