import { Navigate, Outlet, useLocation } from 'react-router-dom';
import { ErrorState, Loading } from '../components/ui';
import { useQuery } from '../lib/use-query';
import { useAuth } from './providers/auth';

/** Pages behind sign-in: sends a signed-out tab to /sign-in, then back. */
export function RequireAuth() {
  const { apiKey, me, restore, ready, authOff } = useAuth();
  const location = useLocation();
  // A key kept from an earlier load of this tab: learn its scopes once.
  const who = useQuery(`me:${apiKey ?? ''}`, (signal) => restore(signal), { enabled: !!apiKey && !me });

  if (!ready) return <Loading label="Signing in…" />;
  if (authOff && me) return <Outlet />;
  if (!apiKey) {
    return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  }
  if (!me) {
    if (who.error) return <ErrorState error={who.error} title="Could not reach the server" onRetry={who.reload} />;
    return <Loading label="Signing in…" />;
  }
  return <Outlet />;
}
