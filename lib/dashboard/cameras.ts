/**
 * The Cameras screen's data over the process camera registry: each camera's health as the page shows it, the
 * details read on demand (storage, firmware, clock drift, active events), and the checked bodies of the camera
 * actions. Only cameras inside the principal's scope are listed or reachable (others are "not found").
 */
import { inCameraScope, type Principal } from '../auth/permissions';
import type { CameraState } from '../camera/camera-health';
import { measureClockDrift, type ClockDriftReport } from '../camera/clock-drift';
import { buildTriggerRequest, TRIGGER_FIELDS } from '../camera/trigger-options';
import type { FirmwareInfo, StorageInfo, TriggerRequest } from '../camera/types';
import type { CameraRegistry, RegisteredCamera } from '../cameras/camera-registry';
import { errorText, InputError } from '../errors';
import { badRequest, notFound } from './dashboard-errors';

export interface CameraView {
  /** The registry id (the config node's id). */
  id: string;
  serial: string | null;
  name: string;
  state: CameraState;
  since: string;
  lastSeen: string | null;
  /** Seconds, as the camera last reported. */
  uptime: number | null;
  firmware: string | null;
  /** Reboots seen since this process started. */
  reboots: number;
  lastError: string | null;
}

/** Counts each camera's reboots (the health's `rebooted` changes), subscribing once per camera. */
export class RebootCounter {
  private readonly counts = new Map<string, number>();
  private readonly watched = new Map<RegisteredCamera, () => void>();

  watch(camera: RegisteredCamera): void {
    if (this.watched.has(camera)) return;
    const listener = (change: { rebooted: boolean }): void => {
      if (change.rebooted) this.counts.set(camera.id, (this.counts.get(camera.id) ?? 0) + 1);
    };
    camera.health.on('change', listener);
    this.watched.set(camera, () => camera.health.off('change', listener));
  }

  count(camera: RegisteredCamera): number {
    return this.counts.get(camera.id) ?? 0;
  }

  /** Removes every listener this counter added. */
  close(): void {
    for (const off of this.watched.values()) off();
    this.watched.clear();
  }
}

export function cameraView(camera: RegisteredCamera, reboots: number): CameraView {
  const s = camera.snapshot;
  return {
    id: camera.id,
    serial: camera.serialNumber ?? null,
    name: camera.displayName,
    state: s.state,
    since: s.since,
    lastSeen: s.lastSeen ?? null,
    uptime: s.uptime ?? null,
    firmware: s.softwareVersion ?? null,
    reboots,
    lastError: s.lastError ?? null,
  };
}

/** The cameras the principal may see (a camera whose serial is not known yet only for unscoped principals). */
export function listCameras(
  registry: CameraRegistry,
  principal: Principal,
  reboots: RebootCounter,
): CameraView[] {
  return registry
    .list()
    .filter((c) =>
      c.serialNumber === undefined ? principal.cameras === null : inCameraScope(principal, c.serialNumber),
    )
    .map((c) => {
      reboots.watch(c);
      return cameraView(c, reboots.count(c));
    });
}

/** The registered camera with that serial, inside the principal's scope; 404 otherwise. */
export async function cameraFor(
  registry: CameraRegistry,
  principal: Principal,
  serial: string | undefined,
): Promise<RegisteredCamera> {
  if (!serial || !inCameraScope(principal, serial)) throw notFound('camera');
  const camera = await registry.bySerial(serial, { waitMs: 2_000 });
  if (!camera) throw notFound('camera');
  return camera;
}

/** Something read from the camera, or why it could not be. */
export type Reading<T> = { ok: true; value: T } | { ok: false; error: string };

export interface CameraDetails {
  camera: CameraView;
  storage: Reading<StorageInfo>;
  firmware: Reading<FirmwareInfo>;
  clock: Reading<ClockDriftReport>;
  activeEvents: Reading<{ eventName: string | null; fileName: string; triggeredAt: string }[]>;
}

async function reading<T>(work: () => Promise<T>): Promise<Reading<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    return { ok: false, error: errorText(err) };
  }
}

/** Reads what the Cameras screen shows of one camera (each part fails on its own: an offline camera says so). */
export async function cameraDetails(
  camera: RegisteredCamera,
  reboots: RebootCounter,
  options: { timeoutMs?: number } = {},
): Promise<CameraDetails> {
  const call = { timeoutMs: options.timeoutMs ?? 5_000 };
  const [storage, firmware, clock, active] = await Promise.all([
    reading(() => camera.client.getStorage(call)),
    reading(() => camera.client.getFirmware(call)),
    reading(() => measureClockDrift(camera.client, call)),
    reading(async () =>
      (await camera.client.listActiveEvents(call)).map((e) => ({
        eventName: e.eventName,
        fileName: e.fileName,
        triggeredAt: e.triggeredAt,
      })),
    ),
  ]);
  reboots.watch(camera);
  return {
    camera: cameraView(camera, reboots.count(camera)),
    storage,
    firmware,
    clock,
    activeEvents: active,
  };
}

/** Checks a trigger body: `eventName` (required), `overlayText`, `preEventSeconds`, `postEventSeconds`, ... */
export function parseTrigger(body: unknown): Partial<TriggerRequest> & { eventName: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the body must be an object');
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!(TRIGGER_FIELDS as readonly string[]).includes(key)) throw badRequest(`unknown field "${key}"`);
  }
  const values = Object.fromEntries(
    TRIGGER_FIELDS.map((f) => [f, { value: b[f], source: `the ${f} field` }]),
  ) as Parameters<typeof buildTriggerRequest>[0];
  try {
    return buildTriggerRequest(values);
  } catch (err) {
    if (err instanceof InputError) throw badRequest(err.message);
    throw err;
  }
}

/** Checks a stop body: `{ eventName?: string }` (absent: every active event). */
export function parseStop(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be an object');
  const name = (body as Record<string, unknown>).eventName;
  if (name === undefined || name === null || name === '') return undefined;
  if (typeof name !== 'string' || name.length > 64)
    throw badRequest('eventName must be a text of at most 64 characters');
  return name;
}
