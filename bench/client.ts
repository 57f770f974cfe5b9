/**
 * The camera client's download of a 200 MB recording from the simulator, against what a flow author would
 * otherwise write: `fetch(url)` + `arrayBuffer()` + `writeFile`. Each side runs in its own child process (so
 * that one's memory does not show in the other's figures) against the same simulated camera, in one run.
 * Figures: transfer rate and peak memory (RSS and array buffers sampled every 20 ms), plus both under a lossy
 * link (the first answers cut short): the client resumes with Range, the baseline has no resume.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CameraClient } from '../lib/camera/camera-client';
import { startCamera, type CameraControl, type SimulatedRequest } from '../simulator';
import type { BenchResult, BenchRow } from './run';

const MB = 1024 * 1024;
const SIZE = 200 * MB;

type Variant = 'client' | 'fetch';

interface WorkerJob {
  variant: Variant;
  url: string;
  fileName: string;
  /** A small recording fetched first the same way, so that start-up costs (code, JIT, heap) stay out. */
  warmUpFileName: string;
  out: string;
  expectedSha: string;
}

interface WorkerReport {
  ok: boolean;
  error?: string;
  ms: number;
  bytes: number;
  peakRssMb: number;
  rssGrowthMb: number;
  peakArrayBuffersMb: number;
  resumes: number;
}

// ---- worker side ----------------------------------------------------------------------------------------

async function download(
  job: WorkerJob,
  fileName: string,
  out: string,
): Promise<{ bytes: number; resumes: number; sha256: string }> {
  if (job.variant === 'client') {
    const client = new CameraClient({
      baseUrl: job.url,
      retry: { attempts: 10, baseDelayMs: 20, maxDelayMs: 200 },
    });
    try {
      const r = await client.downloadToFile('video', { fileName, vidExt: '.mp4', thmbExt: '.jpg' }, out);
      return { bytes: r.bytes, resumes: r.resumes, sha256: r.sha256 };
    } finally {
      await client.close();
    }
  }
  const res = await fetch(`${job.url}/api/events/${encodeURIComponent(fileName)}`);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const data = Buffer.from(await res.arrayBuffer());
  await writeFile(out, data);
  return { bytes: data.length, resumes: 0, sha256: createHash('sha256').update(data).digest('hex') };
}

async function worker(job: WorkerJob): Promise<WorkerReport> {
  await download(job, job.warmUpFileName, `${job.out}.warm-up`);
  const start = process.memoryUsage();
  let peakRss = start.rss;
  let peakAb = start.arrayBuffers;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakAb = Math.max(peakAb, m.arrayBuffers);
  }, 20);
  const t0 = performance.now();
  let bytes = 0;
  let resumes = 0;
  let error: string | undefined;
  try {
    const r = await download(job, job.fileName, job.out);
    bytes = r.bytes;
    resumes = r.resumes;
    if (r.sha256 !== job.expectedSha) error = 'checksum mismatch';
  } catch (err) {
    error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - t0;
  const end = process.memoryUsage();
  peakRss = Math.max(peakRss, end.rss);
  peakAb = Math.max(peakAb, end.arrayBuffers);
  return {
    ok: error === undefined,
    error,
    ms,
    bytes,
    peakRssMb: peakRss / MB,
    rssGrowthMb: (peakRss - start.rss) / MB,
    peakArrayBuffersMb: (peakAb - start.arrayBuffers) / MB,
    resumes,
  };
}

if (process.env.PFCAM_BENCH_WORKER === '1') {
  process.once('message', (job: WorkerJob) => {
    worker(job).then(
      (report) => process.send?.(report, () => process.exit(0)),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}

// ---- runner side ----------------------------------------------------------------------------------------

function inChild(job: WorkerJob): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PFCAM_BENCH_WORKER: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report: WorkerReport | undefined;
    child.once('message', (m) => {
      report = m as WorkerReport;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      report ? resolve(report) : reject(new Error(`bench worker exited with ${code}`)),
    );
    child.send(job);
  });
}

/** Runs of each side (alternating); the median one is reported. */
const REPEATS = 3;

/** The run with the median duration (its memory figures come with it). */
function median(runs: WorkerReport[]): WorkerReport {
  return [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
}

/** How many answers in a row the lossy-link run cuts short. */
const LOSSY_CUTS = 3;

/**
 * Cuts the camera's next `count` answers for `path` short (Content-Length announced, connection closed early);
 * other requests (the warm-up) are left alone. The simulator draws a request's faults right after announcing
 * it, so the faults set here apply to that very request.
 */
function cutNext(control: CameraControl, path: string, count: number): () => void {
  let left = count;
  const onRequest = (request: SimulatedRequest): void => {
    if (request.path === path && left > 0) {
      left -= 1;
      control.setFaults({ truncateRate: 1 });
    } else control.clearFaults();
  };
  control.on('request', onRequest);
  return () => {
    control.off('request', onRequest as (...args: unknown[]) => void);
    control.clearFaults();
  };
}

export async function run(): Promise<BenchResult> {
  const camera = await startCamera({ seed: 42 });
  const dir = await mkdtemp(join(tmpdir(), 'pfcam-bench-'));
  try {
    const recording = camera.control.addRecording({ videoBytes: SIZE });
    const warmUp = camera.control.addRecording({ videoBytes: 4 * MB });
    const { sha256 } = camera.control.media(recording.fileName, 'video');
    const job = (variant: Variant, name: string): WorkerJob => ({
      variant,
      url: camera.url,
      fileName: recording.fileName,
      warmUpFileName: warmUp.fileName,
      out: join(dir, name),
      expectedSha: sha256,
    });

    // alternate the two sides; report the median run of each
    const clientRuns: WorkerReport[] = [];
    const fetchRuns: WorkerReport[] = [];
    for (let i = 0; i < REPEATS; i++) {
      clientRuns.push(await inChild(job('client', `client-${i}.mp4`)));
      fetchRuns.push(await inChild(job('fetch', `fetch-${i}.mp4`)));
      await rm(join(dir, `client-${i}.mp4`), { force: true });
      await rm(join(dir, `fetch-${i}.mp4`), { force: true });
    }
    for (const r of [...clientRuns, ...fetchRuns])
      if (!r.ok) throw new Error(`a download failed: ${r.error}`);
    const client = median(clientRuns);
    const baseline = median(fetchRuns);

    const videoPath = `/api/events/${encodeURIComponent(recording.fileName)}`;
    let stopCutting = cutNext(camera.control, videoPath, LOSSY_CUTS);
    const lossyClient = await inChild(job('client', 'lossy-client.mp4'));
    stopCutting();
    stopCutting = cutNext(camera.control, videoPath, LOSSY_CUTS);
    const lossyFetch = await inChild(job('fetch', 'lossy-fetch.mp4'));
    stopCutting();
    if (!lossyClient.ok) throw new Error(`the client failed on the lossy link: ${lossyClient.error}`);

    const rate = (r: WorkerReport): number => r.bytes / MB / (r.ms / 1000);
    const rows: BenchRow[] = [
      {
        name: 'download rate',
        value: rate(client),
        unit: 'MB/s',
        baseline: rate(baseline),
        better: 'higher',
      },
      {
        name: 'download time',
        value: client.ms / 1000,
        unit: 's',
        baseline: baseline.ms / 1000,
        better: 'lower',
      },
      {
        name: 'peak RSS growth',
        value: client.rssGrowthMb,
        unit: 'MB',
        baseline: baseline.rssGrowthMb,
        better: 'lower',
      },
      {
        name: 'peak RSS',
        value: client.peakRssMb,
        unit: 'MB',
        baseline: baseline.peakRssMb,
        better: 'lower',
      },
      {
        name: 'peak array-buffer growth',
        value: client.peakArrayBuffersMb,
        unit: 'MB',
        baseline: baseline.peakArrayBuffersMb,
        better: 'lower',
      },
      { name: 'lossy link: download rate', value: rate(lossyClient), unit: 'MB/s', better: 'higher' },
      { name: 'lossy link: resumes with Range', value: lossyClient.resumes, unit: 'count' },
    ];
    return {
      title: `camera client download of a ${SIZE / MB} MB recording (to a file, SHA-256 verified)`,
      baseline: 'fetch(url) + arrayBuffer() + writeFile, same recording, same simulated camera',
      rows,
      notes: [
        `lossy link (the first ${LOSSY_CUTS} answers cut short): the client finished with ${lossyClient.resumes} resumes; ` +
          `the fetch baseline ${lossyFetch.ok ? 'finished' : `failed (${lossyFetch.error ?? 'unknown error'})`}.`,
        `Median of ${REPEATS} alternating runs per side; each run in its own process, after a 4 MB warm-up download ` +
          'the same way; the simulator ran in the runner process. Memory sampled every 20 ms.',
      ],
    };
  } finally {
    await camera.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
