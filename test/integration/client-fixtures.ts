/**
 * Shared set-up of the camera client's integration specs: a simulated camera per test, a client tuned for fast
 * retries, and small "wait for this event" helpers (no sleeps).
 */
import { CameraClient } from '../../lib/camera/camera-client';
import type { CameraClientOptions } from '../../lib/camera/client-options';
import {
  startCamera,
  type SimulatedCamera,
  type SimulatedCameraOptions,
  type SimulatedRequest,
} from '../../simulator';

/** Fast retries and short timeouts, so that fault tests finish in milliseconds. */
export const FAST: Omit<CameraClientOptions, 'baseUrl'> = {
  retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
  timeouts: { connectMs: 2000, headersMs: 2000, bodyMs: 2000, requestMs: 10_000 },
  sse: { reconnectBaseMs: 10, reconnectMaxMs: 50, heartbeatTimeoutMs: 5000 },
};

/** Starts cameras and clients for one test and stops them all afterwards (even on failure). */
export class Rig {
  private readonly cameras: SimulatedCamera[] = [];
  private readonly clients: CameraClient[] = [];

  async camera(options: SimulatedCameraOptions = {}): Promise<SimulatedCamera> {
    const camera = await startCamera({ seed: 7, restartMs: 200, ...options });
    this.cameras.push(camera);
    return camera;
  }

  client(camera: SimulatedCamera | string, options: Partial<CameraClientOptions> = {}): CameraClient {
    const baseUrl = typeof camera === 'string' ? camera : camera.url;
    const client = new CameraClient({
      baseUrl,
      ...FAST,
      ...options,
      retry: { ...FAST.retry, ...options.retry },
      timeouts: { ...FAST.timeouts, ...options.timeouts },
      sse: { ...FAST.sse, ...options.sse },
    });
    this.clients.push(client);
    return client;
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close()));
    await Promise.all(this.cameras.splice(0).map((c) => c.stop()));
  }
}

/** Camera API requests received (the simulator's log), optionally only those whose path starts with `prefix`. */
export function requests(camera: SimulatedCamera, prefix = '/api/'): SimulatedRequest[] {
  return camera.control.requests().filter((r) => r.path.startsWith(prefix));
}

/** The shared wait on events (test/helpers/wait-for). */
import { waitFor } from '../helpers/wait-for';
export { waitFor };

/** A queue of values pushed by callbacks, taken in order with a timeout. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(value: T) => void> = [];

  push = (value: T): void => {
    const waiter = this.waiters.shift();
    if (waiter) waiter(value);
    else this.items.push(value);
  };

  get size(): number {
    return this.items.length;
  }

  next(what: string, timeoutMs = 5000): Promise<T> {
    const ready = this.items.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return waitFor<T>(
      what,
      (resolve) => {
        this.waiters.push(resolve);
        return () => {
          const i = this.waiters.indexOf(resolve);
          if (i >= 0) this.waiters.splice(i, 1);
        };
      },
      timeoutMs,
    );
  }
}

/**
 * Keeps the camera's current faults for its next `count` camera requests only: the simulator announces a
 * request before it draws that request's faults, so clearing on announcement `count + 1` spares it.
 */
export function faultsForNext(camera: SimulatedCamera, count: number): void {
  let seen = 0;
  const onRequest = (): void => {
    seen += 1;
    if (seen <= count) return;
    camera.control.off('request', onRequest);
    camera.control.clearFaults();
  };
  camera.control.on('request', onRequest);
}
