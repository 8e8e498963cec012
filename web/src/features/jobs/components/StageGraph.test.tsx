import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Stage } from '../../../lib/api-types';
import { StageGraph, stageColumns } from './StageGraph';

const t0 = '2026-12-05T10:00:00.000Z';
const at = (ms: number) => new Date(Date.parse(t0) + ms).toISOString();

function stage(name: string, deps: string[], extra: Partial<Stage> = {}): Stage {
  return {
    stage: name,
    engine_id: `${name}-engine`,
    status: 'succeeded',
    depends_on: deps,
    queued_at: at(10),
    queue_wait_ms: 5,
    started_at: at(15),
    completed_at: at(115),
    duration_ms: 100,
    retries: 0,
    error: null,
    progress: 1,
    ...extra,
  };
}

const dag: Stage[] = [
  stage('prepare', []),
  stage('transcribe', ['prepare']),
  stage('diarize', ['prepare']),
  stage('align', ['transcribe']),
  stage('merge', ['align', 'diarize']),
];

afterEach(cleanup);

describe('stageColumns', () => {
  it('puts stages that can run side by side in one column', () => {
    expect(stageColumns(dag).map((c) => c.map((s) => s.stage))).toEqual([
      ['prepare'],
      ['transcribe', 'diarize'],
      ['align'],
      ['merge'],
    ]);
  });

  it('keeps the listed order for a server that sends no dependencies', () => {
    const old = dag.slice(0, 2).map(({ depends_on: _, ...s }) => s as Stage);
    expect(stageColumns(old).map((c) => c.map((s) => s.stage))).toEqual([['prepare'], ['transcribe']]);
  });
});

describe('StageGraph', () => {
  it('shows every stage with its queue wait and processing time', () => {
    render(<StageGraph stages={dag} createdAt={t0} />);
    const graph = screen.getByRole('list', { name: 'Stage graph' });
    for (const s of dag) {
      const node = graph.querySelector(`[data-stage="${s.stage}"]`) as HTMLElement;
      expect(node).not.toBeNull();
      expect(within(node).getByLabelText(`${s.stage} queue wait`).textContent).toBe('5 ms');
      expect(within(node).getByLabelText(`${s.stage} processing time`).textContent).toBe('100 ms');
    }
    expect(screen.getByLabelText('Stage timeline').querySelectorAll('[data-timeline]')).toHaveLength(5);
  });

  it('shows a running stage’s progress', () => {
    const running = [stage('prepare', []), stage('transcribe', ['prepare'], { status: 'running', progress: 0.42, duration_ms: null, completed_at: null })];
    render(<StageGraph stages={running} createdAt={t0} />);
    expect(screen.getByRole('progressbar', { name: 'transcribe progress' }).getAttribute('aria-valuenow')).toBe('42');
  });
});
