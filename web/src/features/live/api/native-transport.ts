import type { ApiClient } from '../../../lib/api-client';
import type { TokenCreated } from '../../../lib/api-types';
import type { LiveEvent, LiveOptions, LiveSession, LiveTransport } from './types';

const STREAM_PATH = '/v1/audio/transcriptions/stream';

/** ws(s)://host/path for a path on the API's origin. */
export function websocketUrl(apiBaseUrl: string, path: string, query: URLSearchParams): string {
  const base = new URL(apiBaseUrl || '/', window.location.href);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  base.pathname = `${base.pathname.replace(/\/$/, '')}${path}`;
  base.search = query.toString();
  return base.toString();
}

type Message = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One server message as a LiveEvent (null for messages the page ignores). */
export function toLiveEvent(message: Message, finals: number): LiveEvent | null {
  switch (message.type) {
    case 'session.begin': {
      const config = (message.config ?? {}) as Message;
      return {
        type: 'session.started',
        sessionId: str(message.session_id),
        model: str(config.model),
        language: str(config.language),
      };
    }
    case 'transcript.partial':
    case 'transcript.final': {
      const words = Array.isArray(message.words)
        ? (message.words as Message[]).map((w) => ({ text: str(w.text), start: num(w.start), end: num(w.end) }))
        : undefined;
      return {
        type: message.type,
        segment: { id: `s${finals}`, start: num(message.start), end: num(message.end), text: str(message.text), words },
      };
    }
    case 'vad.speech_start':
      return { type: 'speech', speaking: true };
    case 'vad.speech_end':
      return { type: 'speech', speaking: false };
    case 'warning':
      return {
        type: 'warning',
        message:
          message.code === 'processing_lag'
            ? `The server is ${num(message.lag_seconds).toFixed(1)} s behind.`
            : str(message.message) || str(message.code),
      };
    case 'error':
      return { type: 'error', message: str(message.message) || str(message.code), fatal: message.recoverable === false };
    case 'session.end':
      return {
        type: 'session.ended',
        sessionId: str(message.session_id) || null,
        audioSeconds: typeof message.total_audio_seconds === 'number' ? message.total_audio_seconds : null,
      };
    default:
      return null;
  }
}

/**
 * The native realtime WebSocket. A browser cannot set headers on a WebSocket,
 * so it connects with a single-use token from POST /auth/tokens (spent on
 * connect, valid 60 s), never with the API key.
 */
export function nativeTransport(client: ApiClient, apiBaseUrl: string): LiveTransport {
  return {
    async connect(options: LiveOptions, onEvent: (event: LiveEvent) => void): Promise<LiveSession> {
      const { token } = await client.post<TokenCreated>('/auth/tokens', { ttl: 60, scopes: ['realtime'] });
      const query = new URLSearchParams({
        token,
        encoding: 'pcm_s16le',
        sample_rate: String(options.sampleRate),
        word_timestamps: 'true',
        interim_results: 'true',
      });
      if (options.model) query.set('model', options.model);
      if (options.language && options.language !== 'auto') query.set('language', options.language);
      if (options.storeAudio) query.set('store_audio', 'true');
      const socket = new WebSocket(websocketUrl(apiBaseUrl, STREAM_PATH, query));
      socket.binaryType = 'arraybuffer';
      let finals = 0;
      let ended = false;

      await new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error('Could not open the realtime connection.'));
        socket.onclose = (e) => reject(new Error(`The server closed the connection (${e.code}) ${e.reason}`.trim()));
      });

      socket.onmessage = (msg: MessageEvent) => {
        if (typeof msg.data !== 'string') return;
        let parsed: Message;
        try {
          parsed = JSON.parse(msg.data) as Message;
        } catch {
          return;
        }
        const event = toLiveEvent(parsed, finals);
        if (!event) return;
        if (event.type === 'transcript.final') finals += 1;
        if (event.type === 'session.ended') ended = true;
        onEvent(event);
      };
      socket.onerror = () => onEvent({ type: 'error', message: 'The realtime connection failed.', fatal: true });
      socket.onclose = (e) => {
        if (!ended) {
          onEvent({ type: 'error', message: e.reason || `The connection closed (${e.code}).`, fatal: true });
          onEvent({ type: 'session.ended', sessionId: null, audioSeconds: null });
        }
      };

      return {
        sendAudio(pcm) {
          if (socket.readyState === WebSocket.OPEN) socket.send(pcm);
        },
        end() {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'end' }));
        },
        close() {
          ended = true;
          socket.close();
        },
      };
    },
  };
}
