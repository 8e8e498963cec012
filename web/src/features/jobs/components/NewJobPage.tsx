import { useEffect, useRef, useState, type DragEvent, type FormEvent, type ReactNode } from 'react';
import { useNavigate } from 'react-router-dom';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Button,
  Card,
  CardBody,
  CardHeader,
  Field,
  Input,
  PageHeader,
  Select,
  cn,
  inputClass,
} from '../../../components/ui';
import {
  AUDIO_REDACTION_MODES,
  ENTITY_REDACTION_MODES,
  GRANULARITIES,
  LANGUAGES,
  MAX_RETENTION_DAYS,
  MAX_SPEAKERS,
  PII_CATEGORIES,
} from '../../../config';
import { ApiError, errorMessage } from '../../../lib/api-client';
import type { AudioRedactionMode, EntityRedactionMode, RetentionMode, SpeakerDetection } from '../../../lib/api-types';
import { formatBytes } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { listModels } from '../../models/api/models';
import { retentionField, speakerFields, submitJob, type SpeakerCount } from '../api/jobs';

interface Progress {
  loaded: number;
  total: number;
}

/** Fields shown beside their own control; other errors go in the form's alert only. */
const INLINE_PARAMS = ['file', 'name', 'vocabulary', 'retention'];

/** Fields whose stage may lack an engine on this server (docs/api.md, Enrichment stages). */
const STAGE_PARAMS = ['speaker_detection', 'word_alignment', 'pii_detection', 'redact_pii_audio'];

const SPEAKER_OPTIONS: ReadonlyArray<readonly [SpeakerDetection, string, string]> = [
  ['none', 'None', 'One speaker track.'],
  ['diarize', 'Diarization', 'Find who spoke when, and label every segment and word with a speaker.'],
  ['per_channel', 'Per channel', 'Each channel of a multichannel file is one speaker.'],
];

export function NewJobPage() {
  const client = useApi();
  const { can } = useAuth();
  const navigate = useNavigate();
  const models = useQuery('models', (signal) => listModels(client, signal));
  const [file, setFile] = useState<File | null>(null);
  const [model, setModel] = useState('');
  const [language, setLanguage] = useState('auto');
  const [granularity, setGranularity] = useState('word');
  const [speakers, setSpeakers] = useState<SpeakerDetection>('none');
  const [speakerCount, setSpeakerCount] = useState<SpeakerCount>('auto');
  const [numSpeakers, setNumSpeakers] = useState('');
  const [minSpeakers, setMinSpeakers] = useState('');
  const [maxSpeakers, setMaxSpeakers] = useState('');
  const [alignment, setAlignment] = useState<'' | 'true' | 'false'>('');
  const [pii, setPii] = useState(false);
  const [piiCategories, setPiiCategories] = useState<string[]>([]);
  const [piiTypes, setPiiTypes] = useState('');
  const [entityMode, setEntityMode] = useState<EntityRedactionMode>('entity_type');
  const [redactAudio, setRedactAudio] = useState(false);
  const [audioMode, setAudioMode] = useState<AudioRedactionMode>('silence');
  const [name, setName] = useState('');
  const [vocabulary, setVocabulary] = useState('');
  const [retention, setRetention] = useState<RetentionMode>('keep');
  const [retentionDays, setRetentionDays] = useState('30');
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [dragging, setDragging] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const transcribers = (models.data?.data ?? []).filter((m) => m.stage === 'transcribe');
  const chosen = transcribers.find((m) => m.id === model);
  const languages = chosen?.languages
    ? LANGUAGES.filter((l) => chosen.languages?.includes(l.code))
    : LANGUAGES;
  const fieldError = (param: string) =>
    error instanceof ApiError && error.param === param ? error.message : undefined;

  function pick(files: FileList | null) {
    const next = files?.[0];
    if (next) {
      setFile(next);
      setError(null);
    }
  }

  function onDrop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setDragging(false);
    pick(event.dataTransfer.files);
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!file) {
      setError(new ApiError(400, 'invalid_request', 'Choose an audio or video file first.', 'file'));
      return;
    }
    const counts = speakers === 'diarize' ? speakerFields(speakerCount, numSpeakers, minSpeakers, maxSpeakers) : {};
    if (counts instanceof ApiError) {
      setError(counts);
      return;
    }
    const kept = retentionField(retention, retentionDays);
    if (kept instanceof ApiError) {
      setError(kept);
      return;
    }
    const piiOn = pii || redactAudio;
    setError(null);
    setProgress({ loaded: 0, total: file.size });
    abort.current = new AbortController();
    try {
      const created = await submitJob(
        client,
        {
          file,
          model: model || undefined,
          language,
          timestampsGranularity: granularity,
          speakerDetection: speakers,
          ...counts,
          wordAlignment: alignment ? alignment === 'true' : undefined,
          name,
          vocabulary: vocabulary
            .split('\n')
            .map((t) => t.trim())
            .filter(Boolean),
          piiDetection: piiOn,
          piiEntityTypes: piiOn ? [...piiCategories, ...piiTypes.split(/[,\s]+/)].filter(Boolean) : undefined,
          // The server's default is left out, as is everything while PII is off.
          entityRedactionMode: piiOn && entityMode !== 'entity_type' ? entityMode : undefined,
          redactPiiAudio: redactAudio,
          piiRedactionMode: redactAudio ? audioMode : undefined,
          ...kept,
        },
        (loaded, total) => setProgress({ loaded, total }),
        abort.current.signal,
      );
      navigate(`/jobs/${created.id}`);
    } catch (reason) {
      if (reason instanceof DOMException && reason.name === 'AbortError') {
        setError(new Error('The upload was cancelled.'));
      } else {
        setError(reason);
      }
      setProgress(null);
    }
  }

  if (!can('jobs:write')) {
    return (
      <>
        <PageHeader title="New job" />
        <Alert tone="warning" title="Your key cannot submit jobs">
          Submitting needs the <code>jobs:write</code> scope.
        </Alert>
      </>
    );
  }

  const uploading = progress !== null;
  const percent = progress && progress.total ? Math.round((progress.loaded / progress.total) * 100) : 0;
  return (
    <>
      <PageHeader title="New job" description="Upload audio or video to transcribe it." />
      <form onSubmit={onSubmit} className="grid gap-6 lg:grid-cols-3" noValidate>
        <Card className="lg:col-span-2">
          <CardHeader title="Audio" />
          <CardBody className="space-y-4">
            <div
              onDragOver={(e) => {
                e.preventDefault();
                setDragging(true);
              }}
              onDragLeave={() => setDragging(false)}
              onDrop={onDrop}
              className={cn(
                'flex flex-col items-center justify-center gap-2 rounded-lg border-2 border-dashed px-4 py-8 text-center',
                dragging ? 'border-indigo-500 bg-indigo-50' : 'border-slate-300 dark:border-slate-600',
              )}
            >
              <label htmlFor="audio-file" className="text-sm font-medium text-slate-800 dark:text-slate-200">
                Audio or video file
              </label>
              <p className="text-xs text-slate-500 dark:text-slate-400">
                Drop a file here, or choose one. wav, flac, mp3, ogg/opus, m4a, webm, mp4, …
              </p>
              <input
                ref={fileInput}
                id="audio-file"
                name="file"
                type="file"
                accept="audio/*,video/*"
                disabled={uploading}
                onChange={(e) => pick(e.target.files)}
                aria-describedby="audio-file-chosen"
                className="max-w-full text-sm text-slate-700 dark:text-slate-300 file:mr-3 file:rounded-md file:border-0 file:bg-indigo-50 file:px-3 file:py-2 file:text-sm file:font-medium file:text-indigo-700 hover:file:bg-indigo-100"
              />
              <p id="audio-file-chosen" className="text-sm text-slate-700 dark:text-slate-300">
                {file ? `${file.name} · ${formatBytes(file.size)}` : 'No file chosen'}
              </p>
              {fieldError('file') ? <p className="text-sm text-red-700">{fieldError('file')}</p> : null}
            </div>

            <Field label="Display name" hint="Optional; defaults to the file name." error={fieldError('name')}>
              {(p) => (
                <Input {...p} value={name} maxLength={255} onChange={(e) => setName(e.target.value)} disabled={uploading} />
              )}
            </Field>

            <Field
              label="Vocabulary"
              hint="Optional terms to bias recognition towards, one per line (at most 100)."
              error={fieldError('vocabulary')}
            >
              {(p) => (
                <textarea
                  {...p}
                  rows={3}
                  className={inputClass}
                  value={vocabulary}
                  onChange={(e) => setVocabulary(e.target.value)}
                  disabled={uploading}
                />
              )}
            </Field>

            <div className={cn('grid gap-3', retention === 'days' && 'sm:grid-cols-[1fr_8rem]')}>
              <Field
                label="Retention"
                error={retention === 'days' ? undefined : fieldError('retention')}
                hint={
                  retention === 'after_delivery' ? (
                    <span className="text-amber-800">
                      Careful: the console's own first view of the finished job counts as the read, and deletes it.
                    </span>
                  ) : retention === 'days' ? (
                    'Deleted that many days after the job finishes.'
                  ) : (
                    'Kept until you delete it.'
                  )
                }
              >
                {(p) => (
                  <Select
                    {...p}
                    value={retention}
                    onChange={(e) => setRetention(e.target.value as RetentionMode)}
                    disabled={uploading}
                  >
                    <option value="keep">Keep</option>
                    <option value="days">Delete after a number of days</option>
                    <option value="after_delivery">Delete after the first read</option>
                  </Select>
                )}
              </Field>
              {retention === 'days' ? (
                <CountField
                  label="Days"
                  error={fieldError('retention')}
                  max={MAX_RETENTION_DAYS}
                  value={retentionDays}
                  onChange={setRetentionDays}
                  disabled={uploading}
                />
              ) : null}
            </div>

            {uploading ? (
              <div className="space-y-1">
                <div className="flex justify-between text-sm text-slate-700 dark:text-slate-300">
                  <span id="upload-label">{percent < 100 ? 'Uploading…' : 'Checking the audio…'}</span>
                  <span className="tabular-nums">
                    {percent}% · {formatBytes(progress.loaded)} of {formatBytes(progress.total)}
                  </span>
                </div>
                <progress
                  className="h-2 w-full overflow-hidden rounded [&::-webkit-progress-bar]:bg-slate-200 [&::-webkit-progress-value]:bg-indigo-600"
                  max={100}
                  value={percent}
                  aria-labelledby="upload-label"
                />
              </div>
            ) : null}
            {error && !(error instanceof ApiError && error.param && INLINE_PARAMS.includes(error.param)) ? (
              <Alert
                tone="error"
                title={
                  error instanceof ApiError && error.param && STAGE_PARAMS.includes(error.param)
                    ? 'This server cannot run an option you chose'
                    : 'The job was not created'
                }
              >
                {error instanceof ApiError ? error.message : errorMessage(error)}
                {error instanceof ApiError && error.param ? (
                  <span className="mt-1 block text-xs">
                    Field: <code className="font-mono">{error.param}</code>
                  </span>
                ) : null}
              </Alert>
            ) : null}
            <div className="flex flex-wrap gap-2">
              <Button type="submit" disabled={uploading}>
                {uploading ? 'Uploading…' : 'Transcribe'}
              </Button>
              {uploading ? (
                <Button variant="secondary" onClick={() => abort.current?.abort()}>
                  Cancel upload
                </Button>
              ) : null}
            </div>
          </CardBody>
        </Card>

        <Card>
          <CardHeader title="Options" />
          <CardBody className="space-y-4">
            <Field
              label="Model"
              error={fieldError('model')}
              hint={
                models.error
                  ? `Could not load models: ${errorMessage(models.error)}`
                  : chosen?.status === 'not_downloaded'
                    ? 'Not downloaded yet: the first job downloads it.'
                    : chosen?.description ?? undefined
              }
            >
              {(p) => (
                <Select {...p} value={model} onChange={(e) => setModel(e.target.value)} disabled={uploading}>
                  <option value="">Auto (by language)</option>
                  {transcribers.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.id}
                      {m.status === 'ready' ? '' : ' (not downloaded)'}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Language" error={fieldError('language')}>
              {(p) => (
                <Select {...p} value={language} onChange={(e) => setLanguage(e.target.value)} disabled={uploading}>
                  <option value="auto">Detect automatically</option>
                  {languages.map((l) => (
                    <option key={l.code} value={l.code}>
                      {l.name} ({l.code})
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Timestamps" error={fieldError('timestamps_granularity')}>
              {(p) => (
                <Select {...p} value={granularity} onChange={(e) => setGranularity(e.target.value)} disabled={uploading}>
                  {GRANULARITIES.map((g) => (
                    <option key={g.value} value={g.value}>
                      {g.label}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field
              label="Word alignment"
              error={fieldError('word_alignment')}
              hint="Forced alignment re-times Whisper's words more exactly (English)."
            >
              {(p) => (
                <Select
                  {...p}
                  value={alignment}
                  onChange={(e) => setAlignment(e.target.value as '' | 'true' | 'false')}
                  disabled={uploading}
                >
                  <option value="">Server default</option>
                  <option value="true">Aligned</option>
                  <option value="false">Whisper's own times</option>
                </Select>
              )}
            </Field>
            <fieldset className="space-y-2" aria-describedby={fieldError('speaker_detection') ? 'speakers-error' : undefined}>
              <legend className="text-sm font-medium text-slate-800 dark:text-slate-200">Speaker detection</legend>
              {SPEAKER_OPTIONS.map(([value, label, hint]) => (
                <label key={value} className="flex items-start gap-2 text-sm">
                  <input
                    type="radio"
                    name="speaker_detection"
                    value={value}
                    checked={speakers === value}
                    onChange={() => setSpeakers(value)}
                    disabled={uploading}
                    className="mt-0.5"
                  />
                  <span>
                    <span className="font-medium text-slate-800 dark:text-slate-200">{label}</span>
                    <span className="block text-xs text-slate-500 dark:text-slate-400">{hint}</span>
                  </span>
                </label>
              ))}
              {speakers === 'diarize' ? (
                <div className="ml-6 space-y-2 border-l-2 border-slate-100 pl-3">
                  <Field label="Number of speakers">
                    {(p) => (
                      <Select
                        {...p}
                        value={speakerCount}
                        onChange={(e) => setSpeakerCount(e.target.value as SpeakerCount)}
                        disabled={uploading}
                      >
                        <option value="auto">Estimate automatically</option>
                        <option value="exact">Exactly</option>
                        <option value="range">Between</option>
                      </Select>
                    )}
                  </Field>
                  {speakerCount === 'exact' ? (
                    <CountField
                      label="Speakers"
                      error={fieldError('num_speakers')}
                      max={MAX_SPEAKERS}
                      value={numSpeakers}
                      onChange={setNumSpeakers}
                      disabled={uploading}
                    />
                  ) : null}
                  {speakerCount === 'range' ? (
                    <div className="grid grid-cols-2 gap-2">
                      <CountField
                        label="At least"
                        error={fieldError('min_speakers')}
                        max={MAX_SPEAKERS} placeholder="any"
                        value={minSpeakers}
                        onChange={setMinSpeakers}
                        disabled={uploading}
                      />
                      <CountField
                        label="At most"
                        error={fieldError('max_speakers')}
                        max={MAX_SPEAKERS} placeholder="any"
                        value={maxSpeakers}
                        onChange={setMaxSpeakers}
                        disabled={uploading}
                      />
                    </div>
                  ) : null}
                </div>
              ) : null}
              {fieldError('speaker_detection') ? (
                <p id="speakers-error" className="text-sm text-red-700">
                  {fieldError('speaker_detection')}
                </p>
              ) : null}
            </fieldset>
            <fieldset className="space-y-2">
              <legend className="text-sm font-medium text-slate-800 dark:text-slate-200">PII</legend>
              <label className="flex items-start gap-2 text-sm">
                <input
                  type="checkbox"
                  name="pii_detection"
                  checked={pii}
                  onChange={(e) => {
                    setPii(e.target.checked);
                    if (!e.target.checked) setRedactAudio(false);
                  }}
                  disabled={uploading}
                  className="mt-0.5 rounded border-slate-300 dark:border-slate-600"
                />
                <span>
                  <span className="font-medium text-slate-800 dark:text-slate-200">Detect PII</span>
                  <span className="block text-xs text-slate-500 dark:text-slate-400">
                    List personal data found in the transcript, and a redacted copy of the text.
                  </span>
                </span>
              </label>
              {fieldError('pii_detection') ? (
                <p className="text-sm text-red-700">{fieldError('pii_detection')}</p>
              ) : null}
              {pii ? (
                <div className="ml-6 space-y-3 border-l-2 border-slate-100 pl-3">
                  <fieldset className="space-y-1" aria-describedby="pii-categories-hint">
                    <legend className="text-sm font-medium text-slate-800 dark:text-slate-200">Entity categories</legend>
                    {PII_CATEGORIES.map((category) => (
                      <label key={category.value} className="flex items-start gap-2 text-sm" title={category.types.join(', ')}>
                        <input
                          type="checkbox"
                          name="pii_entity_types"
                          value={category.value}
                          checked={piiCategories.includes(category.value)}
                          onChange={(e) =>
                            setPiiCategories((current) =>
                              e.target.checked
                                ? [...current, category.value]
                                : current.filter((c) => c !== category.value),
                            )
                          }
                          disabled={uploading}
                          className="mt-0.5 rounded border-slate-300 dark:border-slate-600"
                        />
                        <span>
                          <span className="text-slate-800 dark:text-slate-200">{category.label}</span>{' '}
                          <code className="font-mono text-xs text-slate-500 dark:text-slate-400">{category.value}</code>
                        </span>
                      </label>
                    ))}
                    <p id="pii-categories-hint" className="text-xs text-slate-500 dark:text-slate-400">
                      None checked and no types below: every type is looked for.
                    </p>
                  </fieldset>
                  <Field
                    label="Entity types"
                    hint="Optional, comma-separated: PERSON, PHONE_NUMBER, CREDIT_CARD, …"
                    error={fieldError('pii_entity_types')}
                  >
                    {(p) => (
                      <Input
                        {...p}
                        value={piiTypes}
                        onChange={(e) => setPiiTypes(e.target.value)}
                        placeholder="e.g. PERSON, EMAIL_ADDRESS"
                        disabled={uploading}
                      />
                    )}
                  </Field>
                  <Field label="Redacted text" error={fieldError('entity_redaction_mode')}>
                    {(p) => (
                      <Select
                        {...p}
                        value={entityMode}
                        onChange={(e) => setEntityMode(e.target.value as EntityRedactionMode)}
                        disabled={uploading}
                      >
                        {ENTITY_REDACTION_MODES.map((m) => (
                          <option key={m.value} value={m.value}>
                            {m.label}
                          </option>
                        ))}
                      </Select>
                    )}
                  </Field>
                </div>
              ) : null}
              <label className="flex items-start gap-2 text-sm">
                <input
                  type="checkbox"
                  name="redact_pii_audio"
                  checked={redactAudio}
                  onChange={(e) => {
                    setRedactAudio(e.target.checked);
                    // Redacting the audio needs the entities: it implies detection.
                    if (e.target.checked) setPii(true);
                  }}
                  disabled={uploading}
                  className="mt-0.5 rounded border-slate-300 dark:border-slate-600"
                />
                <span>
                  <span className="font-medium text-slate-800 dark:text-slate-200">Redact PII in the audio</span>
                  <span className="block text-xs text-slate-500 dark:text-slate-400">
                    Also write a copy of the audio with each entity silenced or beeped.
                  </span>
                </span>
              </label>
              {fieldError('redact_pii_audio') ? (
                <p className="text-sm text-red-700">{fieldError('redact_pii_audio')}</p>
              ) : null}
              {redactAudio ? (
                <div className="ml-6 flex flex-wrap gap-x-4 gap-y-1 border-l-2 border-slate-100 pl-3" role="radiogroup" aria-label="Audio redaction">
                  {AUDIO_REDACTION_MODES.map((m) => (
                    <label key={m.value} className="flex items-center gap-2 text-sm text-slate-800 dark:text-slate-200">
                      <input
                        type="radio"
                        name="pii_redaction_mode"
                        value={m.value}
                        checked={audioMode === m.value}
                        onChange={() => setAudioMode(m.value)}
                        disabled={uploading}
                      />
                      {m.label}
                    </label>
                  ))}
                </div>
              ) : null}
              {fieldError('pii_redaction_mode') ? (
                <p className="text-sm text-red-700">{fieldError('pii_redaction_mode')}</p>
              ) : null}
            </fieldset>
          </CardBody>
        </Card>
      </form>
    </>
  );
}

/** A whole number from 1 to ``max`` (speaker counts, retention days). */
function CountField({
  label,
  error,
  max,
  placeholder,
  value,
  onChange,
  disabled,
}: {
  label: string;
  error: ReactNode;
  max: number;
  placeholder?: string;
  value: string;
  onChange: (value: string) => void;
  disabled: boolean;
}) {
  return (
    <Field label={label} error={error}>
      {(p) => (
        <Input
          {...p}
          type="number"
          inputMode="numeric"
          min={1}
          max={max}
          placeholder={placeholder}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          disabled={disabled}
        />
      )}
    </Field>
  );
}
