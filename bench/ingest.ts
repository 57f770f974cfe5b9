/**
 * Ingest, in one run, in real Node-RED processes against simulated cameras:
 * - new-recording latency (recording made on the camera -> stored and indexed), with the camera's live feed
 *   (SSE) and with polling only, the three sides fed the same recordings at the same moments (latencyRounds);
 * - the CPU time of one list poll, ours polling every second against the baseline polling every second;
 * - ingest throughput and peak memory (RSS of the Node-RED process) while a backlog of recordings comes in;
 * - the cost of the store's `synchronous = FULL` against NORMAL (insert rate, commit latency);
 * - the store's query times at 1 million recordings (measured by bench/store-query.ts: its last results are
 *   reported here; `BENCH_INGEST_STORE=1` runs it again first).
 *
 * Baseline: the flow a user would otherwise wire, measured in the same run on the same cameras: inject (every
 * second) -> http request GET /api/events -> function (new file names, remembered in context) -> http request
 * (the video as a buffer) -> file (write) -> function (INSERT into SQLite through the `sqlite3` package, given
 * to function nodes by `functionGlobalContext`, the classic way; node-red-node-sqlite wraps the same package).
 * The baseline does no SHA-256, no fsync, no resume, no retry, no bound on parallel downloads, and forgets what
 * it has seen when Node-RED restarts; our nodes do all of that, and are configured here without thumbnails so
 * that both sides move the same bytes.
 *
 * `BENCH_INGEST_RECORDINGS` (default 60) and `BENCH_INGEST_VIDEO_MB` (default 4) size the throughput run;
 * `BENCH_INGEST_ROUNDS` (3), `BENCH_INGEST_SAMPLES` (22 per round), `BENCH_INGEST_LATENCY_CAMERAS` (10) and
 * `BENCH_INGEST_IDLE_S` (15) the latency rounds; `BENCH_INGEST_SYNC_INSERTS` (500) the FULL / NORMAL run.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CameraEvent } from '../lib/camera/types';
import { EventStore } from '../lib/store/event-store';
import { startCameras, type SimulatedCamera } from '../simulator';
import {
  CpuWindow,
  NodeRed,
  ROOT,
  baselineFlow,
  loadAverage,
  ourFlow,
  quantile,
  rssMb,
  sleep,
} from './_harness';
import type { BenchResult, BenchRow } from './run';

const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 3);
/** Recordings per round (every side sees each of them). */
const SAMPLES = Number(process.env.BENCH_INGEST_SAMPLES ?? 22);
const LATENCY_CAMERAS = Number(process.env.BENCH_INGEST_LATENCY_CAMERAS ?? 10);
const IDLE_SECONDS = Number(process.env.BENCH_INGEST_IDLE_S ?? 15);
const SYNC_INSERTS = Number(process.env.BENCH_INGEST_SYNC_INSERTS ?? 500);
const THROUGHPUT_RECORDINGS = Number(process.env.BENCH_INGEST_RECORDINGS ?? 60);
const VIDEO_MB = Number(process.env.BENCH_INGEST_VIDEO_MB ?? 4);
const CAMERAS = 3;

interface Side {
  name: 'sse' | 'poll' | 'baseline';
  flow: (cameras: readonly SimulatedCamera[], dataDir: string) => unknown[];
}

interface SideFigures {
  announced: number[];
  stored: number[];
  /** CPU seconds over the idle windows and the list polls made in them. */
  idleCpuSeconds: number;
  idleSeconds: number;
  polls: number;
  missed: number;
}

/**
 * Latency, in ROUNDS rounds: per round, a fresh set of LATENCY_CAMERAS simulated cameras and one Node-RED per side
 * (our nodes with the live feed, our nodes polling every second, the baseline polling every second), all three
 * running at once against the same cameras (started in a rotating order), so that every side sees the very same
 * recordings at the very same moments. First an idle window (CPU per list poll), then SAMPLES recordings one at a
 * time at random moments (700..1600 ms apart, so at random phases of every side's poll tick) on random cameras.
 */
async function latencyRounds(sides: readonly Side[]): Promise<Map<Side['name'], SideFigures>> {
  const out = new Map<Side['name'], SideFigures>(
    sides.map((s) => [
      s.name,
      { announced: [], stored: [], idleCpuSeconds: 0, idleSeconds: 0, polls: 0, missed: 0 },
    ]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    const cameras = await startCameras(LATENCY_CAMERAS, {
      seed: 41 + round,
      recordings: 0,
      videoBytes: 300_000,
    });
    const dataDir = await mkdtemp(join(tmpdir(), 'pfcam-bench-data-'));
    const running: { side: Side; nr: NodeRed }[] = [];
    try {
      const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
      for (const side of order) {
        const dir = join(dataDir, side.name);
        running.push({ side, nr: await NodeRed.start({ flows: side.flow(cameras, dir) }) });
      }
      await sleep(3000); // every side's first list read, connections open
      const windows = running.map((r) => new CpuWindow(r.nr.pid).start());
      await sleep(IDLE_SECONDS * 1000);
      running.forEach((r, i) => {
        const w = windows[i]!.stop();
        const f = out.get(r.side.name)!;
        f.idleCpuSeconds += w.cpuSeconds;
        f.idleSeconds += w.seconds;
        // One list poll per camera per second for the polling sides; every 30 s for the live-feed side.
        f.polls += (LATENCY_CAMERAS * w.seconds) / (r.side.name === 'sse' ? 30 : 1);
      });
      const made: { keys: string[]; t0: number }[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        await sleep(700 + Math.random() * 900);
        const camera = cameras[Math.floor(Math.random() * cameras.length)]!;
        const t0 = Date.now();
        const rec = camera.control.addRecording();
        made.push({ keys: [`${camera.serialNumber}|${rec.fileName}`, `${camera.url}|${rec.fileName}`], t0 });
      }
      const first = (map: Map<string, number>, keys: string[]): number | undefined =>
        keys.map((k) => map.get(k)).find((t) => t !== undefined);
      const deadline = Date.now() + 30_000;
      while (
        running.some((r) => made.some((m) => first(r.nr.marks('STORED'), m.keys) === undefined)) &&
        Date.now() < deadline
      ) {
        await sleep(100);
      }
      for (const r of running) {
        const f = out.get(r.side.name)!;
        for (const m of made) {
          const a = first(r.nr.marks('NEW'), m.keys);
          const s = first(r.nr.marks('STORED'), m.keys);
          if (a !== undefined) f.announced.push(a - m.t0);
          if (s !== undefined) f.stored.push(s - m.t0);
          else f.missed++;
        }
      }
    } finally {
      for (const r of running) await r.nr.stop();
      await Promise.all(cameras.map((c) => c.stop()));
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  return out;
}

/**
 * The cost of `PRAGMA synchronous = FULL` (what the store uses: a committed recording survives a power cut)
 * against NORMAL: the same recordings inserted one by one (one transaction each, as the watcher does for a
 * recording from the live feed) into two stores, alternating in batches of 50 so that both see the same disk.
 * NORMAL is set on the bench's own connection only: the product has no switch for it.
 */
async function synchronousCost(): Promise<{
  full: number[];
  normal: number[];
  fullS: number;
  normalS: number;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'pfcam-bench-sync-'));
  const open = (name: string): Promise<EventStore> =>
    EventStore.open({ databaseFile: join(dir, name, 'pfcam.sqlite'), mediaDir: join(dir, name, 'media') });
  const full = await open('full');
  const normal = await open('normal');
  try {
    await normal.db.exec('PRAGMA synchronous = NORMAL');
    const out = { full: [] as number[], normal: [] as number[], fullS: 0, normalS: 0 };
    const base = Date.UTC(2026, 0, 1);
    const event = (i: number): CameraEvent => {
      const at = new Date(base + i * 1000).toISOString().replace(/[-:]/g, '').slice(0, 15);
      return {
        fileName: `${at}_${String(i % 1000).padStart(3, '0')}`,
        eventName: null,
        triggeredAt: new Date(base + i * 1000).toISOString(),
        vidExt: '.mp4',
        thmbExt: '.jpg',
        playbackTime: 10,
        age: 0,
        dir: 'unnamed',
      };
    };
    for (let i = 0; i < SYNC_INSERTS; i += 50) {
      for (const [store, list, key] of [
        [full, out.full, 'fullS'],
        [normal, out.normal, 'normalS'],
      ] as const) {
        const t = performance.now();
        for (let j = i; j < i + 50; j++) {
          const t0 = performance.now();
          await store.recordDiscovered('PFC4-BENCH-0001', event(j));
          list.push(performance.now() - t0);
        }
        out[key] += (performance.now() - t) / 1000;
      }
    }
    return out;
  } finally {
    await full.close();
    await normal.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Throughput and memory: a backlog on three cameras, ingested from a cold start. */
async function throughput(side: Side): Promise<{ seconds: number; peakRssMb: number; idleRssMb: number }> {
  const perCamera = Math.ceil(THROUGHPUT_RECORDINGS / CAMERAS);
  const cameras = await startCameras(CAMERAS, {
    seed: 77,
    recordings: 0,
    videoBytes: VIDEO_MB * 1024 * 1024,
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'pfcam-bench-data-'));
  // Start on an empty camera to know the idle memory, then make the backlog appear at once.
  const nr = await NodeRed.start({ flows: side.flow(cameras, dataDir) });
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(nr.pid));
    } catch {
      // the process ended
    }
  }, 50);
  try {
    await sleep(1500);
    const idleRssMb = rssMb(nr.pid);
    peak = 0;
    const started = Date.now();
    for (const camera of cameras) for (let i = 0; i < perCamera; i++) camera.control.addRecording();
    const total = perCamera * CAMERAS;
    const stored = nr.marks('STORED');
    const deadline = Date.now() + Number(process.env.BENCH_INGEST_DEADLINE_S ?? 300) * 1000;
    while (stored.size < total) {
      if (Date.now() > deadline) {
        throw new Error(`throughput run: ${stored.size} of ${total}:\n${nr.log.slice(-3000)}`);
      }
      await sleep(50);
    }
    const last = Math.max(...stored.values());
    return { seconds: (last - started) / 1000, peakRssMb: peak, idleRssMb };
  } finally {
    clearInterval(sampler);
    await nr.stop();
    await Promise.all(cameras.map((c) => c.stop()));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The store's query times at 1 million recordings, from bench/store-query.ts. */
async function storeRows(): Promise<{ rows: BenchRow[]; note: string }> {
  const file = join(__dirname, 'results', 'store-query.json');
  if (process.env.BENCH_INGEST_STORE === '1' || !existsSync(file)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('./store-query') as { run(): Promise<BenchResult> };
    const result = await mod.run();
    return {
      rows: result.rows,
      note: `store queries: ${result.title}, measured now by bench/store-query.ts`,
    };
  }
  const saved = JSON.parse(await readFile(file, 'utf8')) as BenchResult & { at?: string };
  return {
    rows: saved.rows,
    note: `store queries: ${saved.title}, from bench/results/store-query.json (${saved.at ?? 'date unknown'}); BENCH_INGEST_STORE=1 measures them again`,
  };
}

export async function run(): Promise<BenchResult> {
  if (!existsSync(join(ROOT, 'dist', 'nodes', 'pfcam-archive', 'pfcam-archive.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
  }
  const loadBefore = loadAverage();
  const sse: Side = {
    name: 'sse',
    flow: (cameras, dir) => ourFlow(cameras, dir, { useSse: true, reconcileInterval: 30, probeInterval: 30 }),
  };
  const poll: Side = {
    name: 'poll',
    flow: (cameras, dir) => ourFlow(cameras, dir, { useSse: false, reconcileInterval: 1, probeInterval: 30 }),
  };
  const baseline: Side = { name: 'baseline', flow: (cameras, dir) => baselineFlow(cameras, dir, 1) };

  const lat = await latencyRounds([sse, poll, baseline]);
  const oursTp = await throughput(sse);
  const baseTp = await throughput(baseline);
  const sync = await synchronousCost();
  const store = await storeRows();

  const L = (name: Side['name']): SideFigures => lat.get(name)!;
  const cpuPerPollMs = (f: SideFigures): number => (1000 * f.idleCpuSeconds) / f.polls;
  const total = Math.ceil(THROUGHPUT_RECORDINGS / CAMERAS) * CAMERAS;
  const samples = (f: SideFigures): string => `${f.stored.length} samples, ${f.missed} missed`;
  const rows: BenchRow[] = [
    {
      name: `new recording -> stored + indexed, live feed (SSE), median (${samples(L('sse'))})`,
      value: quantile(L('sse').stored, 0.5),
      unit: 'ms',
      baseline: quantile(L('baseline').stored, 0.5),
      better: 'lower',
    },
    {
      name: 'new recording -> stored + indexed, live feed (SSE), p95',
      value: quantile(L('sse').stored, 0.95),
      unit: 'ms',
      baseline: quantile(L('baseline').stored, 0.95),
      better: 'lower',
    },
    {
      name: 'new recording -> announced, live feed (SSE), median',
      value: quantile(L('sse').announced, 0.5),
      unit: 'ms',
      baseline: quantile(L('baseline').announced, 0.5),
      better: 'lower',
    },
    {
      name: `new recording -> stored + indexed, polling every 1 s, median (${samples(L('poll'))})`,
      value: quantile(L('poll').stored, 0.5),
      unit: 'ms',
      baseline: quantile(L('baseline').stored, 0.5),
      better: 'lower',
    },
    {
      name: 'new recording -> stored + indexed, polling every 1 s, p95',
      value: quantile(L('poll').stored, 0.95),
      unit: 'ms',
      baseline: quantile(L('baseline').stored, 0.95),
      better: 'lower',
    },
    {
      name: 'new recording -> announced, polling every 1 s, median',
      value: quantile(L('poll').announced, 0.5),
      unit: 'ms',
      baseline: quantile(L('baseline').announced, 0.5),
      better: 'lower',
    },
    {
      name: 'new recording -> announced, polling every 1 s, p95',
      value: quantile(L('poll').announced, 0.95),
      unit: 'ms',
      baseline: quantile(L('baseline').announced, 0.95),
      better: 'lower',
    },
    {
      name: `CPU per list poll at rest (Node-RED process, ${LATENCY_CAMERAS} cameras polled every 1 s)`,
      value: cpuPerPollMs(L('poll')),
      unit: 'ms',
      baseline: cpuPerPollMs(L('baseline')),
      better: 'lower',
    },
    {
      name: 'CPU at rest, live feed + reconciliation every 30 s (share of one core)',
      value: (100 * L('sse').idleCpuSeconds) / L('sse').idleSeconds,
      unit: '%',
      baseline: (100 * L('baseline').idleCpuSeconds) / L('baseline').idleSeconds,
      better: 'lower',
    },
    {
      name: `ingest ${total} x ${VIDEO_MB} MB from ${CAMERAS} cameras`,
      value: total / oursTp.seconds,
      unit: 'recordings/s',
      baseline: total / baseTp.seconds,
      better: 'higher',
    },
    {
      name: 'ingest throughput',
      value: (total * VIDEO_MB) / oursTp.seconds,
      unit: 'MB/s',
      baseline: (total * VIDEO_MB) / baseTp.seconds,
      better: 'higher',
    },
    {
      name: 'Node-RED peak RSS while ingesting',
      value: oursTp.peakRssMb,
      unit: 'MB',
      baseline: baseTp.peakRssMb,
      better: 'lower',
    },
    {
      name: 'Node-RED RSS when idle (same flows)',
      value: oursTp.idleRssMb,
      unit: 'MB',
      baseline: baseTp.idleRssMb,
      better: 'lower',
    },
    {
      name: `store insert rate, synchronous = FULL (baseline: NORMAL), ${SYNC_INSERTS} single-row commits`,
      value: SYNC_INSERTS / sync.fullS,
      unit: 'inserts/s',
      baseline: SYNC_INSERTS / sync.normalS,
      better: 'higher',
    },
    {
      name: 'store commit latency, FULL (baseline: NORMAL), median',
      value: quantile(sync.full, 0.5),
      unit: 'ms',
      baseline: quantile(sync.normal, 0.5),
      better: 'lower',
    },
    {
      name: 'store commit latency, FULL (baseline: NORMAL), p99',
      value: quantile(sync.full, 0.99),
      unit: 'ms',
      baseline: quantile(sync.normal, 0.99),
      better: 'lower',
    },
    ...store.rows.map((r) => ({ ...r, name: `store @1M: ${r.name}` })),
  ];
  return {
    title:
      'ingest: latency, poll cost, throughput and memory of pfcam-watch + pfcam-archive; FULL vs NORMAL; store queries at 1M recordings',
    baseline:
      'inject 1 s -> http request -> function -> http request (buffer) -> file -> function (sqlite3 INSERT); FULL rows: the same store with synchronous = NORMAL; store rows: see bench/store-query.ts',
    rows,
    notes: [
      `latency: ${ROUNDS} rounds x ${SAMPLES} recordings of 300 kB, made one at a time 700..1600 ms apart (random phases of the 1 s poll tick) on random ones of ${LATENCY_CAMERAS} simulated cameras; the three sides (live feed, polling, baseline) run at once in three Node-RED processes on the same cameras, so they see the same recordings at the same moments; a fresh set of cameras and processes per round, started in a rotating order`,
      `CPU per list poll: utime + stime of each Node-RED process (/proc/<pid>/stat) over ${ROUNDS} idle windows of ${IDLE_SECONDS} s, divided by the polls made (cameras x seconds), Node-RED's own idle work included on both sides`,
      'our nodes verify length and SHA-256, fsync and rename each file, bound parallel downloads (6, 2 per camera), resume with Range and keep their cursor in SQLite; the baseline does none of that',
      "FULL vs NORMAL: the store as shipped (FULL: a committed recording survives a power cut) against the same store with PRAGMA synchronous = NORMAL set on the bench's connection only, batches of 50 alternating",
      store.note,
      `load average (1, 5, 15 min) before: ${loadBefore}, after: ${loadAverage()} (a shared 2-core machine)`,
    ],
  };
}
