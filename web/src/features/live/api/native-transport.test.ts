import { describe, expect, it } from 'vitest';
import { toLiveEvent, websocketUrl } from './native-transport';

describe('websocketUrl', () => {
  it('turns the page origin into ws(s) and keeps the query', () => {
    const url = websocketUrl('', '/v1/audio/transcriptions/stream', new URLSearchParams({ token: 'tk_1', sample_rate: '16000' }));
    expect(url).toBe(`ws://${window.location.host}/v1/audio/transcriptions/stream?token=tk_1&sample_rate=16000`);
    expect(websocketUrl('https://stt.example.com/api', '/x', new URLSearchParams())).toBe('wss://stt.example.com/api/x');
  });
});

describe('toLiveEvent', () => {
  it('reads the native protocol', () => {
    expect(
      toLiveEvent({ type: 'session.begin', session_id: 's1', config: { model: 'whisper-tiny.en', language: 'auto' } }, 0),
    ).toEqual({ type: 'session.started', sessionId: 's1', model: 'whisper-tiny.en', language: 'auto' });
    expect(toLiveEvent({ type: 'transcript.partial', text: 'ask not', start: 2, end: 3.1 }, 2)).toEqual({
      type: 'transcript.partial',
      segment: { id: 's2', start: 2, end: 3.1, text: 'ask not', words: undefined },
    });
    const final = toLiveEvent(
      { type: 'transcript.final', text: 'Hi.', start: 0, end: 1, words: [{ text: 'Hi.', start: 0.1, end: 0.5, confidence: 0.9 }] },
      0,
    );
    expect(final).toEqual({
      type: 'transcript.final',
      segment: { id: 's0', start: 0, end: 1, text: 'Hi.', words: [{ text: 'Hi.', start: 0.1, end: 0.5 }] },
    });
    expect(toLiveEvent({ type: 'warning', code: 'processing_lag', lag_seconds: 2.5 }, 0)).toEqual({
      type: 'warning',
      message: 'The server is 2.5 s behind.',
    });
    expect(toLiveEvent({ type: 'error', code: 'auth_error', message: 'Invalid', recoverable: false }, 0)).toEqual({
      type: 'error',
      message: 'Invalid',
      fatal: true,
    });
    expect(toLiveEvent({ type: 'session.end', session_id: 's1', total_audio_seconds: 9.7 }, 3)).toEqual({
      type: 'session.ended',
      sessionId: 's1',
      audioSeconds: 9.7,
    });
    expect(toLiveEvent({ type: 'vad.speech_start', timestamp: 1 }, 0)).toEqual({ type: 'speech', speaking: true });
    expect(toLiveEvent({ type: 'something.new' }, 0)).toBeNull();
  });
});
