import { useCallback, useEffect, useRef, useState } from 'react';

export interface QueryState<T> {
  data: T | undefined;
  error: unknown;
  /** True until the first answer (or error) arrives. */
  loading: boolean;
  /** True while any request, first or later, is in flight. */
  fetching: boolean;
  reload: () => void;
}

export interface QueryOptions<T> {
  /** Poll: milliseconds until the next fetch after an answer, or false to stop. */
  refetchInterval?: number | false | ((data: T | undefined) => number | false);
  enabled?: boolean;
}

/**
 * A small data-fetching hook: runs `fn` when `key` changes, keeps the last data
 * while refetching, aborts requests that are no longer wanted, and can poll.
 */
export function useQuery<T>(
  key: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: QueryOptions<T> = {},
): QueryState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [fetching, setFetching] = useState(false);
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const enabled = options.enabled ?? true;
  const lastKey = useRef(key);
  const dataRef = useRef<T | undefined>(undefined);

  useEffect(() => {
    if (!enabled) {
      setLoading(false);
      return;
    }
    if (lastKey.current !== key) {
      lastKey.current = key;
      dataRef.current = undefined;
      setData(undefined);
      setLoading(true);
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setFetching(true);
    fnRef
      .current(controller.signal)
      .then(
        (value) => {
          if (controller.signal.aborted) return;
          dataRef.current = value;
          setData(value);
          setError(null);
          const every = optionsRef.current.refetchInterval;
          const wait = typeof every === 'function' ? every(value) : every;
          if (wait) timer = setTimeout(() => setTick((t) => t + 1), wait);
        },
        (reason: unknown) => {
          if (controller.signal.aborted) return;
          setError(reason);
          // A poll that fails tries again (after twice the wait): a blip in the
          // network must not freeze a page that follows a running job.
          const every = optionsRef.current.refetchInterval;
          const wait = typeof every === 'function' ? every(dataRef.current) : every;
          if (wait && dataRef.current !== undefined) timer = setTimeout(() => setTick((t) => t + 1), wait * 2);
        },
      )
      .finally(() => {
        if (controller.signal.aborted) return;
        setLoading(false);
        setFetching(false);
      });
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [key, tick, enabled]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, fetching, reload };
}
