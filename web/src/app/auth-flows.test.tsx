import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { config } from '../config';
import { SignInPage } from '../features/auth/components/SignInPage';
import { AuthProvider } from './providers/auth';
import { RequireAuth } from './RequireAuth';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const ME = { key_id: 'k1', tenant_id: 'default', scopes: ['admin'] };

function renderApp() {
  render(
    <MemoryRouter initialEntries={['/jobs/job-1']}>
      <AuthProvider>
        <Routes>
          <Route path="/sign-in" element={<SignInPage />} />
          <Route element={<RequireAuth />}>
            <Route path="/jobs/:id" element={<p>the job page</p>} />
          </Route>
        </Routes>
      </AuthProvider>
    </MemoryRouter>,
  );
}

describe('console sign-in', () => {
  let authOff: boolean;
  const seenKeys: Array<string | null> = [];

  beforeEach(() => {
    authOff = false;
    seenKeys.length = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const auth = new Headers(init?.headers).get('Authorization');
        seenKeys.push(auth);
        if (String(input).startsWith('/auth/me')) {
          if (auth === 'Bearer dk_good' || authOff) return json(ME);
          return json({ error: { code: 'unauthenticated', message: 'API key required.' } }, 401);
        }
        return json({});
      }),
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    sessionStorage.clear();
    localStorage.clear();
  });

  it('opens without sign-in when the server needs no key', async () => {
    authOff = true;
    renderApp();
    expect(await screen.findByText('the job page')).toBeTruthy();
    expect(seenKeys).toContain(null);
  });

  it('sends a tab without a key to sign-in when the server needs one', async () => {
    renderApp();
    expect(await screen.findByRole('heading', { name: 'Sign in to the console' })).toBeTruthy();
  });

  it('a new tab gets the key of an open tab, and lands on the page it opened', async () => {
    const openTab = new BroadcastChannel('dalston-console-auth');
    openTab.onmessage = (event: MessageEvent<{ type?: string }>) => {
      if (event.data?.type === 'key?') openTab.postMessage({ type: 'key', key: 'dk_good' });
    };
    try {
      renderApp();
      expect(await screen.findByText('the job page')).toBeTruthy();
      expect(seenKeys).toContain('Bearer dk_good');
      expect(sessionStorage.getItem(config.apiKeyStorageKey)).toBe('dk_good');
      expect(localStorage.getItem(config.apiKeyStorageKey)).toBeNull();
    } finally {
      openTab.close();
    }
  });

  it('remembers the key on this device only when asked', async () => {
    renderApp();
    fireEvent.change(await screen.findByLabelText('API key'), { target: { value: 'dk_good' } });
    fireEvent.click(screen.getByRole('checkbox'));
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('the job page')).toBeTruthy();
    await waitFor(() => expect(localStorage.getItem(config.apiKeyStorageKey)).toBe('dk_good'));
  });
});
