import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseCliArgs } from '../../simulator/cli-args';
import { NO_FAULTS, serialFromSeed, startCameras, type SimulatedCamera } from '../../simulator/index';
import { call, getJson } from './http';

const root = join(__dirname, '..', '..');

/** Runs the simulator CLI under tsx; resolves with its printed cameras once it says "ready". */
function runCli(args: string[]): {
  child: ChildProcess;
  output: () => string;
  ready: Promise<{ url: string; serial: string }[]>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', join('simulator', 'cli.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const ready = new Promise<{ url: string; serial: string }[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI not ready: ${text}`)), 15_000);
    const check = (): void => {
      if (!text.includes('ready')) return;
      clearTimeout(timer);
      resolve(
        [...text.matchAll(/^camera \d+: (\S+)\s+serial (\S+)$/gm)].map((match) => ({
          url: match[1]!,
          serial: match[2]!,
        })),
      );
    };
    child.stdout.on('data', check);
    child.on('exit', () => reject(new Error(`CLI exited: ${text}`)));
  });
  return { child, output: () => text, ready };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error('the CLI did not exit')), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

describe('simulator: CLI and startCameras', () => {
  let cameras: SimulatedCamera[] = [];
  const children: ChildProcess[] = [];

  afterEach(async () => {
    await Promise.all(cameras.map((camera) => camera.stop()));
    cameras = [];
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('parses every flag into camera options, with a fault flag per FaultConfig key', () => {
    const options = parseCliArgs([
      '--cameras',
      '3',
      '--base-port',
      '9000',
      '--seed',
      '42',
      '--trigger-interval',
      '5000',
      '--restart-ms',
      '500',
      '--post-event-seconds',
      '1.5',
      '--recordings',
      '4',
      '--huge-list',
      '1000',
      '--video-bytes',
      '2048',
      '--storage-bytes',
      '1000000',
      '--sse-ping-ms',
      '100',
      '--no-sse',
      '--unsupported',
      'storage, focus',
      '--auth',
      'digest',
      '--username',
      'admin',
      '--password',
      'pw',
      '--tls',
      '--restart-every-ms',
      '60000',
      '--latency-ms',
      '200',
      '--bandwidth',
      '50000',
      '--error-rate',
      '0.1',
      '--reset-rate',
      '0.2',
      '--truncate-rate',
      '0.3',
      '--stall-rate',
      '0.05',
      '--media-json-error-rate',
      '0.4',
      '--malformed-json-rate',
      '0.5',
      '--sse-drop-after-ms',
      '1000',
      '--clock-skew-seconds=-30',
      '--hostile',
      '--event-storm',
      '10',
    ]);
    assert.equal(options.cameras, 3);
    assert.equal(options.restartEveryMs, 60000);
    const { tls, ...camera } = options.camera;
    assert.ok(tls && String(tls.cert).includes('BEGIN CERTIFICATE'));
    assert.deepEqual(camera, {
      basePort: 9000,
      seed: 42,
      triggerIntervalMs: 5000,
      restartMs: 500,
      postEventSeconds: 1.5,
      recordings: 4,
      hugeList: 1000,
      videoBytes: 2048,
      storageBytes: 1000000,
      ssePingMs: 100,
      sse: false,
      unsupported: ['storage', 'focus'],
      auth: { scheme: 'digest', username: 'admin', password: 'pw' },
      faults: {
        latencyMs: 200,
        bandwidthBytesPerSec: 50000,
        errorRate: 0.1,
        resetRate: 0.2,
        truncateRate: 0.3,
        stallRate: 0.05,
        mediaJsonErrorRate: 0.4,
        malformedJsonRate: 0.5,
        sseDropAfterMs: 1000,
        clockSkewSeconds: -30,
        hostileRecordings: true,
        eventStormPerSecond: 10,
      },
    });
    assert.deepEqual(Object.keys(camera.faults ?? {}).sort(), Object.keys(NO_FAULTS).sort());
    assert.deepEqual(parseCliArgs([]).camera, { basePort: 8081, faults: {} });
  });

  it('refuses bad flags and values with a message', () => {
    assert.throws(() => parseCliArgs(['--cameras', '0']), /--cameras/);
    assert.throws(() => parseCliArgs(['--error-rate', '2']), /between 0 and 1/);
    assert.throws(() => parseCliArgs(['--latency-ms', 'soon']), /--latency-ms/);
    assert.throws(() => parseCliArgs(['--auth', 'digest']), /--username/);
    assert.throws(
      () => parseCliArgs(['--auth', 'ntlm', '--username', 'a', '--password', 'b']),
      /basic or digest/,
    );
    assert.throws(() => parseCliArgs(['--no-such-flag']), /Unknown option/);
  });

  it('starts cameras with distinct seeds, serials and ports; the first has the serial of the base seed', async () => {
    cameras = await startCameras(3, { seed: 100 });
    assert.equal(cameras[0]!.serialNumber, serialFromSeed(100));
    assert.equal(new Set(cameras.map((camera) => camera.serialNumber)).size, 3);
    assert.equal(new Set(cameras.map((camera) => camera.port)).size, 3);
    for (const camera of cameras) {
      const info = await getJson<{ serialNumber: string }>(camera.url, '/api/system');
      assert.equal(info.serialNumber, camera.serialNumber);
    }
  });

  it('puts camera i on basePort + i', async () => {
    for (let attempt = 0; ; attempt++) {
      const base = await freePort();
      try {
        cameras = await startCameras(2, { basePort: base });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
        throw error;
      }
      assert.deepEqual(
        cameras.map((camera) => camera.port),
        [base, base + 1],
      );
      return;
    }
  });

  it('runs from the command line: prints each URL and serial, applies fault flags, stops cleanly on SIGTERM', async () => {
    const cli = runCli([
      '--cameras',
      '2',
      '--base-port',
      '0',
      '--seed',
      '5',
      '--latency-ms',
      '1',
      '--hostile',
    ]);
    children.push(cli.child);
    const printed = await cli.ready;
    assert.equal(printed.length, 2);
    assert.equal(printed[0]!.serial, serialFromSeed(5));
    for (const { url, serial } of printed) {
      assert.equal((await getJson<{ serialNumber: string }>(url, '/api/system')).serialNumber, serial);
      const state = await getJson<{ faults: { latencyMs: number; hostileRecordings: boolean } }>(
        url,
        '/_sim/state',
      );
      assert.deepEqual([state.faults.latencyMs, state.faults.hostileRecordings], [1, true]);
    }
    cli.child.kill('SIGTERM');
    assert.equal(await exited(cli.child), 0);
    assert.match(cli.output(), /stopped/);
    await assert.rejects(call(printed[0]!.url, '/api/system'), { code: 'ECONNREFUSED' });
  });

  it('stops cleanly on SIGINT, and exits with 2 on a bad flag', async () => {
    const cli = runCli(['--base-port', '0']);
    children.push(cli.child);
    const [camera] = await cli.ready;
    assert.ok(camera);
    cli.child.kill('SIGINT');
    assert.equal(await exited(cli.child), 0, cli.output());
    const bad = runCli(['--error-rate', 'x']);
    bad.ready.catch(() => undefined);
    children.push(bad.child);
    assert.equal(await exited(bad.child), 2);
    assert.match(bad.output(), /--error-rate/);
  });

  it('loads the simulator module without side effects (nothing listens, the process exits)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', "require('./simulator/index.ts')"], {
      cwd: root,
      stdio: 'ignore',
    });
    children.push(child);
    assert.equal(await exited(child), 0);
  });
});
