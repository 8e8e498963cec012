import { useEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Card,
  CardBody,
  CardHeader,
  Field,
  Loading,
  NotAvailable,
  PageHeader,
  Select,
} from '../../../components/ui';
import { LANGUAGES, config } from '../../../config';
import { ApiError, errorMessage } from '../../../lib/api-client';
import { useQuery } from '../../../lib/use-query';
import { listModels } from '../../models/api/models';
import { getRealtimeStatus } from '../../realtime/api/realtime';
import { startMicrophone, microphoneSupport, type Microphone } from '../api/microphone';
import { nativeTransport } from '../api/native-transport';
import type { LiveEvent, LiveSegment, LiveSession } from '../api/types';
import { LiveControls, type LiveState } from './LiveControls';
import { LiveTranscript } from './LiveTranscript';

export function LivePage() {
  const client = useApi();
  const { can } = useAuth();
  const status = useQuery('realtime:status', (signal) => getRealtimeStatus(client, signal), { refetchInterval: 10_000 });
  const models = useQuery('models', (signal) => listModels(client, signal));
  const transport = useMemo(() => nativeTransport(client, config.apiBaseUrl), [client]);

  const [state, setState] = useState<LiveState>('idle');
  const [finals, setFinals] = useState<LiveSegment[]>([]);
  const [partial, setPartial] = useState<LiveSegment | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [warning, setWarning] = useState<string | null>(null);
  const [sessionId, setSessionId] = useState<string | null>(null);
  const [model, setModel] = useState('');
  const [language, setLanguage] = useState('auto');
  const [storeAudio, setStoreAudio] = useState(true);
  const [level, setLevel] = useState(0);
  const session = useRef<LiveSession | null>(null);
  const mic = useRef<Microphone | null>(null);

  const missing = status.error instanceof ApiError && status.error.status === 404;
  const unavailable = !can('realtime')
    ? 'Your API key lacks the realtime scope.'
    : status.data && status.data.capacity === 0
      ? 'This server has no realtime capacity.'
      : status.data && status.data.available === 0
        ? 'Every realtime slot is busy; try again shortly.'
        : microphoneSupport();

  function stopMic() {
    mic.current?.stop();
    mic.current = null;
    setLevel(0);
  }

  // Leaving the page ends the stream.
  useEffect(
    () => () => {
      stopMic();
      session.current?.close();
    },
    [],
  );

  useEffect(() => {
    if (state !== 'streaming') return;
    const timer = setInterval(() => setLevel(mic.current?.level() ?? 0), 150);
    return () => clearInterval(timer);
  }, [state]);

  function onEvent(event: LiveEvent) {
    switch (event.type) {
      case 'session.started':
        setSessionId(event.sessionId);
        break;
      case 'transcript.partial':
        setPartial(event.segment);
        break;
      case 'transcript.final':
        setFinals((list) => [...list, event.segment]);
        setPartial(null);
        break;
      case 'warning':
        setWarning(event.message);
        break;
      case 'error':
        setError(event.message);
        if (event.fatal) stopMic();
        break;
      case 'session.ended':
        stopMic();
        setPartial(null);
        session.current = null;
        setState('idle');
        status.reload();
        break;
      case 'speech':
        break;
    }
  }

  async function start() {
    setError(null);
    setWarning(null);
    setFinals([]);
    setPartial(null);
    setSessionId(null);
    setState('connecting');
    const pending: ArrayBuffer[] = [];
    try {
      // The microphone first: its sample rate goes into the stream's URL.
      mic.current = await startMicrophone((pcm) => {
        if (session.current) session.current.sendAudio(pcm);
        else pending.push(pcm);
      });
      session.current = await transport.connect(
        { model: model || undefined, language, sampleRate: mic.current.sampleRate, storeAudio },
        onEvent,
      );
      for (const pcm of pending.splice(0)) session.current.sendAudio(pcm);
      setState('streaming');
    } catch (reason) {
      stopMic();
      session.current?.close();
      session.current = null;
      setState('idle');
      setError(
        reason instanceof DOMException && reason.name === 'NotAllowedError'
          ? 'The browser was not allowed to use the microphone.'
          : errorMessage(reason),
      );
    }
  }

  function stop() {
    setState('stopping');
    stopMic();
    session.current?.end();
  }

  if (status.loading) return <Loading label="Checking realtime…" />;
  const running = state !== 'idle';
  return (
    <>
      <PageHeader title="Live transcription" description="Transcribe speech from your microphone as you speak." />
      {missing ? (
        <div className="mb-6">
          <NotAvailable feature="Live transcription">
            <p>
              It needs the realtime WebSocket (<code>/v1/audio/transcriptions/stream</code>), which this server does
              not have. Upload a recording on the <Link className="underline" to="/jobs/new">New job</Link> page
              instead.
            </p>
          </NotAvailable>
        </div>
      ) : status.error ? (
        <Alert tone="error" className="mb-4" title="Could not check realtime capacity">
          {errorMessage(status.error)}
        </Alert>
      ) : status.data ? (
        <p className="mb-4 text-sm text-slate-600 dark:text-slate-300">
          Realtime capacity: {status.data.available} of {status.data.capacity} slots free.
        </p>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-3">
        <Card className="lg:col-span-2">
          <CardHeader
            title="Microphone"
            description={
              sessionId ? (
                <>
                  Session <code className="font-mono text-xs">{sessionId}</code>
                </>
              ) : undefined
            }
          />
          <CardBody className="space-y-4">
            <LiveControls
              state={state}
              unavailable={missing ? 'Live transcription is not available on this server.' : unavailable}
              level={level}
              onStart={() => void start()}
              onStop={stop}
            />
            {error ? <Alert tone="error">{error}</Alert> : null}
            {warning && running ? <Alert tone="warning">{warning}</Alert> : null}
            <LiveTranscript finals={finals} partial={partial} />
            {sessionId && !running ? (
              <p className="text-sm text-slate-600 dark:text-slate-300">
                The session is over. It is listed under <Link className="underline" to="/realtime">Realtime sessions</Link>.
              </p>
            ) : null}
          </CardBody>
        </Card>
        <Card>
          <CardHeader title="Options" />
          <CardBody className="space-y-4">
            <Field label="Model">
              {(p) => (
                <Select {...p} value={model} onChange={(e) => setModel(e.target.value)} disabled={running}>
                  <option value="">Auto (by language)</option>
                  {(models.data?.data ?? [])
                    .filter((m) => m.stage === 'transcribe' && m.status === 'ready')
                    .map((m) => (
                      <option key={m.id} value={m.id}>
                        {m.id}
                      </option>
                    ))}
                </Select>
              )}
            </Field>
            <Field label="Language">
              {(p) => (
                <Select {...p} value={language} onChange={(e) => setLanguage(e.target.value)} disabled={running}>
                  <option value="auto">Detect automatically</option>
                  {LANGUAGES.map((l) => (
                    <option key={l.code} value={l.code}>
                      {l.name} ({l.code})
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <label className="flex items-start gap-2 text-sm">
              <input
                type="checkbox"
                className="mt-0.5"
                checked={storeAudio}
                onChange={(e) => setStoreAudio(e.target.checked)}
                disabled={running}
              />
              <span>
                Keep the audio
                <span className="block text-xs text-slate-500 dark:text-slate-400">Realtime sessions can play it back later.</span>
              </span>
            </label>
          </CardBody>
        </Card>
      </div>
    </>
  );
}
