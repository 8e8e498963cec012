import { describe, expect, it } from 'vitest';
import { parseEngineMetrics } from './metrics';

describe('parseEngineMetrics', () => {
  it('reads queue depth and running tasks per engine', () => {
    const text = [
      '# HELP dalston_queue_depth Tasks waiting per engine',
      '# TYPE dalston_queue_depth gauge',
      'dalston_queue_depth{engine="faster-whisper"} 2.0',
      'dalston_queue_depth{engine="audio-prepare"} 0.0',
      'dalston_engine_active_tasks{engine="faster-whisper"} 1.0',
      'dalston_jobs_submitted_total 4.0',
    ].join('\n');
    expect(parseEngineMetrics(text)).toEqual([
      { engine: 'audio-prepare', queueDepth: 0, activeTasks: null },
      { engine: 'faster-whisper', queueDepth: 2, activeTasks: 1 },
    ]);
  });

  it('is empty without engine samples', () => {
    expect(parseEngineMetrics('# nothing\n')).toEqual([]);
  });
});
