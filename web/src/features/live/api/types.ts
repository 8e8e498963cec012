/**
 * Live transcription: a transport (the server's realtime WebSocket) and a
 * microphone, joined by the live page. The page sees only these types.
 */

export interface LiveWord {
  text: string;
  start: number;
  end: number;
}

export interface LiveSegment {
  id: string;
  start: number;
  end: number;
  text: string;
  words?: LiveWord[];
}

export type LiveEvent =
  | { type: 'session.started'; sessionId: string; model: string; language: string }
  /** Text that may still change. */
  | { type: 'transcript.partial'; segment: LiveSegment }
  /** Text that will not change. */
  | { type: 'transcript.final'; segment: LiveSegment }
  | { type: 'speech'; speaking: boolean }
  | { type: 'warning'; message: string }
  | { type: 'error'; message: string; fatal: boolean }
  | { type: 'session.ended'; sessionId: string | null; audioSeconds: number | null };

export interface LiveOptions {
  model?: string;
  language?: string;
  sampleRate: number;
  /** Keep the session's audio on the server (Realtime sessions can play it). */
  storeAudio?: boolean;
}

export interface LiveSession {
  /** 16-bit little-endian mono PCM at the session's sample rate. */
  sendAudio: (pcm: ArrayBuffer) => void;
  /** Ends the stream; the server sends its last finals, then session.ended. */
  end: () => void;
  /** Drops the connection at once. */
  close: () => void;
}

export interface LiveTransport {
  connect: (options: LiveOptions, onEvent: (event: LiveEvent) => void) => Promise<LiveSession>;
}
