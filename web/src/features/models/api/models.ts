import type { ApiClient } from '../../../lib/api-client';
import type { ModelList } from '../../../lib/api-types';

export function listModels(client: ApiClient, signal?: AbortSignal): Promise<ModelList> {
  return client.get<ModelList>('/v1/models', { signal });
}
