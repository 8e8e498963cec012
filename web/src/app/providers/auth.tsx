import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { config } from '../../config';
import { ApiClient, ApiError } from '../../lib/api-client';
import type { Me, Scope } from '../../lib/api-types';

/**
 * The API key lives in sessionStorage: it stays for this tab (and its reloads)
 * and is gone when the tab closes; a new tab of the console asks the open ones
 * for it (a same-origin BroadcastChannel), so a link opened in a new tab stays
 * signed in. Only an explicit "remember on this device" puts it in
 * localStorage. It is never put in a URL.
 */
function readStoredKey(): string | null {
  try {
    return sessionStorage.getItem(config.apiKeyStorageKey) ?? localStorage.getItem(config.apiKeyStorageKey);
  } catch {
    return null;
  }
}

function storeKey(key: string | null, remember = false): void {
  try {
    if (key) sessionStorage.setItem(config.apiKeyStorageKey, key);
    else sessionStorage.removeItem(config.apiKeyStorageKey);
    if (key && remember) localStorage.setItem(config.apiKeyStorageKey, key);
    if (!key) localStorage.removeItem(config.apiKeyStorageKey);
  } catch {
    // Storage disabled: the key lives in memory for this page only.
  }
}

const CHANNEL = 'dalston-console-auth';
/** How long a new tab waits for an open tab to hand over the key. */
export const KEY_HANDOVER_MS = 300;

function openChannel(): BroadcastChannel | null {
  try {
    return typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);
  } catch {
    return null;
  }
}

/** The key of another open console tab, if one answers in time. */
function askOtherTabs(): Promise<string | null> {
  const channel = openChannel();
  if (!channel) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (key: string | null) => {
      clearTimeout(timer);
      channel.close();
      resolve(key);
    };
    const timer = setTimeout(() => done(null), KEY_HANDOVER_MS);
    channel.onmessage = (event: MessageEvent<{ type?: string; key?: string }>) => {
      if (event.data?.type === 'key' && event.data.key) done(event.data.key);
    };
    channel.postMessage({ type: 'key?' });
  });
}

interface AuthContextValue {
  client: ApiClient;
  apiKey: string | null;
  me: Me | null;
  /** Why the last session ended, shown on the sign-in page. */
  notice: string | null;
  /** The first look for a key (stored, another tab's, or none needed) is done. */
  ready: boolean;
  /** The server needs no key (DALSTON_AUTH=none): no sign-in at all. */
  authOff: boolean;
  signIn: (key: string, remember?: boolean) => Promise<void>;
  signOut: (notice?: string) => void;
  /** Loads /auth/me for a key kept from an earlier page load. */
  restore: (signal: AbortSignal) => Promise<Me | null>;
  can: (scope: Scope) => boolean;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [apiKey, setApiKey] = useState<string | null>(readStoredKey);
  const [me, setMe] = useState<Me | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // Without a key at load: other tabs are asked, then whether the server wants
  // one at all (DALSTON_AUTH=none answers /auth/me without). Until then, ready
  // is false and nothing is sent to sign-in.
  const [ready, setReady] = useState<boolean>(() => readStoredKey() !== null);
  const [authOff, setAuthOff] = useState(false);
  const keyRef = useRef(apiKey);
  keyRef.current = apiKey;

  const signOut = useCallback((why?: string) => {
    storeKey(null);
    keyRef.current = null;
    setApiKey(null);
    setMe(null);
    setNotice(why ?? null);
  }, []);

  // Hand this tab's key to a console tab that asks for it.
  useEffect(() => {
    const channel = openChannel();
    if (!channel) return undefined;
    channel.onmessage = (event: MessageEvent<{ type?: string }>) => {
      if (event.data?.type === 'key?' && keyRef.current) channel.postMessage({ type: 'key', key: keyRef.current });
    };
    return () => channel.close();
  }, []);

  useEffect(() => {
    if (ready) return undefined;
    let stop = false;
    void (async () => {
      const handed = await askOtherTabs();
      if (stop) return;
      if (handed) {
        storeKey(handed);
        keyRef.current = handed;
        setApiKey(handed);
        setReady(true);
        return;
      }
      try {
        const open = new ApiClient({ baseUrl: config.apiBaseUrl, getKey: () => null });
        const who = await open.get<Me>('/auth/me');
        if (stop) return;
        setMe(who);
        setAuthOff(true);
      } catch {
        // The server wants a key: the sign-in page asks for it.
      }
      if (!stop) setReady(true);
    })();
    return () => {
      stop = true;
    };
  }, [ready]);

  const client = useMemo(
    () =>
      new ApiClient({
        baseUrl: config.apiBaseUrl,
        getKey: () => keyRef.current,
        onUnauthenticated: (error: ApiError) => {
          if (keyRef.current) signOut(`The server rejected your API key: ${error.message}`);
        },
      }),
    [signOut],
  );

  const signIn = useCallback(async (key: string, remember = false) => {
    const trimmed = key.trim();
    const probe = new ApiClient({ baseUrl: config.apiBaseUrl, getKey: () => trimmed });
    const who = await probe.get<Me>('/auth/me');
    storeKey(trimmed, remember);
    keyRef.current = trimmed;
    setApiKey(trimmed);
    setMe(who);
    setNotice(null);
  }, []);

  const restore = useCallback(
    async (signal: AbortSignal) => {
      if (!keyRef.current) return null;
      const who = await client.get<Me>('/auth/me', { signal });
      setMe(who);
      return who;
    },
    [client],
  );

  const can = useCallback(
    (scope: Scope) => !!me && (me.scopes.includes('admin') || me.scopes.includes(scope)),
    [me],
  );

  const value = useMemo(
    () => ({ client, apiKey, me, notice, ready, authOff, signIn, signOut, restore, can }),
    [client, apiKey, me, notice, ready, authOff, signIn, signOut, restore, can],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth needs an <AuthProvider>.');
  return value;
}

/** The API client of the signed-in tab. */
export function useApi(): ApiClient {
  return useAuth().client;
}
