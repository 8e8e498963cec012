/** The shapes of Dalston's native API (docs/api.md). */
import type { JOB_STATUSES, SCOPES } from '../config';

export type JobStatus = (typeof JOB_STATUSES)[number];
export type Scope = (typeof SCOPES)[number];
export type StageStatus = 'waiting' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface ErrorBody {
  error: { code: string; message: string; param: string | null; type: string };
}

export interface JobCreated {
  id: string;
  status: JobStatus;
  display_name: string | null;
  model: string;
  created_at: string;
}

export interface JobSummary {
  id: string;
  status: JobStatus;
  display_name: string | null;
  model: string;
  created_at: string;
  completed_at: string | null;
  audio_duration_seconds: number | null;
  language_code: string | null;
  error: string | null;
}

export interface JobList {
  jobs: JobSummary[];
  cursor: string | null;
  has_more: boolean;
}

export interface Stage {
  stage: string;
  engine_id: string;
  status: StageStatus;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  retries: number;
  error: string | null;
}

export interface Word {
  text: string;
  start: number;
  end: number;
  confidence?: number | null;
  speaker?: string | null;
  channel?: number | null;
}

export interface Segment {
  id: number;
  start: number;
  end: number;
  text: string;
  speaker?: string | null;
  channel?: number | null;
  words?: Word[] | null;
}

export interface Speaker {
  id: string;
  channel?: number | null;
  [extra: string]: unknown;
}

export interface Job extends JobSummary {
  started_at: string | null;
  stages: Stage[];
  parameters: Record<string, unknown>;
  language_probability: number | null;
  text: string | null;
  segments: Segment[] | null;
  speakers: Speaker[] | null;
  words: Word[] | null;
}

export interface Model {
  id: string;
  object: 'model';
  engine_id: string;
  stage: string;
  status: 'ready' | 'not_downloaded' | string;
  languages: string[] | null;
  word_timestamps: boolean;
  size_bytes: number | null;
  supports_cpu: boolean;
  supports_gpu: boolean;
  source: 'package' | 'local' | 'hub' | string;
  description: string | null;
}

export interface ModelList {
  object: 'list';
  data: Model[];
}

export interface Me {
  key_id: string | null;
  tenant_id: string;
  scopes: Scope[];
}

export interface KeyInfo {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  tenant_id: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface KeyCreated extends KeyInfo {
  key: string;
}

export interface Health {
  status: string;
  version: string;
}

export interface Ready {
  status: 'ready' | 'not_ready';
  checks: Record<string, boolean>;
}

export interface EngineWorker {
  id: string;
  engine_id: string;
  stage: string;
  status: string;
  loaded_models: string[];
  capacity: number;
  active: number;
  host: string;
  pid: number;
  seconds_since_heartbeat: number;
}

export interface EngineList {
  engines: EngineWorker[];
  /** Tasks waiting per engine; -1 when the queue cannot be read. */
  queue_depth: Record<string, number>;
}

export interface RealtimeStatus {
  capacity: number;
  active: number;
  available: number;
  workers: number;
}

export interface RealtimeSession {
  id: string;
  protocol: string;
  model: string;
  language: string | null;
  status: string;
  started_at: string;
  ended_at: string | null;
  audio_seconds: number;
  transcript: string | null;
  has_audio: boolean;
  error: string | null;
  purge_after: string | null;
}

export interface RealtimeSessionList {
  sessions: RealtimeSession[];
  cursor: string | null;
  has_more: boolean;
}

export interface TokenCreated {
  token: string;
  expires_at: string;
  scopes: Scope[];
}
