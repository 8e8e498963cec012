import { JOB_STATUSES, config } from '../../../config';
import type { ApiClient } from '../../../lib/api-client';
import type { Health, JobStatus, Ready } from '../../../lib/api-types';
import { listJobs } from '../../jobs/api/jobs';

export function getHealth(client: ApiClient, signal?: AbortSignal): Promise<Health> {
  return client.get<Health>('/health', { signal, anonymous: true });
}

/** /ready answers 503 with the same body when a check fails: not an error here. */
export function getReady(client: ApiClient, signal?: AbortSignal): Promise<Ready> {
  return client.get<Ready>('/ready', { signal, anonymous: true, acceptStatus: [503] });
}

export interface StatusCount {
  status: JobStatus;
  count: number;
  /** More exist than one page counts. */
  more: boolean;
}

/** Jobs per status, from one page of the list endpoint per status. */
export async function countJobs(client: ApiClient, signal?: AbortSignal): Promise<StatusCount[]> {
  return Promise.all(
    JOB_STATUSES.map(async (status) => {
      const page = await listJobs(client, { status, limit: config.countPageSize }, signal);
      return { status, count: page.jobs.length, more: page.has_more };
    }),
  );
}
