/** Console settings: one place for constants the features share. */

export const config = {
  /** Where the API lives; empty means the origin that served the console. */
  apiBaseUrl: (import.meta.env.VITE_API_BASE_URL as string | undefined) ?? '',
  /** The router's base: the gateway serves the build at /console/. */
  routerBase: import.meta.env.BASE_URL.replace(/\/$/, ''),
  /** sessionStorage key for the API key: kept for this tab only. */
  apiKeyStorageKey: 'dalston.console.apiKey',
  /** How often a running job is polled. */
  jobPollMs: 1500,
  jobsPageSize: 20,
  /** The list endpoint's largest page, used for the dashboard's counts. */
  countPageSize: 100,
} as const;

export const JOB_STATUSES = [
  'pending',
  'running',
  'completed',
  'failed',
  'cancelling',
  'cancelled',
] as const;

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const;

export const SCOPES = ['jobs:read', 'jobs:write', 'realtime', 'webhooks', 'admin'] as const;

export const SCOPE_HELP: Record<(typeof SCOPES)[number], string> = {
  'jobs:read': 'List and read jobs, export transcripts, play audio',
  'jobs:write': 'Submit, cancel and delete jobs',
  realtime: 'Real-time streaming (guards nothing yet)',
  webhooks: 'Webhooks (guards nothing yet)',
  admin: 'Every scope, and managing API keys',
};

export const EXPORT_FORMATS = ['srt', 'vtt', 'txt', 'json'] as const;

export const GRANULARITIES = [
  { value: 'word', label: 'Word (word timings, highlighting)' },
  { value: 'segment', label: 'Segment' },
  { value: 'none', label: 'None' },
] as const;

/** Common ISO 639-1 codes offered in the language picker. */
export const LANGUAGES: ReadonlyArray<{ code: string; name: string }> = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'German' },
  { code: 'fr', name: 'French' },
  { code: 'es', name: 'Spanish' },
  { code: 'it', name: 'Italian' },
  { code: 'pt', name: 'Portuguese' },
  { code: 'nl', name: 'Dutch' },
  { code: 'pl', name: 'Polish' },
  { code: 'sv', name: 'Swedish' },
  { code: 'da', name: 'Danish' },
  { code: 'no', name: 'Norwegian' },
  { code: 'fi', name: 'Finnish' },
  { code: 'cs', name: 'Czech' },
  { code: 'uk', name: 'Ukrainian' },
  { code: 'ru', name: 'Russian' },
  { code: 'tr', name: 'Turkish' },
  { code: 'ar', name: 'Arabic' },
  { code: 'hi', name: 'Hindi' },
  { code: 'ja', name: 'Japanese' },
  { code: 'ko', name: 'Korean' },
  { code: 'zh', name: 'Chinese' },
];
