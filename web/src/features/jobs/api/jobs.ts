import { TERMINAL_STATUSES } from '../../../config';
import type { ApiClient, Download } from '../../../lib/api-client';
import type { Job, JobCreated, JobList, JobStatus } from '../../../lib/api-types';

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

export type ExportFormat = 'srt' | 'vtt' | 'txt' | 'json';

export function exportJob(client: ApiClient, id: string, format: ExportFormat): Promise<Download> {
  return client.download(`${BASE}/${encodeURIComponent(id)}/export/${format}`);
}

/** The original upload, fetched with the key in a header (never in a URL). */
export function jobAudio(client: ApiClient, id: string, signal?: AbortSignal): Promise<Download> {
  return client.download(`${BASE}/${encodeURIComponent(id)}/audio`, { signal });
}

export interface NewJob {
  file: File;
  model?: string;
  language?: string;
  timestampsGranularity?: string;
  speakerDetection?: 'none' | 'per_channel';
  name?: string;
  vocabulary?: string[];
}

/** The multipart form of a native job; empty options are left out. */
export function jobForm(job: NewJob): FormData {
  const form = new FormData();
  form.append('file', job.file, job.file.name);
  if (job.model) form.append('model', job.model);
  if (job.language && job.language !== 'auto') form.append('language', job.language);
  if (job.timestampsGranularity) form.append('timestamps_granularity', job.timestampsGranularity);
  if (job.speakerDetection && job.speakerDetection !== 'none') {
    form.append('speaker_detection', job.speakerDetection);
  }
  if (job.name?.trim()) form.append('name', job.name.trim());
  if (job.vocabulary?.length) form.append('vocabulary', JSON.stringify(job.vocabulary));
  return form;
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
