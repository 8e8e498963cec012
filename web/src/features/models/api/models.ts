import type { ApiClient } from '../../../lib/api-client';
import type { Model, ModelList } from '../../../lib/api-types';

export function listModels(client: ApiClient, signal?: AbortSignal): Promise<ModelList> {
  return client.get<ModelList>('/v1/models', { signal });
}

/** Start downloading a hub model (admin). The answer is the model, now `downloading`. */
export function pullModel(client: ApiClient, id: string): Promise<Model> {
  return client.post<Model>(`/v1/models/${encodeURIComponent(id)}/pull`);
}

/** Remove a hub model's downloaded weights (admin). */
export function removeModel(client: ApiClient, id: string): Promise<void> {
  return client.delete(`/v1/models/${encodeURIComponent(id)}`);
}
