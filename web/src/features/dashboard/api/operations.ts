/** What the dashboard reads besides job counts: usage per day, the queue board,
 * queue depth per engine and realtime capacity. */
import type { ApiClient } from '../../../lib/api-client';
import type { EngineList, RealtimeStatus } from '../../../lib/api-types';

export interface DayUsage {
  /** A UTC day, YYYY-MM-DD. */
  date: string;
  completed: number;
  failed: number;
  audio_seconds: number;
  processing_seconds: number;
  /** Audio seconds per second of processing; null on a day without a timed job. */
  rtfx: number | null;
}

export interface JobStats {
  running: number;
  queued: number;
  completed_today: number;
  failed_today: number;
  audio_seconds_today: number;
  /** Oldest first, today last; absent from older servers. */
  daily?: DayUsage[];
}

export interface BoardTask {
  id: string;
  job_id: string;
  job_name: string | null;
  tenant_id: string;
  stage: string;
  engine_id: string;
  status: 'running' | 'queued' | 'waiting';
  attempts: number;
  queued_at: string | null;
  started_at: string | null;
  waited_s: number | null;
  running_s: number | null;
}

export interface TaskBoard {
  tasks: BoardTask[];
  has_more: boolean;
  by_engine: Record<string, Record<string, number>>;
}

export const USAGE_DAYS = 14;

export function getJobStats(client: ApiClient, signal?: AbortSignal): Promise<JobStats> {
  return client.get<JobStats>('/v1/jobs/stats', { query: { days: USAGE_DAYS }, signal });
}

export function getTaskBoard(client: ApiClient, signal?: AbortSignal): Promise<TaskBoard> {
  return client.get<TaskBoard>('/v1/queue', { query: { limit: 50 }, signal });
}

export function getEngines(client: ApiClient, signal?: AbortSignal): Promise<EngineList> {
  return client.get<EngineList>('/v1/engines', { signal });
}

export function getRealtimeCapacity(client: ApiClient, signal?: AbortSignal): Promise<RealtimeStatus> {
  return client.get<RealtimeStatus>('/v1/realtime/status', { signal });
}
