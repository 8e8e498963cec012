import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import { config } from '../../config';
import { ApiClient, ApiError } from '../../lib/api-client';
import type { Me, Scope } from '../../lib/api-types';

/**
 * The API key lives in sessionStorage: it stays for this tab (and its reloads)
 * and is gone when the tab closes. It is never put in a URL.
 */
function readStoredKey(): string | null {
  try {
    return sessionStorage.getItem(config.apiKeyStorageKey);
  } catch {
    return null;
  }
}

function storeKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(config.apiKeyStorageKey, key);
    else sessionStorage.removeItem(config.apiKeyStorageKey);
  } catch {
    // Storage disabled: the key lives in memory for this page only.
  }
}

interface AuthContextValue {
  client: ApiClient;
  apiKey: string | null;
  me: Me | null;
  /** Why the last session ended, shown on the sign-in page. */
  notice: string | null;
  signIn: (key: string) => Promise<void>;
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
  const keyRef = useRef(apiKey);
  keyRef.current = apiKey;

  const signOut = useCallback((why?: string) => {
    storeKey(null);
    keyRef.current = null;
    setApiKey(null);
    setMe(null);
    setNotice(why ?? null);
  }, []);

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

  const signIn = useCallback(async (key: string) => {
    const trimmed = key.trim();
    const probe = new ApiClient({ baseUrl: config.apiBaseUrl, getKey: () => trimmed });
    const who = await probe.get<Me>('/auth/me');
    storeKey(trimmed);
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
    () => ({ client, apiKey, me, notice, signIn, signOut, restore, can }),
    [client, apiKey, me, notice, signIn, signOut, restore, can],
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
