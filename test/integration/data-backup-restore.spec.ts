/**
 * `pfcam backup` / `pfcam restore` / `pfcam rebuild-index` as an operator runs them (real CLI processes): a data
 * folder in use by the shipped application (real Node-RED, the shipped settings.js) is backed up online,
 * restored onto an empty folder, and the application comes up on it with every recording, user and flow setting;
 * and an index lost with its disk comes back from the S3 backup alone.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretBox } from '../../lib/auth/secret-box';
import { newTotpSecret } from '../../lib/auth/totp';
import { Users } from '../../lib/auth/users';
import { S3Backup } from '../../lib/backup/s3-backup';
import { Database } from '../../lib/store/database';
import { EventStore } from '../../lib/store/event-store';
import { NODE_RED_MAIN, installIntoUserDir } from '../helpers/node-red-install';
import { freePort } from '../helpers/node-red-process';
import { freshTotpCode } from '../helpers/totp-codes';
import { addStoredRecording, startFauxS3, type FauxS3 } from './backup-fixtures';

const root = resolve(__dirname, '..', '..');
const CLI = join(root, 'cli', 'pfcam.ts');
const ADMIN = { name: 'chief', password: 'admin password 0123', secret: newTotpSecret() };
const VIEWER = { name: 'watcher', password: 'viewer password 0123', secret: newTotpSecret() };
const S3_SECRET = 'S3-secret-access-key-restored';

const FLOWS = [
  { id: 'store-main', type: 'pfcam-store', name: 'Archive', databaseFile: '', mediaDir: '' },
  { id: 'ui-config-main', type: 'pfcam-ui-config', name: 'Site', store: 'store-main', timeZone: 'UTC' },
  {
    id: 's3-main',
    type: 'pfcam-s3',
    name: 'Bucket',
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    bucket: 'site-archive',
    prefix: 'site-7',
    forcePathStyle: true,
    sse: 'none',
  },
];

function pfcam(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      ['-r', 'tsx/cjs', CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolveRun({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The shipped application (Node-RED with the shipped settings.js) on `dataDir`, user directory inside it. */
class App {
  private output = '';
  private constructor(
    private readonly child: ChildProcess,
    readonly base: string,
  ) {}

  static async start(dataDir: string): Promise<App> {
    const userDir = join(dataDir, 'node-red');
    // the package is installed again after a restore (node_modules is never part of a backup)
    installIntoUserDir(userDir);
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [NODE_RED_MAIN, '--settings', join(root, 'settings.js'), '--userDir', userDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          PFCAM_DATA: dataDir,
          PORT: String(port),
          PFCAM_ADMIN_USER: ADMIN.name,
          PFCAM_ADMIN_PASSWORD: ADMIN.password,
          PFCAM_ADMIN_TOTP_SECRET: ADMIN.secret,
        },
      },
    );
    const app = new App(child, `http://127.0.0.1:${port}`);
    await app.waitForLog(/Started flows/);
    return app;
  }

  get log(): string {
    return this.output;
  }

  waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolveLog, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms:\n${this.output.slice(-2000)}`));
      }, timeoutMs);
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString();
        if (pattern.test(this.output)) {
          cleanup();
          resolveLog();
        }
      };
      const onExit = (): void => {
        cleanup();
        reject(new Error(`Node-RED exited:\n${this.output.slice(-2000)}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.child.stdout?.off('data', onData);
        this.child.stderr?.off('data', onData);
        this.child.off('exit', onExit);
      };
      this.child.stdout?.on('data', onData);
      this.child.stderr?.on('data', onData);
      this.child.once('exit', onExit);
      if (pattern.test(this.output)) {
        cleanup();
        resolveLog();
      }
    });
  }

  async login(who: typeof VIEWER): Promise<string> {
    const res = await fetch(`${this.base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: who.name,
        password: who.password,
        code: await freshTotpCode(who.secret),
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const cookie = /pfcam\.sid=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
    assert.ok(cookie);
    return cookie;
  }

  async editorToken(): Promise<string> {
    const res = await fetch(`${this.base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope: '*',
        username: ADMIN.name,
        password: ADMIN.password + (await freshTotpCode(ADMIN.secret)),
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  }
}

describe('pfcam backup, restore and rebuild-index (real CLI, shipped application)', function () {
  this.timeout(180_000);
  let dir: string;
  const apps: App[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-restore-'));
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up a running application and restores it onto an empty folder where it comes up with every recording, user, flow and credential', async () => {
    const data = join(dir, 'site');
    mkdirSync(join(data, 'node-red'), { recursive: true });
    await writeFile(join(data, 'node-red', 'flows.json'), JSON.stringify(FLOWS));
    const store = await EventStore.open({
      databaseFile: join(data, 'pfcam.sqlite'),
      mediaDir: join(data, 'media'),
    });
    const recordings = [];
    try {
      for (let i = 0; i < 3; i++)
        recordings.push(
          await addStoredRecording(store, {
            serial: i === 2 ? 'PF-0002' : 'PF-0001',
            fileName: `rec-${i}`,
            triggeredAt: `2026-05-0${i + 1}T08:00:00.000Z`,
            videoBytes: 10_000 + i,
            flagged: i === 1,
          }),
        );
      const users = await Users.open(store.db, SecretBox.forDataDir(data, {}));
      await users.create({
        name: VIEWER.name,
        password: VIEWER.password,
        role: 'viewer',
        totpSecret: VIEWER.secret,
      });
    } finally {
      await store.close();
    }
    const originalVideo = await readFile(join(data, 'media', recordings[0]!.videoPath!));

    const first = await App.start(data);
    apps.push(first);
    // a flow setting with a credential: written by Node-RED into flows_cred.json with the generated key
    const token = await first.editorToken();
    const deploy = await fetch(`${first.base}/flows`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'Node-RED-Deployment-Type': 'full',
      },
      body: JSON.stringify(
        FLOWS.map((n) =>
          n.id === 's3-main'
            ? { ...n, credentials: { accessKeyId: 'AKIA-SITE', secretAccessKey: S3_SECRET } }
            : n,
        ),
      ),
    });
    assert.equal(deploy.status, 204, await deploy.text());
    assert.ok(existsSync(join(data, 'node-red', 'flows_cred.json')));
    await first.login(VIEWER); // the application writes (a session) while the backup runs

    const archive = join(dir, 'site-backup.tar.gz');
    const backup = await pfcam({}, 'backup', archive, '--data', data);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /backup written to .*: \d+ files, \d+ bytes, 1 database snapshot/);
    await first.stop();

    const target = join(dir, 'new-disk');
    const restore = await pfcam({ PFCAM_DATA: target }, 'restore', archive);
    assert.equal(restore.code, 0, restore.stderr);
    const again = await pfcam({}, 'restore', archive, '--data', target);
    assert.equal(again.code, 1, 'a second restore onto the now non-empty folder is refused');
    assert.match(again.stderr, /not empty/);

    const app = await App.start(target);
    apps.push(app);
    assert.doesNotMatch(app.log, /credentials could not be decrypted|Error loading credentials/i);
    const cookie = await app.login(VIEWER);
    const page = await fetch(`${app.base}/pfcam/api/recordings?limit=50`, { headers: { cookie } });
    assert.equal(page.status, 200, await page.clone().text());
    const listed = (
      (await page.json()) as { recordings: { id: number; fileName: string; flagged: boolean }[] }
    ).recordings;
    assert.deepEqual(listed.map((r) => r.fileName).sort(), ['rec-0', 'rec-1', 'rec-2']);
    assert.equal(listed.find((r) => r.fileName === 'rec-1')?.flagged, true);
    const video = await fetch(`${app.base}/pfcam/api/recordings/${recordings[0]!.id}/video`, {
      headers: { cookie },
    });
    assert.equal(video.status, 200);
    assert.deepEqual(Buffer.from(await video.arrayBuffer()), originalVideo);

    const adminToken = await app.editorToken();
    const flows = (await (
      await fetch(`${app.base}/flows`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json()) as { id: string; bucket?: string }[];
    assert.equal(flows.find((n) => n.id === 's3-main')?.bucket, 'site-archive');
    const creds = (await (
      await fetch(`${app.base}/credentials/pfcam-s3/s3-main`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).json()) as Record<string, unknown>;
    assert.equal(creds['has_secretAccessKey'], true, 'the flow credentials decrypt with the restored key');
  });

  it('rebuilds every recording row from the S3 backup alone after the database is lost', async () => {
    const data = join(dir, 'site');
    const bucket = 'site-archive';
    const s3: FauxS3 = await startFauxS3(bucket);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const store = await EventStore.open({
        databaseFile: join(data, 'pfcam.sqlite'),
        mediaDir: join(data, 'media'),
      });
      const expected: string[] = [];
      try {
        const backup = new S3Backup({
          store,
          client,
          s3: { bucket, prefix: 'site-7', sse: 'none', kmsKeyId: undefined },
          options: { backupAllStored: false },
        });
        try {
          for (let i = 0; i < 4; i++) {
            const rec = await addStoredRecording(store, {
              serial: i % 2 === 0 ? 'PF-0001' : 'PF-0002',
              fileName: `rec-${i}`,
              triggeredAt: `2026-04-0${i + 1}T10:00:00.000Z`,
            });
            expected.push(`${rec.cameraSerial}/${rec.fileName}`);
            await backup.enqueue({ id: rec.id });
          }
          await backup.drainNow();
        } finally {
          await backup.stop();
        }
      } finally {
        await store.close();
      }
      for (const suffix of ['', '-wal', '-shm'])
        await rm(join(data, `pfcam.sqlite${suffix}`), { force: true });
      await rm(join(data, 'media'), { recursive: true, force: true });

      const env = {
        PFCAM_DATA: data,
        PFCAM_S3_ENDPOINT: s3.endpoint,
        PFCAM_S3_BUCKET: bucket,
        PFCAM_S3_PREFIX: 'site-7',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      };
      const run = await pfcam(env, 'rebuild-index', '--download');
      assert.equal(run.code, 0, run.stderr + run.stdout);
      assert.match(run.stdout, /4 manifests, 4 added, 0 already known, 4 downloaded/);

      const db = await Database.open(join(data, 'pfcam.sqlite'));
      try {
        const rows = await db.all<{
          serial: string;
          file: string;
          state: string;
          backup: string;
          video: string | null;
        }>(
          `SELECT c.serial_number AS serial, e.file_name AS file, e.state, e.backup_state AS backup,
             e.video_path AS video FROM events e JOIN cameras c ON c.id = e.camera_id`,
        );
        assert.deepEqual(rows.map((r) => `${r.serial}/${r.file}`).sort(), expected.sort());
        for (const r of rows) {
          assert.equal(r.state, 'stored');
          assert.equal(r.backup, 'done');
          assert.ok(r.video && existsSync(join(data, 'media', r.video)), `${r.file} media are back`);
        }
      } finally {
        await db.close();
      }
      const second = await pfcam(env, 'rebuild-index');
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /4 manifests, 0 added, 4 already known/, 'a second run adds nothing');
    } finally {
      client.destroy();
      await s3.stop();
    }
  });
});
