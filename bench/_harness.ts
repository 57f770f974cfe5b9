/**
 * What the Node-RED benches share: a Node-RED process in a temporary user directory with this package installed
 * (and `sqlite3` offered to function nodes, for the hand-wired baseline), its CPU time and memory read from
 * /proc, the probe lines its flows log, the simulator run as its own process, the baseline flow, quantiles and
 * a summary of a CPU profile. Not a bench itself (the runner skips files starting with `_`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../test/helpers/node-red-process';

export const ROOT = resolve(__dirname, '..');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux everywhere). */
const CLK_TCK = 100;

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident memory of the process (MB), from /proc/<pid>/status. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The 1-minute load average, as /proc/loadavg gives it. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** CPU share of one core used by `pid` over a window: call `start()`, later `stop()`. */
export class CpuWindow {
  private cpu0 = 0;
  private t0 = 0;
  constructor(private readonly pid: number) {}
  start(): this {
    this.cpu0 = cpuSeconds(this.pid);
    this.t0 = performance.now();
    return this;
  }
  /** Share of one core (0..1 per core) and the CPU seconds used since start(). */
  stop(): { share: number; cpuSeconds: number; seconds: number } {
    const used = cpuSeconds(this.pid) - this.cpu0;
    const seconds = (performance.now() - this.t0) / 1000;
    return { share: used / seconds, cpuSeconds: used, seconds };
  }
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface NodeRedOptions {
  /** Flows to deploy at start. */
  flows: unknown[];
  /** Extra arguments for node (e.g. `--cpu-prof`), before red.js. */
  nodeArgs?: string[];
  /** Environment added to the process's. */
  env?: Record<string, string>;
  /** Use this settings file (e.g. the application's settings.js) instead of a generated one. */
  settingsFile?: string;
  /** The port (default: a free one); given to a shipped settings file as PORT. */
  port?: number;
}

/**
 * A Node-RED process with this package installed, in a temporary user directory. The log is kept, and the
 * lines `MARK-<KIND> <key> <ms>` that the bench flows' probe nodes log are collected as they arrive (the first
 * time of each key per kind).
 */
export class NodeRed {
  private output = '';
  private pending = '';
  private readonly markMaps = new Map<string, Map<string, number>>();

  private constructor(
    private readonly child: ChildProcess,
    readonly userDir: string,
    readonly port: number,
  ) {}

  static async start(options: NodeRedOptions): Promise<NodeRed> {
    const userDir = await mkdtemp(join(tmpdir(), 'pfcam-bench-nr-'));
    await mkdir(join(userDir, 'node_modules', '@pfcam'), { recursive: true });
    await symlink(ROOT, join(userDir, 'node_modules', '@pfcam', 'node-red-pfcam'), 'dir');
    await writeFile(join(userDir, 'flows.json'), JSON.stringify(options.flows));
    const port = options.port ?? (await freePort());
    let settingsFile = options.settingsFile;
    if (settingsFile === undefined) {
      settingsFile = join(userDir, 'settings.js');
      await writeFile(
        settingsFile,
        `module.exports = {
  uiPort: ${port},
  uiHost: '127.0.0.1',
  flowFile: 'flows.json',
  credentialSecret: 'bench',
  logging: { console: { level: 'info' } },
  diagnostics: { enabled: false },
  telemetry: { enabled: false },
  pfcam: { dataDir: ${JSON.stringify(join(userDir, 'pfcam'))} },
  functionGlobalContext: { sqlite3: require(${JSON.stringify(require.resolve('sqlite3'))}) },
};\n`,
      );
    }
    const child = spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        require.resolve('node-red/red.js'),
        '--settings',
        settingsFile,
        '--userDir',
        userDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: String(port), ...options.env } },
    );
    const nr = new NodeRed(child, userDir, port);
    child.stdout?.on('data', (c: Buffer) => nr.take(c.toString()));
    child.stderr?.on('data', (c: Buffer) => nr.take(c.toString()));
    try {
      await nr.waitFor(/Started flows/, 120_000);
    } catch (err) {
      await nr.stop();
      throw err;
    }
    return nr;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('Node-RED did not start');
    return this.child.pid;
  }

  get log(): string {
    return this.output;
  }

  /** First time (ms since the epoch) of each key logged as `MARK-<kind> <key> <ms>`. */
  marks(kind: string): Map<string, number> {
    let map = this.markMaps.get(kind);
    if (!map) this.markMaps.set(kind, (map = new Map<string, number>()));
    return map;
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

  /**
   * Stops Node-RED: SIGTERM first (Node-RED closes its flows and exits, which writes a CPU profile if one was
   * asked for), SIGKILL after `graceMs`. Removes the user directory.
   */
  async stop(graceMs = 0): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    }
    await rm(this.userDir, { recursive: true, force: true });
  }

  private take(text: string): void {
    // Keep the log, but not without end: a long run logs a line per recording.
    this.output = (this.output + text).slice(-4_000_000);
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      const m = /MARK-([A-Z]+) (\S+) (\d+)/.exec(line);
      if (!m) continue;
      const map = this.marks(m[1]!);
      if (!map.has(m[2]!)) map.set(m[2]!, Number(m[3]));
    }
  }
}

/** A simulated camera served by the simulator process. */
export interface RemoteCamera {
  url: string;
  serialNumber: string;
}

/**
 * The simulator as its own process (`dist/simulator/cli.js`), serving `count` cameras on free ports. Recordings
 * are made over its HTTP control (`POST /_sim/recordings`), so that the bench process, the simulator and
 * Node-RED are three processes.
 */
export class SimulatorProcess {
  private output = '';
  private constructor(
    private readonly child: ChildProcess,
    readonly cameras: RemoteCamera[],
  ) {}

  static async start(count: number, args: string[] = []): Promise<SimulatorProcess> {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'dist', 'simulator', 'cli.js'), '--cameras', String(count), '--base-port', '0', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const sim = new SimulatorProcess(child, []);
    child.stdout?.on('data', (c: Buffer) => (sim.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (sim.output += c.toString()));
    const deadline = Date.now() + 120_000;
    while (!/^ready/m.test(sim.output)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`the simulator did not start:\n${sim.output.slice(-2000)}`);
      }
      await sleep(50);
    }
    for (const m of sim.output.matchAll(/^camera \d+: (\S+)\s+serial (\S+)$/gm)) {
      sim.cameras.push({ url: m[1]!, serialNumber: m[2]! });
    }
    if (sim.cameras.length !== count) {
      await sim.stop();
      throw new Error(`the simulator printed ${sim.cameras.length} cameras, not ${count}`);
    }
    return sim;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the simulator did not start');
    return this.child.pid;
  }

  /** Makes a recording on a camera; resolves with its file name once the camera has it. */
  async record(camera: RemoteCamera, overrides: Record<string, unknown> = {}): Promise<string> {
    const res = await fetch(`${camera.url}/_sim/recordings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(overrides),
    });
    const body = (await res.json()) as { fileName?: unknown; error?: unknown };
    if (res.status !== 201 || typeof body.fileName !== 'string') {
      throw new Error(`recording on ${camera.url}: ${res.status} ${JSON.stringify(body)}`);
    }
    return body.fileName;
  }

  /** The simulator's state of a camera (`sseClients`, `recordings`, ...). */
  async state(camera: RemoteCamera): Promise<Record<string, unknown>> {
    const res = await fetch(`${camera.url}/_sim/state`);
    return (await res.json()) as Record<string, unknown>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
}

/**
 * The flow a user would otherwise wire: inject (every `pollSeconds`) -> function (one message per camera) ->
 * http request GET /api/events -> function (new file names, remembered in context) -> http request (the video
 * as a buffer) -> file (write) -> function (INSERT into SQLite through the `sqlite3` package given to function
 * nodes by `functionGlobalContext`, the classic way; node-red-node-sqlite wraps the same package). Probes log
 * `MARK-NEW <url>|<fileName>`, `MARK-STORED <url>|<fileName>` and `MARK-POLL <url>#<n>` per list answered.
 */
export function baselineFlow(
  cameras: readonly { url: string }[],
  dataDir: string,
  pollSeconds: number,
): unknown[] {
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

/**
 * Our flow: one pfcam-camera + pfcam-watch per camera, one store, one archive (no thumbnails, so that both
 * sides move the same bytes), probes logging `MARK-NEW <serial>|<fileName>` and `MARK-STORED ...`.
 */
export function ourFlow(
  cameras: readonly { url: string }[],
  dataDir: string,
  options: { useSse: boolean; reconcileInterval: number; probeInterval?: number; connections?: number },
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
      concurrency: 6,
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
      probeInterval: options.probeInterval ?? 10,
      timeout: 30,
      connections: options.connections ?? 2,
    });
    nodes.push({
      id: `watch-${i}`,
      type: 'pfcam-watch',
      z,
      camera: `cam-${i}`,
      store: 'store',
      useSse: options.useSse,
      reconcileInterval: options.reconcileInterval,
      wires: [['archive', 'probe-new']],
    });
  });
  return nodes;
}

/** The hottest functions of a .cpuprofile by self time: `share% name (file:line)`. */
export async function profileTop(dir: string, count = 15): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const out: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, i) => {
      const dt = profile.timeDeltas[i] ?? 0;
      const frame = byId.get(id)?.callFrame;
      if (!frame) return;
      const key = `${frame.functionName || '(anonymous)'} (${frame.url.replace(/^.*node_modules\//, '').replace(ROOT + '/', '')}:${frame.lineNumber + 1})`;
      self.set(key, (self.get(key) ?? 0) + dt);
      total += dt;
    });
    const idle = ['(idle) (:0)', '(program) (:0)'];
    const busy = total - idle.reduce((n, k) => n + (self.get(k) ?? 0), 0);
    out.push(
      `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; top frames by self time:`,
    );
    for (const [key, us] of [...self]
      .filter(([k]) => !idle.includes(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)) {
      out.push(`  ${((100 * us) / Math.max(1, busy)).toFixed(1)}% ${key}`);
    }
  }
  return out;
}
