import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
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
import { cancelJob, deleteJob, deleteJobAudio, getJob, isTerminal, nameSpeakers } from '../api/jobs';
import { AudioPlayer, type AudioPlayerHandle } from './AudioPlayer';
import { EntityList, RedactedText } from './EntityList';
import { ExportButtons } from './ExportButtons';
import { JobName } from './JobName';
import { JobSummary } from './JobSummary';
import { StageGraph } from './StageGraph';
import { StageList } from './StageList';
import { JobStatusBadge } from './StatusBadge';
import { TranscriptViewer } from './TranscriptViewer';
import { Waveform } from './Waveform';
import { flattenWords, matchesQuery } from './transcript';

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
  const [blob, setBlob] = useState<Blob | null>(null);
  const [query, setQuery] = useState('');
  const [matchAt, setMatchAt] = useState(-1);
  const allWords = useMemo(() => flattenWords(job.segments ?? []), [job.segments]);
  const matchList = useMemo(
    () => (query.trim() ? allWords.filter((w) => matchesQuery(w.text, query)) : []),
    [allWords, query],
  );
  const focusWord = matchAt >= 0 && matchAt < matchList.length ? matchList[matchAt]!.index : -1;

  function nextMatch(step: number) {
    if (matchList.length === 0) return;
    const next = (matchAt + step + matchList.length) % matchList.length;
    setMatchAt(next);
    onSeek(matchList[next]!.start);
  }

  const onRenameSpeaker = useCallback(
    async (speaker: string, label: string) => {
      await nameSpeakers(client, job.id, { [speaker]: label || null });
      onChanged();
    },
    [client, job.id, onChanged],
  );

  // Space plays or pauses, the arrows move 5 s: not while typing, nor on a control
  // that uses those keys itself.
  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.target as HTMLElement | null;
      const tag = target?.tagName ?? '';
      if (['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON', 'AUDIO', 'SUMMARY'].includes(tag) || target?.isContentEditable) return;
      if (event.key === ' ') {
        event.preventDefault();
        player.current?.toggle();
      } else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
        event.preventDefault();
        player.current?.seekBy(event.key === 'ArrowLeft' ? -5 : 5);
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

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
            <span className="font-mono text-xs text-slate-500 dark:text-slate-400">{job.id}</span>
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

      {job.status === 'completed' ? (
        <div className="mb-6">
          <JobSummary job={job} />
        </div>
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
                <div className="sticky top-0 z-10 -mx-4 bg-white/95 dark:bg-slate-900/95 px-4 pb-2 pt-1 backdrop-blur sm:-mx-5 sm:px-5">
                  <AudioPlayer
                    ref={player}
                    jobId={job.id}
                    onTime={setTime}
                    deleted={audioGone}
                    onAvailability={onAudioAvailability}
                    onBlob={setBlob}
                  />
                  {audioGone ? null : (
                    <div className="mt-2">
                      <Waveform
                        blob={blob}
                        duration={job.audio_duration_seconds ?? 0}
                        segments={job.segments ?? []}
                        speakers={job.speakers}
                        currentTime={time}
                        onSeek={onSeek}
                      />
                    </div>
                  )}
                  <div className={cn('mt-1 flex items-center justify-between text-xs text-slate-500 dark:text-slate-400', audioGone && 'hidden')}>
                    <span aria-live="off" className="font-mono tabular-nums">
                      {formatClock(time, 2)}
                    </span>
                    <span className="hidden sm:inline">Space plays or pauses · ← → move 5 s</span>
                    <label className="inline-flex items-center gap-1.5">
                      <input
                        type="checkbox"
                        checked={follow}
                        onChange={(e) => setFollow(e.target.checked)}
                        className="rounded border-slate-300 dark:border-slate-600"
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
                          'px-3 py-1.5 text-sm font-medium ring-1 ring-inset ring-slate-300 dark:ring-slate-600 focus-visible:outline-2 focus-visible:outline-indigo-600',
                          i === 0 ? 'rounded-l-md' : '-ml-px rounded-r-md',
                          view === value ? 'bg-indigo-600 text-white ring-indigo-600' : 'bg-white dark:bg-slate-900 text-slate-800 dark:text-slate-200 hover:bg-slate-50 dark:hover:bg-slate-800',
                        )}
                      >
                        {label}
                      </button>
                    ))}
                  </div>
                ) : null}
                {showRedacted ? null : (
                  <form
                    role="search"
                    className="flex flex-wrap items-center gap-2"
                    onSubmit={(e) => {
                      e.preventDefault();
                      nextMatch(1);
                    }}
                  >
                    <input
                      type="search"
                      value={query}
                      onChange={(e) => {
                        setQuery(e.target.value);
                        setMatchAt(-1);
                      }}
                      placeholder="Search the transcript"
                      aria-label="Search the transcript"
                      className="min-w-0 flex-1 rounded-md border border-slate-300 px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
                    />
                    {query.trim() ? (
                      <>
                        <span className="text-xs text-slate-500 dark:text-slate-400" aria-live="polite">
                          {matchList.length === 0
                            ? 'no match'
                            : matchAt >= 0
                              ? `${matchAt + 1} of ${matchList.length}`
                              : `${matchList.length} ${matchList.length === 1 ? 'match' : 'matches'}`}
                        </span>
                        <Button variant="secondary" size="sm" type="button" onClick={() => nextMatch(-1)} disabled={!matchList.length}>
                          Previous
                        </Button>
                        <Button variant="secondary" size="sm" type="submit" disabled={!matchList.length}>
                          Next
                        </Button>
                      </>
                    ) : null}
                  </form>
                )}
                {showRedacted ? (
                  <RedactedText text={redactedText} />
                ) : (
                  <TranscriptViewer
                    segments={job.segments ?? []}
                    speakers={job.speakers}
                    currentTime={time}
                    onSeek={onSeek}
                    follow={follow}
                    query={query}
                    focusWord={focusWord}
                    onRenameSpeaker={writable && !delivered ? onRenameSpeaker : undefined}
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
                  <div role="status" className="text-sm text-slate-600 dark:text-slate-300">
                    <WaitingFor job={job} /> The transcript appears here when the job completes. This page refreshes by
                    itself.
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
      <dt className="text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="min-w-0 break-words text-slate-900 dark:text-slate-100">{value}</dd>
    </>
  );
}

/** What an unfinished job waits for: the transcriber that has not taken it yet
 * (loading its model, the first time after a start or an idle unload), or how
 * far it has got. */
function WaitingFor({ job }: { job: Job }) {
  const transcribe = job.stages.find((s) => s.stage === 'transcribe');
  if (!transcribe) return null;
  if (transcribe.status === 'queued' || (transcribe.status === 'waiting' && job.status === 'running')) {
    return (
      <span className="mb-1 block font-medium" data-waiting="model">
        Waiting for the transcriber: the first job after a start (or after its model was unloaded for being idle)
        waits while the model loads.
      </span>
    );
  }
  if (transcribe.status === 'running') {
    const done = typeof job.progress === 'number' ? ` ${Math.round(job.progress * 100)} % of the audio so far.` : '';
    return (
      <span className="mb-1 block font-medium" data-waiting="transcribing">
        Transcribing.{done}
      </span>
    );
  }
  return null;
}
