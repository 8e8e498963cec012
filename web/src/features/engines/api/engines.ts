import type { ApiClient } from '../../../lib/api-client';
import type { EngineList } from '../../../lib/api-types';

export function listEngines(client: ApiClient, signal?: AbortSignal): Promise<EngineList> {
  return client.get<EngineList>('/v1/engines', { signal });
}
