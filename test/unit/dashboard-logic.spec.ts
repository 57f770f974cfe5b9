/** Pure parts of the dashboard's data layer: byte ranges, filters and the camera scope, settings groups, jobs. */
import { strict as assert } from 'node:assert';
import { parseRange } from '../../lib/dashboard/byte-range';
import { groupOf, previewSettings, settingsForm } from '../../lib/dashboard/camera-settings';
import { JobBoard, MAX_JOBS } from '../../lib/dashboard/jobs';
import { localTimeText, recordingsQuery, scoped } from '../../lib/dashboard/recordings';
import { localParts } from '../../lib/time/zoned-time';
import { DashboardError } from '../../lib/dashboard/dashboard-errors';
import type { Principal } from '../../lib/auth/permissions';
import { viewerOf, type Viewer } from '../../lib/store/viewed-marks';
import { PRINCIPALS, scopedPrincipal } from '../helpers/dashboard-fixtures';

/** What each query of a user carries: the user, whose own "viewed" marks it reads. */
const own = (principal: Principal): { viewer: Viewer } => ({ viewer: viewerOf(principal) });

describe('dashboard logic', () => {
  it('reads Range headers: first-last, open end, suffix, past the end, malformed', () => {
    assert.deepEqual(parseRange(undefined, 100), { kind: 'whole' });
    assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=90-500', 100), { kind: 'partial', start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=5-2', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('items=1-2', 100), { kind: 'whole' });
  });

  it("writes a recording's local time like the time zone's own rules, across every transition of a year", () => {
    const pad = (n: number): string => String(n).padStart(2, '0');
    const byIntl = (iso: string, zone: string): string => {
      const p = localParts(Date.parse(iso), zone);
      return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
    };
    // half-hour DST (Lord Howe), a 45-minute offset, both hemispheres, a zone without DST
    const zones = ['Europe/Zurich', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC'];
    const start = Date.parse('2026-01-01T00:00:00.250Z');
    for (const zone of zones) {
      // every 40 min 17 s over a year: each transition is crossed, with instants on both sides of it
      for (let t = start; t < start + 366 * 86_400_000; t += 2_417_000) {
        const iso = new Date(t).toISOString();
        assert.equal(localTimeText(iso, zone), byIntl(iso, zone), `${iso} in ${zone}`);
      }
    }
    // the instants around the spring and autumn changes of Zurich, to the second
    for (const iso of [
      '2026-03-29T00:59:59Z',
      '2026-03-29T01:00:00Z',
      '2026-10-25T00:59:59Z',
      '2026-10-25T01:00:00Z',
    ])
      assert.equal(localTimeText(iso, 'Europe/Zurich'), byIntl(iso, 'Europe/Zurich'), iso);
    assert.equal(localTimeText('2026-03-29T01:00:00Z', 'Europe/Zurich'), '2026-03-29 03:00:00');
  });

  it('narrows every query to the camera scope, and to nothing when the scope and the filter do not meet', () => {
    assert.deepEqual(scoped({}, PRINCIPALS.viewer), own(PRINCIPALS.viewer));
    const a = scopedPrincipal(['A']);
    assert.deepEqual(scoped({}, a), { ...own(a), cameras: ['A'] });
    const b = scopedPrincipal(['B']);
    assert.deepEqual(scoped({ cameras: ['A', 'B'] }, b), { ...own(b), cameras: ['B'] });
    assert.equal(scoped({ cameras: ['A'] }, scopedPrincipal(['B'])), undefined);
    assert.equal(recordingsQuery({ camera: 'A' }, scopedPrincipal(['B'])), undefined);
  });

  it('refuses bad filters with 400 and a message naming the filter', () => {
    const refused = (raw: Record<string, string>, re: RegExp): void =>
      assert.throws(
        () => recordingsQuery(raw, PRINCIPALS.viewer),
        (err: unknown) => err instanceof DashboardError && err.status === 400 && re.test(err.message),
      );
    refused({ limit: '0' }, /limit/);
    refused({ limit: '201' }, /limit/);
    refused({ from: 'yesterday' }, /from/);
    refused({ flagged: 'maybe' }, /flagged/);
    refused({ sort: 'size' }, /unknown filter "sort"/);
    assert.deepEqual(recordingsQuery({ tag: 'gate', flagged: 'true' }, PRINCIPALS.viewer), {
      ...own(PRINCIPALS.viewer),
      tags: ['gate'],
      flagged: true,
      limit: 50,
    });
  });

  it('groups the settings table and never puts a secret in the form', () => {
    assert.equal(groupOf('name'), 'identity');
    assert.equal(groupOf('network_ftp_host'), 'network');
    assert.equal(groupOf('rtsp'), 'rtsp');
    assert.equal(groupOf('live_quality_level'), 'liveView');
    assert.equal(groupOf('heater_level'), 'misc');
    const form = settingsForm({ name: 'Gate', access_password_hash_admin: 'h', network_ftp_password: 'p' });
    const keys = form.groups.flatMap((g) => g.fields.map((f) => f.key));
    assert.ok(keys.includes('name'));
    assert.ok(!keys.some((k) => /password|hash/.test(k)));
    assert.deepEqual(
      form.groups.map((g) => g.group),
      ['identity', 'network', 'recording', 'exposure', 'focus', 'overlay', 'liveView', 'rtsp', 'misc'],
    );
  });

  it('previews a settings change: every bad field with its message, else only the keys that differ', () => {
    const bad = previewSettings({ name: 'Gate' }, { name: '', heater_level: 9 });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.deepEqual(bad.errors.map((e) => e.key).sort(), ['heater_level', 'name']);
    const ok = previewSettings({ name: 'Gate', heater_level: 1 }, { name: 'Gate', heater_level: 2 });
    assert.deepEqual(ok, { ok: true, diff: [{ key: 'heater_level', from: 1, to: 2 }], restart: true });
    assert.deepEqual(previewSettings({ name: 'Gate' }, { name: 'Gate' }), {
      ok: true,
      diff: [],
      restart: false,
    });
  });

  it('keeps jobs to their starter (and admins), records failures, and stays bounded', async () => {
    const board = new JobBoard();
    const job = board.start(PRINCIPALS.manager, 'settings', 'A', () =>
      Promise.reject(new Error('camera said no')),
    );
    await board.settled(job.id);
    assert.equal(board.get(PRINCIPALS.manager, job.id).state, 'failed');
    assert.equal(board.get(PRINCIPALS.admin, job.id).error?.message, 'camera said no');
    assert.throws(
      () => board.get(PRINCIPALS.viewer, job.id),
      (e: unknown) => e instanceof DashboardError && e.status === 404,
    );
    for (let i = 0; i < MAX_JOBS + 20; i++)
      board.start(PRINCIPALS.admin, 'x', null, () => Promise.resolve(i));
    await board.idle();
    board.start(PRINCIPALS.admin, 'x', null, () => Promise.resolve());
    assert.ok((board as unknown as { jobs: Map<string, unknown> }).jobs.size <= MAX_JOBS + 1);
  });
});
