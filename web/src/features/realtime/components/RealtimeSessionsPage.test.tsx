import { cleanup, render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../../../app/providers/auth';
import { RequireAuth } from '../../../app/RequireAuth';
import { config } from '../../../config';
import type { RealtimeSession } from '../../../lib/api-types';
import { RealtimeSessionsPage } from './RealtimeSessionsPage';

function session(id: string, overrides: Partial<RealtimeSession> = {}): RealtimeSession {
  return {
    id,
    protocol: 'native',
    model: 'whisper-tiny.en',
    language: 'en',
    status: 'completed',
    started_at: '2026-12-05T09:00:00Z',
    ended_at: '2026-12-05T09:00:11Z',
    audio_seconds: 11,
    transcript: 'And so my fellow Americans.',
    has_audio: false,
    error: null,
    purge_after: null,
    batch_job_id: null,
    ...overrides,
  };
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });

describe('RealtimeSessionsPage', () => {
  beforeEach(() => {
    sessionStorage.setItem(config.apiKeyStorageKey, 'dk_test');
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL) => {
        const url = String(input);
        if (url.startsWith('/auth/me')) return json({ key_id: 'k1', tenant_id: 'default', scopes: ['admin'] });
        if (url.includes('/v1/realtime/status')) {
          return json({ status: 'ready', capacity: 4, active: 0, available: 4, workers: 1 });
        }
        if (url.includes('/v1/realtime/sessions')) {
          return json({
            sessions: [session('s-hybrid', { batch_job_id: 'job-42' }), session('s-plain')],
            cursor: null,
            has_more: false,
          });
        }
        return new Response('{}', { status: 404 });
      }),
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  it('links a hybrid session to its batch job', async () => {
    render(
      <MemoryRouter initialEntries={['/realtime']}>
        <AuthProvider>
          <Routes>
            <Route element={<RequireAuth />}>
              <Route path="/realtime" element={<RealtimeSessionsPage />} />
            </Route>
          </Routes>
        </AuthProvider>
      </MemoryRouter>,
    );
    const links = await screen.findAllByRole('link', { name: 'Batch transcript' });
    expect(links).toHaveLength(1);
    expect(links[0]?.getAttribute('href')).toBe('/jobs/job-42');
  });
});
