import { useState, type FormEvent } from 'react';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  ShownOnce,
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
import { MAX_KEY_RATE_LIMIT, SCOPES, SCOPE_HELP } from '../../../config';
import { ApiError, errorMessage } from '../../../lib/api-client';
import type { KeyCreated, KeyInfo, Scope } from '../../../lib/api-types';
import { formatDate } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { createKey, listKeys, revokeKey } from '../api/keys';

export function KeysPage() {
  const { can } = useAuth();
  if (!can('admin')) {
    return (
      <>
        <PageHeader title="API keys" />
        <Alert tone="warning" title="Admins only">
          Managing API keys needs a key with the <code>admin</code> scope. Sign in with an admin key to
          create or revoke keys.
        </Alert>
      </>
    );
  }
  return <KeysAdmin />;
}

function KeysAdmin() {
  const client = useApi();
  const { me } = useAuth();
  const keys = useQuery('keys', (signal) => listKeys(client, signal));
  const [created, setCreated] = useState<KeyCreated | null>(null);
  const [revokeError, setRevokeError] = useState<unknown>(null);

  async function revoke(key: KeyInfo) {
    setRevokeError(null);
    try {
      await revokeKey(client, key.id);
      keys.reload();
    } catch (reason) {
      setRevokeError(reason);
    }
  }

  return (
    <>
      <PageHeader title="API keys" description="Keys of every tenant you administer. A key's secret is shown once, when it is created." />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:order-2">
          <CreateKeyForm
            onCreated={(key) => {
              setCreated(key);
              keys.reload();
            }}
          />
        </div>
        <div className="space-y-6 lg:col-span-2">
          {created ? <NewKeySecret created={created} onDone={() => setCreated(null)} /> : null}
          <Card>
            <CardHeader title="Keys" />
            {revokeError ? (
              <Alert tone="error" className="m-4">
                Could not revoke: {errorMessage(revokeError)}
              </Alert>
            ) : null}
            {keys.loading ? (
              <Loading label="Loading keys…" />
            ) : keys.error && !keys.data ? (
              <ErrorState error={keys.error} title="Could not load keys" onRetry={keys.reload} />
            ) : !keys.data?.keys.length ? (
              <EmptyState title="No keys" />
            ) : (
              <ul className="divide-y divide-slate-100 dark:divide-slate-800" aria-label="API keys">
                {keys.data.keys.map((key) => (
                  <li key={key.id} className="flex flex-col gap-2 px-4 py-3 sm:flex-row sm:items-center sm:px-5">
                    <div className="min-w-0 flex-1">
                      <p className="flex flex-wrap items-center gap-2 font-medium text-slate-900 dark:text-slate-100">
                        {key.name}
                        {key.id === me?.key_id ? <Badge tone="indigo">this key</Badge> : null}
                        {key.revoked_at ? <Badge tone="red">revoked</Badge> : null}
                        {!key.revoked_at && isExpired(key) ? <Badge tone="amber">expired</Badge> : null}
                      </p>
                      <p className="text-xs text-slate-500 dark:text-slate-400">
                        <code className="font-mono">{key.prefix}…</code> · tenant {key.tenant_id} · created{' '}
                        {formatDate(key.created_at)}
                        {key.revoked_at ? ` · revoked ${formatDate(key.revoked_at)}` : ''}
                      </p>
                      <p className="text-xs text-slate-500 dark:text-slate-400" data-key-limits>
                        {key.rate_limit ? `${key.rate_limit} requests/min` : 'tenant default rate'} ·{' '}
                        {key.expires_at
                          ? `${isExpired(key) ? 'expired' : 'expires'} ${formatDate(key.expires_at)}`
                          : 'never expires'}
                      </p>
                      <p className="mt-1 flex flex-wrap gap-1">
                        {key.scopes.map((s) => (
                          <Badge key={s}>{s}</Badge>
                        ))}
                      </p>
                    </div>
                    {key.revoked_at ? null : (
                      <ConfirmButton
                        label="Revoke"
                        question={
                          key.id === me?.key_id ? 'This is the key you are signed in with. Revoke it?' : `Revoke “${key.name}”?`
                        }
                        confirmLabel="Revoke key"
                        onConfirm={() => revoke(key)}
                      />
                    )}
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
      </div>
    </>
  );
}

function isExpired(key: KeyInfo, now = Date.now()): boolean {
  return key.expires_at ? new Date(key.expires_at).getTime() <= now : false;
}

function CreateKeyForm({ onCreated }: { onCreated: (key: KeyCreated) => void }) {
  const client = useApi();
  const [name, setName] = useState('');
  const [tenant, setTenant] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['jobs:read', 'jobs:write']);
  const [rateLimit, setRateLimit] = useState('');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldError = (param: string) =>
    error instanceof ApiError && error.param === param ? error.message : undefined;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const key = await createKey(client, {
        name: name.trim(),
        scopes,
        tenant_id: tenant,
        rate_limit: rateLimit ? Number(rateLimit) : null,
        expires_at: expires ? new Date(expires).toISOString() : null,
      });
      setName('');
      setTenant('');
      setRateLimit('');
      setExpires('');
      onCreated(key);
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card>
      <CardHeader title="Create a key" />
      <CardBody>
        <form onSubmit={onSubmit} className="space-y-4">
          <Field label="Name" error={fieldError('name')}>
            {(p) => <Input {...p} required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} placeholder="ci" />}
          </Field>
          <fieldset className="space-y-2">
            <legend className="text-sm font-medium text-slate-800 dark:text-slate-200">Scopes</legend>
            {SCOPES.map((scope) => (
              <label key={scope} className="flex items-start gap-2 text-sm">
                <input
                  type="checkbox"
                  className="mt-0.5"
                  checked={scopes.includes(scope)}
                  onChange={(e) =>
                    setScopes((current) => (e.target.checked ? [...current, scope] : current.filter((s) => s !== scope)))
                  }
                />
                <span>
                  <code className="font-medium text-slate-800 dark:text-slate-100">{scope}</code>
                  <span className="block text-xs text-slate-500 dark:text-slate-400">{SCOPE_HELP[scope]}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <Field label="Tenant" hint="Optional; defaults to your own tenant." error={fieldError('tenant_id')}>
            {(p) => <Input {...p} maxLength={64} value={tenant} onChange={(e) => setTenant(e.target.value)} />}
          </Field>
          <Field
            label="Rate limit (requests per minute)"
            hint="Optional; empty uses the tenant's default."
            error={fieldError('rate_limit')}
          >
            {(p) => (
              <Input
                {...p}
                type="number"
                inputMode="numeric"
                min={1}
                max={MAX_KEY_RATE_LIMIT}
                step={1}
                value={rateLimit}
                onChange={(e) => setRateLimit(e.target.value)}
              />
            )}
          </Field>
          <Field label="Expires" hint="Optional; after this the key is refused. Your local time." error={fieldError('expires_at')}>
            {(p) => <Input {...p} type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />}
          </Field>
          {error && !['name', 'tenant_id', 'rate_limit', 'expires_at'].some((f) => fieldError(f)) ? (
            <Alert tone="error">{errorMessage(error)}</Alert>
          ) : null}
          <Button type="submit" disabled={busy || !name.trim() || scopes.length === 0}>
            {busy ? 'Creating…' : 'Create key'}
          </Button>
        </form>
      </CardBody>
    </Card>
  );
}

function NewKeySecret({ created, onDone }: { created: KeyCreated; onDone: () => void }) {
  return (
    <ShownOnce title={`Key “${created.name}” created`} inputId="new-key" label="New API key" value={created.key} onDone={onDone}>
      <p>Copy it now: it is shown only this once.</p>
    </ShownOnce>
  );
}
