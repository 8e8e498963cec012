import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, errorFromBody } from './api-client';

type FetchArgs = [input: RequestInfo | URL, init?: RequestInit];

/** A fake fetch that answers from a queue and records each request. */
function fakeFetch(...responses: Response[]) {
  const calls: FetchArgs[] = [];
  const fn = vi.fn(async (...args: FetchArgs) => {
    calls.push(args);
    const next = responses.shift();
    if (!next) throw new Error('no more fake responses');
    return next;
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });

function headersOf(call: FetchArgs | undefined): Headers {
  return new Headers(call?.[1]?.headers);
}

describe('ApiClient', () => {
  it('sends the key as a Bearer header and never in the URL', async () => {
    const f = fakeFetch(json({ jobs: [], cursor: null, has_more: false }));
    const client = new ApiClient({ baseUrl: 'http://dalston:8000/', getKey: () => 'dk_secret', fetch: f.fetch });
    await client.get('/v1/audio/transcriptions', { query: { status: 'completed', limit: 5, cursor: null } });
    const [url, init] = f.calls[0]!;
    expect(String(url)).toBe('http://dalston:8000/v1/audio/transcriptions?status=completed&limit=5');
    expect(String(url)).not.toContain('dk_secret');
    expect(headersOf(f.calls[0]).get('Authorization')).toBe('Bearer dk_secret');
    expect(init?.credentials).toBe('omit');
  });

  it('reads the key at each request (sign in and out)', async () => {
    let key: string | null = null;
    const f = fakeFetch(json({}), json({}));
    const client = new ApiClient({ getKey: () => key, fetch: f.fetch });
    await client.get('/health');
    key = 'dk_now';
    await client.get('/auth/me');
    expect(headersOf(f.calls[0]).has('Authorization')).toBe(false);
    expect(headersOf(f.calls[1]).get('Authorization')).toBe('Bearer dk_now');
  });

  it('sends no key on anonymous requests', async () => {
    const f = fakeFetch(json({ status: 'ok' }));
    const client = new ApiClient({ getKey: () => 'dk_secret', fetch: f.fetch });
    await client.get('/health', { anonymous: true });
    expect(headersOf(f.calls[0]).has('Authorization')).toBe(false);
  });

  it('posts JSON bodies', async () => {
    const f = fakeFetch(json({ id: 'k' }, 201));
    const client = new ApiClient({ getKey: () => 'dk_a', fetch: f.fetch });
    const created = await client.post<{ id: string }>('/auth/keys', { name: 'ci' });
    expect(created.id).toBe('k');
    const init = f.calls[0]![1]!;
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"name":"ci"}');
    expect(headersOf(f.calls[0]).get('Content-Type')).toBe('application/json');
  });

  it('patches with a JSON body', async () => {
    const f = fakeFetch(json({ id: 'job-1', display_name: 'Board call' }));
    const client = new ApiClient({ getKey: () => 'dk_a', fetch: f.fetch });
    const job = await client.patch<{ display_name: string }>('/v1/audio/transcriptions/job-1', {
      display_name: 'Board call',
    });
    expect(job.display_name).toBe('Board call');
    const init = f.calls[0]![1]!;
    expect(init.method).toBe('PATCH');
    expect(init.body).toBe('{"display_name":"Board call"}');
    expect(headersOf(f.calls[0]).get('Content-Type')).toBe('application/json');
  });

  it('turns the error envelope into an ApiError', async () => {
    const f = fakeFetch(
      json(
        {
          error: {
            code: 'invalid_request',
            message: "Unknown model 'nope'.",
            param: 'model',
            type: 'invalid_request_error',
          },
        },
        400,
      ),
    );
    const client = new ApiClient({ getKey: () => 'dk_a', fetch: f.fetch });
    const error = await client.get('/v1/models/nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const e = error as ApiError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid_request');
    expect(e.message).toBe("Unknown model 'nope'.");
    expect(e.param).toBe('model');
    expect(e.type).toBe('invalid_request_error');
    expect(e.detail).toBe("Unknown model 'nope'. (field: model)");
  });

  it('calls onUnauthenticated on a 401', async () => {
    const onUnauthenticated = vi.fn();
    const f = fakeFetch(
      json({ error: { code: 'unauthenticated', message: 'Invalid or revoked API key.', param: null, type: 'authentication_error' } }, 401),
    );
    const client = new ApiClient({ getKey: () => 'dk_old', fetch: f.fetch, onUnauthenticated });
    await expect(client.get('/auth/me')).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
  });

  it('returns an accepted non-2xx body (/ready answers 503)', async () => {
    const f = fakeFetch(json({ status: 'not_ready', checks: { engines: false } }, 503));
    const client = new ApiClient({ getKey: () => null, fetch: f.fetch });
    const ready = await client.get<{ status: string }>('/ready', { acceptStatus: [503] });
    expect(ready.status).toBe('not_ready');
  });

  it('gives undefined for 204', async () => {
    const f = fakeFetch(new Response(null, { status: 204 }));
    const client = new ApiClient({ getKey: () => 'dk_a', fetch: f.fetch });
    await expect(client.delete('/auth/keys/1')).resolves.toBeUndefined();
    expect(f.calls[0]![1]!.method).toBe('DELETE');
  });

  it('reports an unreachable server as a network error', async () => {
    const fetchFn = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    const client = new ApiClient({ getKey: () => 'dk_a', fetch: fetchFn });
    await expect(client.get('/health')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('downloads a blob with the file name from Content-Disposition', async () => {
    const f = fakeFetch(
      new Response('1\n00:00:00,000 --> 00:00:01,000\nHi\n', {
        headers: { 'Content-Type': 'application/x-subrip', 'Content-Disposition': 'attachment; filename="abc.srt"' },
      }),
    );
    const client = new ApiClient({ getKey: () => 'dk_a', fetch: f.fetch });
    const file = await client.download('/v1/audio/transcriptions/abc/export/srt');
    expect(file.filename).toBe('abc.srt');
    expect(file.contentType).toBe('application/x-subrip');
    expect(await file.blob.text()).toMatch(/^1\n00:00:/);
    expect(headersOf(f.calls[0]).get('Authorization')).toBe('Bearer dk_a');
  });
});

describe('errorFromBody', () => {
  it('reads FastAPI detail strings and lists', () => {
    expect(errorFromBody(404, { detail: 'Not Found' }).message).toBe('Not Found');
    const e = errorFromBody(422, { detail: [{ loc: ['query', 'limit'], msg: 'too big', type: 'x' }] });
    expect(e.message).toBe('too big');
    expect(e.param).toBe('limit');
    expect(e.code).toBe('validation_error');
  });

  it('falls back to the text or the status', () => {
    expect(errorFromBody(502, null, 'Bad Gateway').message).toBe('Bad Gateway');
    expect(errorFromBody(500, null).message).toBe('The server answered HTTP 500.');
    expect(errorFromBody(500, null).code).toBe('internal_error');
  });
});

describe('upload', () => {
  /** A fake XMLHttpRequest: enough for ApiClient.upload. */
  class FakeXhr {
    static last: FakeXhr | null = null;
    method = '';
    url = '';
    headers: Record<string, string> = {};
    body: unknown = null;
    status = 0;
    responseText = '';
    upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
    onload: (() => void) | null = null;
    onerror: (() => void) | null = null;
    onabort: (() => void) | null = null;
    constructor() {
      FakeXhr.last = this;
    }
    open(method: string, url: string) {
      this.method = method;
      this.url = url;
    }
    setRequestHeader(name: string, value: string) {
      this.headers[name] = value;
    }
    send(body: unknown) {
      this.body = body;
    }
    abort() {
      this.onabort?.();
    }
    answer(status: number, body: unknown) {
      this.status = status;
      this.responseText = JSON.stringify(body);
      this.onload?.();
    }
  }

  const client = new ApiClient({
    getKey: () => 'dk_up',
    createXhr: () => new FakeXhr() as unknown as XMLHttpRequest,
  });

  it('reports progress and resolves with the created job', async () => {
    const progress = vi.fn();
    const form = new FormData();
    form.append('file', new Blob(['x']), 'a.wav');
    const promise = client.upload<{ id: string }>('/v1/audio/transcriptions', form, { onProgress: progress });
    const xhr = FakeXhr.last!;
    expect(xhr.method).toBe('POST');
    expect(xhr.url).toBe('/v1/audio/transcriptions');
    expect(xhr.headers.Authorization).toBe('Bearer dk_up');
    xhr.upload.onprogress?.({ lengthComputable: true, loaded: 50, total: 100 } as ProgressEvent);
    expect(progress).toHaveBeenCalledWith(50, 100);
    xhr.answer(201, { id: 'job-1' });
    await expect(promise).resolves.toEqual({ id: 'job-1' });
  });

  it('rejects with the parsed error', async () => {
    const promise = client.upload('/v1/audio/transcriptions', new FormData());
    FakeXhr.last!.answer(415, {
      error: { code: 'unsupported_media', message: 'Not audio.', param: 'file', type: 'invalid_request_error' },
    });
    await expect(promise).rejects.toMatchObject({ status: 415, code: 'unsupported_media', param: 'file' });
  });
});
