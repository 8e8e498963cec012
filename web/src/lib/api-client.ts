/**
 * The one client the console uses to talk to Dalston.
 *
 * The API key travels only in the Authorization header, never in a URL. Every
 * failure becomes an ApiError built from the server's error envelope
 * `{"error": {"code", "message", "param", "type"}}`.
 */

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  json?: unknown;
  signal?: AbortSignal;
  /** Statuses besides 2xx whose JSON body is returned instead of thrown. */
  acceptStatus?: number[];
  /** Send no key (health checks). */
  anonymous?: boolean;
}

export interface UploadOptions {
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

export interface Download {
  blob: Blob;
  filename: string | null;
  contentType: string | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly param: string | null;
  readonly type: string | null;

  constructor(
    status: number,
    code: string,
    message: string,
    param: string | null = null,
    type: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.param = param;
    this.type = type;
  }

  /** The message with the offending field, as shown to a person. */
  get detail(): string {
    return this.param ? `${this.message} (field: ${this.param})` : this.message;
  }
}

const STATUS_CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media',
  422: 'validation_error',
  429: 'rate_limited',
  500: 'internal_error',
  503: 'unavailable',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An ApiError from a status and a body in any shape the server may send. */
export function errorFromBody(status: number, body: unknown, fallbackText = ''): ApiError {
  const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'error');
  if (isRecord(body) && isRecord(body.error)) {
    const e = body.error;
    return new ApiError(
      status,
      typeof e.code === 'string' ? e.code : code,
      typeof e.message === 'string' ? e.message : `HTTP ${status}`,
      typeof e.param === 'string' ? e.param : null,
      typeof e.type === 'string' ? e.type : null,
    );
  }
  // FastAPI's own shapes, should anything answer outside the envelope.
  if (isRecord(body) && 'detail' in body) {
    const d = body.detail;
    if (typeof d === 'string') return new ApiError(status, code, d);
    if (isRecord(d) && typeof d.message === 'string') return new ApiError(status, code, d.message);
    if (Array.isArray(d) && isRecord(d[0]) && typeof d[0].msg === 'string') {
      const loc = Array.isArray(d[0].loc) ? d[0].loc : [];
      const param = loc.length ? String(loc[loc.length - 1]) : null;
      return new ApiError(status, code, d[0].msg, param);
    }
  }
  const text = fallbackText.trim().slice(0, 300);
  return new ApiError(status, code, text || `The server answered HTTP ${status}.`);
}

/** Reads a failed response into an ApiError. */
export async function parseError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return errorFromBody(response.status, body, text);
}

function filenameFrom(disposition: string | null): string | null {
  if (!disposition) return null;
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

export interface ApiClientOptions {
  baseUrl?: string;
  /** The current API key, or null when signed out. */
  getKey: () => string | null;
  /** Called when the server rejects the key (401), e.g. to sign out. */
  onUnauthenticated?: (error: ApiError) => void;
  fetch?: typeof fetch;
  /** Makes the XMLHttpRequest used for uploads with progress. */
  createXhr?: () => XMLHttpRequest;
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly getKey: () => string | null;
  private readonly onUnauthenticated: ((error: ApiError) => void) | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly createXhr: () => XMLHttpRequest;

  constructor(options: ApiClientOptions) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
    this.getKey = options.getKey;
    this.onUnauthenticated = options.onUnauthenticated;
    // Bound so that window.fetch is not called with the client as `this`.
    const f = options.fetch ?? globalThis.fetch;
    this.fetchImpl = (input, init) => f(input, init);
    this.createXhr = options.createXhr ?? (() => new XMLHttpRequest());
  }

  url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  private headers(anonymous = false, extra: Record<string, string> = {}): Headers {
    const headers = new Headers({ Accept: 'application/json', ...extra });
    const key = anonymous ? null : this.getKey();
    if (key) headers.set('Authorization', `Bearer ${key}`);
    return headers;
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const extra: Record<string, string> =
      options.json === undefined ? {} : { 'Content-Type': 'application/json' };
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path, options.query), {
        method,
        headers: this.headers(options.anonymous, extra),
        body: options.json === undefined ? undefined : JSON.stringify(options.json),
        signal: options.signal,
        credentials: 'omit',
      });
    } catch (cause) {
      if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
      throw new ApiError(0, 'network_error', 'Cannot reach the Dalston server.');
    }
    if (!response.ok && !options.acceptStatus?.includes(response.status)) {
      const error = await parseError(response);
      if (error.status === 401 && !options.anonymous) this.onUnauthenticated?.(error);
      throw error;
    }
    return response;
  }

  /** A JSON request; 204 answers give `undefined`. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, json?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, json });
  }

  patch<T>(path: string, json?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, json });
  }

  delete<T = void>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /** A text body (Prometheus metrics). */
  async text(path: string, options: RequestOptions = {}): Promise<string> {
    const response = await this.send('GET', path, options);
    return response.text();
  }

  /** A binary body with its file name: exports and audio. */
  async download(path: string, options: RequestOptions = {}): Promise<Download> {
    const response = await this.send('GET', path, options);
    return {
      blob: await response.blob(),
      filename: filenameFrom(response.headers.get('Content-Disposition')),
      contentType: response.headers.get('Content-Type'),
    };
  }

  /** A multipart POST with upload progress (fetch cannot report it). */
  upload<T>(path: string, form: FormData, options: UploadOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = this.createXhr();
      xhr.open('POST', this.url(path));
      xhr.setRequestHeader('Accept', 'application/json');
      const key = this.getKey();
      if (key) xhr.setRequestHeader('Authorization', `Bearer ${key}`);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) options.onProgress?.(event.loaded, event.total);
      };
      xhr.onload = () => {
        let body: unknown = null;
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(body as T);
          return;
        }
        const error = errorFromBody(xhr.status, body, xhr.responseText);
        if (error.status === 401) this.onUnauthenticated?.(error);
        reject(error);
      };
      xhr.onerror = () => reject(new ApiError(0, 'network_error', 'The upload failed: the server could not be reached.'));
      xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
      options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(form);
    });
  }
}

/** A message for any error a page shows. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof Error) return error.message;
  return String(error);
}
