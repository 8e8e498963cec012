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

/** What each scope opens, as the server checks it (dalston/gateway/deps.py, gateway/stream.py). */
export const SCOPE_HELP: Record<(typeof SCOPES)[number], string> = {
  'jobs:read':
    'Read jobs, their transcripts, exports and audio; realtime session records, capacity and engines; job stats',
  'jobs:write': 'Submit, edit, cancel and delete jobs and their audio; delete realtime session records',
  realtime:
    'Open live transcription streams (native, ElevenLabs and OpenAI WebSockets) and mint OpenAI realtime client secrets',
  webhooks: 'Manage webhook endpoints, their secrets, deliveries and retries (and ElevenLabs workspace webhooks)',
  admin:
    'Every scope, plus API keys, the audit log and the queue board; an admin of the default tenant also pulls and removes models',
};

/** Requests per minute a key may be given (KeyCreate.rate_limit). */
export const MAX_KEY_RATE_LIMIT = 10_000;

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

/** The largest speaker count diarization takes (num/min/max_speakers). */
export const MAX_SPEAKERS = 32;

/** The longest retention a job may ask for, in days (`retention`, 1-3650). */
export const MAX_RETENTION_DAYS = 3650;

/** PII categories (ElevenLabs' names) and the entity types each holds (dalston/pii.py). */
export const PII_CATEGORIES: ReadonlyArray<{ value: string; label: string; types: readonly string[] }> = [
  {
    value: 'pii',
    label: 'Personal',
    types: [
      'PERSON',
      'LOCATION',
      'DATE_TIME',
      'PHONE_NUMBER',
      'EMAIL_ADDRESS',
      'IP_ADDRESS',
      'US_SSN',
      'US_ITIN',
      'US_PASSPORT',
      'US_DRIVER_LICENSE',
    ],
  },
  { value: 'phi', label: 'Health', types: ['MEDICAL_LICENSE', 'UK_NHS'] },
  { value: 'pci', label: 'Payment', types: ['CREDIT_CARD', 'CVV', 'IBAN_CODE', 'US_BANK_NUMBER'] },
  { value: 'other', label: 'Other', types: ['ORGANIZATION', 'NRP', 'URL'] },
  { value: 'offensive_language', label: 'Offensive language', types: ['PROFANITY'] },
];

/** How `redacted_text` masks an entity; the first is the server's default. */
export const ENTITY_REDACTION_MODES = [
  { value: 'entity_type', label: 'Entity type: {PERSON}' },
  { value: 'enumerated_entity_type', label: 'Numbered: {PERSON_1}' },
  { value: 'redacted', label: 'Redacted: {REDACTED}' },
] as const;

/** What replaces an entity in the redacted audio; the first is the default. */
export const AUDIO_REDACTION_MODES = [
  { value: 'silence', label: 'Silence' },
  { value: 'beep', label: 'Beep (1 kHz tone)' },
] as const;

/** What each pipeline stage does, for the stage list. Unknown stages show their name only. */
export const STAGE_HELP: Record<string, string> = {
  prepare: 'Decode and resample the audio',
  transcribe: 'Speech to text',
  align: 'Word timing by forced alignment',
  diarize: 'Who spoke when',
  merge: 'Speakers onto words and segments',
  pii: 'Find personal data',
  redact: 'Silence or beep personal data in the audio',
};
