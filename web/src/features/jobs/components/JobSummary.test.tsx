import { cleanup, render } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../../lib/api-types';
import { JobSummary, jobRtfx } from './JobSummary';

afterEach(cleanup);

const job = {
  id: 'j',
  status: 'completed',
  display_name: 'a.wav',
  model: 'whisper-tiny.en',
  created_at: '2026-12-05T10:00:00Z',
  started_at: '2026-12-05T10:00:01Z',
  completed_at: '2026-12-05T10:00:03Z',
  audio_duration_seconds: 30,
  language_code: 'en',
  language_probability: 0.97,
  error: null,
  stages: [],
  parameters: {},
  text: 'hi there',
  segments: [{ id: 0, start: 0, end: 1, text: 'hi there', speaker: 'SPEAKER_00', words: [{ text: 'hi', start: 0, end: 0.5 }, { text: 'there', start: 0.5, end: 1 }] }],
  speakers: [{ id: 'SPEAKER_00', label: null }, { id: 'SPEAKER_01', label: null }],
  words: null,
  retention: { mode: 'days', days: 30, purge_after: null },
} as unknown as Job;

describe('JobSummary', () => {
  it('gives the speed as audio seconds per second of work', () => {
    expect(jobRtfx(job)).toBe(15);
    expect(jobRtfx({ ...job, completed_at: null })).toBeNull();
  });

  it('shows one tile per fact', () => {
    render(<JobSummary job={job} />);
    const tile = (name: string) => document.querySelector(`[data-tile="${name}"]`)?.textContent;
    expect(tile('Duration')).toBe('0:30.0');
    expect(tile('Language')).toBe('en');
    expect(tile('Words')).toBe('2');
    expect(tile('Speakers')).toBe('2');
    expect(tile('Speed')).toBe('15× real time');
    expect(tile('Retention')).toBe('30 days');
  });
});
