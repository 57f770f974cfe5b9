/**
 * `npm run soak [-- --recordings N --cameras C --seed S --stops --keep]`: the ingest path under every simulator
 * fault at once, with Node-RED killed (SIGKILL) at random moments and restarted on the same data, until N
 * recordings were made across C cameras. With `--stops`, Node-RED is stopped gracefully instead (SIGTERM, as
 * Ctrl-C, a service manager or a redeploy does) during busy archiving, and the log must then hold no
 * "database is closed" error. Then it lets the archive settle and checks it against the cameras: every recording the
 * camera client accepts stored exactly once with the camera's exact bytes, no temp file, no row without its
 * file, no file without its row.
 *
 * The last line is `recordings=N lost=L duplicated=D corrupt=C`; the exit status is 0 only when L, D and C are 0
 * (and Node-RED never died on its own: a crash is reported, and the soak restarts it as a supervisor would).
 * Needs a build (`npm run build`): Node-RED loads the nodes from dist/.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCameras, type SimulatedCamera } from '../simulator';
import { NodeRedProcess } from '../test/helpers/node-red-process';
import { checkArchive, expectedRecordings, ingestFlow, storeCounts } from './ingest-harness';

interface SoakOptions {
  recordings: number;
  cameras: number;
  seed: number;
  keep: boolean;
  /** Graceful stops (SIGTERM) instead of kills (SIGKILL). */
  stops: boolean;
  /** Mean seconds between two kills. */
  killEvery: number;
  /** Seconds allowed to settle after the last recording. */
  settle: number;
}

function parseArgs(argv: readonly string[]): SoakOptions {
  const options: SoakOptions = {
    recordings: 3000,
    cameras: 8,
    seed: 1,
    keep: false,
    stops: false,
    killEvery: 4,
    settle: 150,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${arg} needs a positive number`);
      return n;
    };
    if (arg === '--recordings') options.recordings = Math.round(value());
    else if (arg === '--cameras') options.cameras = Math.round(value());
    else if (arg === '--seed') options.seed = Math.round(value());
    else if (arg === '--kill-every') options.killEvery = value();
    else if (arg === '--settle') options.settle = value();
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--stops') options.stops = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(
        'npm run soak -- [--recordings N=3000] [--cameras C=8] [--seed S=1] [--kill-every SECONDS=4] [--settle SECONDS=150] [--stops] [--keep]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

/** A small seeded generator (mulberry32), so that a run can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether the Node-RED process is still running. */
function alive(nodeRed: NodeRedProcess): boolean {
  const pid = nodeRed.pid;
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** "database is closed" errors in the log (a store closed under its users during a stop). */
function databaseClosedIn(log: string): number {
  return log.split('database is closed').length - 1;
}

/** Times Node-RED died of an uncaught exception (not of our SIGKILLs), from its log. */
function crashesIn(log: string): number {
  return log.split('[red] Uncaught Exception').length - 1;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const root = resolve(__dirname, '..');
  if (!existsSync(join(root, 'dist', 'nodes', 'pfcam-archive', 'pfcam-archive.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first');
  }
  const rand = random(options.seed);
  const signal = options.stops ? 'SIGTERM' : 'SIGKILL';
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const dir = await mkdtemp(join(tmpdir(), 'pfcam-soak-'));
  const databaseFile = join(dir, 'data', 'pfcam.sqlite');
  const mediaDir = join(dir, 'data', 'media');
  // Recordings are made at a rate that takes about two minutes for the default count (at least 5 per second).
  const perSecond = Math.max(5, options.recordings / 120);
  const faults = {
    latencyMs: 5,
    errorRate: 0.05,
    resetRate: 0.03,
    truncateRate: 0.05,
    stallRate: 0.01,
    mediaJsonErrorRate: 0.03,
    malformedJsonRate: 0.03,
    sseDropAfterMs: 5000,
    clockSkewSeconds: 120,
    eventStormPerSecond: perSecond / options.cameras,
  };
  // One camera in eight makes hostile recordings (path tricks, odd extensions, markup in names, local times).
  const hostile = (index: number): boolean => index % 8 === 0;
  console.log(
    `soak: ${options.recordings} recordings on ${options.cameras} cameras (${perSecond.toFixed(1)}/s), every fault on ` +
      `(hostile recordings on camera 1 of 8), ` +
      `${signal} every ~${options.killEvery} s, seed ${options.seed}, data in ${dir}`,
  );
  let cameras: SimulatedCamera[] = [];
  let nodeRed: NodeRedProcess | undefined;
  try {
    cameras = await startCameras(options.cameras, {
      seed: options.seed,
      recordings: 0,
      videoBytes: 40_000,
      restartMs: 1500,
      faults: { ...faults, eventStormPerSecond: 0 },
    });
    cameras.forEach((camera, i) => camera.control.setFaults({ hostileRecordings: hostile(i) }));
    let made = 0;
    for (const camera of cameras) {
      camera.control.on('recording', () => {
        made++;
        if (made >= options.recordings)
          for (const c of cameras) c.control.setFaults({ eventStormPerSecond: 0 });
      });
    }
    nodeRed = await NodeRedProcess.start({
      userDir: join(dir, 'node-red'),
      flows: ingestFlow({
        cameras,
        databaseFile,
        mediaDir,
        timeout: 3,
        reconcileInterval: 2,
        retryInterval: 1,
        concurrency: 8,
        perCamera: 2,
      }),
    });
    for (const camera of cameras)
      camera.control.setFaults({ eventStormPerSecond: faults.eventStormPerSecond });

    // Kill at random moments while recordings are being made; restart a camera now and then.
    let kills = 0;
    let lastReport = 0;
    while (made < options.recordings) {
      await sleep((0.5 + rand()) * options.killEvery * 1000);
      if (rand() < 0.2) void cameras[Math.floor(rand() * cameras.length)]!.control.restart();
      await nodeRed.stop(signal);
      kills++;
      await nodeRed.restart();
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        const counts = await storeCounts(databaseFile, mediaDir);
        console.log(`soak: ${elapsed()}: ${made} made, ${kills} kills, store ${JSON.stringify(counts)}`);
      }
    }
    // One more kill right after the last recording, then let it settle (faults still on).
    await sleep(rand() * 2000);
    await nodeRed.stop(signal);
    kills++;
    await nodeRed.restart();
    const expected = (): number => cameras.reduce((n, c) => n + expectedRecordings(c).accepted.length, 0);
    const deadline = Date.now() + options.settle * 1000;
    for (;;) {
      // A process supervisor would restart Node-RED after a crash: so does the soak (the crash is reported).
      if (!alive(nodeRed)) await nodeRed.restart();
      const counts = await storeCounts(databaseFile, mediaDir);
      if ((counts.stored ?? 0) >= expected() || Date.now() > deadline) break;
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        console.log(`soak: ${elapsed()}: settling, store ${JSON.stringify(counts)}`);
      }
      await sleep(500);
    }
    await nodeRed.stop();
    if (options.keep) await writeFile(join(dir, 'node-red.log'), nodeRed.log);
    const check = await checkArchive({ databaseFile, mediaDir, cameras, log: nodeRed.log });
    const crashes = crashesIn(nodeRed.log);
    const closedErrors = databaseClosedIn(nodeRed.log);
    for (const problem of check.problems.slice(0, 20)) console.log(`soak: problem: ${problem}`);
    if (check.problems.length > 20) console.log(`soak: ... and ${check.problems.length - 20} more problems`);
    console.log(
      `soak: ${elapsed()}: ${made} recordings made, ${check.refused} refused by the client as hostile, ` +
        `${kills} ${signal}s, ${crashes} crashes of Node-RED itself, ${check.partFiles.length} temp files, ` +
        `${check.orphans.length} orphan files`,
    );
    if (crashes > 0) {
      const first = nodeRed.log.indexOf('[red] Uncaught Exception');
      console.log(
        `soak: Node-RED crashed ${crashes} times; the first:\n${nodeRed.log.slice(first, first + 1500)}`,
      );
    }
    if (closedErrors > 0) {
      const first = nodeRed.log.indexOf('database is closed');
      const from = nodeRed.log.lastIndexOf('\n', first) + 1;
      console.log(
        `soak: ${closedErrors} "database is closed" errors in the log; the first:\n` +
          nodeRed.log.slice(from, from + 600),
      );
    }
    console.log(
      `recordings=${check.recordings} lost=${check.lost} duplicated=${check.duplicated} corrupt=${check.corrupt}` +
        (options.stops ? ` stops=${kills} databaseClosed=${closedErrors}` : ''),
    );
    const clean = check.lost === 0 && check.duplicated === 0 && check.corrupt === 0 && crashes === 0;
    return clean && (!options.stops || closedErrors === 0) ? 0 : 1;
  } finally {
    await nodeRed?.stop('SIGKILL');
    await Promise.all(cameras.map((c) => c.stop()));
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    console.log('recordings=0 lost=0 duplicated=0 corrupt=0 (soak did not run to the end)');
    process.exit(2);
  },
);
