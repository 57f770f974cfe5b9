/**
 * Memory over time: the shipped application (the flows of flows/ composed as `npm start` composes them, the
 * application's settings.js, the simulator's three cameras in their own process, a local S3 and MQTT broker)
 * for one hour of simulated time, realised by compressing the application's intervals by `--speed` and running
 * `--minutes` real minutes (default 10 x 6 = 60 simulated minutes):
 * - the simulator's random triggers: `npm start`'s every 30 s on average -> 30 / speed s;
 * - each watch's list reconciliation: 30 s -> 30 / speed s; each camera's health probe: 10 s -> 10 / speed s;
 * - retention: every 60 min -> every 60 / speed min, with a total-size limit small enough that it retires
 *   recordings (the shipped limits, 30 days and 10% free disk, would retire nothing within an hour);
 * - backup: every recording is uploaded to the local S3 as it is stored (as shipped).
 * Samples RSS (/proc/<pid>/status) and the V8 heap in use (`pfcam_nodejs_heap_size_used_bytes`, from the
 * application's own metrics endpoint, enabled by PFCAM_METRICS_TOKEN) every 10 s; prints both at the start
 * (after `--warmup` real seconds) and at the end, with the ratio (target: RSS flat within 10%).
 * `--heap-snapshots`: Node-RED writes a heap snapshot at the start and at the end (SIGUSR2,
 * --heapsnapshot-signal) into bench/results/heap/, to compare in Chrome DevTools.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuWindow, NodeRed, ROOT, SimulatorProcess, loadAverage, rssMb, sleep } from './_harness';
import { storeCounts } from '../scripts/ingest-harness';
import type { BenchResult } from './run';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const shippedFlows = require('../scripts/flows') as {
  composeFlows(dir: string): Record<string, unknown>[];
  applyServices(flows: unknown[], services: { s3: boolean; mqtt: boolean }): Record<string, unknown>[];
  flowsEnv(env: Record<string, string | undefined>): Record<string, string>;
};

interface MemoryOptions {
  minutes: number;
  speed: number;
  warmup: number;
  heapSnapshots: boolean;
}

function parse(args: readonly string[]): MemoryOptions {
  const options: MemoryOptions = { minutes: 10, speed: 6, warmup: 60, heapSnapshots: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const positive = (): number => {
      const n = Number(args[++i]);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${arg} needs a positive number`);
      return n;
    };
    if (arg === '--minutes') options.minutes = positive();
    else if (arg === '--speed') options.speed = positive();
    else if (arg === '--warmup') options.warmup = positive();
    else if (arg === '--heap-snapshots') options.heapSnapshots = true;
    else throw new Error(`memory: unknown option ${arg}`);
  }
  return options;
}

/** The shipped flows with their intervals divided by `speed` and a retention size limit that bites. */
function compressed(flows: Record<string, unknown>[], speed: number): Record<string, unknown>[] {
  return flows.map((n) => {
    if (n.type === 'pfcam-watch')
      return { ...n, reconcileInterval: Number(n.reconcileInterval ?? 30) / speed };
    if (n.type === 'pfcam-camera') return { ...n, probeInterval: Number(n.probeInterval ?? 10) / speed };
    if (n.type === 'pfcam-retention')
      return { ...n, intervalMinutes: Number(n.intervalMinutes ?? 60) / speed, maxTotalGB: 0.002 };
    return n;
  });
}

async function startS3(bucket: string): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const { buildApp } = (await import('fauxqs')) as unknown as {
    buildApp: (o: { logger: boolean }) => {
      listen: (o: { port: number; host: string }) => Promise<string>;
      close: () => Promise<void>;
    };
  };
  const app = buildApp({ logger: false });
  const endpoint = (await app.listen({ port: 0, host: '127.0.0.1' })).replace(/\/+$/, '');
  const res = await fetch(`${endpoint}/${encodeURIComponent(bucket)}`, { method: 'PUT' });
  if (!res.ok) throw new Error(`the local S3 server did not create bucket ${bucket}: ${res.status}`);
  return { endpoint, stop: async () => await app.close() };
}

async function startMqtt(): Promise<{ port: number; stop: () => Promise<void> }> {
  const { Aedes } = (await import('aedes')) as unknown as {
    Aedes: { createBroker(): Promise<{ handle: (s: unknown) => void; close(cb: () => void): void }> };
  };
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        broker.close(() => undefined);
      }),
  };
}

interface Sample {
  atS: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
}

async function metricsOf(url: string, token: string): Promise<Record<string, number>> {
  const res = await fetch(`${url}/pfcam/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`metrics: ${res.status}`);
  const out: Record<string, number> = {};
  for (const m of (await res.text()).matchAll(/^(pfcam_[a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/gm)) {
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

export async function run(args: string[] = []): Promise<BenchResult> {
  const options = parse(args);
  const loadBefore = loadAverage();
  const work = await mkdtemp(join(tmpdir(), 'pfcam-bench-memory-'));
  const token = randomBytes(24).toString('hex');
  const stops: (() => Promise<void>)[] = [];
  let nr: NodeRed | undefined;
  try {
    const sim = await SimulatorProcess.start(3, [
      '--seed',
      '1',
      '--trigger-interval',
      String(Math.round(30_000 / options.speed)),
      '--recordings',
      '3',
      '--restart-ms',
      '5000',
    ]);
    stops.push(() => sim.stop());
    const s3 = await startS3('pfcam-archive');
    stops.push(s3.stop);
    const mqtt = await startMqtt();
    stops.push(mqtt.stop);
    const env: Record<string, string> = {
      ...shippedFlows.flowsEnv({}),
      PFCAM_S3_ENDPOINT: s3.endpoint,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(mqtt.port),
      AWS_ACCESS_KEY_ID: 'pfcam-local',
      AWS_SECRET_ACCESS_KEY: randomBytes(16).toString('hex'),
      PFCAM_DATA: join(work, 'data'),
      PFCAM_METRICS_TOKEN: token,
    };
    sim.cameras.forEach((c, i) => (env[`PFCAM_CAMERA_${i + 1}_URL`] = c.url));
    const flows = compressed(
      shippedFlows.applyServices(shippedFlows.composeFlows(join(ROOT, 'flows')), { s3: true, mqtt: true }),
      options.speed,
    );
    const heapDir = join(ROOT, 'bench', 'results', 'heap');
    if (options.heapSnapshots) {
      await rm(heapDir, { recursive: true, force: true });
      await mkdir(heapDir, { recursive: true });
    }
    nr = await NodeRed.start({
      flows,
      settingsFile: join(ROOT, 'settings.js'),
      env,
      nodeArgs: options.heapSnapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapDir}`] : [],
    });
    const pid = nr.pid;
    const url = nr.url;
    const samples: Sample[] = [];
    const t0 = Date.now();
    const sample = async (): Promise<Sample> => {
      const m = await metricsOf(url, token);
      const s = {
        atS: (Date.now() - t0) / 1000,
        rssMb: rssMb(pid),
        heapMb: (m.pfcam_nodejs_heap_size_used_bytes ?? NaN) / 2 ** 20,
        externalMb: (m.pfcam_nodejs_external_memory_bytes ?? NaN) / 2 ** 20,
      };
      samples.push(s);
      return s;
    };
    await sample();
    await sleep(options.warmup * 1000);
    const snapshot = async (name: string): Promise<void> => {
      if (!options.heapSnapshots) return;
      const before = new Set(await readdir(heapDir));
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 600; i++) {
        await sleep(500);
        const fresh = (await readdir(heapDir)).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
        if (fresh.length > 0) {
          await sleep(3000); // written in one go, but let it finish
          await rename(join(heapDir, fresh[0]!), join(heapDir, `${name}.heapsnapshot`));
          return;
        }
      }
    };
    await snapshot('start');
    const start = await sample();
    const cpu = new CpuWindow(pid).start();
    const end = t0 + (options.warmup + options.minutes * 60) * 1000;
    while (Date.now() < end) {
      await sleep(Math.min(10_000, Math.max(0, end - Date.now())));
      await sample();
    }
    const last = samples[samples.length - 1]!;
    const cpuShare = cpu.stop().share;
    await snapshot('end');
    const recordings = await metricsOf(url, token);
    await nr.stop(15_000);
    const counts = await storeCounts(join(work, 'data', 'pfcam.sqlite'), join(work, 'data', 'media')).catch(
      (e: unknown) => ({ error: String(e) }),
    );
    const window = (from: number, to: number): Sample[] =>
      samples.filter((s) => s.atS >= from && s.atS <= to);
    const startS = start.atS;
    const span = last.atS - startS;
    // Heap floors (the least heap in use over the first and last fifth): GC noise averages out of them.
    const floor = (list: Sample[]): number => Math.min(...list.map((s) => s.heapMb));
    const firstFloor = floor(window(startS, startS + span / 5));
    const lastFloor = floor(window(last.atS - span / 5, last.atS));
    const stored = Object.entries(recordings)
      .filter(([k]) => /recordings?_(stored|archived|fetched)/.test(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    console.log(
      `memory: samples (s, RSS MB, heap MB): ${samples.map((s) => `${s.atS.toFixed(0)}:${s.rssMb.toFixed(0)}/${s.heapMb.toFixed(1)}`).join(' ')}`,
    );
    return {
      title: `memory over time: the shipped application for ${((options.minutes * options.speed) / 60).toFixed(1)} h of simulated time (${options.minutes} min at x${options.speed})`,
      baseline: 'the same process at the start of the run (after the warm-up)',
      rows: [
        { name: 'RSS at the end', value: last.rssMb, unit: 'MB', baseline: start.rssMb, better: 'lower' },
        {
          name: 'V8 heap in use at the end',
          value: last.heapMb,
          unit: 'MB',
          baseline: start.heapMb,
          better: 'lower',
        },
        {
          name: 'V8 heap floor, last fifth vs first fifth',
          value: lastFloor,
          unit: 'MB',
          baseline: firstFloor,
          better: 'lower',
        },
        {
          name: 'external (buffers) at the end',
          value: last.externalMb,
          unit: 'MB',
          baseline: start.externalMb,
          better: 'lower',
        },
        { name: 'RSS peak', value: Math.max(...samples.map((s) => s.rssMb)), unit: 'MB' },
        { name: 'CPU over the run (share of one core)', value: 100 * cpuShare, unit: '%' },
      ],
      notes: [
        `RSS start ${start.rssMb.toFixed(0)} MB -> end ${last.rssMb.toFixed(0)} MB (${((100 * (last.rssMb - start.rssMb)) / start.rssMb).toFixed(1)}%; target: within 10%: ${Math.abs(last.rssMb - start.rssMb) <= 0.1 * start.rssMb ? 'met' : 'MISSED'})`,
        `compressed x${options.speed}: simulator triggers every ${(30 / options.speed).toFixed(1)} s on average per camera, reconciliation every ${(30 / options.speed).toFixed(1)} s, health probes every ${(10 / options.speed).toFixed(1)} s, retention every ${(60 / options.speed).toFixed(1)} min with a 2 MB total-size limit; backup to a local S3, alerts to the dashboard and MQTT (aedes)`,
        `warm-up ${options.warmup} s before the start sample; samples every 10 s; ${stored || 'no recording counters in the metrics'}; the store's rows by state at the end: ${JSON.stringify(counts)}`,
        `load average (1, 5, 15 min) before: ${loadBefore}, after: ${loadAverage()} (a shared 2-core machine)`,
        ...(options.heapSnapshots ? [`heap snapshots: ${heapDir}/start.heapsnapshot, end.heapsnapshot`] : []),
      ],
    };
  } finally {
    if (nr)
      await writeFile(join(ROOT, 'bench', 'results', 'memory-node-red.log'), nr.log).catch(() => undefined);
    await nr?.stop(15_000);
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
