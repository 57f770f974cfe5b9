/**
 * Scale: one Node-RED process running the ingest flow (per camera a pfcam-camera and a pfcam-watch with its live
 * feed and a list reconciliation every `--interval` seconds; one store, one archive) against 50, 200 and 500
 * simulated cameras served by the simulator in its own process. Per camera count:
 * - CPU share of one core of the Node-RED process (utime + stime from /proc/<pid>/stat) over a rest window and
 *   over a recording window;
 * - RSS (/proc/<pid>/status) at the end of the rest window and its peak;
 * - new-recording latency (recording made on the camera -> stored and indexed) p50 / p99 over the recordings
 *   made at random moments on random cameras during the recording window, and the recordings missed.
 *
 * Baseline, measured in the same run at 50 cameras: the flow a user would wire by hand (inject every
 * `--interval` seconds -> http request GET /api/events per camera -> function -> http request -> file ->
 * sqlite3 INSERT, see bench/_harness.ts), on the same simulator, with the same windows and recordings.
 *
 * Options: `--cameras 50,200,500` `--interval 30` (s) `--rest 60` `--window 60` (s) `--recordings 200` (per
 * window) `--video-bytes 50000` `--cpu-prof` (profile Node-RED at the largest size; the top frames are printed).
 * Targets (at 500 cameras on a 2-core machine): under 30% of one core at rest, RSS under 300 MB, p99 under 1 s.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CpuWindow,
  NodeRed,
  SimulatorProcess,
  baselineFlow,
  loadAverage,
  ourFlow,
  profileTop,
  quantile,
  rssMb,
  sleep,
  type RemoteCamera,
} from './_harness';
import type { BenchResult, BenchRow } from './run';

interface ScaleOptions {
  cameras: number[];
  interval: number;
  rest: number;
  window: number;
  recordings: number;
  videoBytes: number;
  cpuProf: boolean;
  baseline: boolean;
}

function parse(args: readonly string[]): ScaleOptions {
  const options: ScaleOptions = {
    cameras: [50, 200, 500],
    interval: 30,
    rest: 60,
    window: 60,
    recordings: 200,
    videoBytes: 50_000,
    cpuProf: false,
    baseline: true,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const positive = (): number => {
      const n = Number(value());
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${arg} needs a positive number`);
      return n;
    };
    if (arg === '--cameras') {
      options.cameras = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (options.cameras.some((n) => !Number.isInteger(n) || n <= 0))
        throw new Error('--cameras needs positive integers, comma-separated');
    } else if (arg === '--interval') options.interval = positive();
    else if (arg === '--rest') options.rest = positive();
    else if (arg === '--window') options.window = positive();
    else if (arg === '--recordings') options.recordings = Math.round(positive());
    else if (arg === '--video-bytes') options.videoBytes = Math.round(positive());
    else if (arg === '--cpu-prof') options.cpuProf = true;
    else if (arg === '--no-baseline') options.baseline = false;
    else throw new Error(`scale: unknown option ${arg}`);
  }
  return options;
}

interface SizeResult {
  cameras: number;
  restCpu: number;
  recordingCpu: number;
  restRssMb: number;
  peakRssMb: number;
  p50: number;
  p99: number;
  announcedP50: number;
  announcedP99: number;
  made: number;
  missed: number;
  simulatorCpu: number;
  startSeconds: number;
  profile: string[];
}

/** Waits until every camera has `want` SSE clients (our flow's live feeds are all up). */
async function feedsUp(sim: SimulatorProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let up = 0;
    for (let i = 0; i < sim.cameras.length; i += 50) {
      const states = await Promise.all(sim.cameras.slice(i, i + 50).map((c) => sim.state(c)));
      up += states.filter((s) => Number(s.sseClients) >= 1).length;
    }
    if (up === sim.cameras.length) return;
    if (Date.now() > deadline) throw new Error(`only ${up} of ${sim.cameras.length} live feeds are up`);
    await sleep(1000);
  }
}

async function measure(
  count: number,
  side: 'ours' | 'baseline',
  options: ScaleOptions,
  profile: boolean,
): Promise<SizeResult> {
  const sim = await SimulatorProcess.start(count, [
    '--seed',
    '7',
    '--recordings',
    '0',
    '--video-bytes',
    String(options.videoBytes),
  ]);
  const dataDir = await mkdtemp(join(tmpdir(), 'pfcam-bench-scale-'));
  const profileDir = join(dataDir, 'profile');
  let nr: NodeRed | undefined;
  try {
    const started = Date.now();
    nr = await NodeRed.start({
      flows:
        side === 'ours'
          ? ourFlow(sim.cameras, dataDir, { useSse: true, reconcileInterval: options.interval })
          : baselineFlow(sim.cameras, dataDir, options.interval),
      nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    });
    if (side === 'ours') await feedsUp(sim, 180_000);
    const startSeconds = (Date.now() - started) / 1000;
    // Warm-up: the first reconciliation of every camera, the first probes, the JIT.
    await sleep(Math.min(15, options.interval) * 1000);

    const pid = nr.pid;
    let peak = 0;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssMb(pid));
      } catch {
        // the process ended
      }
    }, 250);
    try {
      const rest = new CpuWindow(pid).start();
      await sleep(options.rest * 1000);
      const restCpu = rest.stop().share;
      const restRssMb = rssMb(pid);

      // Recording window: recordings at random moments on random cameras.
      const made = new Map<string, { keys: string[]; t0: number }>();
      const recording = new CpuWindow(pid).start();
      const simCpu = new CpuWindow(sim.pid).start();
      const pending: Promise<void>[] = [];
      const at = Array.from({ length: options.recordings }, () => Math.random() * options.window * 1000).sort(
        (a, b) => a - b,
      );
      const t0 = performance.now();
      for (const [i, ms] of at.entries()) {
        const wait = ms - (performance.now() - t0);
        if (wait > 0) await sleep(wait);
        const camera: RemoteCamera = sim.cameras[Math.floor(Math.random() * sim.cameras.length)]!;
        const sent = Date.now();
        pending.push(
          sim.record(camera).then((fileName) => {
            made.set(`${i}`, {
              keys: [`${camera.serialNumber}|${fileName}`, `${camera.url}|${fileName}`],
              t0: sent,
            });
          }),
        );
      }
      await Promise.all(pending);
      const left = options.window * 1000 - (performance.now() - t0);
      if (left > 0) await sleep(left);
      const recordingCpu = recording.stop().share;
      const simulatorCpu = simCpu.stop().share;

      // Settle: every recording stored, or give up after two intervals and a half.
      const stored = nr.marks('STORED');
      const storedOf = (keys: string[]): number | undefined =>
        keys.map((k) => stored.get(k)).find((t) => t !== undefined);
      const deadline = Date.now() + Math.max(30, options.interval * 2.5) * 1000;
      while ([...made.values()].some((m) => storedOf(m.keys) === undefined) && Date.now() < deadline) {
        await sleep(200);
      }
      const latencies: number[] = [];
      const announcedLatencies: number[] = [];
      const announced = nr.marks('NEW');
      for (const m of made.values()) {
        const t = storedOf(m.keys);
        if (t !== undefined) latencies.push(t - m.t0);
        const a = m.keys.map((k) => announced.get(k)).find((x) => x !== undefined);
        if (a !== undefined) announcedLatencies.push(a - m.t0);
      }
      return {
        cameras: count,
        restCpu,
        recordingCpu,
        restRssMb,
        peakRssMb: peak,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        announcedP50: quantile(announcedLatencies, 0.5),
        announcedP99: quantile(announcedLatencies, 0.99),
        made: made.size,
        missed: made.size - latencies.length,
        simulatorCpu,
        startSeconds,
        profile: [],
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await nr?.stop(profile ? 30_000 : 0);
    await sim.stop();
    const top = profile
      ? await profileTop(profileDir).catch((e: unknown) => [`no profile: ${String(e)}`])
      : [];
    await rm(dataDir, { recursive: true, force: true });
    if (top.length > 0) console.log(top.join('\n'));
  }
}

export async function run(args: string[] = []): Promise<BenchResult> {
  const options = parse(args);
  const loadBefore = loadAverage();
  const nothing: SizeResult = {
    cameras: 50,
    restCpu: NaN,
    recordingCpu: NaN,
    restRssMb: NaN,
    peakRssMb: NaN,
    p50: NaN,
    p99: NaN,
    announcedP50: NaN,
    announcedP99: NaN,
    made: 0,
    missed: NaN,
    simulatorCpu: NaN,
    startSeconds: NaN,
    profile: [],
  };
  const baseline = options.baseline ? await measure(50, 'baseline', options, false) : nothing;
  const base = (v: number): number | undefined => (Number.isFinite(v) ? v : undefined);
  console.log(`scale: baseline at 50 cameras: ${JSON.stringify(baseline)}`);
  const results: SizeResult[] = [];
  const largest = Math.max(...options.cameras);
  for (const count of options.cameras) {
    const r = await measure(count, 'ours', options, options.cpuProf && count === largest);
    console.log(`scale: ${count} cameras: ${JSON.stringify(r)}`);
    results.push(r);
  }
  const rows: BenchRow[] = [];
  for (const r of results) {
    const n = `${r.cameras} cameras`;
    rows.push(
      {
        name: `${n}: CPU at rest (share of one core)`,
        value: 100 * r.restCpu,
        unit: '%',
        baseline: base(100 * baseline.restCpu),
        better: 'lower',
      },
      {
        name: `${n}: CPU while recording`,
        value: 100 * r.recordingCpu,
        unit: '%',
        baseline: base(100 * baseline.recordingCpu),
        better: 'lower',
      },
      {
        name: `${n}: RSS at rest`,
        value: r.restRssMb,
        unit: 'MB',
        baseline: base(baseline.restRssMb),
        better: 'lower',
      },
      {
        name: `${n}: RSS peak`,
        value: r.peakRssMb,
        unit: 'MB',
        baseline: base(baseline.peakRssMb),
        better: 'lower',
      },
      {
        name: `${n}: new recording -> stored, p50`,
        value: r.p50,
        unit: 'ms',
        baseline: base(baseline.p50),
        better: 'lower',
      },
      {
        name: `${n}: new recording -> stored, p99`,
        value: r.p99,
        unit: 'ms',
        baseline: base(baseline.p99),
        better: 'lower',
      },
      {
        name: `${n}: new recording -> announced, p99`,
        value: r.announcedP99,
        unit: 'ms',
        baseline: base(baseline.announcedP99),
        better: 'lower',
      },
      {
        name: `${n}: recordings missed (of ${r.made})`,
        value: r.missed,
        unit: 'recordings',
        baseline: base(baseline.missed),
        better: 'lower',
      },
    );
  }
  const big = results.find((r) => r.cameras === 500);
  const verdict = big
    ? `targets at 500 cameras: CPU at rest ${(100 * big.restCpu).toFixed(1)}% (< 30%: ${big.restCpu < 0.3 ? 'met' : 'MISSED'}), ` +
      `RSS ${big.peakRssMb.toFixed(0)} MB peak (< 300 MB: ${big.peakRssMb < 300 ? 'met' : 'MISSED'}), ` +
      `p99 ${big.p99.toFixed(0)} ms (< 1000 ms: ${big.p99 < 1000 ? 'met' : 'MISSED'}), missed ${big.missed} (0: ${big.missed === 0 ? 'met' : 'MISSED'})`
    : 'targets apply at 500 cameras (not run)';
  return {
    title:
      'scale: one Node-RED with the ingest flow (live feed + reconciliation) against N simulated cameras',
    baseline: `hand-wired flow at 50 cameras: inject every ${options.interval} s -> http request GET /api/events per camera -> function -> http request -> file -> sqlite3 INSERT`,
    rows,
    notes: [
      verdict,
      `per camera: pfcam-camera (health probe every 10 s, 2 connections) + pfcam-watch (live feed, reconciliation every ${options.interval} s); one store and one archive (6 parallel, 2 per camera, no thumbnails); videos of ${options.videoBytes} bytes`,
      `windows: warm-up ${Math.min(15, options.interval)} s after every live feed is up, rest ${options.rest} s, recording ${options.window} s with ${options.recordings} recordings at random moments on random cameras`,
      `the simulator runs in its own process; its CPU while recording: ${results.map((r) => `${r.cameras}: ${(100 * r.simulatorCpu).toFixed(0)}%`).join(', ')}; Node-RED start to every feed up: ${results.map((r) => `${r.cameras}: ${r.startSeconds.toFixed(0)} s`).join(', ')}`,
      `load average (1, 5, 15 min) before: ${loadBefore}, after: ${loadAverage()} (a shared 2-core machine)`,
    ],
  };
}
