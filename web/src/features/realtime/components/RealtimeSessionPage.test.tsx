import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RealtimeSession, Scope } from '../../../lib/api-types';
import { json, renderPage, stubApi, type Call } from '../../../testing/console';
import { RealtimeSessionPage } from './RealtimeSessionPage';

const session = (overrides: Partial<RealtimeSession> = {}): RealtimeSession => ({
  id: 'sess-1',
  protocol: 'native',
  model: 'whisper-tiny.en',
  language: 'en',
  status: 'completed',
  started_at: '2026-12-05T10:00:00Z',
  ended_at: '2026-12-05T10:00:11Z',
  audio_seconds: 11,
  transcript: 'And so my fellow Americans. Ask not.',
  has_audio: true,
  error: null,
  purge_after: null,
  batch_job_id: 'job-42',
  ...overrides,
});

describe('RealtimeSessionPage', () => {
  let record: RealtimeSession;
  let calls: Call[];

  beforeEach(() => {
    record = session();
    URL.createObjectURL = vi.fn(() => 'blob:audio');
    URL.revokeObjectURL = vi.fn();
    calls = stubApi(
      () => ['jobs:read', 'jobs:write'] as Scope[],
      ({ url }) => {
        if (url === '/v1/realtime/sessions/sess-1') return json(record);
        if (url === '/v1/realtime/sessions/sess-1/transcript')
          return json({
            text: 'And so my fellow Americans. Ask not.',
            segments: [
              { id: 0, start: 0.3, end: 2.1, text: ' And so my fellow Americans.' },
              { id: 1, start: 3.0, end: 4.2, text: ' Ask not.' },
            ],
          });
        if (url === '/v1/realtime/sessions/sess-1/audio') return new Response(new Blob(['RIFF']), { headers: { 'Content-Type': 'audio/wav' } });
        if (url === '/v1/realtime/sessions/sess-1/export/srt')
          return new Response('1\n00:00:00,300 --> 00:00:02,100\nAnd so\n', {
            headers: { 'Content-Disposition': 'attachment; filename="sess-1.srt"' },
          });
        if (url === '/v1/realtime/sessions/gone') return json({ error: { code: 'not_found', message: 'No session gone.' } }, 404);
        return undefined;
      },
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  it('shows the transcript, the batch job and plays the kept audio', async () => {
    renderPage('/realtime/sess-1', '/realtime/:id', <RealtimeSessionPage />);
    const list = await screen.findByRole('list', { name: 'Session transcript' });
    expect(list.textContent).toContain('And so my fellow Americans.');
    expect(list.textContent).toContain('0:03.0');
    expect(screen.getByRole('link', { name: 'Batch job' }).getAttribute('href')).toBe('/jobs/job-42');
    fireEvent.click(screen.getByRole('button', { name: 'Load audio' }));
    const audio = await screen.findByLabelText('Session audio');
    expect(audio.getAttribute('src')).toBe('blob:audio');
  });

  it('exports through the session export route', async () => {
    renderPage('/realtime/sess-1', '/realtime/:id', <RealtimeSessionPage />);
    await screen.findByRole('list', { name: 'Session transcript' });
    const saved: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download);
    });
    fireEvent.click(screen.getByRole('button', { name: 'Download SRT' }));
    await waitFor(() => expect(saved).toEqual(['sess-1.srt']));
    expect(calls.some((c) => c.url === '/v1/realtime/sessions/sess-1/export/srt')).toBe(true);
  });

  it('says when the audio was not kept, and when the session is gone', async () => {
    record = session({ has_audio: false, batch_job_id: null });
    renderPage('/realtime/sess-1', '/realtime/:id', <RealtimeSessionPage />);
    expect(await screen.findByText(/Not kept/)).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'Batch job' })).toBeNull();
    cleanup();
    renderPage('/realtime/gone', '/realtime/:id', <RealtimeSessionPage />);
    expect(await screen.findByText('No such session')).toBeTruthy();
  });
});
