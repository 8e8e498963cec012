import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../lib/api-client';
import { jobForm, retentionField, speakerFields, type NewJob } from './jobs';

const file = new File(['RIFF'], 'call.wav', { type: 'audio/wav' });

/** The form's text fields as name -> values (the file left out). */
function fields(job: NewJob): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of jobForm(job).entries()) {
    if (typeof value !== 'string') continue;
    (out[name] ??= []).push(value);
  }
  return out;
}

describe('jobForm', () => {
  it('sends only the file when nothing is set', () => {
    const form = jobForm({ file, speakerDetection: 'none', language: 'auto', vocabulary: [] });
    expect([...form.keys()]).toEqual(['file']);
    expect((form.get('file') as File).name).toBe('call.wav');
  });

  it('sends diarization with an exact speaker count', () => {
    expect(fields({ file, speakerDetection: 'diarize', numSpeakers: 2 })).toEqual({
      speaker_detection: ['diarize'],
      num_speakers: ['2'],
    });
  });

  it('sends the bounds that are set, and no count for automatic estimation', () => {
    expect(fields({ file, speakerDetection: 'diarize', minSpeakers: 2, maxSpeakers: null })).toEqual({
      speaker_detection: ['diarize'],
      min_speakers: ['2'],
    });
    expect(fields({ file, speakerDetection: 'diarize' })).toEqual({ speaker_detection: ['diarize'] });
  });

  it('leaves speaker counts out unless diarizing', () => {
    expect(fields({ file, speakerDetection: 'per_channel', numSpeakers: 3, minSpeakers: 1 })).toEqual({
      speaker_detection: ['per_channel'],
    });
    expect(fields({ file, speakerDetection: 'none', numSpeakers: 3 })).toEqual({});
  });

  it('sends word_alignment only when chosen', () => {
    expect(fields({ file, wordAlignment: false })).toEqual({ word_alignment: ['false'] });
    expect(fields({ file, wordAlignment: true })).toEqual({ word_alignment: ['true'] });
    expect(fields({ file })).toEqual({});
  });

  it('sends PII detection with categories and types as one list', () => {
    expect(
      fields({
        file,
        piiDetection: true,
        piiEntityTypes: ['pci', ' PERSON ', ''],
        entityRedactionMode: 'enumerated_entity_type',
      }),
    ).toEqual({
      pii_detection: ['true'],
      pii_entity_types: ['pci,PERSON'],
      entity_redaction_mode: ['enumerated_entity_type'],
    });
    expect(fields({ file, piiDetection: true, piiEntityTypes: [] })).toEqual({ pii_detection: ['true'] });
  });

  it('leaves PII options out while PII is off', () => {
    expect(
      fields({
        file,
        piiDetection: false,
        piiEntityTypes: ['pii'],
        entityRedactionMode: 'redacted',
        redactPiiAudio: false,
        piiRedactionMode: 'beep',
      }),
    ).toEqual({});
  });

  it('sends retention unless it is keep (-1, the default)', () => {
    expect(fields({ file, retention: -1 })).toEqual({});
    expect(fields({ file })).toEqual({});
    expect(fields({ file, retention: 0 })).toEqual({ retention: ['0'] });
    expect(fields({ file, retention: 30 })).toEqual({ retention: ['30'] });
  });

  it('sends audio redaction with its mode', () => {
    expect(
      fields({ file, piiDetection: true, redactPiiAudio: true, piiRedactionMode: 'beep', piiEntityTypes: ['pii'] }),
    ).toEqual({
      pii_detection: ['true'],
      pii_entity_types: ['pii'],
      redact_pii_audio: ['true'],
      pii_redaction_mode: ['beep'],
    });
  });
});

describe('retentionField', () => {
  it('reads keep, after delivery and a number of days', () => {
    expect(retentionField('keep', '30')).toEqual({});
    expect(retentionField('after_delivery', '30')).toEqual({ retention: 0 });
    expect(retentionField('days', ' 90 ')).toEqual({ retention: 90 });
    expect(retentionField('days', '1')).toEqual({ retention: 1 });
    expect(retentionField('days', '3650')).toEqual({ retention: 3650 });
  });

  it('refuses days outside 1-3650, naming the field', () => {
    for (const days of ['', '0', '3651', '1.5', '-1', 'x']) {
      const error = retentionField('days', days);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).param).toBe('retention');
    }
  });
});

describe('speakerFields', () => {
  it('reads an exact count or bounds', () => {
    expect(speakerFields('auto', '3', '1', '4')).toEqual({});
    expect(speakerFields('exact', ' 2 ', '', '')).toEqual({ numSpeakers: 2 });
    expect(speakerFields('range', '', '2', '')).toEqual({ minSpeakers: 2, maxSpeakers: null });
    expect(speakerFields('range', '', '', '')).toEqual({ minSpeakers: null, maxSpeakers: null });
  });

  it('names the field that is wrong', () => {
    const missing = speakerFields('exact', '', '', '');
    expect(missing).toBeInstanceOf(ApiError);
    expect((missing as ApiError).param).toBe('num_speakers');
    expect((speakerFields('exact', '33', '', '') as ApiError).param).toBe('num_speakers');
    expect((speakerFields('exact', '1.5', '', '') as ApiError).param).toBe('num_speakers');
    expect((speakerFields('range', '', '0', '') as ApiError).param).toBe('min_speakers');
    expect((speakerFields('range', '', '1', 'x') as ApiError).param).toBe('max_speakers');
    const crossed = speakerFields('range', '', '4', '2') as ApiError;
    expect(crossed.param).toBe('min_speakers');
    expect(crossed.message).toMatch(/must not exceed/);
  });
});
