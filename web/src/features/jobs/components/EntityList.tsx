import { useMemo } from 'react';
import { Badge, cn } from '../../../components/ui';
import type { Entity } from '../../../lib/api-types';
import { formatClock } from '../../../lib/format';

export interface EntityListProps {
  entities: readonly Entity[];
  /** The player's position, in seconds: the entity being played is highlighted. */
  currentTime?: number;
  /** Called with the entity's start when it is clicked. */
  onSeek: (time: number) => void;
}

/** Entity types with their counts, most frequent first (ties by name). */
export function countByType(entities: readonly Entity[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const e of entities) counts.set(e.entity_type, (counts.get(e.entity_type) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * The personal data PII detection found, in text order: type, text and audio
 * time. Clicking an entity with a time plays the audio from there.
 */
export function EntityList({ entities, currentTime = -1, onSeek }: EntityListProps) {
  const counts = useMemo(() => countByType(entities), [entities]);
  if (entities.length === 0) {
    return <p className="text-sm text-slate-500 dark:text-slate-400">No personal data was found.</p>;
  }
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap gap-1.5" role="group" aria-label="Entities by type">
        {counts.map(([type, n]) => (
          <Badge key={type} tone="indigo">
            {type} <span className="tabular-nums">{n}</span>
          </Badge>
        ))}
      </div>
      <ul className="max-h-96 divide-y divide-slate-100 dark:divide-slate-800 overflow-y-auto" aria-label="Entities">
        {entities.map((entity, i) => {
          const timed = entity.start !== null && entity.end !== null;
          const playing =
            timed && currentTime >= (entity.start ?? 0) && currentTime < (entity.end ?? 0);
          const body = (
            <>
              <span className="font-mono text-xs text-slate-500 dark:text-slate-400 tabular-nums">
                {timed ? formatClock(entity.start) : '–'}
              </span>
              <span className="min-w-0 break-words text-slate-900 dark:text-slate-100">{entity.text}</span>
              <span className="justify-self-end">
                <Badge tone="gray">{entity.entity_type}</Badge>
              </span>
            </>
          );
          const grid = 'grid w-full grid-cols-[3.5rem_1fr_auto] items-center gap-x-3 px-1 py-2 text-left text-sm';
          return (
            <li key={`${entity.start_char}-${i}`} data-entity-type={entity.entity_type}>
              {timed ? (
                <button
                  type="button"
                  onClick={() => onSeek(entity.start ?? 0)}
                  aria-current={playing ? 'true' : undefined}
                  title={`${formatClock(entity.start, 2)} – ${formatClock(entity.end, 2)}${
                    entity.confidence !== null ? ` · confidence ${entity.confidence.toFixed(2)}` : ''
                  }`}
                  className={cn(
                    grid,
                    'rounded focus-visible:outline-2 focus-visible:outline-indigo-600',
                    playing ? 'bg-amber-100' : 'hover:bg-indigo-50',
                  )}
                >
                  {body}
                </button>
              ) : (
                <div className={grid} title="Its words could not be located in the audio">
                  {body}
                </div>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/**
 * The redacted transcript, with each mask (`{PERSON}`, `{PERSON_1}`,
 * `{REDACTED}`) set off from the text around it.
 */
export function RedactedText({ text }: { text: string }) {
  const parts = text.split(/(\{[A-Z][A-Z0-9_]*\})/);
  return (
    <div role="group" aria-label="Redacted transcript">
      <p className="whitespace-pre-wrap leading-7 text-slate-800 dark:text-slate-200">
        {parts.map((part, i) =>
          i % 2 === 1 ? (
            <mark key={i} className="rounded bg-slate-800 px-1 font-mono text-xs text-white">
              {part}
            </mark>
          ) : (
            part
          ),
        )}
      </p>
    </div>
  );
}
