import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../../../app/providers/auth';
import { RequireAuth } from '../../../app/RequireAuth';
import { config } from '../../../config';
import type { Job, Scope, Stage } from '../../../lib/api-types';
import { formatDate } from '../../../lib/format';
import { JobDetailPage } from './JobDetailPage';

function stage(name: string, engine: string): Stage {
  return {
    stage: name,
    engine_id: engine,
    status: 'succeeded',
    started_at: '2026-11-25T11:00:00Z',
    completed_at: '2026-11-25T11:00:01Z',
    duration_ms: 120,
    retries: 0,
    error: null,
  };
}

const TEXT = 'This is Diane in New Jersey. And I am Sheila.';

function makeJob(overrides: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    status: 'completed',
    display_name: 'call.wav',
    model: 'whisper-tiny.en',
    created_at: '2026-11-25T11:00:00Z',
    started_at: '2026-11-25T11:00:00Z',
    completed_at: '2026-11-25T11:00:09Z',
    audio_duration_seconds: 30,
    language_code: 'en',
    language_probability: 1,
    error: null,
    stages: [
      stage('prepare', 'audio-prepare'),
      stage('transcribe', 'faster-whisper'),
      stage('align', 'pocketsphinx-align'),
      stage('diarize', 'resemblyzer-diarize'),
      stage('merge', 'transcript-merge'),
      stage('pii', 'presidio-pii'),
      stage('redact', 'audio-redact'),
    ],
    parameters: {
      timestamps_granularity: 'word',
      speaker_detection: 'diarize',
      need_word_times: true,
      align: true,
      num_speakers: 2,
      pii_detection: true,
      redact_pii_audio: true,
      pii_redaction_mode: 'beep',
    },
    text: TEXT,
    segments: [
      {
        id: 0,
        start: 8.5,
        end: 10.2,
        text: ' This is Diane in New Jersey.',
        speaker: 'SPEAKER_00',
        words: [
          { text: ' This', start: 8.5, end: 8.7, speaker: 'SPEAKER_00' },
          { text: ' is', start: 8.7, end: 8.9, speaker: 'SPEAKER_00' },
          { text: ' Diane', start: 9.1, end: 9.5, speaker: 'SPEAKER_00' },
          { text: ' in', start: 9.5, end: 9.6, speaker: 'SPEAKER_00' },
          { text: ' New', start: 9.6, end: 9.8, speaker: 'SPEAKER_00' },
          { text: ' Jersey.', start: 9.8, end: 10.2, speaker: 'SPEAKER_00' },
        ],
      },
      {
        id: 1,
        start: 10.4,
        end: 11.4,
        text: ' And I am Sheila.',
        speaker: 'SPEAKER_01',
        words: [
          { text: ' And', start: 10.4, end: 10.5, speaker: 'SPEAKER_01' },
          { text: ' I', start: 10.5, end: 10.6, speaker: 'SPEAKER_01' },
          { text: ' am', start: 10.6, end: 10.9, speaker: 'SPEAKER_01' },
          { text: ' Sheila.', start: 11.0, end: 11.4, speaker: 'SPEAKER_01' },
        ],
      },
    ],
    speakers: [
      { id: 'SPEAKER_00', label: null, channel: null },
      { id: 'SPEAKER_01', label: null, channel: null },
    ],
    words: null,
    pii: { entity_types: ['PERSON', 'LOCATION'], entity_count: 3, redacted_audio: true, redaction_mode: 'beep' },
    entities: [
      { text: 'Diane', entity_type: 'PERSON', start_char: 8, end_char: 13, start: 9.1, end: 9.5, confidence: 0.85 },
      { text: 'New Jersey', entity_type: 'LOCATION', start_char: 17, end_char: 27, start: 9.6, end: 10.2, confidence: 0.85 },
      { text: 'Sheila', entity_type: 'PERSON', start_char: 38, end_char: 44, start: 11.0, end: 11.4, confidence: 0.85 },
    ],
    redacted_text: 'This is {PERSON} in {LOCATION}. And I am {PERSON}.',
    warnings: ['align: 1 of 10 words kept Whisper times'],
    ...overrides,
  };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const failure = (status: number, code: string, message: string, param: string | null = null) =>
  json({ error: { code, message, param, type: 'invalid_request_error' } }, status);

describe('JobDetailPage', () => {
  const urls: string[] = [];
  /** Every request other than a GET: method, URL and JSON body. */
  const writes: Array<{ method: string; url: string; body: unknown }> = [];
  let job: Job;
  let scopes: Scope[];
  let audioStored: boolean;
  /** Answers the next write instead of the fake server, when set. */
  let refuseWrite: Response | null;

  beforeEach(() => {
    urls.length = 0;
    writes.length = 0;
    job = makeJob();
    scopes = ['admin'];
    audioStored = true;
    refuseWrite = null;
    sessionStorage.setItem(config.apiKeyStorageKey, 'dk_test');
    // jsdom has no Blob URLs.
    URL.createObjectURL = vi.fn((blob: Blob) => `blob:${blob.size}`);
    URL.revokeObjectURL = vi.fn();
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = String(input);
        const method = init?.method ?? 'GET';
        urls.push(url);
        if (method !== 'GET') {
          writes.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : null });
          if (refuseWrite) return refuseWrite;
        }
        if (url.startsWith('/auth/me')) return json({ key_id: 'k1', tenant_id: 'default', scopes });
        if (url.endsWith('/audio') && method === 'DELETE') {
          audioStored = false;
          return new Response(null, { status: 204 });
        }
        if (url.includes('/job-1/audio') && !audioStored) {
          return failure(404, 'not_found', 'The audio of job job-1 is no longer stored.');
        }
        if (url.endsWith('/audio/redacted')) return new Response(new Blob(['redacted!']), { status: 200 });
        if (url.endsWith('/audio')) return new Response(new Blob(['orig']), { status: 200 });
        if (url.endsWith('/v1/audio/transcriptions/job-1') && method === 'PATCH') {
          job = { ...job, display_name: (JSON.parse(String(init?.body)) as { display_name: string }).display_name };
          return json(job);
        }
        if (url.endsWith('/v1/audio/transcriptions/job-1')) return json(job);
        return new Response('{}', { status: 404 });
      }),
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  async function renderPage() {
    render(
      <MemoryRouter initialEntries={['/jobs/job-1']}>
        <AuthProvider>
          <Routes>
            <Route element={<RequireAuth />}>
              <Route path="/jobs/:id" element={<JobDetailPage />} />
            </Route>
          </Routes>
        </AuthProvider>
      </MemoryRouter>,
    );
    await screen.findByRole('heading', { name: 'call.wav' });
  }

  it('labels each segment with its speaker', async () => {
    await renderPage();
    const transcript = screen.getByRole('group', { name: 'Transcript text' });
    const labels = Array.from(transcript.querySelectorAll('[data-speaker-label]')).map((el) => el.textContent);
    expect(labels).toEqual(['SPEAKER_00', 'SPEAKER_01']);
    expect(screen.getByText(/2 speakers · click a word/)).toBeTruthy();
  });

  it('lists the entities, and clicking one seeks the player', async () => {
    await renderPage();
    await screen.findByLabelText('Job audio', { selector: 'audio' });
    const list = screen.getByRole('list', { name: 'Entities' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(3);
    expect(screen.getByText(/3 found · 2 types looked for/)).toBeTruthy();
    fireEvent.click(within(list).getByRole('button', { name: /New Jersey/ }));
    expect((screen.getByLabelText('Job audio') as HTMLAudioElement).currentTime).toBe(9.6);
    // The clock under the player follows the seek.
    expect(screen.getByText('0:09.60')).toBeTruthy();
  });

  it('toggles between the transcript and the redacted text', async () => {
    await renderPage();
    const redacted = screen.getByRole('button', { name: 'Redacted' });
    expect(redacted.getAttribute('aria-pressed')).toBe('false');
    fireEvent.click(redacted);
    expect(screen.getByRole('group', { name: 'Redacted transcript' }).textContent).toBe(job.redacted_text);
    expect(screen.queryByRole('group', { name: 'Transcript text' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Transcript' }));
    expect(screen.getByRole('group', { name: 'Transcript text' })).toBeTruthy();
  });

  it('plays and offers the redacted audio for download', async () => {
    await renderPage();
    const player = await screen.findByLabelText('Redacted audio', { selector: 'audio' });
    expect(urls).toContain('/v1/audio/transcriptions/job-1/audio/redacted');
    const link = screen.getByRole('link', { name: 'Download redacted audio' });
    expect(link.getAttribute('download')).toBe('call.redacted.wav');
    expect(link.getAttribute('href')).toBe(player.getAttribute('src'));
    expect(screen.getByText(/replaced by a beep/)).toBeTruthy();
  });

  it('shows the warnings and every stage', async () => {
    await renderPage();
    expect(within(screen.getByRole('list', { name: 'Warnings' })).getByText(job.warnings![0]!)).toBeTruthy();
    const stages = within(screen.getByRole('list', { name: 'Stages' })).getAllByRole('listitem');
    expect(stages.map((li) => li.getAttribute('data-stage'))).toEqual([
      'prepare',
      'transcribe',
      'align',
      'diarize',
      'merge',
      'pii',
      'redact',
    ]);
    expect(stages[3]!.textContent).toContain('Who spoke when');
    expect(screen.getByText('diarize (2 asked, 2 found)')).toBeTruthy();
    expect(screen.getByText('3 entities, audio beeped')).toBeTruthy();
  });

  it('shows none of the PII parts for a plain job', async () => {
    job = makeJob({
      pii: null,
      entities: null,
      redacted_text: null,
      warnings: null,
      speakers: [],
      parameters: { timestamps_granularity: 'word', speaker_detection: 'none' },
    });
    await renderPage();
    expect(screen.queryByRole('list', { name: 'Entities' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Redacted' })).toBeNull();
    expect(screen.queryByText('Redacted audio')).toBeNull();
    expect(screen.queryByRole('list', { name: 'Warnings' })).toBeNull();
    expect(urls).not.toContain('/v1/audio/transcriptions/job-1/audio/redacted');
  });

  it('shows the retention and the purge date in the details', async () => {
    job = makeJob({ retention: { mode: 'days', days: 30, purge_after: '2026-12-25T11:00:09Z' } });
    await renderPage();
    const details = screen.getByRole('region', { name: 'Details' });
    expect(within(details).getByText('30 days after it finishes')).toBeTruthy();
    expect(within(details).getByText('Purge').nextElementSibling?.textContent).toBe(formatDate('2026-12-25T11:00:09Z'));

    cleanup();
    job = makeJob({ retention: { mode: 'keep', days: null, purge_after: null } });
    await renderPage();
    const kept = screen.getByRole('region', { name: 'Details' });
    expect(within(kept).getByText('keep until deleted')).toBeTruthy();
    expect(within(kept).queryByText('Purge')).toBeNull();
  });

  it('renames the job in place: Escape cancels, Enter saves', async () => {
    await renderPage();
    fireEvent.click(screen.getByRole('button', { name: 'Rename' }));
    const box = screen.getByRole('textbox', { name: 'Display name' }) as HTMLInputElement;
    expect(box.value).toBe('call.wav');
    fireEvent.change(box, { target: { value: 'Board call' } });
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(screen.queryByRole('textbox', { name: 'Display name' })).toBeNull();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('call.wav');
    expect(writes).toEqual([]);

    fireEvent.click(screen.getByRole('button', { name: 'Rename' }));
    const again = screen.getByRole('textbox', { name: 'Display name' }) as HTMLInputElement;
    expect(again.value).toBe('call.wav');
    fireEvent.change(again, { target: { value: '  Board call  ' } });
    fireEvent.keyDown(again, { key: 'Enter' });
    await screen.findByRole('heading', { name: 'Board call' });
    expect(writes).toEqual([
      { method: 'PATCH', url: '/v1/audio/transcriptions/job-1', body: { display_name: 'Board call' } },
    ]);
    expect(screen.queryByRole('textbox', { name: 'Display name' })).toBeNull();
    // Focus comes back in an effect after the render that closed the box.
    await waitFor(() =>
      expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Rename' })),
    );
  });

  it("shows why a name was refused, and keeps the box open", async () => {
    await renderPage();
    fireEvent.click(screen.getByRole('button', { name: 'Rename' }));
    const box = screen.getByRole('textbox', { name: 'Display name' });
    fireEvent.change(box, { target: { value: '   ' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(screen.getByRole('alert').textContent).toBe('Enter a name.');
    expect(box.getAttribute('aria-invalid')).toBe('true');
    expect(writes).toEqual([]);

    refuseWrite = failure(422, 'validation_error', 'display_name must not contain a newline', 'display_name');
    fireEvent.change(box, { target: { value: 'New name' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toBe('display_name must not contain a newline'),
    );
    expect(writes).toHaveLength(1);
    expect(screen.getByRole('textbox', { name: 'Display name' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('call.wav');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('offers no rename or delete to a read-only key', async () => {
    scopes = ['jobs:read'];
    await renderPage();
    await screen.findByLabelText('Job audio', { selector: 'audio' });
    expect(screen.queryByRole('button', { name: 'Rename' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete audio' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });

  it('deletes the audio after confirming, and the players say it is deleted', async () => {
    await renderPage();
    await screen.findByLabelText('Job audio', { selector: 'audio' });
    await screen.findByLabelText('Redacted audio', { selector: 'audio' });
    fireEvent.click(screen.getByRole('button', { name: 'Delete audio' }));
    const confirm = screen.getByRole('group', { name: 'Confirm' });
    expect(confirm.textContent).toContain('The transcript is kept.');
    fireEvent.click(within(confirm).getByRole('button', { name: 'Delete audio' }));
    await screen.findByText(/Deleted the audio\./);
    expect(writes).toEqual([{ method: 'DELETE', url: '/v1/audio/transcriptions/job-1/audio', body: null }]);
    expect(screen.queryByLabelText('Job audio', { selector: 'audio' })).toBeNull();
    expect(screen.queryByLabelText('Redacted audio', { selector: 'audio' })).toBeNull();
    expect(screen.getByText(/^Audio deleted/)).toBeTruthy();
    expect(screen.getByText(/^Redacted audio deleted/)).toBeTruthy();
    expect(screen.queryByText('Audio unavailable')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete audio' })).toBeNull();
    // The transcript stays, with nothing to play.
    expect(screen.getByRole('group', { name: 'Transcript text' })).toBeTruthy();
    expect(screen.getByText('2 speakers')).toBeTruthy();
    expect(screen.queryByText(/click a word/i)).toBeNull();
  });

  it('says the audio is deleted when the server no longer has it', async () => {
    audioStored = false;
    await renderPage();
    await screen.findByText(/^Audio deleted/);
    expect(screen.queryByText('Audio unavailable')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete audio' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Delete' })).toBeTruthy();
  });

  it('shows a refused audio deletion', async () => {
    job = makeJob({ status: 'failed', error: 'stage transcribe failed: boom', text: null, segments: null });
    await renderPage();
    // A failed job has no player: the action is offered without one.
    fireEvent.click(screen.getByRole('button', { name: 'Delete audio' }));
    refuseWrite = failure(409, 'conflict', 'Job job-1 is running; its stages still read the audio.');
    fireEvent.click(within(screen.getByRole('group', { name: 'Confirm' })).getByRole('button', { name: 'Delete audio' }));
    await waitFor(() =>
      expect(screen.getAllByRole('alert').map((a) => a.textContent)).toContain(
        'Job job-1 is running; its stages still read the audio.',
      ),
    );
    expect(screen.getByRole('button', { name: 'Delete audio' })).toBeTruthy();
  });

  it('shows a job kept until its first read as deleted once it is shown finished', async () => {
    job = makeJob({ retention: { mode: 'after_delivery', days: null, purge_after: null } });
    await renderPage();
    expect(screen.getByText('Deleted from the server')).toBeTruthy();
    expect(screen.getByText('delete after first read')).toBeTruthy();
    expect(screen.getByText('deleted on this read')).toBeTruthy();
    expect(screen.getByText(/^Audio deleted/)).toBeTruthy();
    // Nothing that would ask the server for the purged job.
    expect(urls.filter((u) => u.includes('/audio/transcriptions/job-1/'))).toEqual([]);
    expect(screen.queryByRole('group', { name: 'Export transcript' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Rename' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete audio' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });
});
