/**
 * `pfcam_store_size_bytes` for one store, kept cheaply: the media bytes come from the counters the store's
 * triggers keep per camera (one small query), the database from the size of its file and write-ahead log (two
 * `stat`s). Refreshed at an interval and, debounced, when told the store changed; never by walking the media
 * folder, and never at scrape time.
 */
import { stat } from 'node:fs/promises';
import { errorText } from '../errors';
import { metrics as processMetrics, type Metrics } from './metrics';

export interface StoreSizeSource {
  /** Bytes of the live recordings' files (`EventStore.storedBytes`). */
  storedBytes(): Promise<number>;
  /** The database file (its `-wal` beside it counts too). */
  readonly databaseFile: string;
}

export interface StoreSizeMeterOptions {
  /** Refresh interval (ms, default 60 000). */
  intervalMs?: number;
  /** The least time between two refreshes asked for by `changed()` (ms, default 1000). */
  debounceMs?: number;
  metrics?: Pick<Metrics, 'storeSize' | 'forgetStore'>;
  /** Told when a refresh fails (the gauge keeps its last value). */
  onError?(message: string): void;
}

async function fileBytes(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0; // no write-ahead log right now
  }
}

/** The store's size now: database + write-ahead log + media. */
export async function storeSizeBytes(source: StoreSizeSource): Promise<number> {
  const [media, db, wal] = await Promise.all([
    source.storedBytes(),
    fileBytes(source.databaseFile),
    fileBytes(`${source.databaseFile}-wal`),
  ]);
  return media + db + wal;
}

export class StoreSizeMeter {
  private readonly metrics: Pick<Metrics, 'storeSize' | 'forgetStore'>;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private lastRefresh = 0;
  private stopped = false;

  constructor(
    private readonly source: StoreSizeSource,
    private readonly options: StoreSizeMeterOptions = {},
  ) {
    this.metrics = options.metrics ?? processMetrics;
  }

  /** Measures now, then at every interval. */
  start(): Promise<void> {
    const interval = this.options.intervalMs ?? 60_000;
    this.timer ??= setInterval(() => void this.refresh(), interval);
    this.timer.unref();
    return this.refresh();
  }

  /** The store changed (a recording stored, files removed): measure soon, at most once per debounce time. */
  changed(): void {
    if (this.stopped || this.debounce) return;
    const wait = Math.max(0, this.lastRefresh + (this.options.debounceMs ?? 1000) - Date.now());
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.refresh();
    }, wait);
    this.debounce.unref();
  }

  /** Measures now (a measurement under way is followed by one more); resolves when the gauge is set. */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        this.lastRefresh = Date.now();
        try {
          const bytes = await storeSizeBytes(this.source);
          if (!this.stopped) this.metrics.storeSize(bytes, this.source.databaseFile);
        } catch (err) {
          if (!this.stopped) this.options.onError?.(errorText(err));
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops measuring and takes this store out of the gauge. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.timer = undefined;
    this.debounce = undefined;
    await this.running;
    this.metrics.forgetStore(this.source.databaseFile);
  }
}
