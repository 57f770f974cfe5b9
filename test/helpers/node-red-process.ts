/**
 * A real Node-RED process with this package installed (from dist/, built by `npm test`), in a temporary user
 * directory: for tests of the shipped flows and examples and of crashes (SIGKILL) and restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NODE_RED_MAIN, installIntoUserDir } from './node-red-install';

const root = resolve(__dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The application's settings.js. */
const SHIPPED_SETTINGS = join(root, 'settings.js');

export interface NodeRedProcessOptions {
  /** Flows to start with (default: none). */
  flows?: unknown[];
  /** Extra settings merged into the generated settings file (JSON-serialisable). */
  settings?: Record<string, unknown>;
  /** Reuse this user directory (to restart a killed instance on the same data). */
  userDir?: string;
  /** Environment variables added to the process's (what `${VAR}` properties of the flows read). */
  env?: Record<string, string>;
  /**
   * Runs the application's own settings.js (security, dashboard wiring) instead of a generated one; the port
   * is given as PORT, the data folder by PFCAM_DATA in `env`. `settings` is then ignored.
   */
  shippedSettings?: boolean;
}

export class NodeRedProcess {
  private child: ChildProcess | undefined;
  private output = '';
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly userDir: string,
    readonly port: number,
    private readonly env: Record<string, string> = {},
    private readonly settingsFile = join(userDir, 'settings.js'),
  ) {}

  /** Creates the user directory (unless given) and starts Node-RED; resolves once the flows have started. */
  static async start(options: NodeRedProcessOptions = {}): Promise<NodeRedProcess> {
    const userDir = options.userDir ?? mkdtempSync(join(tmpdir(), 'pfcam-nr-'));
    installIntoUserDir(userDir);
    if (options.flows) writeFileSync(join(userDir, 'flows.json'), JSON.stringify(options.flows));
    const port = await freePort();
    if (options.shippedSettings) {
      const shipped = new NodeRedProcess(
        userDir,
        port,
        { ...options.env, PORT: String(port) },
        SHIPPED_SETTINGS,
      );
      await shipped.spawn();
      return shipped;
    }
    const settings = {
      uiPort: port,
      uiHost: '127.0.0.1',
      flowFile: 'flows.json',
      credentialSecret: 'test-secret',
      logging: { console: { level: 'info' } },
      diagnostics: { enabled: false },
      telemetry: { enabled: false },
      pfcam: { dataDir: join(userDir, 'pfcam') },
      ...options.settings,
    };
    writeFileSync(join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
    const instance = new NodeRedProcess(userDir, port, options.env);
    await instance.spawn();
    return instance;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything Node-RED printed so far. */
  get log(): string {
    return this.output;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves when the log (from `from` on) matches `pattern`; rejects after `timeoutMs`. */
  waitForLog(pattern: RegExp, from = 0, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolveMatch, reject) => {
      const check = (): boolean => {
        const match = this.output.slice(from).match(pattern);
        if (match) {
          cleanup();
          resolveMatch(match);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `Node-RED did not log ${String(pattern)} within ${timeoutMs} ms:\n${this.output.slice(from).slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (): void => void check();
      if (!check()) this.listeners.add(listener);
    });
  }

  /** Replaces the running flows (a full deploy) and resolves once they have started again. */
  async deploy(flows: unknown[]): Promise<string> {
    const from = this.output.length;
    const res = await fetch(`${this.url}/flows`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'Node-RED-Deployment-Type': 'full',
        'Node-RED-API-Version': 'v1',
      },
      body: JSON.stringify(flows),
    });
    if (!res.ok) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
    await this.waitForLog(/Started flows|Waiting for missing types/, from);
    return this.output.slice(from);
  }

  /** The node types the runtime has registered. */
  async registeredTypes(): Promise<Set<string>> {
    const res = await fetch(`${this.url}/nodes`, { headers: { accept: 'application/json' } });
    const sets = (await res.json()) as { types: string[]; enabled: boolean; loaded?: boolean }[];
    return new Set(sets.filter((s) => s.enabled).flatMap((s) => s.types));
  }

  /** Stops Node-RED: gracefully with SIGTERM, or abruptly with SIGKILL (a crash). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  }

  /** Starts Node-RED again on the same user directory and port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.spawn();
  }

  /** Stops Node-RED and deletes the user directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.userDir, { recursive: true, force: true });
  }

  private async spawn(): Promise<void> {
    const from = this.output.length;
    const child = spawn(
      process.execPath,
      [NODE_RED_MAIN, '--settings', this.settingsFile, '--userDir', this.userDir],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } },
    );
    this.child = child;
    const onData = (chunk: Buffer): void => {
      this.output += chunk.toString();
      for (const listener of [...this.listeners]) listener();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    await this.waitForLog(/Server now running at/, from, 60_000);
    await this.waitForLog(/Started flows|Waiting for missing types|Error loading flows/, from, 60_000);
  }
}
