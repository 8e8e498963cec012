import type { ApiClient } from '../../../lib/api-client';
import type { KeyCreated, KeyInfo, Scope } from '../../../lib/api-types';

export function listKeys(client: ApiClient, signal?: AbortSignal): Promise<{ keys: KeyInfo[] }> {
  return client.get<{ keys: KeyInfo[] }>('/auth/keys', { signal });
}

export interface NewKey {
  name: string;
  scopes: Scope[];
  tenant_id?: string;
  /** Requests per minute; leave out for the tenant's default. */
  rate_limit?: number | null;
  /** An ISO instant after which the key is refused; leave out for never. */
  expires_at?: string | null;
}

export function createKey(client: ApiClient, body: NewKey): Promise<KeyCreated> {
  const json: NewKey = { name: body.name, scopes: body.scopes };
  if (body.tenant_id?.trim()) json.tenant_id = body.tenant_id.trim();
  if (body.rate_limit) json.rate_limit = body.rate_limit;
  if (body.expires_at) json.expires_at = body.expires_at;
  return client.post<KeyCreated>('/auth/keys', json);
}

export function revokeKey(client: ApiClient, id: string): Promise<void> {
  return client.delete(`/auth/keys/${encodeURIComponent(id)}`);
}
