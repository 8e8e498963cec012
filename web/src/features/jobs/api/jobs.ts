import { MAX_RETENTION_DAYS, MAX_SPEAKERS, TERMINAL_STATUSES } from '../../../config';
import { ApiError, type ApiClient, type Download } from '../../../lib/api-client';
import type {
  AudioRedactionMode,
  EntityRedactionMode,
  Job,
  JobCreated,
  JobList,
  JobStatus,
  RetentionMode,
  SpeakerDetection,
} from '../../../lib/api-types';

const BASE = '/v1/audio/transcriptions';

export function isTerminal(status: JobStatus): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export interface ListJobsParams {
  status?: JobStatus | '';
  limit?: number;
  cursor?: string | null;
}

export function listJobs(client: ApiClient, params: ListJobsParams, signal?: AbortSignal): Promise<JobList> {
  return client.get<JobList>(BASE, {
    query: { status: params.status, limit: params.limit, cursor: params.cursor },
    signal,
  });
}

export function getJob(client: ApiClient, id: string, signal?: AbortSignal): Promise<Job> {
  return client.get<Job>(`${BASE}/${encodeURIComponent(id)}`, { signal });
}

export function cancelJob(client: ApiClient, id: string): Promise<Job> {
  return client.post<Job>(`${BASE}/${encodeURIComponent(id)}/cancel`);
}

export function deleteJob(client: ApiClient, id: string): Promise<void> {
  return client.delete(`${BASE}/${encodeURIComponent(id)}`);
}

/** Renames a job (its display_name: 1-255 characters, not only spaces). */
export function renameJob(client: ApiClient, id: string, displayName: string): Promise<Job> {
  return client.patch<Job>(`${BASE}/${encodeURIComponent(id)}`, { display_name: displayName });
}

/** Names speakers (id -> name; "" or null takes a name away): kept on the job, used by every export. */
export function nameSpeakers(client: ApiClient, id: string, names: Record<string, string | null>): Promise<Job> {
  return client.patch<Job>(`${BASE}/${encodeURIComponent(id)}`, { speakers: names });
}

/** Deletes every stored copy of the job's audio; the job and its transcript stay. */
export function deleteJobAudio(client: ApiClient, id: string): Promise<void> {
  return client.delete(`${BASE}/${encodeURIComponent(id)}/audio`);
}

export type ExportFormat = 'srt' | 'vtt' | 'txt' | 'json';

export function exportJob(client: ApiClient, id: string, format: ExportFormat): Promise<Download> {
  return client.download(`${BASE}/${encodeURIComponent(id)}/export/${format}`);
}

/** The original upload, fetched with the key in a header (never in a URL). */
export function jobAudio(client: ApiClient, id: string, signal?: AbortSignal): Promise<Download> {
  return client.download(`${BASE}/${encodeURIComponent(id)}/audio`, { signal });
}

/** The redacted copy of the upload (a job submitted with redact_pii_audio). */
export function jobRedactedAudio(client: ApiClient, id: string, signal?: AbortSignal): Promise<Download> {
  return client.download(`${BASE}/${encodeURIComponent(id)}/audio/redacted`, { signal });
}

export interface NewJob {
  file: File;
  model?: string;
  language?: string;
  timestampsGranularity?: string;
  speakerDetection?: SpeakerDetection;
  /** Diarization only: the exact number of speakers, or bounds on it (1-32). */
  numSpeakers?: number | null;
  minSpeakers?: number | null;
  maxSpeakers?: number | null;
  /** Forced alignment of word times; undefined leaves the server's default. */
  wordAlignment?: boolean;
  name?: string;
  vocabulary?: string[];
  piiDetection?: boolean;
  /** Entity types and/or categories (pii, phi, pci, other, offensive_language); empty = all. */
  piiEntityTypes?: string[];
  entityRedactionMode?: EntityRedactionMode;
  redactPiiAudio?: boolean;
  piiRedactionMode?: AudioRedactionMode;
  /** -1 or undefined: keep (the default, not sent); 0: delete after delivery; 1-3650: days. */
  retention?: number;
}

const isCount = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n);

/**
 * The multipart form of a native job. Options that are empty, or that the chosen
 * settings make meaningless (speaker counts without diarization, PII options
 * without PII detection), are left out: the server refuses them with a 400.
 */
export function jobForm(job: NewJob): FormData {
  const form = new FormData();
  form.append('file', job.file, job.file.name);
  if (job.model) form.append('model', job.model);
  if (job.language && job.language !== 'auto') form.append('language', job.language);
  if (job.timestampsGranularity) form.append('timestamps_granularity', job.timestampsGranularity);
  if (job.speakerDetection && job.speakerDetection !== 'none') {
    form.append('speaker_detection', job.speakerDetection);
  }
  if (job.speakerDetection === 'diarize') {
    if (isCount(job.numSpeakers)) form.append('num_speakers', String(job.numSpeakers));
    if (isCount(job.minSpeakers)) form.append('min_speakers', String(job.minSpeakers));
    if (isCount(job.maxSpeakers)) form.append('max_speakers', String(job.maxSpeakers));
  }
  if (job.wordAlignment !== undefined) form.append('word_alignment', String(job.wordAlignment));
  if (job.name?.trim()) form.append('name', job.name.trim());
  if (job.vocabulary?.length) form.append('vocabulary', JSON.stringify(job.vocabulary));
  if (job.piiDetection || job.redactPiiAudio) {
    if (job.piiDetection) form.append('pii_detection', 'true');
    const types = (job.piiEntityTypes ?? []).map((t) => t.trim()).filter(Boolean);
    if (types.length) form.append('pii_entity_types', types.join(','));
    if (job.entityRedactionMode) form.append('entity_redaction_mode', job.entityRedactionMode);
  }
  if (job.redactPiiAudio) {
    form.append('redact_pii_audio', 'true');
    if (job.piiRedactionMode) form.append('pii_redaction_mode', job.piiRedactionMode);
  }
  if (job.retention !== undefined && job.retention !== -1) form.append('retention', String(job.retention));
  return form;
}

/** How the form asks for a speaker count: let diarization estimate it, fix it, or bound it. */
export type SpeakerCount = 'auto' | 'exact' | 'range';

/** An optional speaker count from a text box: null when empty, NaN when not a whole number. */
function parseCount(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  return /^\d+$/.test(t) ? Number(t) : Number.NaN;
}

/** The speaker fields of a job, or an error naming the field that is wrong. */
export function speakerFields(
  mode: SpeakerCount,
  exact: string,
  min: string,
  max: string,
): Pick<NewJob, 'numSpeakers' | 'minSpeakers' | 'maxSpeakers'> | ApiError {
  const check = (param: string, text: string): number | null | ApiError => {
    const n = parseCount(text);
    if (n === null) return null;
    if (!Number.isInteger(n) || n < 1 || n > MAX_SPEAKERS) {
      return new ApiError(400, 'invalid_request', `Enter a whole number from 1 to ${MAX_SPEAKERS}.`, param);
    }
    return n;
  };
  if (mode === 'exact') {
    const n = check('num_speakers', exact);
    if (n instanceof ApiError) return n;
    if (n === null) return new ApiError(400, 'invalid_request', 'Enter the number of speakers.', 'num_speakers');
    return { numSpeakers: n };
  }
  if (mode === 'range') {
    const low = check('min_speakers', min);
    if (low instanceof ApiError) return low;
    const high = check('max_speakers', max);
    if (high instanceof ApiError) return high;
    if (low !== null && high !== null && low > high) {
      return new ApiError(400, 'invalid_request', 'The minimum must not exceed the maximum.', 'min_speakers');
    }
    return { minSpeakers: low, maxSpeakers: high };
  }
  return {};
}

/** The retention of a job from the form's choice and its days box, or an error naming the field. */
export function retentionField(mode: RetentionMode, days: string): Pick<NewJob, 'retention'> | ApiError {
  if (mode === 'keep') return {};
  if (mode === 'after_delivery') return { retention: 0 };
  const n = parseCount(days);
  if (n === null || !Number.isInteger(n) || n < 1 || n > MAX_RETENTION_DAYS) {
    return new ApiError(400, 'invalid_request', `Enter a whole number of days from 1 to ${MAX_RETENTION_DAYS}.`, 'retention');
  }
  return { retention: n };
}

export function submitJob(
  client: ApiClient,
  job: NewJob,
  onProgress?: (loaded: number, total: number) => void,
  signal?: AbortSignal,
): Promise<JobCreated> {
  return client.upload<JobCreated>(BASE, jobForm(job), { onProgress, signal });
}

/** Saves a Blob through a temporary link, as a browser download. */
export function saveBlob(blob: Blob, filename: string): void {
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
