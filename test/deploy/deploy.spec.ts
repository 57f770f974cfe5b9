import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const deploy = resolve(__dirname, '..', '..', 'deploy');

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** The Dockerfile's instructions (continuation lines joined, comments dropped), keyword upper-cased. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match) out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: start });
  });
  return out;
}

/** The instructions of the last build stage (what the image runs). */
function finalStage(instructions: Instruction[]): Instruction[] {
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;

describe('deployment files', () => {
  describe('Dockerfile', () => {
    let instructions: Instruction[];
    let stage: Instruction[];

    before(async () => {
      instructions = parseDockerfile(await readFile(join(deploy, 'Dockerfile'), 'utf8'));
      stage = finalStage(instructions);
    });

    it('builds every stage on a pinned version of the official Node-RED image', () => {
      const froms = instructions.filter((i) => i.keyword === 'FROM');
      assert.ok(froms.length > 0);
      for (const from of froms) {
        const image = from.args.split(/\s+/)[0]!;
        const match = /^nodered\/node-red:(\d+(?:\.\d+)+)(?:@sha256:[0-9a-f]{64})?$/.exec(image);
        assert.ok(match, `line ${from.line}: "${image}" is not a pinned nodered/node-red version`);
        assert.ok(match[1]!.startsWith('4.1'), `line ${from.line}: Node-RED ${match[1]} instead of 4.1`);
      }
    });

    it('runs as a non-root user', () => {
      const users = stage.filter((i) => i.keyword === 'USER');
      assert.ok(users.length > 0, 'the final stage sets no USER');
      const last = users[users.length - 1]!.args.trim().split(':')[0]!;
      assert.notEqual(last, 'root');
      assert.notEqual(last, '0');
      // Nothing after the last USER switches back.
      const lastUserIndex = stage.lastIndexOf(users[users.length - 1]!);
      assert.ok(stage.slice(lastUserIndex + 1).every((i) => i.keyword !== 'USER'));
    });

    it('keeps the data folder as exactly one volume, /data, named by PFCAM_DATA', () => {
      const volumes = stage.filter((i) => i.keyword === 'VOLUME');
      assert.equal(volumes.length, 1);
      const paths = JSON.parse(volumes[0]!.args) as string[];
      assert.deepEqual(paths, ['/data']);
      const env = stage
        .filter((i) => i.keyword === 'ENV')
        .map((i) => i.args)
        .join(' ');
      assert.match(env, /(^|\s)PFCAM_DATA=\/data(\s|$)/);
    });

    it('checks health on the liveness endpoint', () => {
      const checks = stage.filter((i) => i.keyword === 'HEALTHCHECK');
      assert.equal(checks.length, 1);
      assert.match(checks[0]!.args, /^(--\S+\s+)*CMD\s/);
      assert.match(checks[0]!.args, /\/pfcam\/healthz/);
    });

    it('uses our settings file', () => {
      const cmd = stage.find((i) => i.keyword === 'CMD');
      assert.ok(cmd);
      const args = JSON.parse(cmd.args) as string[];
      const at = args.indexOf('--settings');
      assert.ok(at >= 0);
      assert.match(args[at + 1]!, /node_modules\/@pfcam\/node-red-pfcam\/settings\.js$/);
    });

    it('bakes no secret into the image', () => {
      for (const i of instructions) {
        if (i.keyword !== 'ENV' && i.keyword !== 'ARG' && i.keyword !== 'LABEL') continue;
        for (const pair of i.args.split(/\s+/)) {
          const [name] = pair.split('=');
          assert.ok(!SECRET_NAME.test(name!), `line ${i.line}: ${i.keyword} ${name} would bake a secret`);
        }
      }
      const copies = instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
      for (const c of copies) {
        assert.doesNotMatch(c.args, /credential-secret|flows_cred|\.env\b|auth-key/, `line ${c.line}`);
      }
    });

    it('keeps site data and keys out of the build context', async () => {
      const ignore = (await readFile(resolve(deploy, '..', '.dockerignore'), 'utf8')).split('\n');
      for (const entry of ['.pfcam-data', 'node_modules', '.git', 'dist', '*.env', '.env']) {
        assert.ok(ignore.includes(entry), `.dockerignore lacks ${entry}`);
      }
    });
  });

  describe('compose.yaml', () => {
    it('builds our Dockerfile, mounts one volume at /data and takes secrets only from the environment', async () => {
      const text = await readFile(join(deploy, 'compose.yaml'), 'utf8');
      assert.match(text, /dockerfile: deploy\/Dockerfile/);
      assert.match(text, /^\s+- pfcam-data:\/data$/m);
      assert.match(text, /PFCAM_DATA: \/data/);
      for (const line of text.split('\n')) {
        const m = /^\s*([A-Z_]+):\s*(.*)$/.exec(line);
        if (m && SECRET_NAME.test(m[1]!)) {
          assert.match(m[2]!, /^\$\{[A-Z_]+(:-)?\}$/, `${m[1]} must come from the environment`);
        }
      }
    });
  });

  describe('pfcam.service', () => {
    let unit: string;
    let dir: string;

    before(async () => {
      unit = await readFile(join(deploy, 'pfcam.service'), 'utf8');
      dir = await mkdtemp(join(tmpdir(), 'pfcam-unit-'));
    });

    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('passes systemd-analyze verify', async () => {
      // The unit runs /usr/bin/node, which exists on this machine; verify checks the executable of ExecStart.
      const file = join(dir, 'pfcam.service');
      await writeFile(file, unit);
      const { stdout, stderr } = await run('systemd-analyze', ['verify', file]);
      const complaints = (stdout + stderr)
        .split('\n')
        .filter((l) => l.trim() !== '' && l.includes('pfcam.service'));
      assert.deepEqual(complaints, []);
    });

    it('fails verify for a broken unit (the check can fail)', async () => {
      const file = join(dir, 'broken.service');
      await writeFile(file, unit.replace('ExecStart=/usr/bin/node', 'ExecStart=/nonexistent/node'));
      await assert.rejects(run('systemd-analyze', ['verify', file]));
    });

    it('runs as the dedicated user with the hardening options', () => {
      const settings = new Map<string, string[]>();
      for (const line of unit.split('\n')) {
        const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
        if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
      }
      const one = (key: string): string | undefined => settings.get(key)?.[0];
      assert.equal(one('User'), 'pfcam');
      assert.equal(one('Restart'), 'on-failure');
      assert.equal(one('NoNewPrivileges'), 'yes');
      assert.equal(one('ProtectSystem'), 'strict');
      assert.equal(one('ProtectHome'), 'yes');
      assert.equal(one('PrivateTmp'), 'yes');
      assert.equal(one('ReadWritePaths'), '/var/lib/pfcam');
      assert.ok(settings.get('Environment')?.includes('PFCAM_DATA=/var/lib/pfcam'));
      assert.match(one('ExecStart') ?? '', /--userDir \/var\/lib\/pfcam/);
      for (const value of settings.get('Environment') ?? []) {
        assert.ok(!SECRET_NAME.test(value.split('=')[0]!), `a secret in the unit: ${value.split('=')[0]}`);
      }
    });
  });
});
