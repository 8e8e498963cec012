import { cleanup, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Scope } from '../../../lib/api-types';
import { json, renderPage, stubApi } from '../../../testing/console';
import type { DayUsage, TaskBoard } from '../api/operations';
import { DashboardPage } from './DashboardPage';

const day = (date: string, overrides: Partial<DayUsage> = {}): DayUsage => ({
  date,
  completed: 0,
  failed: 0,
  audio_seconds: 0,
  processing_seconds: 0,
  rtfx: null,
  ...overrides,
});

const board: TaskBoard = {
  tasks: [
    {
      id: 't1',
      job_id: 'job-1',
      job_name: 'call.wav',
      tenant_id: 'default',
      stage: 'transcribe',
      engine_id: 'faster-whisper',
      status: 'running',
      attempts: 1,
      queued_at: '2026-12-05T10:00:00Z',
      started_at: '2026-12-05T10:00:01Z',
      waited_s: 1.2,
      running_s: 4.5,
    },
    {
      id: 't2',
      job_id: 'job-2',
      job_name: null,
      tenant_id: 'default',
      stage: 'transcribe',
      engine_id: 'faster-whisper',
      status: 'queued',
      attempts: 1,
      queued_at: '2026-12-05T10:00:02Z',
      started_at: null,
      waited_s: 3.0,
      running_s: null,
    },
  ],
  has_more: false,
  by_engine: { 'faster-whisper': { running: 1, queued: 1, waiting: 0 } },
};

describe('DashboardPage', () => {
  let scopes: Scope[];

  beforeEach(() => {
    scopes = ['admin'];
    stubApi(
      () => scopes,
      ({ url }) => {
        if (url.startsWith('/v1/jobs/stats'))
          return json({
            running: 1,
            queued: 1,
            completed_today: 3,
            failed_today: 1,
            audio_seconds_today: 7200,
            daily: [
              day('2026-12-04', { completed: 2, audio_seconds: 3600, processing_seconds: 400, rtfx: 9 }),
              day('2026-12-05', { completed: 3, failed: 1, audio_seconds: 7200, processing_seconds: 600, rtfx: 12 }),
            ],
          });
        if (url.startsWith('/v1/queue')) return json(board);
        if (url === '/v1/engines') return json({ engines: [], queue_depth: { 'faster-whisper': 1, 'audio-prepare': 0 } });
        if (url === '/v1/realtime/status') return json({ capacity: 4, active: 2, available: 2, workers: 1 });
        if (url.startsWith('/v1/audio/transcriptions')) return json({ jobs: [], cursor: null, has_more: false });
        if (url === '/v1/models') return json({ object: 'list', data: [] });
        if (url === '/health') return json({ status: 'healthy', version: '0.1.0' });
        if (url === '/ready') return json({ status: 'ready', checks: {} });
        return undefined;
      },
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  it('charts usage per day, shows what runs now and the queue board', async () => {
    renderPage('/', '/', <DashboardPage />);
    const jobs = await screen.findByRole('table', { name: 'Jobs per day', hidden: true });
    const rows = within(jobs).getAllByRole('row', { hidden: true });
    expect(rows[2]!.textContent).toBe('2026-12-0531');
    const audio = screen.getByRole('table', { name: 'Audio hours per day', hidden: true });
    expect(within(audio).getAllByRole('row', { hidden: true })[2]!.textContent).toContain('2.0 h');
    const speed = screen.getByRole('table', { name: 'Speed (RTFx) per day', hidden: true });
    expect(within(speed).getAllByRole('row', { hidden: true })[1]!.textContent).toContain('9.0×');

    expect((await screen.findByText('2/4')).textContent).toBe('2/4');
    const depth = screen.getByRole('list', { name: 'Queue depth per engine' });
    expect(within(depth).getByText('1 waiting')).toBeTruthy();

    const queue = await screen.findByRole('table', { name: 'Queue board' });
    const tasks = within(queue).getAllByRole('row').slice(1);
    expect(tasks.map((r) => r.getAttribute('data-task-status'))).toEqual(['running', 'queued']);
    expect(within(tasks[0]!).getByRole('link', { name: 'call.wav' }).getAttribute('href')).toBe('/jobs/job-1');
    expect(tasks[0]!.textContent).toContain('4.50 s');
  });

  it('leaves the queue board to admins', async () => {
    scopes = ['jobs:read'];
    renderPage('/', '/', <DashboardPage />);
    await screen.findByRole('table', { name: 'Jobs per day', hidden: true });
    expect(screen.queryByRole('table', { name: 'Queue board' })).toBeNull();
  });
});
