import { Button, Spinner } from '../../../components/ui';

export type LiveState = 'idle' | 'connecting' | 'streaming' | 'stopping';

const LABELS: Record<LiveState, string> = {
  idle: 'Not recording',
  connecting: 'Connecting…',
  streaming: 'Recording',
  stopping: 'Finishing…',
};

/** Start and stop a microphone stream. */
export function LiveControls({
  state,
  unavailable,
  level,
  onStart,
  onStop,
}: {
  state: LiveState;
  /** Why live transcription cannot start, or null when it can. */
  unavailable: string | null;
  /** Microphone level 0..1 while recording. */
  level: number;
  onStart: () => void;
  onStop: () => void;
}) {
  const running = state === 'streaming' || state === 'connecting';
  return (
    <div className="flex flex-wrap items-center gap-3">
      {running ? (
        <Button variant="danger" onClick={onStop} disabled={state === 'connecting'}>
          Stop
        </Button>
      ) : (
        <Button onClick={onStart} disabled={!!unavailable || state === 'stopping'} aria-describedby="live-state">
          Start microphone
        </Button>
      )}
      <span id="live-state" role="status" className="inline-flex items-center gap-2 text-sm text-slate-600 dark:text-slate-300">
        {state === 'connecting' || state === 'stopping' ? <Spinner /> : null}
        {state === 'streaming' ? <span className="h-2.5 w-2.5 animate-pulse rounded-full bg-red-600" aria-hidden="true" /> : null}
        {unavailable && state === 'idle' ? unavailable : LABELS[state]}
      </span>
      {state === 'streaming' ? (
        <meter
          aria-label="Microphone level"
          min={0}
          max={1}
          value={Math.min(1, level * 3)}
          className="h-2 w-32"
        />
      ) : null}
    </div>
  );
}
