import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../../../app/providers/auth';
import { config } from '../../../config';
import type { JobSummary } from '../../../lib/api-types';
import { JobsPage } from './JobsPage';

function job(id: string, name: string): JobSummary {
  return {
    id,
    status: 'completed',
    display_name: name,
    model: 'whisper-tiny.en',
    created_at: '2026-11-25T11:00:00Z',
    completed_at: '2026-11-25T11:00:03Z',
    audio_duration_seconds: 11,
    language_code: 'en',
    error: null,
  };
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });

describe('JobsPage', () => {
  const urls: string[] = [];

  beforeEach(() => {
    urls.length = 0;
    sessionStorage.setItem(config.apiKeyStorageKey, 'dk_test');
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL) => {
        const url = String(input);
        urls.push(url);
        if (url.includes('cursor=c1')) return json({ jobs: [job('3', 'gamma.wav')], cursor: null, has_more: false });
        return json({ jobs: [job('1', 'alpha.wav'), job('2', 'beta.mp3')], cursor: 'c1', has_more: true });
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
      <MemoryRouter initialEntries={['/jobs']}>
        <AuthProvider>
          <JobsPage />
        </AuthProvider>
      </MemoryRouter>,
    );
  }

  it('pages with the cursor and searches the loaded jobs by name', async () => {
    renderPage();
    await screen.findByText('alpha.wav');
    expect(urls[0]).toBe('/v1/audio/transcriptions?limit=20');

    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('gamma.wav');
    expect(urls[1]).toBe('/v1/audio/transcriptions?limit=20&cursor=c1');
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull());

    fireEvent.change(screen.getByLabelText('Search by name'), { target: { value: 'GAM' } });
    expect(screen.queryByText('alpha.wav')).toBeNull();
    expect(screen.getByText('gamma.wav')).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Search by name'), { target: { value: 'nothing' } });
    expect(screen.getByText('No job matches your search')).toBeTruthy();
  });
});
