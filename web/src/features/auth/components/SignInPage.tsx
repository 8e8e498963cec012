import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import { useAuth } from '../../../app/providers/auth';
import { Alert, Button, Field, Input } from '../../../components/ui';
import { ApiError, errorMessage } from '../../../lib/api-client';

export function SignInPage() {
  const { signIn, apiKey, notice, authOff } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '/';
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [remember, setRemember] = useState(false);

  if ((apiKey || authOff) && !busy) return <Navigate to={from} replace />;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key, remember);
      navigate(from, { replace: true });
    } catch (reason) {
      setError(reason);
      setBusy(false);
    }
  }

  const rejected = error instanceof ApiError && error.status === 401;
  return (
    <main className="flex min-h-screen items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-6 text-center">
          <p className="text-3xl font-bold tracking-tight text-indigo-700 dark:text-indigo-300">Dalston</p>
          <h1 className="mt-1 text-lg font-semibold text-slate-900 dark:text-slate-100">Sign in to the console</h1>
        </div>
        <form onSubmit={onSubmit} className="space-y-4 rounded-lg bg-white dark:bg-slate-900 p-6 shadow-sm ring-1 ring-slate-200 dark:ring-slate-800">
          {notice ? <Alert tone="warning">{notice}</Alert> : null}
          <Field
            label="API key"
            hint="Kept in this browser's open console tabs (sessionStorage), never in a URL; sent in the Authorization header."
            error={error ? (rejected ? 'This key was not accepted: it is unknown or revoked.' : errorMessage(error)) : undefined}
          >
            {(p) => (
              <Input
                {...p}
                name="api-key"
                type="password"
                autoComplete="off"
                spellCheck={false}
                placeholder="dk_…"
                required
                value={key}
                onChange={(e) => setKey(e.target.value)}
              />
            )}
          </Field>
          <label className="flex items-center gap-2 text-sm text-slate-700 dark:text-slate-200">
            <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
            Remember on this device (kept in localStorage until you sign out)
          </label>
          <Button type="submit" className="w-full" disabled={busy || !key.trim()}>
            {busy ? 'Checking…' : 'Sign in'}
          </Button>
          <p className="text-xs text-slate-500 dark:text-slate-400">
            The first start of the server prints an admin key and saves it to <code>admin_key</code> in its data
            folder.
          </p>
        </form>
      </div>
    </main>
  );
}
