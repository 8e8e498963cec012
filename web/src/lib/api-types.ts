/** The shapes of Dalston's native API (docs/api.md). */
import type { AUDIO_REDACTION_MODES, ENTITY_REDACTION_MODES, JOB_STATUSES, SCOPES } from '../config';

export type JobStatus = (typeof JOB_STATUSES)[number];
export type Scope = (typeof SCOPES)[number];
export type SpeakerDetection = 'none' | 'diarize' | 'per_channel';
export type EntityRedactionMode = (typeof ENTITY_REDACTION_MODES)[number]['value'];
export type AudioRedactionMode = (typeof AUDIO_REDACTION_MODES)[number]['value'];
/** The stages a job may run (docs/stages.md); a newer server may add others. */
export type StageName = 'prepare' | 'transcribe' | 'align' | 'diarize' | 'merge' | 'pii' | 'redact';
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
  /** False once the audio was deleted (DELETE .../audio or a purge); absent from older servers. */
  audio_stored?: boolean;
  language_code: string | null;
  error: string | null;
}

export interface JobList {
  jobs: JobSummary[];
  cursor: string | null;
  has_more: boolean;
}

export interface Stage {
  stage: StageName | (string & {});
  engine_id: string;
  status: StageStatus;
  /** The stages this one waits for (the job's graph). */
  depends_on?: string[];
  /** When its last attempt was put on the engine's queue, and how long it waited. */
  queued_at?: string | null;
  queue_wait_ms?: number | null;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  retries: number;
  error: string | null;
  /** 0-1 while running (the transcriber reports it), 1 once done. */
  progress?: number | null;
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
  /** SPEAKER_00, SPEAKER_01, ... in the order they first speak. */
  id: string;
  label?: string | null;
  /** Set when each channel is a speaker (speaker_detection=per_channel). */
  channel?: number | null;
  /** Seconds this speaker talks. */
  talk_time?: number | null;
}

/** A span of personal data in the job's `text`. */
export interface Entity {
  text: string;
  entity_type: string;
  /** Offsets into `text`. */
  start_char: number;
  end_char: number;
  /** Audio seconds of the words the entity covers; null when they cannot be located. */
  start: number | null;
  end: number | null;
  confidence: number | null;
}

export interface PiiSummary {
  /** The types that were looked for. */
  entity_types: string[];
  entity_count: number;
  /** Whether a redacted copy of the audio was written (redact_pii_audio). */
  redacted_audio: boolean;
  redaction_mode: AudioRedactionMode | null;
}

/** What the stages were given; see docs/api.md (Get). */
export interface JobParameters {
  language?: string | null;
  timestamps_granularity?: string;
  vocabulary?: string[];
  speaker_detection?: SpeakerDetection;
  need_word_times?: boolean;
  align?: boolean;
  num_speakers?: number | null;
  min_speakers?: number | null;
  max_speakers?: number | null;
  pii_detection?: boolean;
  pii_entity_types?: string[];
  redact_pii_audio?: boolean;
  pii_redaction_mode?: AudioRedactionMode;
  entity_redaction_mode?: EntityRedactionMode;
  [other: string]: unknown;
}

/** How long a job is kept (docs/api.md, Retention). */
export type RetentionMode = 'keep' | 'days' | 'after_delivery';

export interface RetentionInfo {
  /** keep: until deleted; days: purged at `purge_after`; after_delivery: purged once its finished result is fetched. */
  mode: RetentionMode;
  days: number | null;
  /** Set for `days` once the job has finished. */
  purge_after: string | null;
}

export interface Job extends JobSummary {
  started_at: string | null;
  stages: Stage[];
  /** The share of the audio transcribed so far (0-1); 1 once completed. */
  progress?: number | null;
  parameters: JobParameters;
  language_probability: number | null;
  text: string | null;
  segments: Segment[] | null;
  speakers: Speaker[] | null;
  words: Word[] | null;
  /** PII detection: null unless it ran. */
  pii?: PiiSummary | null;
  entities?: Entity[] | null;
  redacted_text?: string | null;
  /** Notes from the stages (words the aligner kept Whisper's times for, ...). */
  warnings?: string[] | null;
  /** Absent from servers older than retention: kept until deleted. */
  retention?: RetentionInfo;
}

export interface Model {
  id: string;
  object: 'model';
  engine_id: string;
  stage: string;
  status: 'ready' | 'not_downloaded' | 'downloading' | 'failed' | string;
  languages: string[] | null;
  word_timestamps: boolean;
  size_bytes: number | null;
  supports_cpu: boolean;
  supports_gpu: boolean;
  source: 'package' | 'local' | 'hub' | string;
  description: string | null;
  /** Absent from servers without model management. */
  loaded?: boolean;
  downloaded_bytes?: number | null;
  download_progress?: number | null;
  error?: string | null;
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
  /** Requests per minute; null: the tenant's default. Absent from older servers. */
  rate_limit?: number | null;
  /** After this the key is refused (401); null: never. */
  expires_at?: string | null;
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
  /** Hybrid sessions (batch_after=true): the batch job made from the session's audio. */
  batch_job_id?: string | null;
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
