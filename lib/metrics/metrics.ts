/**
 * The application's Prometheus metrics: one registry, prefix `pfcam_`, base units (bytes, seconds), `_total`
 * counters and labels from small fixed sets only (never a serial number, a name, a user or an address, so the
 * series count stays bounded and no secret or personal datum can reach a scrape).
 *
 * Modules report through the typed API of `metrics` (`metrics.recordingArchived(bytes, seconds)`...); camera
 * states are read from the camera registry at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { cameras as processCameras, type CameraRegistry } from '../cameras/camera-registry';
import type { CameraState } from '../camera/camera-health';

export const METRIC_PREFIX = 'pfcam_';

export const CAMERA_STATES: readonly CameraState[] = ['unknown', 'online', 'offline', 'restarting'];
export const ALERT_CHANNELS = ['email', 'webhook', 'dashboard', 'mqtt'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];
export const DELIVERY_RESULTS = ['success', 'failure'] as const;
export type DeliveryResult = (typeof DELIVERY_RESULTS)[number];
export const LOGIN_RESULTS = ['success', 'failure', 'locked'] as const;
export type LoginResult = (typeof LOGIN_RESULTS)[number];

/** Download durations: a few KB over a good link to minutes of video over a weak mobile one. */
const DOWNLOAD_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/**
 * Discovery latencies, from the trigger to the row in the index: the recording's own length (up to minutes of
 * post-event time) plus the wait for the camera's feed or the next list (seconds to the reconciliation interval),
 * up to hours for a camera that was out of reach.
 */
const DISCOVERY_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600];

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new RangeError(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
}

function count(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0`);
  return value;
}

export interface MetricsOptions {
  /** Where camera states come from (default: the process's registry). */
  cameras?: Pick<CameraRegistry, 'list'>;
  /** Adds Node.js process metrics (`pfcam_process_*`, `pfcam_nodejs_*`); default true. */
  processMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly archived: Counter;
  private readonly downloadedBytes: Counter;
  private readonly downloadDuration: Histogram;
  private readonly discoveryLatency: Histogram;
  private readonly backlog: Gauge;
  private readonly alertDeliveries: Counter<'channel' | 'result'>;
  private readonly logins: Counter<'result'>;
  private readonly viewers: Gauge;
  private readonly droppedFrames: Counter;
  private readonly storeBytes: Gauge;
  /** The size of each open store (several `pfcam-store` nodes may run): the gauge is their sum. */
  private readonly storeSizes = new Map<string, number>();

  constructor(options: MetricsOptions = {}) {
    const source = options.cameras ?? processCameras;
    const registers = [this.registry];
    new Gauge({
      name: `${METRIC_PREFIX}cameras`,
      help: 'Cameras of this Node-RED by state',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<string, number>(CAMERA_STATES.map((s) => [s, 0]));
        for (const camera of source.list()) {
          const state = camera.snapshot.state;
          counts.set(state, (counts.get(state) ?? 0) + 1);
        }
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    this.archived = new Counter({
      name: `${METRIC_PREFIX}recordings_archived_total`,
      help: 'Recordings downloaded from cameras and stored in the archive',
      registers,
    });
    this.downloadedBytes = new Counter({
      name: `${METRIC_PREFIX}downloaded_bytes_total`,
      help: 'Bytes of recordings downloaded from cameras',
      registers,
    });
    this.downloadDuration = new Histogram({
      name: `${METRIC_PREFIX}download_duration_seconds`,
      help: 'Time to download and store one recording (video and thumbnail, verified and renamed)',
      buckets: DOWNLOAD_BUCKETS,
      registers,
    });
    this.discoveryLatency = new Histogram({
      name: `${METRIC_PREFIX}discovery_latency_seconds`,
      help: "Time from a recording's trigger (by the camera's own age of it) to its row in the index",
      buckets: DISCOVERY_BUCKETS,
      registers,
    });
    this.backlog = new Gauge({
      name: `${METRIC_PREFIX}backup_backlog`,
      help: 'Files waiting to be backed up to S3',
      registers,
    });
    this.alertDeliveries = new Counter({
      name: `${METRIC_PREFIX}alert_deliveries_total`,
      help: 'Alert delivery attempts by channel and result',
      labelNames: ['channel', 'result'],
      registers,
    });
    this.logins = new Counter({
      name: `${METRIC_PREFIX}logins_total`,
      help: 'Login attempts (dashboard and editor) by result',
      labelNames: ['result'],
      registers,
    });
    this.viewers = new Gauge({
      name: `${METRIC_PREFIX}live_viewers`,
      help: 'Open live views (MJPEG and fMP4 viewers)',
      registers,
    });
    this.droppedFrames = new Counter({
      name: `${METRIC_PREFIX}live_dropped_frames_total`,
      help: 'Live frames (MJPEG) and fragments (fMP4) dropped for slow viewers',
      registers,
    });
    this.storeBytes = new Gauge({
      name: `${METRIC_PREFIX}store_size_bytes`,
      help: 'Bytes held by the archive: its database (with its write-ahead log) and its media files',
      registers,
    });
    // Series exist from the first scrape, at zero, so rate() and alerts work before the first event.
    for (const channel of ALERT_CHANNELS) {
      for (const result of DELIVERY_RESULTS) this.alertDeliveries.inc({ channel, result }, 0);
    }
    for (const result of LOGIN_RESULTS) this.logins.inc({ result }, 0);
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    }
  }

  /** A recording was downloaded (`bytes`) and stored; `seconds` is the download's duration when known. */
  recordingArchived(bytes: number, seconds?: number): void {
    this.archived.inc();
    this.downloadedBytes.inc(count(bytes, 'bytes'));
    if (seconds !== undefined) this.downloadDuration.observe(count(seconds, 'seconds'));
  }

  /** A recording got its row in the index `seconds` after its trigger. */
  recordingDiscovered(seconds: number): void {
    this.discoveryLatency.observe(count(seconds, 'seconds'));
  }

  /** Files waiting for their S3 upload, as the backup last counted them. */
  backupBacklog(files: number): void {
    this.backlog.set(count(files, 'files'));
  }

  alertDelivered(channel: AlertChannel, result: DeliveryResult): void {
    this.alertDeliveries.inc({
      channel: oneOf(channel, ALERT_CHANNELS, 'channel'),
      result: oneOf(result, DELIVERY_RESULTS, 'result'),
    });
  }

  login(result: LoginResult): void {
    this.logins.inc({ result: oneOf(result, LOGIN_RESULTS, 'result') });
  }

  liveViewers(open: number): void {
    this.viewers.set(count(open, 'open'));
  }

  liveFramesDropped(frames = 1): void {
    this.droppedFrames.inc(count(frames, 'frames'));
  }

  /** The size of the store `source` (its database file, say) now; the gauge is the sum over the stores. */
  storeSize(bytes: number, source = 'default'): void {
    this.storeSizes.set(source, count(bytes, 'bytes'));
    this.storeBytes.set([...this.storeSizes.values()].reduce((a, b) => a + b, 0));
  }

  /** A store closed: its size no longer counts. */
  forgetStore(source = 'default'): void {
    if (!this.storeSizes.delete(source)) return;
    this.storeBytes.set([...this.storeSizes.values()].reduce((a, b) => a + b, 0));
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The process's metrics: Node-RED loads this package once per process, so every module reports here. */
export const metrics = new Metrics();

/** The MQTT topics the shipped alerts flow publishes to: `pfcam/<site>/<camera>/event` and `.../status`. */
const ALERT_TOPIC = /^pfcam\/[^/]+\/[^/]+\/(event|status)$/;

/**
 * The outcome of an MQTT alert publish, from a node's completion: a core `mqtt out` node that finished (or
 * failed) a message whose topic is one of the alert topics. Undefined for anything else (another node type, a
 * plant flow's own topic), which is not an alert delivery. The topic is only matched, never used as a label.
 */
export function mqttAlertDelivery(
  nodeType: string,
  topic: unknown,
  error: unknown,
): DeliveryResult | undefined {
  if (nodeType !== 'mqtt out' || typeof topic !== 'string' || !ALERT_TOPIC.test(topic)) return undefined;
  return error === undefined || error === null ? 'success' : 'failure';
}
