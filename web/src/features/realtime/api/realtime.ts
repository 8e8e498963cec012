import type { ApiClient, Download } from '../../../lib/api-client';
import type { RealtimeSession, RealtimeSessionList, RealtimeStatus, Segment } from '../../../lib/api-types';

const BASE = '/v1/realtime';

export function getRealtimeStatus(client: ApiClient, signal?: AbortSignal): Promise<RealtimeStatus> {
  return client.get<RealtimeStatus>(`${BASE}/status`, { signal });
}

export function listSessions(
  client: ApiClient,
  params: { limit?: number; cursor?: string | null },
  signal?: AbortSignal,
): Promise<RealtimeSessionList> {
  return client.get<RealtimeSessionList>(`${BASE}/sessions`, {
    query: { limit: params.limit, cursor: params.cursor },
    signal,
  });
}

export function deleteSession(client: ApiClient, id: string): Promise<void> {
  return client.delete(`${BASE}/sessions/${encodeURIComponent(id)}`);
}

export function sessionAudio(client: ApiClient, id: string): Promise<Download> {
  return client.download(`${BASE}/sessions/${encodeURIComponent(id)}/audio`);
}

export function getSession(client: ApiClient, id: string, signal?: AbortSignal): Promise<RealtimeSession> {
  return client.get<RealtimeSession>(`${BASE}/sessions/${encodeURIComponent(id)}`, { signal });
}

/** A session's finals as a transcript, the same shape as a job's. */
export interface SessionTranscript {
  text: string;
  language_code?: string | null;
  segments: Segment[];
  duration?: number | null;
}

export function getSessionTranscript(client: ApiClient, id: string, signal?: AbortSignal): Promise<SessionTranscript> {
  return client.get<SessionTranscript>(`${BASE}/sessions/${encodeURIComponent(id)}/transcript`, { signal });
}

export function exportSession(client: ApiClient, id: string, format: string): Promise<Download> {
  return client.download(`${BASE}/sessions/${encodeURIComponent(id)}/export/${format}`);
}
