import { formatClock } from '../../../lib/format';
import type { LiveSegment } from '../api/types';

/** Final segments, then the partial one still being recognised. */
export function LiveTranscript({ finals, partial }: { finals: LiveSegment[]; partial: LiveSegment | null }) {
  if (finals.length === 0 && !partial) {
    return <p className="py-6 text-center text-sm text-slate-500 dark:text-slate-400">No live transcript yet: start the microphone and speak.</p>;
  }
  return (
    <div className="space-y-2 leading-7 text-slate-800 dark:text-slate-100" aria-label="Live transcript" role="log" aria-live="polite">
      {finals.map((s) => (
        <p key={s.id} data-final="true" className="grid grid-cols-[auto_1fr] gap-3">
          <span className="font-mono text-xs leading-7 text-slate-500 dark:text-slate-400">{formatClock(s.start)}</span>
          <span>{s.text.trim()}</span>
        </p>
      ))}
      {partial ? (
        <p className="grid grid-cols-[auto_1fr] gap-3 text-slate-400 italic" data-partial="true">
          <span className="font-mono text-xs not-italic leading-7">{formatClock(partial.start)}</span>
          <span>{partial.text.trim()}</span>
        </p>
      ) : null}
    </div>
  );
}
