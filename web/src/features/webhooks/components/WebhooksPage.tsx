import { useState, type FormEvent } from 'react';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Badge,
  Button,
  Card,
  CardBody,
  CardHeader,
  ConfirmButton,
  EmptyState,
  ErrorState,
  Field,
  Input,
  Loading,
  PageHeader,
} from '../../../components/ui';
import { ApiError, errorMessage } from '../../../lib/api-client';
import { formatDate } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import {
  WEBHOOK_EVENTS,
  createWebhook,
  deleteWebhook,
  listWebhooks,
  rotateSecret,
  updateWebhook,
  type Webhook,
  type WebhookEvent,
  type WebhookInput,
  type WebhookWithSecret,
} from '../api/webhooks';
import { DeliveryList } from './DeliveryList';
import { SecretOnce } from './SecretOnce';

export function WebhooksPage() {
  const { can } = useAuth();
  if (!can('webhooks')) {
    return (
      <>
        <PageHeader title="Webhooks" />
        <Alert tone="warning" title="This key cannot manage webhooks">
          Webhook endpoints need a key with the <code>webhooks</code> (or <code>admin</code>) scope.
        </Alert>
      </>
    );
  }
  return <WebhooksAdmin />;
}

function WebhooksAdmin() {
  const client = useApi();
  const list = useQuery('webhooks', (signal) => listWebhooks(client, null, signal));
  const [secret, setSecret] = useState<WebhookWithSecret | null>(null);

  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Dalston POSTs each job's outcome to these URLs, signed with Standard Webhooks, and retries until the receiver answers 2xx."
      />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:order-2">
          <Card>
            <CardHeader title="Add an endpoint" />
            <CardBody>
              <WebhookForm
                submitLabel="Add endpoint"
                onSubmit={async (input) => {
                  const created = await createWebhook(client, input);
                  setSecret(created);
                  list.reload();
                }}
              />
            </CardBody>
          </Card>
        </div>
        <div className="space-y-6 lg:col-span-2">
          {secret ? <SecretOnce webhook={secret} onDone={() => setSecret(null)} /> : null}
          <Card>
            <CardHeader title="Endpoints" />
            {list.loading ? (
              <Loading label="Loading endpoints…" />
            ) : list.error && !list.data ? (
              <ErrorState error={list.error} title="Could not load webhooks" onRetry={list.reload} />
            ) : !list.data?.webhooks.length ? (
              <EmptyState title="No endpoints yet">
                Add a URL to be told when jobs complete, fail or are cancelled.
              </EmptyState>
            ) : (
              <ul className="divide-y divide-slate-100 dark:divide-slate-800" aria-label="Webhook endpoints">
                {list.data.webhooks.map((hook) => (
                  <EndpointRow key={hook.id} hook={hook} onChanged={list.reload} onSecret={setSecret} />
                ))}
              </ul>
            )}
          </Card>
        </div>
      </div>
    </>
  );
}

function EndpointRow({
  hook,
  onChanged,
  onSecret,
}: {
  hook: Webhook;
  onChanged: () => void;
  onSecret: (hook: WebhookWithSecret) => void;
}) {
  const client = useApi();
  const [editing, setEditing] = useState(false);
  const [showDeliveries, setShowDeliveries] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function act(action: () => Promise<unknown>) {
    setError(null);
    setBusy(true);
    try {
      await action();
      onChanged();
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  const deliveriesId = `deliveries-${hook.id}`;
  return (
    <li className="space-y-3 px-4 py-3 sm:px-5" data-webhook-id={hook.id}>
      <div className="flex flex-col gap-2">
        <div className="min-w-0">
          <p className="flex flex-wrap items-center gap-2">
            <code className="break-all font-mono text-sm text-slate-900 dark:text-slate-100">{hook.url}</code>
            {hook.enabled ? <Badge tone="green">enabled</Badge> : <Badge tone="amber">disabled</Badge>}
          </p>
          {hook.description ? <p className="text-sm text-slate-600 dark:text-slate-300">{hook.description}</p> : null}
          <p className="mt-1 flex flex-wrap gap-1">
            {hook.events.map((e) => (
              <Badge key={e}>{e === '*' ? 'every event' : e}</Badge>
            ))}
          </p>
          {hook.disabled_reason ? (
            <p className="mt-1 text-sm text-amber-800 dark:text-amber-200">{hook.disabled_reason}</p>
          ) : null}
          <p className="mt-1 font-mono text-xs text-slate-400">
            {hook.id} · added {formatDate(hook.created_at)}
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          <Button
            variant="secondary"
            size="sm"
            aria-expanded={showDeliveries}
            aria-controls={deliveriesId}
            onClick={() => setShowDeliveries((v) => !v)}
          >
            {showDeliveries ? 'Hide deliveries' : 'Deliveries'}
          </Button>
          <Button variant="secondary" size="sm" onClick={() => setEditing((v) => !v)} aria-expanded={editing}>
            Edit
          </Button>
          <Button
            variant="secondary"
            size="sm"
            disabled={busy}
            onClick={() => void act(() => updateWebhook(client, hook.id, { enabled: !hook.enabled }))}
          >
            {hook.enabled ? 'Disable' : 'Enable'}
          </Button>
          <ConfirmButton
            label="Rotate secret"
            question="The old secret stops working at once. Rotate?"
            confirmLabel="Rotate"
            onConfirm={() =>
              act(async () => {
                onSecret(await rotateSecret(client, hook.id));
              })
            }
          />
          <ConfirmButton
            label="Delete"
            question="Delete this endpoint?"
            confirmLabel="Delete endpoint"
            onConfirm={() => act(() => deleteWebhook(client, hook.id))}
          />
        </div>
      </div>
      {error ? <Alert tone="error">{errorMessage(error)}</Alert> : null}
      {editing ? (
        <div className="rounded-md p-3 ring-1 ring-slate-200 dark:ring-slate-700">
          <WebhookForm
            initial={hook}
            submitLabel="Save"
            onCancel={() => setEditing(false)}
            onSubmit={async (input) => {
              await updateWebhook(client, hook.id, input);
              setEditing(false);
              onChanged();
            }}
          />
        </div>
      ) : null}
      {showDeliveries ? (
        <div id={deliveriesId}>
          <DeliveryList webhookId={hook.id} />
        </div>
      ) : null}
    </li>
  );
}

/** The URL, events and description of an endpoint, new or edited. */
export function WebhookForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial?: Webhook;
  submitLabel: string;
  onSubmit: (input: WebhookInput) => Promise<void>;
  onCancel?: () => void;
}) {
  const [url, setUrl] = useState(initial?.url ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [events, setEvents] = useState<WebhookEvent[]>(
    (initial?.events as WebhookEvent[] | undefined) ?? ['transcription.completed', 'transcription.failed'],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldError = (param: string) =>
    error instanceof ApiError && error.param?.split('.')[0] === param ? error.message : undefined;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit({ url: url.trim(), events, description: description.trim() || null });
      if (!initial) {
        setUrl('');
        setDescription('');
      }
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-4" aria-label={initial ? 'Edit endpoint' : 'New endpoint'}>
      <Field label="URL" hint="https:// URL that receives a POST per event." error={fieldError('url')}>
        {(p) => (
          <Input
            {...p}
            type="url"
            required
            maxLength={2000}
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="https://example.com/dalston"
          />
        )}
      </Field>
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium text-slate-800 dark:text-slate-200">Events</legend>
        {WEBHOOK_EVENTS.map((e) => (
          <label key={e.value} className="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
            <input
              type="checkbox"
              checked={events.includes(e.value)}
              onChange={(ev) =>
                setEvents((current) =>
                  ev.target.checked ? [...current, e.value] : current.filter((x) => x !== e.value),
                )
              }
            />
            {e.label} <code className="text-xs text-slate-500 dark:text-slate-400">{e.value}</code>
          </label>
        ))}
        {fieldError('events') ? <p className="text-sm text-red-700 dark:text-red-300">{fieldError('events')}</p> : null}
      </fieldset>
      <Field label="Description" hint="Optional, for people." error={fieldError('description')}>
        {(p) => <Input {...p} maxLength={1000} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      {error && !fieldError('url') && !fieldError('events') && !fieldError('description') ? (
        <Alert tone="error">{errorMessage(error)}</Alert>
      ) : null}
      <div className="flex gap-2">
        <Button type="submit" disabled={busy || !url.trim() || events.length === 0}>
          {busy ? 'Saving…' : submitLabel}
        </Button>
        {onCancel ? (
          <Button variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        ) : null}
      </div>
    </form>
  );
}
