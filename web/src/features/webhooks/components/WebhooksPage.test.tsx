import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Scope } from '../../../lib/api-types';
import { json, renderPage, stubApi, type Call } from '../../../testing/console';
import type { Delivery, Webhook } from '../api/webhooks';
import { WebhooksPage } from './WebhooksPage';

const hook = (overrides: Partial<Webhook> = {}): Webhook => ({
  id: 'wh1',
  url: 'https://example.com/hook',
  events: ['transcription.completed'],
  description: 'billing',
  enabled: true,
  disabled_reason: null,
  created_at: '2026-12-05T10:00:00Z',
  ...overrides,
});

const delivery = (overrides: Partial<Delivery> = {}): Delivery => ({
  id: 'd1',
  event_id: 'evt_1',
  event_type: 'transcription.completed',
  status: 'failed',
  attempts: 5,
  last_status_code: 500,
  last_error: 'HTTP 500',
  next_attempt_at: null,
  created_at: '2026-12-05T10:01:00Z',
  ...overrides,
});

describe('WebhooksPage', () => {
  let scopes: Scope[];
  let hooks: Webhook[];
  let calls: Call[];

  beforeEach(() => {
    scopes = ['webhooks'];
    hooks = [hook()];
    calls = stubApi(
      () => scopes,
      ({ method, url, body }) => {
        if (url.startsWith('/v1/webhooks?') && method === 'GET') return json({ webhooks: hooks, cursor: null, has_more: false });
        if (url === '/v1/webhooks' && method === 'POST') {
          const created = hook({ id: 'wh2', ...(body as Partial<Webhook>) });
          hooks = [...hooks, created];
          return json({ ...created, signing_secret: 'whsec_new' }, 201);
        }
        if (url === '/v1/webhooks/wh1/rotate-secret') return json({ ...hooks[0], signing_secret: 'whsec_rotated' });
        if (url === '/v1/webhooks/wh1' && method === 'DELETE') {
          hooks = [];
          return new Response(null, { status: 204 });
        }
        if (url === '/v1/webhooks/wh1' && method === 'PATCH') {
          hooks = [{ ...hooks[0]!, ...(body as Partial<Webhook>) }];
          return json(hooks[0]);
        }
        if (url.startsWith('/v1/webhooks/wh1/deliveries?'))
          return json({ deliveries: [delivery(), delivery({ id: 'd2', status: 'succeeded', attempts: 1, last_status_code: 200, last_error: null })], cursor: null, has_more: false });
        if (url === '/v1/webhooks/wh1/deliveries/d1/retry') return json(delivery({ status: 'pending' }), 202);
        return undefined;
      },
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  const writes = () => calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.url}`);

  it('adds an endpoint and shows its signing secret once', async () => {
    renderPage('/webhooks', '/webhooks', <WebhooksPage />);
    await screen.findByText('https://example.com/hook');
    fireEvent.change(screen.getByLabelText(/^URL/), { target: { value: 'https://example.org/in' } });
    fireEvent.click(screen.getByRole('checkbox', { name: /Job failed/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Add endpoint' }));
    const secret = await screen.findByLabelText(/Signing secret of/);
    expect((secret as HTMLInputElement).value).toBe('whsec_new');
    const post = calls.find((c) => c.method === 'POST')!;
    // The default events are completed and failed; unticking failed leaves completed.
    expect(post.body).toEqual({ url: 'https://example.org/in', events: ['transcription.completed'], description: null });
    await screen.findByText('https://example.org/in');
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByLabelText(/Signing secret of/)).toBeNull();
  });

  it('lists deliveries with their attempts and retries a failed one', async () => {
    renderPage('/webhooks', '/webhooks', <WebhooksPage />);
    fireEvent.click(await screen.findByRole('button', { name: 'Deliveries' }));
    const table = await screen.findByRole('table', { name: 'Deliveries' });
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(rows[1]!.textContent).toContain('failed');
    expect(rows[1]!.textContent).toContain('HTTP 500');
    // Only the failed delivery offers a retry.
    const retries = within(table).getAllByRole('button', { name: 'Retry' });
    expect(retries).toHaveLength(1);
    fireEvent.click(retries[0]!);
    await waitFor(() => expect(writes()).toEqual(['POST /v1/webhooks/wh1/deliveries/d1/retry']));
  });

  it('rotates the secret after asking, and disables the endpoint', async () => {
    renderPage('/webhooks', '/webhooks', <WebhooksPage />);
    fireEvent.click(await screen.findByRole('button', { name: 'Rotate secret' }));
    fireEvent.click(within(screen.getByRole('group', { name: 'Confirm' })).getByRole('button', { name: 'Rotate' }));
    const secret = await screen.findByLabelText(/Signing secret of/);
    expect((secret as HTMLInputElement).value).toBe('whsec_rotated');
    fireEvent.click(screen.getByRole('button', { name: 'Disable' }));
    await screen.findByRole('button', { name: 'Enable' });
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ enabled: false });
    expect(screen.getByText('disabled')).toBeTruthy();
  });

  it('edits an endpoint and deletes it after asking', async () => {
    renderPage('/webhooks', '/webhooks', <WebhooksPage />);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit' }));
    const form = screen.getByRole('form', { name: 'Edit endpoint' });
    expect((within(form).getByLabelText(/^URL/) as HTMLInputElement).value).toBe('https://example.com/hook');
    fireEvent.change(within(form).getByLabelText('Description'), { target: { value: 'billing v2' } });
    fireEvent.click(within(form).getByRole('checkbox', { name: /Every event/ }));
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('form', { name: 'Edit endpoint' })).toBeNull());
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({
      url: 'https://example.com/hook',
      events: ['transcription.completed', '*'],
      description: 'billing v2',
    });
    expect(await screen.findByText('billing v2')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    fireEvent.click(within(screen.getByRole('group', { name: 'Confirm' })).getByRole('button', { name: 'Delete endpoint' }));
    expect(await screen.findByText('No endpoints yet')).toBeTruthy();
    expect(writes()).toEqual(['PATCH /v1/webhooks/wh1', 'DELETE /v1/webhooks/wh1']);
  });

  it('shows the server refusing a URL beside the field', async () => {
    const original = vi.mocked(fetch).getMockImplementation()!;
    vi.mocked(fetch).mockImplementation(async (input, init) =>
      String(input) === '/v1/webhooks' && init?.method === 'POST'
        ? json(
            {
              error: {
                code: 'invalid_request',
                message: 'The URL points at a private address.',
                param: 'url',
                type: 'invalid_request_error',
              },
            },
            400,
          )
        : original(input, init),
    );
    renderPage('/webhooks', '/webhooks', <WebhooksPage />);
    await screen.findByText('https://example.com/hook');
    fireEvent.change(screen.getByLabelText(/^URL/), { target: { value: 'http://10.0.0.1/x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add endpoint' }));
    expect(await screen.findByText('The URL points at a private address.')).toBeTruthy();
    expect(screen.getByLabelText(/^URL/).getAttribute('aria-invalid')).toBe('true');
  });

  it('says which scope it needs', async () => {
    scopes = ['jobs:read'];
    renderPage('/webhooks', '/webhooks', <WebhooksPage />);
    expect(await screen.findByText('This key cannot manage webhooks')).toBeTruthy();
    expect(calls.some((c) => c.url.startsWith('/v1/webhooks'))).toBe(false);
  });
});
