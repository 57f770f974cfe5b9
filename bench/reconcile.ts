/**
 * The first reconciliation of a camera listing many recordings: the simulator over HTTP, the camera client, the
 * watcher and a real SQLite store (synchronous = FULL), each announced recording queued for download as
 * `pfcam-archive` does (the downloads themselves never start: only the queue's bookkeeping is measured).
 *
 * Figures: rows per second at 5,000 and 50,000 listed recordings, and the ratio between them (1.0 = linear;
 * a quadratic path shows as a ratio far below 1). Baseline, in the same run: the previous path, one store
 * transaction per listed recording (`recordDiscovered` in a loop), on a shorter list.
 *
 * `BENCH_SIZES=2000,20000 npm run bench -- reconcile` for a quicker run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchQueue } from '../lib/archive/fetch-queue';
import { parseWatchOptions } from '../lib/archive/options';
import { CameraWatcher } from '../lib/archive/watcher';
import { CameraClient } from '../lib/camera/camera-client';
import { EventStore } from '../lib/store/event-store';
import { startCamera } from '../simulator';
import type { BenchResult, BenchRow } from './run';

const SIZES = (process.env.BENCH_SIZES ?? '5000,50000').split(',').map(Number);
const BASELINE_SIZE = Math.min(2000, SIZES[0] ?? 2000);

interface Pass {
  listed: number;
  ms: number;
  transactions: number;
  queueSteps: number;
  rssMb: number;
  /** A second reconciliation of the same, unchanged list (ms). */
  unchangedMs?: number;
}

async function withRig<T>(
  recordings: number,
  work: (rig: { client: CameraClient; store: EventStore }) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pfcam-bench-reconcile-'));
  const camera = await startCamera({ seed: 5, recordings });
  const client = new CameraClient({ baseUrl: camera.url, timeouts: { requestMs: 120_000 } });
  const store = await EventStore.open({ databaseFile: join(dir, 'db.sqlite'), mediaDir: join(dir, 'media') });
  try {
    return await work({ client, store });
  } finally {
    await client.close();
    await camera.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function countTransactions(store: EventStore): { count: number } {
  const db = store.db;
  const original = db.transaction.bind(db);
  const counter = { count: 0 };
  db.transaction = (work) => {
    counter.count++;
    return original(work);
  };
  return counter;
}

/** One watcher's first reconciliation, every announcement queued as pfcam-archive queues it. */
async function firstPass(listed: number): Promise<Pass> {
  return withRig(listed, async ({ client, store }) => {
    const transactions = countTransactions(store);
    const queue = new FetchQueue<void>({ overall: 4, perKey: 2 });
    const never = (): Promise<void> => new Promise<void>(() => undefined);
    const watcher = new CameraWatcher({
      client,
      store,
      options: parseWatchOptions({ useSse: false, reconcileInterval: 3600 }),
    });
    watcher.on('recording', (r) => {
      queue.push(String(r.eventId), r.cameraSerial, never).catch(() => undefined);
    });
    const started = process.hrtime.bigint();
    const done = new Promise<{ ok: boolean; listed: number }>((resolve) =>
      watcher.once('reconciled', resolve),
    );
    watcher.start();
    const result = await done;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    const again = process.hrtime.bigint();
    await watcher.reconcileNow();
    const unchangedMs = Number(process.hrtime.bigint() - again) / 1e6;
    await watcher.stop();
    await queue.close(0);
    if (!result.ok || result.listed !== listed)
      throw new Error(`reconcile failed: ${JSON.stringify(result)}`);
    return {
      listed,
      ms,
      transactions: transactions.count,
      queueSteps: queue.counters.inspected,
      rssMb,
      unchangedMs,
    };
  });
}

/** The previous path: one transaction per listed recording. */
async function perRecording(listed: number): Promise<Pass> {
  return withRig(listed, async ({ client, store }) => {
    const transactions = countTransactions(store);
    const started = process.hrtime.bigint();
    const info = await client.getSystemInfo();
    const events = await client.listEvents();
    for (let i = events.length - 1; i >= 0; i--) await store.recordDiscovered(info.serialNumber, events[i]!);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return {
      listed,
      ms,
      transactions: transactions.count,
      queueSteps: 0,
      rssMb: process.memoryUsage().rss / 2 ** 20,
    };
  });
}

const rate = (p: Pass): number => p.listed / (p.ms / 1000);

export async function run(): Promise<BenchResult> {
  const baseline = await perRecording(BASELINE_SIZE);
  const passes: Pass[] = [];
  for (const size of SIZES) passes.push(await firstPass(size));
  const smallest = passes[0]!;
  const rows: BenchRow[] = [];
  for (const p of passes) {
    rows.push({
      name: `first reconcile, ${p.listed} listed: rows/s (baseline: one transaction per row, ${BASELINE_SIZE} listed)`,
      value: rate(p),
      unit: 'rows/s',
      baseline: rate(baseline),
      better: 'higher',
    });
    rows.push({
      name: `first reconcile, ${p.listed} listed: duration`,
      value: p.ms / 1000,
      unit: 's',
      better: 'lower',
    });
    rows.push({
      name: `first reconcile, ${p.listed} listed: rows per store transaction`,
      value: p.listed / p.transactions,
      unit: 'rows/tx',
      baseline: baseline.listed / baseline.transactions,
      better: 'higher',
    });
    rows.push({
      name: `second reconcile, ${p.listed} listed, list unchanged: duration (baseline: first)`,
      value: (p.unchangedMs ?? 0) / 1000,
      unit: 's',
      baseline: p.ms / 1000,
      better: 'lower',
    });
    rows.push({
      name: `first reconcile, ${p.listed} listed: download-queue steps per row`,
      value: p.queueSteps / p.listed,
      unit: 'steps/row',
      better: 'lower',
    });
  }
  for (const p of passes.slice(1)) {
    rows.push({
      name: `linearity: rows/s at ${p.listed} vs ${smallest.listed} (1.0 = linear)`,
      value: rate(p),
      unit: 'rows/s',
      baseline: rate(smallest),
      better: 'higher',
    });
  }
  return {
    title: 'first reconciliation of a huge camera list (simulator over HTTP, SQLite synchronous = FULL)',
    baseline: `one store transaction per listed recording (the previous path), ${BASELINE_SIZE} listed`,
    rows,
    notes: [
      `process RSS after each pass: ${passes.map((p) => `${p.listed}: ${p.rssMb.toFixed(0)} MB`).join(', ')}`,
    ],
  };
}
