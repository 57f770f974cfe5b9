/**
 * `npm start` (scripts/start.js, on the built package): the simulator's cameras and Node-RED with the shipped
 * flows come up, and SIGTERM stops all of it.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/node-red-process';

const root = join(__dirname, '..', '..');

function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  output: { text: string },
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.stdout?.off('data', check);
      reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms:\n${output.text.slice(-2000)}`));
    }, timeoutMs);
    const check = (): void => {
      if (!pattern.test(output.text)) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolve();
    };
    child.stdout?.on('data', check);
    check();
  });
}

describe('npm start', function () {
  this.timeout(90_000);
  let dataDir: string;
  let child: ChildProcess | undefined;

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'pfcam-start-'));
  });

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the simulator and Node-RED with the shipped flows, prints the addresses, and stops on SIGTERM', async () => {
    const port = await freePort();
    const output = { text: '' };
    child = spawn(process.execPath, [join(root, 'scripts', 'start.js')], {
      env: { ...process.env, PFCAM_DATA: dataDir, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
    await waitForOutput(child, /dashboard http:\/\/127\.0\.0\.1:\d+\/ui/, output, 60_000);

    assert.match(output.text, /simulated camera PFC4-[\d-]+ at http:\/\/127\.0\.0\.1:8081/);
    const system = (await (await fetch('http://127.0.0.1:8081/api/system')).json()) as {
      serialNumber: string;
    };
    assert.match(system.serialNumber, /^PFC4-/);
    const editor = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(editor.status, 200);
    const dashboard = await fetch(`http://127.0.0.1:${port}/ui/`);
    assert.equal(dashboard.status, 200);

    // The data stays in PFCAM_DATA, with the shipped flows and a credential key readable by the owner only.
    const flows = JSON.parse(readFileSync(join(dataDir, 'node-red', 'flows.json'), 'utf8')) as {
      type: string;
    }[];
    assert.ok(flows.some((n) => n.type === 'pfcam-camera'));
    assert.ok(existsSync(join(dataDir, 'credential-secret')));

    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    await assert.rejects(fetch('http://127.0.0.1:8081/api/system'), 'the simulator must be stopped');
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`), 'Node-RED must be stopped');
  });
});
