/** `/v1/webhooks`: endpoints, their signing secrets and deliveries (scope `webhooks`). */
import type { ApiClient } from '../../../lib/api-client';

export const WEBHOOK_EVENTS = [
  { value: 'transcription.completed', label: 'Job completed' },
  { value: 'transcription.failed', label: 'Job failed' },
  { value: 'transcription.cancelled', label: 'Job cancelled' },
  { value: '*', label: 'Every event' },
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]['value'];

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  /** Why the server disabled it (too many failures in a row), if it did. */
  disabled_reason: string | null;
  created_at: string;
}

export interface WebhookWithSecret extends Webhook {
  /** Shown once: when created and when rotated. */
  signing_secret: string;
}

export interface WebhookList {
  webhooks: Webhook[];
  cursor: string | null;
  has_more: boolean;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
}

export interface DeliveryList {
  deliveries: Delivery[];
  cursor: string | null;
  has_more: boolean;
}

export interface WebhookInput {
  url: string;
  events: WebhookEvent[];
  description?: string | null;
}

const BASE = '/v1/webhooks';
const one = (id: string) => `${BASE}/${encodeURIComponent(id)}`;

export function listWebhooks(client: ApiClient, cursor?: string | null, signal?: AbortSignal): Promise<WebhookList> {
  return client.get<WebhookList>(BASE, { query: { limit: 100, cursor }, signal });
}

export function createWebhook(client: ApiClient, body: WebhookInput): Promise<WebhookWithSecret> {
  return client.post<WebhookWithSecret>(BASE, {
    url: body.url.trim(),
    events: body.events,
    description: body.description?.trim() || null,
  });
}

export function updateWebhook(
  client: ApiClient,
  id: string,
  changes: Partial<WebhookInput> & { enabled?: boolean },
): Promise<Webhook> {
  return client.patch<Webhook>(one(id), changes);
}

export function deleteWebhook(client: ApiClient, id: string): Promise<void> {
  return client.delete(one(id));
}

export function rotateSecret(client: ApiClient, id: string): Promise<WebhookWithSecret> {
  return client.post<WebhookWithSecret>(`${one(id)}/rotate-secret`);
}

export function listDeliveries(
  client: ApiClient,
  id: string,
  cursor?: string | null,
  signal?: AbortSignal,
): Promise<DeliveryList> {
  return client.get<DeliveryList>(`${one(id)}/deliveries`, { query: { limit: 20, cursor }, signal });
}

export function retryDelivery(client: ApiClient, id: string, deliveryId: string): Promise<Delivery> {
  return client.post<Delivery>(`${one(id)}/deliveries/${encodeURIComponent(deliveryId)}/retry`);
}
