import type { ApiClient } from '../../../lib/api-client';
import type { KeyCreated, KeyInfo, Scope } from '../../../lib/api-types';

export function listKeys(client: ApiClient, signal?: AbortSignal): Promise<{ keys: KeyInfo[] }> {
  return client.get<{ keys: KeyInfo[] }>('/auth/keys', { signal });
}

export interface NewKey {
  name: string;
  scopes: Scope[];
  tenant_id?: string;
}

export function createKey(client: ApiClient, body: NewKey): Promise<KeyCreated> {
  const json: NewKey = { name: body.name, scopes: body.scopes };
  if (body.tenant_id?.trim()) json.tenant_id = body.tenant_id.trim();
  return client.post<KeyCreated>('/auth/keys', json);
}

export function revokeKey(client: ApiClient, id: string): Promise<void> {
  return client.delete(`/auth/keys/${encodeURIComponent(id)}`);
}
