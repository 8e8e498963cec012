import { useCallback, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Button,
  Card,
  CardBody,
  CardHeader,
  ConfirmButton,
  ErrorState,
  Loading,
  PageHeader,
  cn,
} from '../../../components/ui';
import { config } from '../../../config';
import { ApiError, errorMessage } from '../../../lib/api-client';
import type { Job } from '../../../lib/api-types';
import { formatClock, formatDate } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { cancelJob, deleteJob, deleteJobAudio, getJob, isTerminal } from '../api/jobs';
import { AudioPlayer, type AudioPlayerHandle } from './AudioPlayer';
import { EntityList, RedactedText } from './EntityList';
import { ExportButtons } from './ExportButtons';
import { JobName } from './JobName';
import { StageGraph } from './StageGraph';
import { StageList } from './StageList';
import { JobStatusBadge } from './StatusBadge';
import { TranscriptViewer } from './TranscriptViewer';

export function JobDetailPage() {
  const { id = '' } = useParams();
  const client = useApi();
  const job = useQuery(`job:${id}`, (signal) => getJob(client, id, signal), {
    // Poll while the job is not finished.
    refetchInterval: (data) => (data && isTerminal(data.status) ? false : config.jobPollMs),
  });

  if (job.loading) return <Loading label="Loading job…" />;
  if (!job.data) {
    const missing = job.error instanceof ApiError && job.error.status === 404;
    return (
      <>
        <PageHeader title={missing ? 'Job not found' : 'Job'} />
        {missing ? (
          <Alert tone="warning" title="No such job">
            There is no job with id <code className="font-mono">{id}</code> for your tenant. It may have
            been deleted. <Link className="underline" to="/jobs">Back to jobs</Link>
          </Alert>
        ) : (
          <ErrorState error={job.error} title="Could not load the job" onRetry={job.reload} />
        )}
      </>
    );
  }
  return <JobDetail key={job.data.id} job={job.data} pollError={job.error} onChanged={job.reload} />;
}

function JobDetail({ job, pollError, onChanged }: { job: Job; pollError: unknown; onChanged: () => void }) {
  const client = useApi();
  const { can } = useAuth();
  const navigate = useNavigate();
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [time, setTime] = useState(0);
  const [follow, setFollow] = useState(true);
  const [view, setView] = useState<'transcript' | 'redacted'>('transcript');
  // A rename shows at once; the job's own name takes over once it changes (the reload).
  const [renamed, setRenamed] = useState<{ from: string | null; to: string | null } | null>(null);
  // Whether the server still has the audio: null until the player finds out.
  // The server says whether the audio is stored; the player confirms it on load.
  const [audioStored, setAudioStored] = useState<boolean | null>(job.audio_stored ?? null);
  const player = useRef<AudioPlayerHandle>(null);
  const displayName = renamed && renamed.from === job.display_name ? renamed.to : job.display_name;
  const name = displayName || job.id;
  const baseName = name.replace(/\.[^.]+$/, '');
  const onSeek = useCallback((t: number) => player.current?.seek(t), []);
  const onAudioAvailability = useCallback((stored: boolean) => setAudioStored(stored), []);

  function onRenamed(updated: Job) {
    setRenamed({ from: job.display_name, to: updated.display_name });
    onChanged();
  }

  async function cancel() {
    setActionError(null);
    try {
      await cancelJob(client, job.id);
      onChanged();
    } catch (reason) {
      setActionError(reason);
    }
  }

  async function removeAudio() {
    setActionError(null);
    setNotice(null);
    try {
      await deleteJobAudio(client, job.id);
      setAudioStored(false);
      setNotice('Deleted the audio. The transcript and its exports are kept.');
    } catch (reason) {
      setActionError(reason);
    }
  }

  async function remove() {
    setActionError(null);
    try {
      await deleteJob(client, job.id);
      navigate('/jobs', { replace: true, state: { notice: `Deleted job “${name}”.` } });
    } catch (reason) {
      setActionError(reason);
    }
  }

  const finished = isTerminal(job.status);
  // retention=0: the GET that showed this finished job was its delivery, and the server purged it.
  const delivered = finished && job.retention?.mode === 'after_delivery';
  const audioGone = delivered || audioStored === false;
  // A completed job's player tells whether the audio is there; other finished jobs have no player.
  const audioDeletable = finished && !audioGone && (job.status !== 'completed' || audioStored === true);
  const writable = can('jobs:write');
  const redactedText = job.redacted_text ?? null;
  const showRedacted = view === 'redacted' && redactedText !== null;
  const noop = useCallback(() => {}, []);
  return (
    <>
      <PageHeader
        title={name}
        heading={
          <JobName
            jobId={job.id}
            title={name}
            displayName={displayName}
            editable={writable && !delivered}
            onRenamed={onRenamed}
          />
        }
        description={
          <span className="flex flex-wrap items-center gap-2">
            <JobStatusBadge status={job.status} />
            <span className="font-mono text-xs text-slate-500">{job.id}</span>
          </span>
        }
        actions={
          writable ? (
            delivered ? null : finished ? (
              <>
                {audioDeletable ? (
                  <ConfirmButton
                    label="Delete audio"
                    question="Delete the stored audio? The transcript is kept."
                    confirmLabel="Delete audio"
                    onConfirm={removeAudio}
                  />
                ) : null}
                <ConfirmButton
                  label="Delete"
                  question="Delete this job, its audio and transcript?"
                  confirmLabel="Delete job"
                  onConfirm={remove}
                />
              </>
            ) : (
              <Button variant="secondary" size="sm" onClick={() => void cancel()} disabled={job.status === 'cancelling'}>
                {job.status === 'cancelling' ? 'Cancelling…' : 'Cancel job'}
              </Button>
            )
          ) : null
        }
      />
      {actionError ? (
        <Alert tone="error" className="mb-4">
          {errorMessage(actionError)}
        </Alert>
      ) : null}
      {notice ? (
        <Alert tone="success" className="mb-4">
          {notice}
        </Alert>
      ) : null}
      {delivered ? (
        <Alert tone="warning" title="Deleted from the server" className="mb-4">
          This job was kept until its first read, and showing it here was that read: the server has deleted the job,
          its audio and its transcript. This page holds the only copy left; reloading or leaving it loses it.
        </Alert>
      ) : null}
      {pollError ? (
        <Alert tone="warning" className="mb-4">
          Refreshing failed: {errorMessage(pollError)}
        </Alert>
      ) : null}

      <div className="grid gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:col-span-2">
          {job.warnings?.length ? (
            <Alert tone="warning" title={job.warnings.length === 1 ? 'Warning' : `${job.warnings.length} warnings`}>
              <ul className="list-disc space-y-0.5 pl-5" aria-label="Warnings">
                {job.warnings.map((w, i) => (
                  <li key={i}>{w}</li>
                ))}
              </ul>
            </Alert>
          ) : null}
          {job.status === 'completed' ? (
            <Card aria-labelledby="transcript-title">
              <CardHeader
                id="transcript-title"
                title="Transcript"
                description={
                  [
                    job.speakers?.length
                      ? `${job.speakers.length} ${job.speakers.length === 1 ? 'speaker' : 'speakers'}`
                      : null,
                    audioGone ? null : 'click a word to play from there',
                  ]
                    .filter(Boolean)
                    .join(' · ')
                    .replace(/^./, (c) => c.toUpperCase()) || undefined
                }
                actions={delivered ? undefined : <ExportButtons jobId={job.id} baseName={baseName} />}
              />
              <CardBody className="space-y-4">
                <div className="sticky top-0 z-10 -mx-4 bg-white/95 px-4 pb-2 pt-1 backdrop-blur sm:-mx-5 sm:px-5">
                  <AudioPlayer
                    ref={player}
                    jobId={job.id}
                    onTime={setTime}
                    deleted={audioGone}
                    onAvailability={onAudioAvailability}
                  />
                  <div className={cn('mt-1 flex items-center justify-between text-xs text-slate-500', audioGone && 'hidden')}>
                    <span aria-live="off" className="font-mono tabular-nums">
                      {formatClock(time, 2)}
                    </span>
                    <label className="inline-flex items-center gap-1.5">
                      <input
                        type="checkbox"
                        checked={follow}
                        onChange={(e) => setFollow(e.target.checked)}
                        className="rounded border-slate-300"
                      />
                      Follow playback
                    </label>
                  </div>
                </div>
                {redactedText !== null ? (
                  <div className="inline-flex rounded-md shadow-sm" role="group" aria-label="Transcript version">
                    {(
                      [
                        ['transcript', 'Transcript'],
                        ['redacted', 'Redacted'],
                      ] as const
                    ).map(([value, label], i) => (
                      <button
                        key={value}
                        type="button"
                        aria-pressed={view === value}
                        onClick={() => setView(value)}
                        className={cn(
                          'px-3 py-1.5 text-sm font-medium ring-1 ring-inset ring-slate-300 focus-visible:outline-2 focus-visible:outline-indigo-600',
                          i === 0 ? 'rounded-l-md' : '-ml-px rounded-r-md',
                          view === value ? 'bg-indigo-600 text-white ring-indigo-600' : 'bg-white text-slate-800 hover:bg-slate-50',
                        )}
                      >
                        {label}
                      </button>
                    ))}
                  </div>
                ) : null}
                {showRedacted ? (
                  <RedactedText text={redactedText} />
                ) : (
                  <TranscriptViewer
                    segments={job.segments ?? []}
                    speakers={job.speakers}
                    currentTime={time}
                    onSeek={onSeek}
                    follow={follow}
                  />
                )}
              </CardBody>
            </Card>
          ) : (
            <Card>
              <CardHeader title="Transcript" />
              <CardBody>
                {job.status === 'failed' ? (
                  <Alert tone="error" title="The job failed">
                    {job.error ?? 'No reason was recorded.'}
                  </Alert>
                ) : job.status === 'cancelled' ? (
                  <Alert tone="warning" title="The job was cancelled">
                    It has no transcript.
                  </Alert>
                ) : (
                  <div role="status" className="text-sm text-slate-600">
                    The transcript appears here when the job completes. This page refreshes by itself.
                  </div>
                )}
              </CardBody>
            </Card>
          )}
          {job.status === 'completed' && job.pii?.redacted_audio ? (
            <Card aria-labelledby="redacted-audio-title">
              <CardHeader
                id="redacted-audio-title"
                title="Redacted audio"
                description={`Each entity is replaced by ${job.pii.redaction_mode === 'beep' ? 'a beep' : 'silence'}.`}
              />
              <CardBody>
                <AudioPlayer
                  jobId={job.id}
                  source="redacted"
                  label="Redacted audio"
                  downloadName={`${baseName}.redacted.wav`}
                  onTime={noop}
                  deleted={audioGone}
                />
              </CardBody>
            </Card>
          ) : null}
        </div>

        <div className="space-y-6">
          {job.status === 'completed' && job.entities ? (
            <Card aria-labelledby="entities-title">
              <CardHeader
                id="entities-title"
                title="Personal data"
                description={
                  job.pii
                    ? `${job.pii.entity_count} found · ${job.pii.entity_types.length} types looked for · click to play`
                    : 'Click one to play it'
                }
              />
              <CardBody>
                <EntityList entities={job.entities} currentTime={time} onSeek={onSeek} />
              </CardBody>
            </Card>
          ) : null}
          <Card aria-labelledby="stages-title">
            <CardHeader id="stages-title" title="Stages" description={finished ? undefined : 'Updating live'} />
            <CardBody>
              <StageGraph stages={job.stages} createdAt={job.created_at} />
              <details className="mt-4">
                <summary className="cursor-pointer text-sm text-slate-600 dark:text-slate-300">Each stage in order</summary>
                <div className="mt-2">
                  <StageList stages={job.stages} />
                </div>
              </details>
            </CardBody>
          </Card>
          <Card aria-labelledby="details-title">
            <CardHeader id="details-title" title="Details" />
            <CardBody>
              <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
                <Detail label="Model" value={job.model} />
                <Detail label="Language" value={job.language_code ?? 'auto'} />
                <Detail label="Audio" value={formatClock(job.audio_duration_seconds)} />
                <Detail label="Created" value={formatDate(job.created_at)} />
                <Detail label="Started" value={formatDate(job.started_at)} />
                <Detail label="Completed" value={formatDate(job.completed_at)} />
                <Detail label="Timestamps" value={String(job.parameters.timestamps_granularity ?? '–')} />
                <Detail label="Speakers" value={speakerSummary(job)} />
                <Detail
                  label="Word timing"
                  value={
                    job.parameters.align ? 'forced alignment' : job.parameters.need_word_times === false ? '–' : 'Whisper'
                  }
                />
                <Detail label="PII" value={piiSummary(job)} />
                <Detail label="Retention" value={retentionSummary(job)} />
                {job.retention && job.retention.mode !== 'keep' ? (
                  <Detail label="Purge" value={purgeSummary(job, delivered)} />
                ) : null}
              </dl>
            </CardBody>
          </Card>
        </div>
      </div>
    </>
  );
}

function speakerSummary(job: Job): string {
  const p = job.parameters;
  const mode = p.speaker_detection ?? 'none';
  if (mode !== 'diarize') return mode;
  const found = job.speakers?.length ? `, ${job.speakers.length} found` : '';
  if (p.num_speakers) return `diarize (${p.num_speakers} asked${found})`;
  if (p.min_speakers || p.max_speakers) {
    return `diarize (${p.min_speakers ?? 1}–${p.max_speakers ?? 'any'} asked${found})`;
  }
  return `diarize${found ? ` (${found.slice(2)})` : ''}`;
}

function piiSummary(job: Job): string {
  if (job.pii) {
    const n = job.pii.entity_count;
    const audio = job.pii.redacted_audio ? `, audio ${job.pii.redaction_mode === 'beep' ? 'beeped' : 'silenced'}` : '';
    return `${n} ${n === 1 ? 'entity' : 'entities'}${audio}`;
  }
  return job.parameters.pii_detection ? 'requested' : 'off';
}

function retentionSummary(job: Job): string {
  const r = job.retention;
  if (!r || r.mode === 'keep') return 'keep until deleted';
  if (r.mode === 'after_delivery') return 'delete after first read';
  return `${r.days ?? '?'} ${r.days === 1 ? 'day' : 'days'} after it finishes`;
}

/** When the job is (or was) purged; only for retention other than keep. */
function purgeSummary(job: Job, delivered: boolean): string {
  const r = job.retention;
  if (r?.mode === 'after_delivery') return delivered ? 'deleted on this read' : 'on the first read once finished';
  if (r?.purge_after) return formatDate(r.purge_after);
  return 'set when it finishes';
}

function Detail({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt className="text-slate-500">{label}</dt>
      <dd className="min-w-0 break-words text-slate-900">{value}</dd>
    </>
  );
}
