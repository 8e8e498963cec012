/** `GET /v1/audit`: who did what to which resource (scope `admin`). */
import type { ApiClient } from '../../../lib/api-client';

export interface AuditEntry {
  id: string;
  timestamp: string;
  tenant_id: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string;
  detail: Record<string, unknown>;
  ip_address: string | null;
  user_agent: string | null;
}

export interface AuditList {
  events: AuditEntry[];
  cursor: string | null;
  has_more: boolean;
}

/** Every filter the route takes; empty ones are left out of the URL. */
export interface AuditFilters {
  action?: string;
  resource_type?: string;
  resource_id?: string;
  actor_id?: string;
  /** ISO 8601 instants, inclusive / exclusive. */
  since?: string;
  until?: string;
}

/** The resource types the server records (docs/api.md, Audit log). */
export const RESOURCE_TYPES = ['api_key', 'job', 'session', 'webhook'] as const;

/** The actions the server records, for the filter's suggestions. */
export const AUDIT_ACTIONS = [
  'key.created',
  'key.revoked',
  'job.created',
  'job.cancelled',
  'job.deleted',
  'job.audio_deleted',
  'session.deleted',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.secret_rotated',
] as const;

export const AUDIT_PAGE_SIZE = 50;

export function listAudit(
  client: ApiClient,
  filters: AuditFilters,
  cursor?: string | null,
  signal?: AbortSignal,
): Promise<AuditList> {
  return client.get<AuditList>('/v1/audit', {
    query: { ...filters, limit: AUDIT_PAGE_SIZE, cursor },
    signal,
  });
}
