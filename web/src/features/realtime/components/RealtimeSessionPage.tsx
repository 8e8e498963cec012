import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Badge,
  Button,
  ButtonLink,
  Card,
  CardBody,
  CardHeader,
  ConfirmButton,
  EmptyState,
  ErrorState,
  Loading,
  PageHeader,
  Spinner,
  type Tone,
} from '../../../components/ui';
import { EXPORT_FORMATS } from '../../../config';
import { ApiError, errorMessage } from '../../../lib/api-client';
import { formatClock, formatDate } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { deleteSession, exportSession, getSession, getSessionTranscript, sessionAudio } from '../api/realtime';

const TONES: Record<string, Tone> = { active: 'blue', completed: 'green', error: 'red', failed: 'red' };

function save(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** One realtime session: its record, transcript, audio (when kept) and exports. */
export function RealtimeSessionPage() {
  const { id = '' } = useParams();
  const client = useApi();
  const { can } = useAuth();
  const navigate = useNavigate();
  const session = useQuery(`realtime:session:${id}`, (signal) => getSession(client, id, signal), {
    refetchInterval: (data) => (data?.status === 'active' ? 2000 : false),
  });
  const transcript = useQuery(
    `realtime:session:${id}:transcript:${session.data?.status ?? ''}`,
    (signal) => getSessionTranscript(client, id, signal),
    { enabled: session.data !== undefined && session.data.status !== 'active' },
  );
  const [audioUrl, setAudioUrl] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => () => (audioUrl ? URL.revokeObjectURL(audioUrl) : undefined), [audioUrl]);

  if (session.loading) return <Loading label="Loading the session…" />;
  if (session.error && !session.data) {
    const gone = session.error instanceof ApiError && session.error.status === 404;
    return (
      <>
        <PageHeader title="Realtime session" />
        {gone ? (
          <Alert tone="warning" title="No such session">
            It was deleted, purged after its retention, or belongs to another tenant.{' '}
            <Link className="underline" to="/realtime">
              All sessions
            </Link>
          </Alert>
        ) : (
          <ErrorState error={session.error} onRetry={session.reload} />
        )}
      </>
    );
  }
  const s = session.data;
  if (!s) return null;

  async function run(label: string, action: () => Promise<void>) {
    setBusy(label);
    setError(null);
    try {
      await action();
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(null);
    }
  }

  const segments = transcript.data?.segments ?? [];
  return (
    <>
      <PageHeader
        title={`Session ${formatDate(s.started_at)}`}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <Badge tone={TONES[s.status] ?? 'gray'}>{s.status}</Badge>
            {s.model} · {s.language ?? 'auto'} · {formatClock(s.audio_seconds)} of audio · {s.protocol}
          </span>
        }
        actions={
          <>
            {s.batch_job_id ? (
              <ButtonLink variant="secondary" to={`/jobs/${s.batch_job_id}`}>
                Batch job
              </ButtonLink>
            ) : null}
            {can('jobs:write') && s.status !== 'active' ? (
              <ConfirmButton
                size="md"
                label="Delete"
                question="Delete this session, its transcript and audio?"
                confirmLabel="Delete session"
                onConfirm={() =>
                  run('delete', async () => {
                    await deleteSession(client, s.id);
                    navigate('/realtime');
                  })
                }
              />
            ) : null}
          </>
        }
      />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:col-span-2">
          {error ? <Alert tone="error">{errorMessage(error)}</Alert> : null}
          {s.error ? <Alert tone="error" title="The session ended with an error">{s.error}</Alert> : null}
          <Card aria-labelledby="session-transcript">
            <CardHeader id="session-transcript" title="Transcript" />
            {s.status === 'active' ? (
              <EmptyState title="Still live">The transcript is stored when the stream ends.</EmptyState>
            ) : transcript.loading ? (
              <Loading label="Loading the transcript…" />
            ) : transcript.error && !transcript.data ? (
              <ErrorState error={transcript.error} title="Could not load the transcript" onRetry={transcript.reload} />
            ) : segments.length === 0 ? (
              <EmptyState title="No speech transcribed" />
            ) : (
              <ol className="divide-y divide-slate-100 dark:divide-slate-800" aria-label="Session transcript">
                {segments.map((seg) => (
                  <li key={seg.id} className="flex gap-3 px-4 py-2 sm:px-5">
                    <span className="w-16 shrink-0 pt-0.5 font-mono text-xs tabular-nums text-slate-500 dark:text-slate-400">
                      {formatClock(seg.start)}
                    </span>
                    <p className="text-sm text-slate-800 dark:text-slate-100">{seg.text.trim()}</p>
                  </li>
                ))}
              </ol>
            )}
          </Card>
        </div>
        <div className="space-y-6">
          <Card aria-labelledby="session-audio">
            <CardHeader id="session-audio" title="Audio" />
            <CardBody>
              {!s.has_audio ? (
                <p className="text-sm text-slate-500 dark:text-slate-400">
                  Not kept: a session keeps its audio when it is opened with <code>store_audio=true</code>.
                </p>
              ) : audioUrl ? (
                <audio src={audioUrl} controls className="w-full" aria-label="Session audio" />
              ) : (
                <Button
                  variant="secondary"
                  disabled={busy !== null}
                  onClick={() =>
                    void run('audio', async () => {
                      const file = await sessionAudio(client, s.id);
                      setAudioUrl(URL.createObjectURL(file.blob));
                    })
                  }
                >
                  {busy === 'audio' ? <Spinner className="h-3 w-3" /> : null}
                  Load audio
                </Button>
              )}
            </CardBody>
          </Card>
          <Card aria-labelledby="session-export">
            <CardHeader id="session-export" title="Export" />
            <CardBody>
              <div className="flex flex-wrap gap-2" role="group" aria-label="Export transcript">
                {EXPORT_FORMATS.map((format) => (
                  <Button
                    key={format}
                    variant="secondary"
                    size="sm"
                    disabled={busy !== null || s.status === 'active'}
                    aria-label={`Download ${format.toUpperCase()}`}
                    onClick={() =>
                      void run(format, async () => {
                        const file = await exportSession(client, s.id, format);
                        save(file.blob, file.filename ?? `${s.id}.${format}`);
                      })
                    }
                  >
                    {busy === format ? <Spinner className="h-3 w-3" /> : null}
                    {format.toUpperCase()}
                  </Button>
                ))}
              </div>
            </CardBody>
          </Card>
          <Card>
            <CardHeader title="Record" />
            <CardBody>
              <dl className="space-y-2 text-sm">
                {(
                  [
                    ['Started', formatDate(s.started_at)],
                    ['Ended', formatDate(s.ended_at)],
                    ['Kept until', s.purge_after ? formatDate(s.purge_after) : 'deleted by hand'],
                    ['Id', s.id],
                  ] as const
                ).map(([label, value]) => (
                  <div key={label} className="flex justify-between gap-3">
                    <dt className="text-slate-500 dark:text-slate-400">{label}</dt>
                    <dd className="min-w-0 break-all text-right text-slate-800 dark:text-slate-100">{value}</dd>
                  </div>
                ))}
              </dl>
            </CardBody>
          </Card>
        </div>
      </div>
    </>
  );
}
