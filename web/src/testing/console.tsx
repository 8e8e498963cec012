/** Test helpers: a page rendered behind the real auth provider, and a fetch stub
 * answering by method and path. */
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { vi } from 'vitest';
import { AuthProvider } from '../app/providers/auth';
import { RequireAuth } from '../app/RequireAuth';
import { config } from '../config';
import type { Scope } from '../lib/api-types';

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

export interface Call {
  method: string;
  url: string;
  body: unknown;
}

type Handler = (call: Call) => Response | Promise<Response> | undefined;

/** Stubs fetch: /auth/me answers with `scopes`, then each handler in turn; the
 * rest is 404. Every request is recorded in the returned list. */
export function stubApi(scopes: () => Scope[], ...handlers: Handler[]): Call[] {
  const calls: Call[] = [];
  sessionStorage.setItem(config.apiKeyStorageKey, 'dk_test');
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const call: Call = {
        method: init?.method ?? 'GET',
        url: String(input),
        body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      };
      calls.push(call);
      if (call.url.startsWith('/auth/me')) return json({ key_id: 'k1', tenant_id: 'default', scopes: scopes() });
      for (const handler of handlers) {
        const answer = await handler(call);
        if (answer) return answer;
      }
      return json({ error: { code: 'not_found', message: `no stub for ${call.method} ${call.url}` } }, 404);
    }),
  );
  return calls;
}

/** `element` at `path` (route pattern `route`), behind sign-in as the real app has it. */
export function renderPage(path: string, route: string, element: ReactElement) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider>
        <Routes>
          <Route element={<RequireAuth />}>
            <Route path={route} element={element} />
            <Route path="*" element={<p>elsewhere</p>} />
          </Route>
        </Routes>
      </AuthProvider>
    </MemoryRouter>,
  );
}
