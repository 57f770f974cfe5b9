/**
 * Fixtures of the backup and retention tests: a real event store in a temp folder with stored recordings, and
 * fauxqs (in-process S3) with a request spy on the S3 client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { EventStore, type EventRecord } from '../../lib/store/event-store';
import type { helper } from '../helpers/node-red';
import type { MediaIo } from '../../lib/store/media-files';

export interface TempStore {
  dir: string;
  store: EventStore;
  close(): Promise<void>;
}

/** A real store (SQLite file + media folder) in a fresh temp folder, removed by `close`. */
export async function openTempStore(
  options: { clock?: () => number; io?: Partial<MediaIo> } = {},
): Promise<TempStore> {
  const dir = await mkdtemp(join(tmpdir(), 'pfcam-backup-'));
  const store = await EventStore.open({
    databaseFile: join(dir, 'db', 'pfcam.sqlite'),
    mediaDir: join(dir, 'media'),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.io ? { io: options.io } : {}),
  });
  return {
    dir,
    store,
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RecordingSpec {
  serial?: string;
  fileName: string;
  /** ISO-8601 UTC. */
  triggeredAt: string;
  videoBytes?: number;
  /** 0: no thumbnail. */
  thumbBytes?: number;
  eventName?: string | null;
  flagged?: boolean;
}

/** Records and "fetches" a recording: random bytes written as its video and thumbnail, row `stored`. */
export async function addStoredRecording(store: EventStore, spec: RecordingSpec): Promise<EventRecord> {
  const serial = spec.serial ?? 'PF-0001';
  const { event } = await store.recordDiscovered(
    serial,
    {
      fileName: spec.fileName,
      eventName: spec.eventName === undefined ? 'door' : spec.eventName,
      triggeredAt: spec.triggeredAt,
      vidExt: '.mp4',
      thmbExt: '.jpg',
      playbackTime: 12,
      age: 0,
      dir: 'named',
    },
    { timezone: 'UTC' },
  );
  const stored = await store.fetchMedia(event.id, async (target) => {
    const video = randomBytes(spec.videoBytes ?? 2048);
    await writeFile(target.videoFile, video);
    const thumbSize = spec.thumbBytes ?? 256;
    if (thumbSize === 0) return { video: { bytes: video.length, sha256: sha256(video) }, thumbnail: null };
    const thumb = randomBytes(thumbSize);
    await writeFile(target.thumbFile, thumb);
    return {
      video: { bytes: video.length, sha256: sha256(video) },
      thumbnail: { bytes: thumb.length, sha256: sha256(thumb) },
    };
  });
  if (!stored) throw new Error(`recording ${spec.fileName} was not stored`);
  if (spec.flagged) return (await store.setFlag(stored.id, true))!;
  return stored;
}

/** An ISO-8601 UTC time `days` before now. */
export function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString();
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface FauxS3 {
  port: number;
  endpoint: string;
  stop(): Promise<void>;
}

/** Starts fauxqs on 127.0.0.1 (`port` 0: any free port) with `bucket` created. */
export async function startFauxS3(bucket: string, port = 0): Promise<FauxS3> {
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({ port, logger: false });
  server.createBucket(bucket);
  let stopped = false;
  return {
    port: server.port,
    endpoint: `http://127.0.0.1:${server.port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}

/** One request the S3 client sent. */
export interface SpiedRequest {
  command: string;
  key: string;
  headers: Record<string, string>;
}

/** An S3 client for fauxqs, recording every request it sends (command name, key, headers). */
export function spiedClient(endpoint: string): { client: S3Client; requests: SpiedRequest[] } {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const requests: SpiedRequest[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      const input = args.input as { Key?: string };
      requests.push({
        command: String(context.commandName),
        key: input.Key ?? '',
        headers: { ...(request.headers ?? {}) },
      });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'pfcamTestSpy' },
  );
  return { client, requests };
}

// ------------------------------------------------------------------ node tests

type TestNode = ReturnType<typeof helper.getNode>;

type NodeStatus = { fill?: string; shape?: string; text?: string };
type SpyCall = { thisValue: unknown; args: unknown[] };

/** The statuses this node set so far (the helper spies on the Node prototype, shared by all nodes). */
export function statusCalls(node: TestNode): NodeStatus[] {
  const spy = node.status as unknown as { getCalls(): SpyCall[] };
  return spy
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => (c.args[0] ?? {}) as NodeStatus);
}

/** Resolves when the node has set a status matching `predicate` (now or later), or fails after `timeoutMs`. */
export function statusWhen(
  node: TestNode,
  predicate: (s: NodeStatus) => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (statusCalls(node).some(predicate)) return resolve();
    const timer = setTimeout(() => {
      node.off('call:status', listener);
      reject(new Error(`status not reached: ${JSON.stringify(statusCalls(node))}`));
    }, timeoutMs);
    const listener = (call: SpyCall): void => {
      if (!predicate(call.args[0] ?? {})) return;
      clearTimeout(timer);
      node.off('call:status', listener);
      resolve();
    };
    node.on('call:status', listener);
  });
}

/** Resolves with the first error the node reports from now on (done(err) reaches node.error). */
export function nextError(node: TestNode, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no error reported')), timeoutMs);
    node.once('call:error', (call: SpyCall) => {
      clearTimeout(timer);
      resolve(call.args[0]);
    });
  });
}

/** Resolves with the first message `node` receives from now on that satisfies `predicate`. */
export function messageWhere<T>(
  node: TestNode,
  predicate: (msg: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.off('input', listener);
      reject(new Error('no matching message'));
    }, timeoutMs);
    const listener = (msg: T): void => {
      if (!predicate(msg)) return;
      clearTimeout(timer);
      node.off('input', listener);
      resolve(msg);
    };
    node.on('input', listener);
  });
}
