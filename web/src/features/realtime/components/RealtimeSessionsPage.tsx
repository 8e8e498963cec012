import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Badge,
  Button,
  ButtonLink,
  Card,
  CardHeader,
  ConfirmButton,
  EmptyState,
  ErrorState,
  Loading,
  NotAvailable,
  PageHeader,
  Spinner,
  type Tone,
} from '../../../components/ui';
import { config } from '../../../config';
import { ApiError, errorMessage } from '../../../lib/api-client';
import type { RealtimeSession, RealtimeSessionList } from '../../../lib/api-types';
import { formatClock, formatDate } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { deleteSession, getRealtimeStatus, listSessions, sessionAudio } from '../api/realtime';

const TONES: Record<string, Tone> = { active: 'blue', completed: 'green', error: 'red', failed: 'red' };

export function RealtimeSessionsPage() {
  const client = useApi();
  const status = useQuery('realtime:status', (signal) => getRealtimeStatus(client, signal), { refetchInterval: 5000 });
  const first = useQuery('realtime:sessions', (signal) =>
    listSessions(client, { limit: config.jobsPageSize }, signal),
  );
  const [pages, setPages] = useState<RealtimeSessionList[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  useEffect(() => setPages([]), [first.data]);

  const missing =
    (status.error instanceof ApiError && status.error.status === 404) ||
    (first.error instanceof ApiError && first.error.status === 404);
  if (status.loading && first.loading) return <Loading label="Loading realtime sessions…" />;
  if (missing) {
    return (
      <>
        <PageHeader title="Realtime sessions" />
        <NotAvailable feature="Realtime sessions">
          <p>This server has no realtime endpoints (<code>/v1/realtime/*</code>), so there are no sessions to list.</p>
        </NotAvailable>
      </>
    );
  }

  const last = pages[pages.length - 1] ?? first.data;
  const sessions = [...(first.data?.sessions ?? []), ...pages.flatMap((p) => p.sessions)];

  async function loadMore() {
    if (!last?.cursor) return;
    setLoadingMore(true);
    try {
      const page = await listSessions(client, { limit: config.jobsPageSize, cursor: last.cursor });
      setPages((loaded) => [...loaded, page]);
    } catch (reason) {
      setActionError(reason);
    } finally {
      setLoadingMore(false);
    }
  }

  return (
    <>
      <PageHeader
        title="Realtime sessions"
        description="Live streams of your tenant, newest first."
        actions={
          <>
            <Button variant="secondary" onClick={first.reload} disabled={first.fetching}>
              {first.fetching ? <Spinner className="h-3 w-3" /> : null}
              Refresh
            </Button>
            <ButtonLink to="/live">Go live</ButtonLink>
          </>
        }
      />
      <div className="space-y-6">
        <Card aria-labelledby="capacity-title">
          <CardHeader id="capacity-title" title="Capacity" />
          {status.error ? (
            <ErrorState error={status.error} onRetry={status.reload} />
          ) : status.data ? (
            <dl className="grid grid-cols-2 gap-4 px-4 py-4 sm:grid-cols-4 sm:px-5">
              {(
                [
                  ['Slots', status.data.capacity],
                  ['In use', status.data.active],
                  ['Free', status.data.available],
                  ['Workers', status.data.workers],
                ] as const
              ).map(([label, value]) => (
                <div key={label}>
                  <dt className="text-xs text-slate-500">{label}</dt>
                  <dd className="text-2xl font-semibold tabular-nums text-slate-900 dark:text-slate-100">{value}</dd>
                </div>
              ))}
            </dl>
          ) : (
            <Loading />
          )}
        </Card>
        {actionError ? <Alert tone="error">{errorMessage(actionError)}</Alert> : null}
        <Card>
          <CardHeader title="Sessions" />
          {first.loading ? (
            <Loading label="Loading sessions…" />
          ) : first.error && !first.data ? (
            <ErrorState error={first.error} title="Could not load sessions" onRetry={first.reload} />
          ) : sessions.length === 0 ? (
            <EmptyState title="No realtime sessions yet" action={<ButtonLink to="/live">Start one</ButtonLink>}>
              Sessions appear here once a live stream has started.
            </EmptyState>
          ) : (
            <ul className="divide-y divide-slate-100 dark:divide-slate-800" aria-label="Realtime sessions">
              {sessions.map((s) => (
                <SessionRow key={s.id} session={s} onChanged={first.reload} onError={setActionError} />
              ))}
            </ul>
          )}
          {last?.has_more ? (
            <div className="border-t border-slate-200 px-4 py-3 text-center">
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

function SessionRow({
  session,
  onChanged,
  onError,
}: {
  session: RealtimeSession;
  onChanged: () => void;
  onError: (error: unknown) => void;
}) {
  const client = useApi();
  const { can } = useAuth();
  const [audioUrl, setAudioUrl] = useState<string | null>(null);
  const [loadingAudio, setLoadingAudio] = useState(false);
  useEffect(() => () => (audioUrl ? URL.revokeObjectURL(audioUrl) : undefined), [audioUrl]);

  async function play() {
    setLoadingAudio(true);
    try {
      const file = await sessionAudio(client, session.id);
      setAudioUrl(URL.createObjectURL(file.blob));
    } catch (reason) {
      onError(reason);
    } finally {
      setLoadingAudio(false);
    }
  }

  async function remove() {
    try {
      await deleteSession(client, session.id);
      onChanged();
    } catch (reason) {
      onError(reason);
    }
  }

  return (
    <li className="space-y-2 px-4 py-3 sm:px-5" data-session-id={session.id}>
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <Link
          to={`/realtime/${session.id}`}
          className="font-medium text-slate-900 underline decoration-slate-300 hover:decoration-slate-600 dark:text-slate-100"
        >
          {formatDate(session.started_at)}
        </Link>
        <Badge tone={TONES[session.status] ?? 'gray'}>{session.status}</Badge>
        <span className="text-xs text-slate-500">
          {session.model} · {session.language ?? 'auto'} · {formatClock(session.audio_seconds)} · {session.protocol}
        </span>
        <span className="ml-auto flex flex-wrap gap-2">
          {session.batch_job_id ? (
            <ButtonLink variant="secondary" size="sm" to={`/jobs/${session.batch_job_id}`}>
              Batch transcript
            </ButtonLink>
          ) : null}
          {session.has_audio && !audioUrl ? (
            <Button variant="secondary" size="sm" onClick={() => void play()} disabled={loadingAudio}>
              {loadingAudio ? <Spinner className="h-3 w-3" /> : null}
              Play audio
            </Button>
          ) : null}
          {can('jobs:write') && session.status !== 'active' ? (
            <ConfirmButton label="Delete" question="Delete this session?" confirmLabel="Delete session" onConfirm={remove} />
          ) : null}
        </span>
      </div>
      <p className="text-sm text-slate-700 dark:text-slate-200">
        {session.transcript?.trim() ? session.transcript : <span className="text-slate-400">No speech transcribed.</span>}
      </p>
      {session.error ? <p className="text-sm text-red-700">{session.error}</p> : null}
      {audioUrl ? (
        <audio src={audioUrl} controls className="w-full" aria-label={`Audio of the session at ${formatDate(session.started_at)}`} />
      ) : null}
      <p className="font-mono text-xs text-slate-400">
        {session.id}
        {session.purge_after ? ` · kept until ${formatDate(session.purge_after)}` : ''}
      </p>
    </li>
  );
}

