import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Scope } from '../../../lib/api-types';
import { json, renderPage, stubApi, type Call } from '../../../testing/console';
import type { AuditEntry } from '../api/audit';
import { AuditPage, cleanFilters } from './AuditPage';

const entry = (n: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  id: `e${n}`,
  timestamp: `2026-12-05T10:0${n}:00Z`,
  tenant_id: 'default',
  actor_type: 'api_key',
  actor_id: 'k1',
  action: 'job.created',
  resource_type: 'job',
  resource_id: `job-${n}`,
  detail: { model: 'whisper-tiny.en' },
  ip_address: '127.0.0.1',
  user_agent: 'curl/8',
  ...overrides,
});

describe('AuditPage', () => {
  let scopes: Scope[];
  let calls: Call[];

  beforeEach(() => {
    scopes = ['admin'];
    calls = stubApi(
      () => scopes,
      ({ url }) => {
        if (!url.startsWith('/v1/audit?')) return undefined;
        const query = new URL(url, 'http://x').searchParams;
        if (query.get('cursor') === 'c2') return json({ events: [entry(3)], cursor: null, has_more: false });
        if (query.get('action') === 'key.revoked')
          return json({
            events: [entry(9, { action: 'key.revoked', resource_type: 'api_key', resource_id: 'k9', detail: { name: 'ci' } })],
            cursor: null,
            has_more: false,
          });
        return json({ events: [entry(1), entry(2)], cursor: 'c2', has_more: true });
      },
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  it('lists entries and pages on with the cursor', async () => {
    renderPage('/audit', '/audit', <AuditPage />);
    const table = await screen.findByRole('table', { name: 'Audit entries' });
    expect(within(table).getAllByRole('row')).toHaveLength(3);
    // A job's id links to its page.
    expect(within(table).getByRole('link', { name: 'job-1' }).getAttribute('href')).toBe('/jobs/job-1');
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(4));
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });

  it('sends the filters the API takes', async () => {
    renderPage('/audit', '/audit', <AuditPage />);
    await screen.findByRole('table', { name: 'Audit entries' });
    fireEvent.change(screen.getByLabelText('Action'), { target: { value: 'key.revoked' } });
    fireEvent.change(screen.getByLabelText('Resource type'), { target: { value: 'api_key' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await screen.findByText('key.revoked');
    const last = new URL(calls.filter((c) => c.url.startsWith('/v1/audit')).pop()!.url, 'http://x');
    expect(last.searchParams.get('action')).toBe('key.revoked');
    expect(last.searchParams.get('resource_type')).toBe('api_key');
    expect(last.searchParams.has('resource_id')).toBe(false);
    expect(screen.getByText('{"name":"ci"}')).toBeTruthy();
  });

  it('is for admins only', async () => {
    scopes = ['jobs:read', 'jobs:write'];
    renderPage('/audit', '/audit', <AuditPage />);
    expect(await screen.findByText('Admins only')).toBeTruthy();
    expect(calls.some((c) => c.url.startsWith('/v1/audit'))).toBe(false);
  });

  it('turns local times into instants and drops empty filters', () => {
    const out = cleanFilters({
      action: ' job.created ',
      resource_type: '',
      resource_id: '',
      actor_id: '',
      since: '2026-12-05T10:00',
      until: 'not a date',
    });
    expect(out).toEqual({ action: 'job.created', since: new Date('2026-12-05T10:00').toISOString() });
  });
});
