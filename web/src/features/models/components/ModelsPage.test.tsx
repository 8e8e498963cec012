import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../../../app/providers/auth';
import { RequireAuth } from '../../../app/RequireAuth';
import { config } from '../../../config';
import type { Model, Scope } from '../../../lib/api-types';
import { ModelsPage } from './ModelsPage';

function model(id: string, overrides: Partial<Model> = {}): Model {
  return {
    id,
    object: 'model',
    engine_id: 'faster-whisper',
    stage: 'transcribe',
    status: 'not_downloaded',
    languages: null,
    word_timestamps: true,
    size_bytes: 483_000_000,
    supports_cpu: true,
    supports_gpu: true,
    source: 'hub',
    description: null,
    loaded: false,
    ...overrides,
  };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('ModelsPage', () => {
  const writes: Array<{ method: string; url: string }> = [];
  let scopes: Scope[];
  let models: Model[];
  let pullAnswer: Response | null;

  beforeEach(() => {
    writes.length = 0;
    scopes = ['admin'];
    pullAnswer = null;
    models = [
      model('whisper-tiny.en', { source: 'package', status: 'ready', loaded: true, languages: ['en'] }),
      model('whisper-small'),
      model('whisper-medium', { status: 'ready' }),
    ];
    sessionStorage.setItem(config.apiKeyStorageKey, 'dk_test');
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = String(input);
        const method = init?.method ?? 'GET';
        if (method !== 'GET') writes.push({ method, url });
        if (url.startsWith('/auth/me')) return json({ key_id: 'k1', tenant_id: 'default', scopes });
        if (url.endsWith('/v1/models/whisper-small/pull') && method === 'POST') {
          if (pullAnswer) return pullAnswer;
          models = models.map((m) =>
            m.id === 'whisper-small' ? { ...m, status: 'downloading', download_progress: 0.42 } : m,
          );
          return json(models[1], 202);
        }
        if (url.endsWith('/v1/models/whisper-medium') && method === 'DELETE') {
          models = models.map((m) => (m.id === 'whisper-medium' ? { ...m, status: 'not_downloaded' } : m));
          return new Response(null, { status: 204 });
        }
        if (url.endsWith('/v1/models')) return json({ object: 'list', data: models });
        return new Response('{}', { status: 404 });
      }),
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  function renderPage() {
    render(
      <MemoryRouter initialEntries={['/models']}>
        <AuthProvider>
          <Routes>
            <Route element={<RequireAuth />}>
              <Route path="/models" element={<ModelsPage />} />
            </Route>
          </Routes>
        </AuthProvider>
      </MemoryRouter>,
    );
  }

  it('downloads a hub model and shows its progress', async () => {
    renderPage();
    const download = await screen.findByRole('button', { name: 'Download' });
    // Only hub models have actions: the packaged one is loaded, with none.
    expect(screen.getByText('loaded')).toBeTruthy();
    fireEvent.click(download);
    await waitFor(() => expect(screen.getByText('downloading 42%')).toBeTruthy());
    expect(writes).toEqual([{ method: 'POST', url: '/v1/models/whisper-small/pull' }]);
  });

  it('removes a downloaded hub model after asking', async () => {
    renderPage();
    fireEvent.click(await screen.findByRole('button', { name: 'Remove' }));
    fireEvent.click(within(screen.getByRole('group', { name: 'Confirm' })).getByRole('button', { name: 'Remove' }));
    await waitFor(() => expect(writes).toEqual([{ method: 'DELETE', url: '/v1/models/whisper-medium' }]));
    await waitFor(() => expect(screen.getAllByRole('button', { name: 'Download' })).toHaveLength(2));
  });

  it('shows why a download was refused', async () => {
    pullAnswer = json(
      { error: { code: 'model_unavailable', message: 'Cannot download model whisper-small: the hub is unreachable.', param: null } },
      503,
    );
    renderPage();
    fireEvent.click(await screen.findByRole('button', { name: 'Download' }));
    expect((await screen.findByRole('alert')).textContent).toContain('the hub is unreachable');
  });

  it('offers no actions without the admin scope', async () => {
    scopes = ['jobs:read'];
    renderPage();
    await screen.findByText('whisper-small');
    expect(screen.queryByRole('button', { name: 'Download' })).toBeNull();
    expect(screen.getByText('Downloads and removals need an admin key')).toBeTruthy();
  });
});
