/**
 * Ingest, in one run, in real Node-RED processes against simulated cameras:
 * - new-recording latency (recording made on the camera -> stored and indexed), with the camera's live feed
 *   (SSE) and with polling only;
 * - ingest throughput and peak memory (RSS of the Node-RED process) while a backlog of recordings comes in;
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
 * `BENCH_INGEST_RECORDINGS` (default 60) and `BENCH_INGEST_VIDEO_MB` (default 4) size the throughput run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCameras, type SimulatedCamera } from '../simulator';
import { freePort } from '../test/helpers/node-red-process';
import type { BenchResult, BenchRow } from './run';

const ROOT = resolve(__dirname, '..');
const LATENCY_SAMPLES = Number(process.env.BENCH_INGEST_LATENCY_SAMPLES ?? 20);
const THROUGHPUT_RECORDINGS = Number(process.env.BENCH_INGEST_RECORDINGS ?? 60);
const VIDEO_MB = Number(process.env.BENCH_INGEST_VIDEO_MB ?? 4);
const CAMERAS = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A Node-RED process with this package installed and `sqlite3` offered to function nodes. */
class NodeRed {
  private output = '';
  private peak = 0;
  private current = 0;
  private sampler: NodeJS.Timeout | undefined;
  private constructor(
    private readonly child: ChildProcess,
    readonly userDir: string,
  ) {}

  static async start(flows: unknown[]): Promise<NodeRed> {
    const userDir = await mkdtemp(join(tmpdir(), 'pfcam-bench-nr-'));
    await mkdir(join(userDir, 'node_modules', '@pfcam'), { recursive: true });
    await symlink(ROOT, join(userDir, 'node_modules', '@pfcam', 'node-red-pfcam'), 'dir');
    await writeFile(join(userDir, 'flows.json'), JSON.stringify(flows));
    const settings = `module.exports = {
  uiPort: ${await freePort()},
  uiHost: '127.0.0.1',
  flowFile: 'flows.json',
  credentialSecret: 'bench',
  logging: { console: { level: 'info' } },
  diagnostics: { enabled: false },
  telemetry: { enabled: false },
  pfcam: { dataDir: ${JSON.stringify(join(userDir, 'pfcam'))} },
  functionGlobalContext: { sqlite3: require(${JSON.stringify(require.resolve('sqlite3'))}) },
};\n`;
    await writeFile(join(userDir, 'settings.js'), settings);
    const child = spawn(
      process.execPath,
      [require.resolve('node-red/red.js'), '--settings', join(userDir, 'settings.js'), '--userDir', userDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const nr = new NodeRed(child, userDir);
    child.stdout?.on('data', (c: Buffer) => (nr.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (nr.output += c.toString()));
    nr.sampler = setInterval(() => void nr.sample(), 50);
    await nr.waitFor(/Started flows/, 60_000);
    return nr;
  }

  get log(): string {
    return this.output;
  }

  /** Peak resident memory since start (MB). */
  get peakRssMb(): number {
    return this.peak / 1024;
  }

  /** Resident memory at the last sample (MB). */
  get rssMb(): number {
    return this.current / 1024;
  }

  resetPeak(): void {
    this.peak = 0;
  }

  async waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`Node-RED did not log ${String(pattern)}:\n${this.output.slice(-2000)}`);
      }
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.sampler);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    await rm(this.userDir, { recursive: true, force: true });
  }

  private async sample(): Promise<void> {
    if (this.child.pid === undefined) return;
    try {
      const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      this.current = kb;
      if (kb > this.peak) this.peak = kb;
    } catch {
      // the process ended
    }
  }
}

/**
 * Lines `<mark> <camera>|<fileName> <ms>` logged by the flows' probes, by `<camera>|<fileName>` (two cameras
 * may make recordings of the same name), first time only.
 */
function marks(log: string, mark: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of log.matchAll(new RegExp(`${mark} (\\S+) (\\d+)`, 'g'))) {
    if (!out.has(m[1]!)) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The time of a recording's mark on a one-camera run (whatever the camera is called in the log). */
function markOf(all: Map<string, number>, fileName: string): number | undefined {
  for (const [key, t] of all) if (key.endsWith(`|${fileName}`)) return t;
  return undefined;
}

function ourFlow(
  cameras: readonly SimulatedCamera[],
  dataDir: string,
  watch: { useSse: boolean; reconcileInterval: number },
): unknown[] {
  const z = 'bench';
  const nodes: Record<string, unknown>[] = [
    { id: z, type: 'tab', label: 'bench' },
    {
      id: 'store',
      type: 'pfcam-store',
      databaseFile: join(dataDir, 'pfcam.sqlite'),
      mediaDir: join(dataDir, 'media'),
      recoverOnStart: true,
      verifyFiles: true,
    },
    {
      id: 'archive',
      type: 'pfcam-archive',
      z,
      store: 'store',
      concurrency: 4,
      perCamera: 2,
      fetchThumbnail: false,
      retryInterval: 30,
      maxAttempts: 0,
      recoverOnStart: true,
      wires: [['probe-stored']],
    },
    {
      id: 'probe-new',
      type: 'function',
      z,
      func: "node.log('MARK-NEW ' + msg.payload.cameraSerial + '|' + msg.payload.fileName + ' ' + Date.now()); return null;",
      outputs: 0,
    },
    {
      id: 'probe-stored',
      type: 'function',
      z,
      func: "node.log('MARK-STORED ' + msg.payload.cameraSerial + '|' + msg.payload.fileName + ' ' + Date.now()); return null;",
      outputs: 0,
    },
  ];
  cameras.forEach((camera, i) => {
    nodes.push({
      id: `cam-${i}`,
      type: 'pfcam-camera',
      url: camera.url,
      probeInterval: 30,
      timeout: 30,
      connections: 4,
    });
    nodes.push({
      id: `watch-${i}`,
      type: 'pfcam-watch',
      z,
      camera: `cam-${i}`,
      store: 'store',
      ...watch,
      wires: [['archive', 'probe-new']],
    });
  });
  return nodes;
}

function baselineFlow(cameras: readonly SimulatedCamera[], dataDir: string, pollSeconds: number): unknown[] {
  const z = 'baseline';
  const urls = JSON.stringify(cameras.map((c) => c.url));
  return [
    { id: z, type: 'tab', label: 'baseline' },
    {
      id: 'poll',
      type: 'inject',
      z,
      props: [],
      repeat: String(pollSeconds),
      once: true,
      onceDelay: 0.1,
      wires: [['cameras']],
    },
    {
      id: 'cameras',
      type: 'function',
      z,
      func: `return [${urls}.map((base) => ({ base, url: base + '/api/events' }))];`,
      outputs: 1,
      wires: [['list']],
    },
    {
      id: 'list',
      type: 'http request',
      z,
      method: 'GET',
      ret: 'obj',
      url: '',
      paytoqs: 'ignore',
      wires: [['new']],
    },
    {
      id: 'new',
      type: 'function',
      z,
      func: `if (!Array.isArray(msg.payload)) return null;
const seen = context.get('seen') || {};
const out = [];
for (const e of msg.payload) {
  const key = msg.base + '/' + e.fileName;
  if (seen[key]) continue;
  seen[key] = true;
  node.log('MARK-NEW ' + msg.base + '|' + e.fileName + ' ' + Date.now());
  out.push({ base: msg.base, event: e, url: msg.base + '/api/events/' + encodeURIComponent(e.fileName),
    filename: ${JSON.stringify(join(dataDir, 'media'))} + '/' + encodeURIComponent(msg.base) + '/' + e.fileName + e.vidExt });
}
context.set('seen', seen);
return [out];`,
      outputs: 1,
      wires: [['download']],
    },
    {
      id: 'download',
      type: 'http request',
      z,
      method: 'GET',
      ret: 'bin',
      url: '',
      paytoqs: 'ignore',
      wires: [['write']],
    },
    {
      id: 'write',
      type: 'file',
      z,
      filename: 'filename',
      filenameType: 'msg',
      appendNewline: false,
      createDir: true,
      overwriteFile: 'true',
      encoding: 'none',
      wires: [['index']],
    },
    {
      id: 'index',
      type: 'function',
      z,
      func: `let db = context.get('db');
if (!db) {
  const sqlite3 = global.get('sqlite3');
  db = new sqlite3.Database(${JSON.stringify(join(dataDir, 'baseline.sqlite'))});
  db.serialize();
  db.run('CREATE TABLE IF NOT EXISTS events (camera TEXT, file_name TEXT, event_name TEXT, triggered_at TEXT, path TEXT, size INTEGER)');
  context.set('db', db);
}
const e = msg.event;
db.run('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)', [msg.base, e.fileName, e.eventName, e.triggeredAt, msg.filename, msg.payload.length], (err) => {
  if (err) node.error(err, msg);
  else node.log('MARK-STORED ' + msg.base + '|' + e.fileName + ' ' + Date.now());
});
return null;`,
      outputs: 0,
      wires: [],
    },
  ];
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

interface Scenario {
  flow: (cameras: readonly SimulatedCamera[], dataDir: string) => unknown[];
}

/** Latency: recordings made one at a time at random moments; ms until announced and until stored. */
async function latency(scenario: Scenario): Promise<{ announced: number[]; stored: number[] }> {
  const cameras = await startCameras(1, { seed: 41, recordings: 0, videoBytes: 300_000 });
  const dataDir = await mkdtemp(join(tmpdir(), 'pfcam-bench-data-'));
  const nr = await NodeRed.start(scenario.flow(cameras, dataDir));
  try {
    await sleep(1500); // first reconciliation / first poll done
    const made = new Map<string, number>();
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      await sleep(700 + Math.random() * 900);
      const rec = cameras[0]!.control.addRecording();
      made.set(rec.fileName, Date.now());
    }
    const deadline = Date.now() + 30_000;
    while (marks(nr.log, 'MARK-STORED').size < made.size && Date.now() < deadline) await sleep(50);
    const announced = marks(nr.log, 'MARK-NEW');
    const stored = marks(nr.log, 'MARK-STORED');
    const out = { announced: [] as number[], stored: [] as number[] };
    for (const [fileName, t0] of made) {
      const a = markOf(announced, fileName);
      const s = markOf(stored, fileName);
      if (a !== undefined) out.announced.push(a - t0);
      if (s !== undefined) out.stored.push(s - t0);
    }
    if (out.stored.length < made.size) {
      throw new Error(`only ${out.stored.length} of ${made.size} stored:\n${nr.log.slice(-3000)}`);
    }
    return out;
  } finally {
    await nr.stop();
    await Promise.all(cameras.map((c) => c.stop()));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Throughput and memory: a backlog on three cameras, ingested from a cold start. */
async function throughput(
  scenario: Scenario,
): Promise<{ seconds: number; peakRssMb: number; idleRssMb: number }> {
  const perCamera = Math.ceil(THROUGHPUT_RECORDINGS / CAMERAS);
  const cameras = await startCameras(CAMERAS, {
    seed: 77,
    recordings: 0,
    videoBytes: VIDEO_MB * 1024 * 1024,
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'pfcam-bench-data-'));
  // Start on an empty camera to know the idle memory, then make the backlog appear at once.
  const nr = await NodeRed.start(scenario.flow(cameras, dataDir));
  try {
    await sleep(1500);
    const idleRssMb = nr.rssMb;
    nr.resetPeak();
    const started = Date.now();
    for (const camera of cameras) for (let i = 0; i < perCamera; i++) camera.control.addRecording();
    const total = perCamera * CAMERAS;
    const deadline = Date.now() + Number(process.env.BENCH_INGEST_DEADLINE_S ?? 300) * 1000;
    while (marks(nr.log, 'MARK-STORED').size < total) {
      if (Date.now() > deadline) {
        throw new Error(
          `throughput run: ${marks(nr.log, 'MARK-STORED').size} of ${total}:\n${nr.log.slice(-3000)}`,
        );
      }
      await sleep(50);
    }
    const last = Math.max(...marks(nr.log, 'MARK-STORED').values());
    return { seconds: (last - started) / 1000, peakRssMb: nr.peakRssMb, idleRssMb };
  } finally {
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
  const ours = (useSse: boolean, reconcileInterval: number): Scenario => ({
    flow: (cameras, dir) => ourFlow(cameras, dir, { useSse, reconcileInterval }),
  });
  const baseline: Scenario = { flow: (cameras, dir) => baselineFlow(cameras, dir, 1) };

  const sse = await latency(ours(true, 30));
  const poll = await latency(ours(false, 1));
  const base = await latency(baseline);
  const oursTp = await throughput(ours(true, 30));
  const baseTp = await throughput(baseline);
  const store = await storeRows();

  const total = Math.ceil(THROUGHPUT_RECORDINGS / CAMERAS) * CAMERAS;
  const rows: BenchRow[] = [
    {
      name: 'new recording -> stored + indexed, live feed (SSE), median',
      value: quantile(sse.stored, 0.5),
      unit: 'ms',
      baseline: quantile(base.stored, 0.5),
      better: 'lower',
    },
    {
      name: 'new recording -> stored + indexed, live feed (SSE), p95',
      value: quantile(sse.stored, 0.95),
      unit: 'ms',
      baseline: quantile(base.stored, 0.95),
      better: 'lower',
    },
    {
      name: 'new recording -> announced, live feed (SSE), median',
      value: quantile(sse.announced, 0.5),
      unit: 'ms',
      baseline: quantile(base.announced, 0.5),
      better: 'lower',
    },
    {
      name: 'new recording -> stored + indexed, polling every 1 s, median',
      value: quantile(poll.stored, 0.5),
      unit: 'ms',
      baseline: quantile(base.stored, 0.5),
      better: 'lower',
    },
    {
      name: 'new recording -> stored + indexed, polling every 1 s, p95',
      value: quantile(poll.stored, 0.95),
      unit: 'ms',
      baseline: quantile(base.stored, 0.95),
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
    ...store.rows.map((r) => ({ ...r, name: `store @1M: ${r.name}` })),
  ];
  return {
    title:
      'ingest: latency, throughput and memory of pfcam-watch + pfcam-archive; store queries at 1M recordings',
    baseline:
      'inject 1 s -> http request -> function -> http request (buffer) -> file -> function (sqlite3 INSERT); store rows: see bench/store-query.ts',
    rows,
    notes: [
      `latency: ${LATENCY_SAMPLES} recordings of 300 kB made one at a time at random moments on one simulated camera`,
      'our nodes verify length and SHA-256, fsync and rename each file, bound parallel downloads (4, 2 per camera), resume with Range and keep their cursor in SQLite; the baseline does none of that',
      store.note,
    ],
  };
}
