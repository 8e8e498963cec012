import type { ApiClient, Download } from '../../../lib/api-client';
import type { RealtimeSessionList, RealtimeStatus } from '../../../lib/api-types';

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
