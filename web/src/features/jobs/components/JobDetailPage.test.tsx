import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../../../app/providers/auth';
import { config } from '../../../config';
import type { Job, Stage } from '../../../lib/api-types';
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

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });

describe('JobDetailPage', () => {
  const urls: string[] = [];
  let job: Job;

  beforeEach(() => {
    urls.length = 0;
    job = makeJob();
    sessionStorage.setItem(config.apiKeyStorageKey, 'dk_test');
    // jsdom has no Blob URLs.
    URL.createObjectURL = vi.fn((blob: Blob) => `blob:${blob.size}`);
    URL.revokeObjectURL = vi.fn();
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL) => {
        const url = String(input);
        urls.push(url);
        if (url.endsWith('/audio/redacted')) return new Response(new Blob(['redacted!']), { status: 200 });
        if (url.endsWith('/audio')) return new Response(new Blob(['orig']), { status: 200 });
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
            <Route path="/jobs/:id" element={<JobDetailPage />} />
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
});
