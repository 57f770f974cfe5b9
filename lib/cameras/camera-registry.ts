import type { CameraApi } from '../camera/camera-api';
import type { CameraHealth, HealthSnapshot } from '../camera/camera-health';
import type { LiveCaps } from '../live/live-caps';
import type { RtspCredentials } from '../live/rtsp-credentials';

/**
 * A camera of the running application, as its owner (the `pfcam-camera` config node) registers it: every node,
 * the dashboard's API and the live relay find cameras here, by id or by serial number, instead of walking the
 * flows themselves.
 */
export interface RegisteredCamera {
  /** The owner's id (the config node's id): stable across restarts of the camera, unique in the process. */
  readonly id: string;
  /** The name to show: the node's name, else the camera's own name, else its URL. */
  readonly displayName: string;
  /** The serial number, once a probe has read it. */
  readonly serialNumber: string | undefined;
  readonly client: CameraApi;
  readonly health: CameraHealth;
  readonly snapshot: HealthSnapshot;
  /** The live relay's uplink caps chosen on the camera's node (none: no cap). */
  readonly liveCaps?: LiveCaps;
  /**
   * The credentials of the camera's RTSP stream (the node's user name and password), for the live relay only;
   * a function, so that they are never part of what is serialised or logged. Undefined: none.
   */
  rtspCredentials?(): RtspCredentials | undefined;
  /** Runs `work` with the camera's write lock held (settings writes, resets, reboots). */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

/** How long `bySerial` waits at most for unprobed cameras' first answers (ms). */
export const PROBE_WAIT_MS = 10_000;

export class CameraRegistry {
  private readonly cameras = new Map<string, RegisteredCamera>();

  /** Adds a camera; returns the function that removes exactly this registration (idempotent). */
  add(camera: RegisteredCamera): () => void {
    this.cameras.set(camera.id, camera);
    return () => {
      if (this.cameras.get(camera.id) === camera) this.cameras.delete(camera.id);
    };
  }

  /** Every registered camera, in registration order. */
  list(): RegisteredCamera[] {
    return [...this.cameras.values()];
  }

  byId(id: string): RegisteredCamera | undefined {
    return this.cameras.get(id);
  }

  /** The camera whose serial number is already known to be `serial`, without probing. */
  knownSerial(serial: string): RegisteredCamera | undefined {
    for (const camera of this.cameras.values()) if (camera.serialNumber === serial) return camera;
    return undefined;
  }

  /**
   * The camera whose serial number is `serial`; cameras whose serial is not known yet are probed first (for at
   * most `waitMs`, or until `signal` aborts). Undefined when no registered camera has that serial.
   */
  async bySerial(
    serial: string,
    options: { signal?: AbortSignal; waitMs?: number } = {},
  ): Promise<RegisteredCamera | undefined> {
    const known = this.knownSerial(serial);
    if (known) return known;
    const unknown = this.list().filter((c) => c.serialNumber === undefined);
    const { signal } = options;
    if (unknown.length === 0 || signal?.aborted) return undefined;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        Promise.allSettled(unknown.map((c) => c.health.probeNow())),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, options.waitMs ?? PROBE_WAIT_MS);
          onAbort = resolve;
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    return this.knownSerial(serial);
  }
}

/**
 * The process's registry. Node-RED loads this package once per process, so the config nodes, the other nodes,
 * the dashboard's API and the live relay all see this one instance.
 */
export const cameras = new CameraRegistry();
