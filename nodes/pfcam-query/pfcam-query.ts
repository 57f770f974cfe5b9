import { Writable } from 'node:stream';
import { mkdir, stat } from 'node:fs/promises';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { InputError, PfcamError } from '../../lib/errors';
import type { EventStore, StoreStats } from '../../lib/store/event-store';
import { exportEvents, exportToFile, exportZip, type ExportFormat } from '../../lib/store/export';
import type { DiskSpace } from '../../lib/store/media-files';
import {
  cameraStats,
  queryEvents,
  storageUse,
  timeBuckets,
  validateQuery,
  type Bucket,
  type CameraStat,
  type EventQuery,
  type QueryPage,
  type StorageUse,
  type TimeBucket,
} from '../../lib/store/query';
import {
  exportFilePath,
  parseQueryNodeConfig,
  type QueryNodeConfig,
  type QueryOperation,
  type RawQueryNodeConfig,
  type StatsKind,
  type StoreSettings,
} from '../../lib/store/store-options';
import { isValidTimeZone } from '../../lib/time/zoned-time';
import { isStoreHandle } from '../pfcam-store/store-handle';
import { handleClose, handleInput } from '../shared/input';
import { Status } from '../shared/status';

/** The editor configuration of a `pfcam-query` node. */
export interface QueryNodeDef extends NodeDef, Omit<RawQueryNodeConfig, 'name'> {
  /** Id of the `pfcam-store` config node. */
  store: string;
}

/** What a message may set (each overrides the node's setting). */
export interface QueryInputMessage extends NodeMessageInFlow {
  /** Filters, sort and pagination, merged over the node's default query (see the help). */
  query?: unknown;
  operation?: unknown;
  stats?: unknown;
  bucket?: unknown;
  timeZone?: unknown;
  format?: unknown;
  /** Export file name (inside the node's export folder), for file exports. */
  filename?: unknown;
}

export type StatsPayload =
  | { kind: 'time'; bucket: Bucket; timeZone: string; buckets: TimeBucket[] }
  | { kind: 'cameras'; cameras: CameraStat[] }
  | ({ kind: 'storage'; disk: DiskSpace } & StorageUse)
  | ({ kind: 'store' } & StoreStats);

/** A file export's result. */
export interface ExportFileResult {
  file: string;
  format: ExportFormat;
  /** Rows (CSV, JSON) or recordings (ZIP). */
  count: number;
  bytes: number;
}

export type QueryOutputPayload = QueryPage | StatsPayload | Buffer | ExportFileResult;

export interface QueryOutputMessage extends QueryInputMessage {
  payload: QueryOutputPayload;
  /** For payload exports: the suggested file name; for file exports: the absolute file. */
  filename?: string;
  /** For payload exports: `text/csv`, `application/json` or `application/zip`. */
  contentType?: string;
}

const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  zip: 'application/zip',
};

/** A writable that keeps what it is given in memory, up to a limit. */
class BoundedSink extends Writable {
  readonly chunks: Buffer[] = [];
  size = 0;
  overflow: PfcamError | undefined;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.overflow ??= new InputError(
        `the export is larger than the payload limit (${this.limit} bytes): export to a file or narrow the query`,
        { key: 'errors.exportTooLarge' },
      );
      callback(this.overflow);
      return;
    }
    this.chunks.push(chunk);
    callback();
  }
}

function pick<T extends string>(raw: unknown, allowed: readonly T[], fallback: T, what: string): T {
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (typeof raw === 'string' && allowed.includes(raw as T)) return raw as T;
  throw new InputError(`msg.${what} must be one of ${allowed.join(', ')}`, {
    key: 'errors.badQuery',
    params: { option: what },
  });
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

export default function (RED: NodeAPI): void {
  function PfcamQueryNode(this: Node, def: QueryNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: QueryNodeDef): void {
    const status = new Status(node, RED);
    const store = RED.nodes.getNode(def.store);
    const settings = RED.settings as unknown as StoreSettings;

    let config: QueryNodeConfig | undefined;
    let setupError: Error | undefined;
    try {
      config = parseQueryNodeConfig(def, { userDir: settings.userDir, pfcam: settings.pfcam });
    } catch (err) {
      setupError = err instanceof Error ? err : new Error(String(err));
      status.failed(err);
      node.error(RED._('pfcam-query.errors.config', { error: setupError.message }));
    }
    if (isStoreHandle(store)) store.register(node);
    else if (!setupError) status.error('errors.noStore');

    const run = async (
      events: EventStore,
      cfg: QueryNodeConfig,
      msg: QueryInputMessage,
    ): Promise<Pick<QueryOutputMessage, 'payload' | 'filename' | 'contentType'>> => {
      const operation = pick<QueryOperation>(
        msg.operation,
        ['query', 'stats', 'export'],
        cfg.operation,
        'operation',
      );
      const overrides = validateQuery(msg.query);
      const query: EventQuery = { ...cfg.query, ...overrides };
      if (overrides.sort !== undefined && overrides.cursor === undefined) delete query.cursor;

      if (operation === 'query') {
        status.busy('status.busy');
        const page = await queryEvents(events.db, query);
        status.ok('status.rows', { count: page.events.length });
        return { payload: page };
      }

      if (operation === 'stats') {
        const kind = pick<StatsKind>(msg.stats, ['time', 'cameras', 'storage', 'store'], cfg.stats, 'stats');
        status.busy('status.busy');
        let payload: StatsPayload;
        if (kind === 'time') {
          const bucket = pick<Bucket>(msg.bucket, ['hour', 'day'], cfg.bucket, 'bucket');
          const timeZone = msg.timeZone === undefined || msg.timeZone === '' ? cfg.timeZone : msg.timeZone;
          if (typeof timeZone !== 'string' || !isValidTimeZone(timeZone)) {
            throw new InputError('msg.timeZone must be an IANA time zone name such as Europe/Zurich', {
              key: 'errors.badQuery',
              params: { option: 'timeZone' },
            });
          }
          payload = {
            kind,
            bucket,
            timeZone,
            buckets: await timeBuckets(events.db, query, { bucket, timeZone }),
          };
        } else if (kind === 'cameras') {
          payload = { kind, cameras: await cameraStats(events.db, query) };
        } else if (kind === 'storage') {
          payload = { kind, ...(await storageUse(events.db)), disk: await events.media.diskSpace() };
        } else {
          payload = { kind, ...(await events.stats()) };
        }
        status.ok('status.done');
        return { payload };
      }

      const format = pick<ExportFormat>(msg.format, ['csv', 'json', 'zip'], cfg.format, 'format');
      status.busy('status.busy');
      if (cfg.target === 'file') {
        const name =
          msg.filename !== undefined && msg.filename !== ''
            ? msg.filename
            : cfg.fileName || `pfcam-events-${stamp()}.${format}`;
        if (typeof name !== 'string') {
          throw new InputError('msg.filename must be a file name', { key: 'errors.badFileName' });
        }
        const file = exportFilePath(cfg.exportDir, name);
        await mkdir(cfg.exportDir, { recursive: true });
        const count = await exportToFile(events.db, events.media, query, format, file);
        const bytes = (await stat(file)).size;
        status.ok('status.rows', { count });
        const payload: ExportFileResult = { file, format, count, bytes };
        return { payload, filename: file };
      }
      const sink = new BoundedSink(cfg.maxPayloadBytes);
      try {
        if (format === 'zip') {
          await exportZip(events.db, events.media, query, sink);
        } else {
          await exportEvents(events.db, query, format, sink);
          await new Promise<void>((resolve, reject) => {
            sink.once('error', reject);
            sink.end(resolve);
          });
        }
      } catch (err) {
        throw sink.overflow ?? err;
      }
      if (sink.overflow) throw sink.overflow;
      status.ok('status.done');
      return {
        payload: Buffer.concat(sink.chunks),
        filename: `pfcam-events-${stamp()}.${format}`,
        contentType: CONTENT_TYPES[format],
      };
    };

    const answer = async (msg: QueryInputMessage, send: (m: QueryOutputMessage) => void): Promise<void> => {
      if (setupError || !config) throw setupError ?? new Error('pfcam-query is not configured');
      if (!isStoreHandle(store)) {
        throw new PfcamError('errors.noStore', 'no pfcam-store is configured: choose one in the node');
      }
      const events = await store.ready();
      const result = await run(events, config, msg);
      const out = msg as QueryOutputMessage;
      out.payload = result.payload;
      if (result.filename !== undefined) out.filename = result.filename;
      if (result.contentType !== undefined) out.contentType = result.contentType;
      send(out);
    };

    /** Queries running: the node deregisters from the store once they ended. */
    const running = new Set<Promise<unknown>>();
    handleInput<QueryInputMessage>(node, status, (msg, send) => {
      const job = answer(msg, send);
      running.add(job);
      const forget = (): void => void running.delete(job);
      job.then(forget, forget);
      return job;
    });

    handleClose(node, async () => {
      await Promise.allSettled([...running]);
      if (isStoreHandle(store)) store.deregister(node);
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-query', PfcamQueryNode);
}
