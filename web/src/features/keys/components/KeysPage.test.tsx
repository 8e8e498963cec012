import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SCOPE_HELP } from '../../../config';
import type { KeyInfo, Scope } from '../../../lib/api-types';
import { json, renderPage, stubApi, type Call } from '../../../testing/console';
import { KeysPage } from './KeysPage';

const key = (overrides: Partial<KeyInfo> = {}): KeyInfo => ({
  id: 'k1',
  name: 'admin',
  prefix: 'dk_abcdefg',
  scopes: ['admin'],
  tenant_id: 'default',
  created_at: '2026-12-01T10:00:00Z',
  last_used_at: null,
  revoked_at: null,
  rate_limit: null,
  expires_at: null,
  ...overrides,
});

describe('KeysPage', () => {
  let keys: KeyInfo[];
  let calls: Call[];

  beforeEach(() => {
    keys = [key(), key({ id: 'k2', name: 'ci', scopes: ['jobs:read'], rate_limit: 30, expires_at: '2020-01-01T00:00:00Z' })];
    calls = stubApi(
      () => ['admin'] as Scope[],
      ({ method, url, body }) => {
        if (url === '/auth/keys' && method === 'GET') return json({ keys });
        if (url === '/auth/keys' && method === 'POST') {
          const made = key({ id: 'k3', ...(body as Partial<KeyInfo>) });
          keys = [...keys, made];
          return json({ ...made, key: 'dk_secret' }, 201);
        }
        return undefined;
      },
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  it('shows each key rate limit and expiry', async () => {
    renderPage('/keys', '/keys', <KeysPage />);
    const list = await screen.findByRole('list', { name: 'API keys' });
    const [admin, ci] = within(list).getAllByRole('listitem');
    expect(admin!.textContent).toContain('tenant default rate');
    expect(admin!.textContent).toContain('never expires');
    expect(ci!.textContent).toContain('30 requests/min');
    expect(within(ci!).getAllByText(/expired/).length).toBeGreaterThan(0);
  });

  it('creates a key with a rate limit and an expiry', async () => {
    renderPage('/keys', '/keys', <KeysPage />);
    await screen.findByRole('list', { name: 'API keys' });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'limited' } });
    fireEvent.change(screen.getByLabelText('Rate limit (requests per minute)'), { target: { value: '120' } });
    fireEvent.change(screen.getByLabelText('Expires'), { target: { value: '2030-01-02T03:04' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create key' }));
    expect(((await screen.findByLabelText('New API key')) as HTMLInputElement).value).toBe('dk_secret');
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.body).toEqual({
      name: 'limited',
      scopes: ['jobs:read', 'jobs:write'],
      rate_limit: 120,
      expires_at: new Date('2030-01-02T03:04').toISOString(),
    });
    await waitFor(() => expect(screen.getByText('120 requests/min', { exact: false })).toBeTruthy());
  });

  it('describes every scope as what it guards', () => {
    for (const help of Object.values(SCOPE_HELP)) expect(help).not.toMatch(/guards nothing/i);
    expect(SCOPE_HELP.realtime).toMatch(/stream/i);
    expect(SCOPE_HELP.webhooks).toMatch(/webhook endpoints/i);
    expect(SCOPE_HELP.admin).toMatch(/audit log/i);
  });
});
