/**
 * One way for tests to wait: on events, with a timeout. No sleeps, no polling loops.
 */
/** Anything with on/off listeners: an EventEmitter, a simulator control, a stream. */
export interface Emitter {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: any, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: any, listener: (...args: any[]) => void): unknown;
}

/**
 * Resolves with the first value `subscribe` delivers, or rejects after `timeoutMs` naming `what`.
 * `subscribe` gets the resolver and returns its own cleanup, called once the wait ends either way.
 */
export function waitFor<T>(
  what: string,
  subscribe: (resolve: (value: T) => void, reject: (err: Error) => void) => () => void,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let cleanup: () => void = () => undefined;
    const finish = (action: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      action();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))),
      timeoutMs,
    );
    const unsubscribe = subscribe(
      (value) => finish(() => resolve(value)),
      (err) => finish(() => reject(err)),
    );
    // a value delivered during subscribe() is cleaned up here
    if (settled) unsubscribe();
    else cleanup = unsubscribe;
  });
}

/**
 * Resolves with `check()`'s first result that is not undefined, false or null: checked at once, then each time
 * `emitter` emits `event`. Rejects after `timeoutMs`, or as soon as `check` throws.
 */
export function waitUntil<T>(
  what: string,
  emitter: Emitter,
  event: string,
  check: () => T | undefined | false | null,
  timeoutMs = 5000,
): Promise<T> {
  return waitFor<T>(
    what,
    (resolve, reject) => {
      const test = (): void => {
        try {
          const value = check();
          if (value !== undefined && value !== false && value !== null) resolve(value);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      emitter.on(event, test);
      test();
      return () => emitter.off(event, test);
    },
    timeoutMs,
  );
}

/**
 * Sets environment variables for a test and gives back a function restoring them exactly (unset ones are
 * deleted again): `const restore = setEnv({ A: '1' }); try { ... } finally { restore(); }`.
 */
export function setEnv(values: Record<string, string | undefined>): () => void {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(values)) {
    saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** `waitFor` for a start function that only ever resolves (a callback style: nothing to unsubscribe). */
export function waitForDone<T>(
  what: string,
  timeoutMs: number,
  start: (resolve: (value: T) => void) => void,
): Promise<T> {
  return waitFor<T>(
    what,
    (resolve) => {
      start(resolve);
      return () => undefined;
    },
    timeoutMs,
  );
}
