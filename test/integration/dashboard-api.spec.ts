/**
 * The dashboard's API routes over a real store (SQLite file + media folder) and a simulated camera, served by
 * the routes' own declarations (permission, camera scope) with fixed principals.
 */
import { strict as assert } from 'node:assert';
import { CameraRegistry } from '../../lib/cameras/camera-registry';
import { RebootCounter } from '../../lib/dashboard/cameras';
import { JobBoard, type JobView } from '../../lib/dashboard/jobs';
import type { RecordingsPage } from '../../lib/dashboard/recordings';
import { parseRetentionOptions } from '../../lib/retention/retention-options';
import { dashboardRoutes, type DashboardContext } from '../../dashboard/api/dashboard-routes';
import { startCamera, type SimulatedCamera } from '../../simulator';
import {
  PRINCIPALS,
  registeredCamera,
  scopedPrincipal,
  startTestApi,
  storedRecording,
  type TestApi,
  type TestCamera,
} from '../helpers/dashboard-fixtures';
import { openFixture, type StoreFixture } from '../unit/store-fixtures';

const { viewer, manager, admin } = PRINCIPALS;

describe('dashboard API routes', function () {
  this.timeout(30_000);
  let fx: StoreFixture;
  let sim: SimulatedCamera;
  let cam: TestCamera;
  let api: TestApi;
  let jobs: JobBoard;
  let reboots: RebootCounter;
  const pushes: { changed: string; camera?: string }[] = [];
  const OTHER = 'PFC4-OTHER-0001';

  before(async () => {
    fx = await openFixture();
    sim = await startCamera({ seed: 7, restartMs: 300, recordings: 0 });
    cam = await registeredCamera(sim);
    const registry = new CameraRegistry();
    registry.add(cam.camera);
    jobs = new JobBoard();
    reboots = new RebootCounter();
    const ctx: DashboardContext = {
      store: () => Promise.resolve(fx.store),
      cameras: registry,
      timeZone: 'Europe/Zurich',
      jobs,
      reboots,
      retentionPolicy: () => parseRetentionOptions({ maxAgeDays: 30 }),
      changed: (what) => pushes.push(what),
      restartTimeoutMs: 15_000,
    };
    api = await startTestApi(dashboardRoutes(ctx));
    for (let i = 0; i < 7; i++) {
      await storedRecording(fx.store, sim.serialNumber, `rec-${i}`, {
        triggeredAt: `2026-12-01T10:0${i}:00Z`,
        eventName: i % 2 === 0 ? `door ${i}` : null,
      });
    }
    await storedRecording(fx.store, OTHER, 'other-0', { triggeredAt: '2026-12-01T11:00:00Z' });
  });

  after(async () => {
    await api?.close();
    await jobs?.idle();
    reboots?.close();
    await cam?.close();
    await sim?.stop();
    await fx?.cleanup();
  });

  it('pages recordings newest first with a keyset cursor, in the site time zone', async () => {
    const first = await api.call(viewer, 'GET', '/recordings?limit=3');
    assert.equal(first.status, 200);
    const page = first.json as RecordingsPage;
    assert.deepEqual(
      page.recordings.map((r) => r.fileName),
      ['other-0', 'rec-6', 'rec-5'],
    );
    assert.equal(page.recordings[0]!.localTime, '2026-12-01 12:00:00');
    assert.ok(page.nextCursor);
    const second = (await api.call(viewer, 'GET', `/recordings?limit=3&cursor=${page.nextCursor}`))
      .json as RecordingsPage;
    assert.deepEqual(
      second.recordings.map((r) => r.fileName),
      ['rec-4', 'rec-3', 'rec-2'],
    );
    assert.ok(!('videoPath' in page.recordings[0]!), 'no file paths leave the server');
  });

  it('filters by camera, name and flagged, and refuses an unknown filter with 400', async () => {
    const byCamera = (await api.call(viewer, 'GET', `/recordings?camera=${OTHER}`)).json as RecordingsPage;
    assert.deepEqual(
      byCamera.recordings.map((r) => r.fileName),
      ['other-0'],
    );
    const byName = (await api.call(viewer, 'GET', '/recordings?name=door')).json as RecordingsPage;
    assert.deepEqual(
      byName.recordings.map((r) => r.fileName),
      ['rec-6', 'rec-4', 'rec-2', 'rec-0'],
    );
    const bad = await api.call(viewer, 'GET', '/recordings?colour=red');
    assert.equal(bad.status, 400);
  });

  it('keeps a camera-scoped user inside the scope: lists, single recordings, video', async () => {
    const scoped = scopedPrincipal([OTHER]);
    const list = (await api.call(scoped, 'GET', '/recordings')).json as RecordingsPage;
    assert.deepEqual(
      list.recordings.map((r) => r.camera),
      [OTHER],
    );
    const asked = (await api.call(scoped, 'GET', `/recordings?camera=${sim.serialNumber}`))
      .json as RecordingsPage;
    assert.equal(asked.recordings.length, 0);
    const own = await fx.store.getByFile(sim.serialNumber, 'rec-1');
    assert.equal((await api.call(scoped, 'GET', `/recordings/${own!.id}`)).status, 403);
    assert.equal((await api.call(scoped, 'GET', `/recordings/${own!.id}/video`)).status, 403);
    const cameras = (await api.call(scoped, 'GET', '/cameras')).json as { cameras: unknown[] };
    assert.equal(cameras.cameras.length, 0);
  });

  it('plays a stored video with Range (206 with the exact bytes, 416 past the end)', async () => {
    const e = (await fx.store.getByFile(sim.serialNumber, 'rec-2'))!;
    const whole = await api.call(viewer, 'GET', `/recordings/${e.id}/video`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/mp4');
    assert.equal(whole.bytes.length, e.videoSize);
    const part = await api.call(viewer, 'GET', `/recordings/${e.id}/video`, undefined, {
      range: 'bytes=10-19',
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-19/${e.videoSize}`);
    assert.deepEqual(part.bytes, whole.bytes.subarray(10, 20));
    const past = await api.call(viewer, 'GET', `/recordings/${e.id}/video`, undefined, {
      range: `bytes=${e.videoSize! + 5}-`,
    });
    assert.equal(past.status, 416);
  });

  it('falls back to the camera for a recording not stored here yet', async () => {
    const onCamera = sim.control.addRecording({ eventName: 'late' });
    await fx.store.recordDiscovered(sim.serialNumber, { ...onCamera });
    const e = (await fx.store.getByFile(sim.serialNumber, onCamera.fileName))!;
    const res = await api.call(viewer, 'GET', `/recordings/${e.id}/video`);
    assert.equal(res.status, 200);
    assert.equal(res.bytes.length, sim.control.media(onCamera.fileName, 'video').size);
  });

  it('lets only manager+ download, flag and tag; anyone may mark viewed', async () => {
    const e = (await fx.store.getByFile(sim.serialNumber, 'rec-3'))!;
    assert.equal((await api.call(viewer, 'GET', `/recordings/${e.id}/download`)).status, 403);
    const dl = await api.call(manager, 'GET', `/recordings/${e.id}/download`);
    assert.equal(dl.status, 200);
    assert.match(dl.headers.get('content-disposition') ?? '', /attachment; filename="[A-Za-z0-9._-]+"/);
    assert.equal((await api.call(viewer, 'PATCH', `/recordings/${e.id}`, { flagged: true })).status, 403);
    const flagged = await api.call(manager, 'PATCH', `/recordings/${e.id}`, {
      flagged: true,
      tags: ['gate'],
    });
    assert.equal(flagged.status, 200);
    assert.deepEqual((await fx.store.get(e.id))!.tags, ['gate']);
    assert.equal((await fx.store.get(e.id))!.flagged, true);
    assert.equal((await api.call(viewer, 'POST', `/recordings/${e.id}/viewed`, {})).status, 200);
    assert.equal((await fx.store.get(e.id))!.viewed, true);
    assert.ok(pushes.some((p) => p.changed === 'recordings' && p.camera === sim.serialNumber));
    assert.ok(pushes.every((p) => Object.keys(p).every((k) => k === 'changed' || k === 'camera')));
  });

  it('exports the current filter as CSV and JSON (manager+), streamed', async () => {
    assert.equal((await api.call(viewer, 'GET', '/exports/recordings?format=csv')).status, 403);
    const csv = await api.call(manager, 'GET', `/exports/recordings?format=csv&camera=${OTHER}`);
    assert.equal(csv.status, 200);
    const lines = csv.text.trim().split(/\r?\n/);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /other-0/);
    const json = await api.call(manager, 'GET', '/exports/recordings?format=json&name=door');
    assert.equal((json.json as unknown[]).length, 4);
    const zip = await api.call(manager, 'GET', `/exports/recordings?format=zip&camera=${OTHER}`);
    assert.equal(zip.status, 200);
    assert.equal(zip.bytes.subarray(0, 2).toString('latin1'), 'PK');
  });

  it('deletes only as admin, the camera copy too when asked', async () => {
    const onCamera = sim.control.addRecording({ eventName: 'to delete' });
    const e = await storedRecording(fx.store, sim.serialNumber, onCamera.fileName);
    assert.equal((await api.call(manager, 'DELETE', `/recordings/${e.id}?camera=true`)).status, 403);
    assert.ok(sim.control.recordings().some((r) => r.fileName === onCamera.fileName));
    const res = await api.call(admin, 'DELETE', `/recordings/${e.id}?camera=true`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { id: e.id, deleted: true, onCamera: 'deleted' });
    assert.equal(await fx.store.get(e.id), undefined);
    assert.ok(!sim.control.recordings().some((r) => r.fileName === onCamera.fileName));
    const audit = await fx.store.listAudit({ limit: 5 });
    assert.ok(audit.some((a) => a.actor === 'ada' && a.action === 'delete'));
  });

  it("shows a camera's health and details, and triggers only for manager+", async () => {
    const list = (await api.call(viewer, 'GET', '/cameras')).json as {
      cameras: { serial: string; state: string }[];
    };
    assert.deepEqual(
      list.cameras.map((c) => [c.serial, c.state]),
      [[sim.serialNumber, 'online']],
    );
    const details = (await api.call(viewer, 'GET', `/cameras/${sim.serialNumber}`)).json as {
      storage: { ok: boolean };
      clock: { ok: boolean };
    };
    assert.equal(details.storage.ok, true);
    assert.equal(details.clock.ok, true);
    const body = { eventName: 'from dashboard', postEventSeconds: 1 };
    assert.equal((await api.call(viewer, 'POST', `/cameras/${sim.serialNumber}/trigger`, body)).status, 403);
    assert.equal(
      (await api.call(manager, 'POST', `/cameras/${sim.serialNumber}/trigger`, { eventName: '' })).status,
      400,
    );
    const recorded = new Promise<string | null>((resolve) => {
      const on = (e: { eventName: string | null }): void => {
        sim.control.off('recording', on);
        resolve(e.eventName);
      };
      sim.control.on('recording', on);
    });
    assert.equal((await api.call(manager, 'POST', `/cameras/${sim.serialNumber}/trigger`, body)).status, 202);
    assert.equal(await recorded, 'from dashboard');
  });

  it('checks a settings change field by field, shows the diff, then writes it through a restart, verified', async () => {
    const path = `/cameras/${sim.serialNumber}/settings`;
    assert.equal((await api.call(viewer, 'GET', path)).status, 403);
    const form = (await api.call(manager, 'GET', path)).json as {
      groups: { group: string; fields: { key: string }[] }[];
    };
    const keys = form.groups.flatMap((g) => g.fields.map((f) => f.key));
    assert.ok(keys.includes('recording_quality_level'));
    assert.ok(!keys.some((k) => /password|hash/.test(k)), 'no secret field in the form');
    const bad = await api.call(manager, 'POST', `${path}/preview`, {
      changes: { recording_quality_level: 500, network_ftp_password: 'x' },
    });
    assert.equal(bad.status, 400);
    const errors = (bad.json as { errors: { key: string }[] }).errors.map((e) => e.key).sort();
    assert.deepEqual(errors, ['network_ftp_password', 'recording_quality_level']);
    const current = sim.control.settings().recording_quality_level;
    const wanted = current === 70 ? 71 : 70;
    const preview = await api.call(manager, 'POST', `${path}/preview`, {
      changes: { recording_quality_level: wanted },
    });
    assert.deepEqual((preview.json as { diff: unknown }).diff, [
      { key: 'recording_quality_level', from: current, to: wanted },
    ]);
    const started = await api.call(manager, 'PUT', path, { changes: { recording_quality_level: wanted } });
    assert.equal(started.status, 202);
    const job = started.json as JobView;
    await jobs.settled(job.id);
    const done = (await api.call(manager, 'GET', `/jobs/${job.id}`)).json as JobView;
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.deepEqual((done.result as { changed: string[]; verified: boolean }).changed, [
      'recording_quality_level',
    ]);
    assert.equal((done.result as { verified: boolean }).verified, true);
    assert.equal(sim.control.settings().recording_quality_level, wanted);
    assert.equal(
      (await api.call(viewer, 'GET', `/jobs/${job.id}`)).status,
      404,
      "another user's job is not shown",
    );
  });

  it('reboots only as admin and follows the camera back', async () => {
    const path = `/cameras/${sim.serialNumber}/reboot`;
    assert.equal((await api.call(manager, 'POST', path, {})).status, 403);
    const started = await api.call(admin, 'POST', path, {});
    assert.equal(started.status, 202);
    const job = started.json as JobView;
    await jobs.settled(job.id);
    const done = (await api.call(admin, 'GET', `/jobs/${job.id}`)).json as JobView;
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(cam.camera.snapshot.state, 'online');
  });

  it('gives the overview within the scope, and the system screen to admins only, with a retention dry run', async () => {
    const all = (await api.call(viewer, 'GET', '/dashboard/overview')).json as {
      unviewed: number;
      latest: unknown[];
    };
    const scoped = (await api.call(scopedPrincipal([OTHER]), 'GET', '/dashboard/overview')).json as {
      unviewed: number;
    };
    assert.ok(all.unviewed > scoped.unviewed);
    assert.equal(scoped.unviewed, 1);
    assert.equal((await api.call(manager, 'GET', '/system')).status, 403);
    const system = (await api.call(admin, 'GET', '/system')).json as { recordings: number; disk: unknown };
    assert.ok(system.recordings >= 8);
    const dry = await api.call(admin, 'POST', '/system/retention/dry-run', {});
    assert.equal(dry.status, 200);
    const before = (await fx.store.stats()).events;
    assert.ok((dry.json as { removed: number }).removed >= 0);
    assert.equal((await fx.store.stats()).events, before, 'a dry run deletes nothing');
  });

  it("saves each user's own alert preferences and lists alerts", async () => {
    const saved = await api.call(viewer, 'PUT', '/alerts/preferences', {
      channels: ['dashboard'],
      quietHours: { start: '22:00', end: '06:00' },
    });
    assert.equal(saved.status, 200, saved.text);
    const mine = (await api.call(viewer, 'GET', '/alerts/preferences')).json as { quietHours: unknown };
    assert.deepEqual(mine.quietHours, { start: '22:00', end: '06:00' });
    const others = (await api.call(manager, 'GET', '/alerts/preferences')).json as { quietHours: unknown };
    assert.equal(others.quietHours, null);
    const bad = await api.call(viewer, 'PUT', '/alerts/preferences', {
      quietHours: { start: '25:00', end: '1' },
    });
    assert.equal(bad.status, 400);
    assert.equal((await api.call(viewer, 'GET', '/alerts')).status, 200);
  });
});
