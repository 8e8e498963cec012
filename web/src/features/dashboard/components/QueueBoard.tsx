import { Link } from 'react-router-dom';
import { Badge, Card, CardHeader, EmptyState, ErrorState, Loading, type Tone } from '../../../components/ui';
import { ApiError } from '../../../lib/api-client';
import { formatMs } from '../../../lib/format';
import type { QueryState } from '../../../lib/use-query';
import type { BoardTask, TaskBoard } from '../api/operations';

const TONES: Record<BoardTask['status'], Tone> = { running: 'blue', queued: 'amber', waiting: 'gray' };

const seconds = (s: number | null) => (s === null ? '–' : formatMs(Math.round(s * 1000)));

/** Tasks running, queued and waiting now (GET /v1/queue, admin). */
export function QueueBoard({ board }: { board: QueryState<TaskBoard> }) {
  const forbidden = board.error instanceof ApiError && board.error.status === 403;
  return (
    <Card aria-labelledby="board-title">
      <CardHeader
        id="board-title"
        title="Queue board"
        description="Tasks running, queued and waiting on an earlier stage, running first"
      />
      {board.loading ? (
        <Loading label="Loading the queue…" />
      ) : forbidden ? (
        <EmptyState title="Admins only">The queue board needs the admin scope.</EmptyState>
      ) : board.error && !board.data ? (
        <ErrorState error={board.error} title="Could not load the queue" onRetry={board.reload} />
      ) : !board.data?.tasks.length ? (
        <EmptyState title="Nothing waiting or running">The queue is empty.</EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" aria-label="Queue board">
            <thead className="text-xs text-slate-500 dark:text-slate-400">
              <tr>
                <th scope="col" className="px-4 py-2 font-medium">Status</th>
                <th scope="col" className="px-4 py-2 font-medium">Stage</th>
                <th scope="col" className="px-4 py-2 font-medium">Job</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">Waited</th>
                <th scope="col" className="px-4 py-2 text-right font-medium">Running</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {board.data.tasks.map((t) => (
                <tr key={t.id} data-task-status={t.status} className="text-slate-700 dark:text-slate-200">
                  <td className="px-4 py-2">
                    <Badge tone={TONES[t.status]}>{t.status}</Badge>
                    {t.attempts > 1 ? <span className="ml-1 text-xs text-slate-500">try {t.attempts}</span> : null}
                  </td>
                  <td className="px-4 py-2">
                    {t.stage} <span className="text-xs text-slate-500 dark:text-slate-400">{t.engine_id}</span>
                  </td>
                  <td className="max-w-[14rem] truncate px-4 py-2">
                    <Link to={`/jobs/${t.job_id}`} className="underline decoration-slate-300 hover:decoration-slate-600">
                      {t.job_name ?? t.job_id.slice(0, 8)}
                    </Link>
                  </td>
                  <td className="px-4 py-2 text-right tabular-nums">{seconds(t.waited_s)}</td>
                  <td className="px-4 py-2 text-right tabular-nums">{seconds(t.running_s)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {board.data.has_more ? (
            <p className="px-4 py-2 text-xs text-slate-500 dark:text-slate-400">More tasks than shown.</p>
          ) : null}
        </div>
      )}
    </Card>
  );
}
