import { useEffect, useRef, useState, type DragEvent, type FormEvent } from 'react';
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
import { GRANULARITIES, LANGUAGES } from '../../../config';
import { ApiError, errorMessage } from '../../../lib/api-client';
import { formatBytes } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { listModels } from '../../models/api/models';
import { submitJob } from '../api/jobs';

interface Progress {
  loaded: number;
  total: number;
}

export function NewJobPage() {
  const client = useApi();
  const { can } = useAuth();
  const navigate = useNavigate();
  const models = useQuery('models', (signal) => listModels(client, signal));
  const [file, setFile] = useState<File | null>(null);
  const [model, setModel] = useState('');
  const [language, setLanguage] = useState('auto');
  const [granularity, setGranularity] = useState('word');
  const [speakers, setSpeakers] = useState<'none' | 'per_channel'>('none');
  const [name, setName] = useState('');
  const [vocabulary, setVocabulary] = useState('');
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
          name,
          vocabulary: vocabulary
            .split('\n')
            .map((t) => t.trim())
            .filter(Boolean),
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
                dragging ? 'border-indigo-500 bg-indigo-50' : 'border-slate-300',
              )}
            >
              <label htmlFor="audio-file" className="text-sm font-medium text-slate-800">
                Audio or video file
              </label>
              <p className="text-xs text-slate-500">
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
                className="max-w-full text-sm text-slate-700 file:mr-3 file:rounded-md file:border-0 file:bg-indigo-50 file:px-3 file:py-2 file:text-sm file:font-medium file:text-indigo-700 hover:file:bg-indigo-100"
              />
              <p id="audio-file-chosen" className="text-sm text-slate-700">
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

            {uploading ? (
              <div className="space-y-1">
                <div className="flex justify-between text-sm text-slate-700">
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
            {error && !(error instanceof ApiError && error.param && ['file', 'name', 'vocabulary'].includes(error.param)) ? (
              <Alert tone="error" title="The job was not created">
                {errorMessage(error)}
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
                  <option value="">Server default</option>
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
            <fieldset className="space-y-2">
              <legend className="text-sm font-medium text-slate-800">Speaker detection</legend>
              {(
                [
                  ['none', 'None', 'One speaker track.'],
                  ['per_channel', 'Per channel', 'Each channel of a multichannel file is one speaker.'],
                ] as const
              ).map(([value, label, hint]) => (
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
                    <span className="font-medium text-slate-800">{label}</span>
                    <span className="block text-xs text-slate-500">{hint}</span>
                  </span>
                </label>
              ))}
              <label className="flex items-start gap-2 text-sm text-slate-400">
                <input type="radio" name="speaker_detection" disabled className="mt-0.5" />
                <span>
                  Diarization <span className="block text-xs">not available on this server</span>
                </span>
              </label>
            </fieldset>
            <fieldset className="space-y-2" aria-describedby="pii-note">
              <legend className="text-sm font-medium text-slate-800">PII</legend>
              <label className="flex items-center gap-2 text-sm text-slate-400">
                <input type="checkbox" name="pii_detection" disabled /> Detect PII
              </label>
              <label className="flex items-center gap-2 text-sm text-slate-400">
                <input type="checkbox" name="redact_pii_audio" disabled /> Redact PII in the audio
              </label>
              <p id="pii-note" className="text-xs text-slate-500">
                PII detection and redaction are not available on this server.
              </p>
            </fieldset>
          </CardBody>
        </Card>
      </form>
    </>
  );
}
