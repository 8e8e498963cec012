import type { ApiClient } from '../../../lib/api-client';

export interface EngineLoad {
  engine: string;
  queueDepth: number | null;
  activeTasks: number | null;
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/;

/** Per-engine queue depth and running tasks from Prometheus text. */
export function parseEngineMetrics(text: string): EngineLoad[] {
  const byEngine = new Map<string, EngineLoad>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const [, name, labels = '', raw = ''] = match;
    if (name !== 'dalston_queue_depth' && name !== 'dalston_engine_active_tasks') continue;
    const engine = /engine="([^"]*)"/.exec(labels)?.[1];
    if (!engine) continue;
    const value = Number(raw);
    const row = byEngine.get(engine) ?? { engine, queueDepth: null, activeTasks: null };
    if (name === 'dalston_queue_depth') row.queueDepth = value;
    else row.activeTasks = value;
    byEngine.set(engine, row);
  }
  return [...byEngine.values()].sort((a, b) => a.engine.localeCompare(b.engine));
}

export async function engineLoad(client: ApiClient, signal?: AbortSignal): Promise<EngineLoad[]> {
  return parseEngineMetrics(await client.text('/metrics', { signal, anonymous: true }));
}
