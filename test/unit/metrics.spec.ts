import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CameraRegistry, type RegisteredCamera } from '../../lib/cameras/camera-registry';
import type { CameraState } from '../../lib/camera/camera-health';
import { Metrics, mqttAlertDelivery } from '../../lib/metrics/metrics';
import { StoreSizeMeter } from '../../lib/metrics/store-size';
import { DeliveryError, Outbox, enqueue } from '../../lib/notify/outbox';
import { migrateNotify } from '../../lib/notify/schema';
import { Database } from '../../lib/store/database';
import { bearerMatches, metricsEndpoint } from '../../lib/ops/metrics-endpoint';

/** A registered camera as the registry lists it; the metrics read only its snapshot's state. */
function camera(id: string, state: CameraState, secret = 'hunter2-camera-password'): RegisteredCamera {
  return {
    id,
    displayName: `Gate ${id} ${secret}`,
    serialNumber: `SN-${id}`,
    snapshot: { state, since: new Date(0).toISOString() },
  } as unknown as RegisteredCamera;
}

/** `name{labels} value` lines of an exposition, without comments. */
function samples(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function value(text: string, series: string): number | undefined {
  const line = samples(text).find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics registry', () => {
  it('names every metric with the pfcam_ prefix, _total on counters and base units', async () => {
    const m = new Metrics({ cameras: new CameraRegistry() });
    const all = await m.registry.getMetricsAsJSON();
    const names = all.map((x) => x.name);
    for (const expected of [
      'pfcam_cameras',
      'pfcam_recordings_archived_total',
      'pfcam_downloaded_bytes_total',
      'pfcam_download_duration_seconds',
      'pfcam_backup_backlog',
      'pfcam_alert_deliveries_total',
      'pfcam_logins_total',
      'pfcam_live_viewers',
      'pfcam_live_dropped_frames_total',
      'pfcam_store_size_bytes',
      'pfcam_process_cpu_seconds_total',
      'pfcam_process_resident_memory_bytes',
    ]) {
      assert.ok(names.includes(expected), `missing ${expected}`);
    }
    for (const metric of all) {
      assert.ok(metric.name.startsWith('pfcam_'), metric.name);
      if (String(metric.type) === 'counter') assert.match(metric.name, /_total$/, metric.name);
      assert.doesNotMatch(metric.name, /_(ms|milliseconds|kb|mb|kilobytes|megabytes)(_|$)/, metric.name);
    }
  });

  it('counts cameras by state at scrape time, every state present', async () => {
    const registry = new CameraRegistry();
    const m = new Metrics({ cameras: registry, processMetrics: false });
    registry.add(camera('a', 'online'));
    registry.add(camera('b', 'online'));
    const removeC = registry.add(camera('c', 'offline'));
    let text = await m.scrape();
    assert.equal(value(text, 'pfcam_cameras{state="online"}'), 2);
    assert.equal(value(text, 'pfcam_cameras{state="offline"}'), 1);
    assert.equal(value(text, 'pfcam_cameras{state="unknown"}'), 0);
    assert.equal(value(text, 'pfcam_cameras{state="restarting"}'), 0);
    removeC();
    text = await m.scrape();
    assert.equal(value(text, 'pfcam_cameras{state="offline"}'), 0);
  });

  it('records an archived recording as a count, its bytes and its download time', async () => {
    const m = new Metrics({ cameras: new CameraRegistry(), processMetrics: false });
    m.recordingArchived(1_000_000, 3);
    m.recordingArchived(500);
    const text = await m.scrape();
    assert.equal(value(text, 'pfcam_recordings_archived_total'), 2);
    assert.equal(value(text, 'pfcam_downloaded_bytes_total'), 1_000_500);
    assert.equal(value(text, 'pfcam_download_duration_seconds_count'), 1);
    assert.equal(value(text, 'pfcam_download_duration_seconds_sum'), 3);
    assert.equal(value(text, 'pfcam_download_duration_seconds_bucket{le="5"}'), 1);
    assert.equal(value(text, 'pfcam_download_duration_seconds_bucket{le="2.5"}'), 0);
  });

  it('keeps labels to fixed sets and refuses values outside them', async () => {
    const m = new Metrics({ cameras: new CameraRegistry(), processMetrics: false });
    m.alertDelivered('email', 'failure');
    m.login('success');
    m.liveViewers(3);
    m.liveFramesDropped(7);
    m.backupBacklog(12);
    m.storeSize(4096);
    assert.throws(() => m.alertDelivered('sms' as 'email', 'success'), RangeError);
    assert.throws(() => m.login('admin' as 'success'), RangeError);
    assert.throws(() => m.storeSize(-1), RangeError);
    assert.throws(() => m.recordingArchived(Number.NaN), RangeError);
    const text = await m.scrape();
    assert.equal(value(text, 'pfcam_alert_deliveries_total{channel="email",result="failure"}'), 1);
    assert.equal(value(text, 'pfcam_alert_deliveries_total{channel="mqtt",result="success"}'), 0);
    assert.equal(value(text, 'pfcam_logins_total{result="success"}'), 1);
    assert.equal(value(text, 'pfcam_live_viewers'), 3);
    assert.equal(value(text, 'pfcam_live_dropped_frames_total'), 7);
    assert.equal(value(text, 'pfcam_backup_backlog'), 12);
    assert.equal(value(text, 'pfcam_store_size_bytes'), 4096);
    const allowed: Record<string, readonly string[]> = {
      state: ['unknown', 'online', 'offline', 'restarting'],
      channel: ['email', 'webhook', 'dashboard', 'mqtt'],
      result: ['success', 'failure', 'locked'],
      le: [],
    };
    for (const line of samples(text)) {
      for (const [, label, v] of line.matchAll(/(\w+)="([^"]*)"/g)) {
        assert.ok(label! in allowed, `unexpected label ${label} in ${line}`);
        if (label !== 'le') assert.ok(allowed[label!]!.includes(v!), `unexpected value ${v} in ${line}`);
      }
    }
  });

  it('exposes no camera name, serial number or credential', async () => {
    const registry = new CameraRegistry();
    const m = new Metrics({ cameras: registry });
    registry.add(camera('x', 'online', 's3cr3t-pass'));
    const text = await m.scrape();
    assert.doesNotMatch(text, /s3cr3t-pass|SN-x|Gate/);
  });
});

describe('metrics bearer token', () => {
  const token = 'a-long-enough-scrape-token';

  it('accepts exactly "Bearer <token>"', () => {
    assert.equal(bearerMatches(`Bearer ${token}`, token), true);
    assert.equal(bearerMatches(`bearer ${token}`, token), true);
    assert.equal(bearerMatches(undefined, token), false);
    assert.equal(bearerMatches('', token), false);
    assert.equal(bearerMatches(token, token), false);
    assert.equal(bearerMatches(`Bearer ${token}x`, token), false);
    assert.equal(bearerMatches(`Bearer ${token.slice(0, -1)}`, token), false);
    assert.equal(bearerMatches(`Basic ${token}`, token), false);
  });

  it('refuses a short token at start', () => {
    const m = new Metrics({ cameras: new CameraRegistry(), processMetrics: false });
    assert.throws(() => metricsEndpoint(m, 'short'), /at least 16/);
  });
});

describe('metrics sources', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-metrics-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records discovery latencies in their histogram', async () => {
    const m = new Metrics({ cameras: new CameraRegistry(), processMetrics: false });
    m.recordingDiscovered(12);
    m.recordingDiscovered(4000);
    assert.throws(() => m.recordingDiscovered(-1), RangeError);
    const text = await m.scrape();
    assert.equal(value(text, 'pfcam_discovery_latency_seconds_count'), 2);
    assert.equal(value(text, 'pfcam_discovery_latency_seconds_bucket{le="15"}'), 1);
    assert.equal(value(text, 'pfcam_discovery_latency_seconds_bucket{le="3600"}'), 1);
    assert.equal(value(text, 'pfcam_discovery_latency_seconds_bucket{le="14400"}'), 2);
  });

  it('sums the sizes of the open stores and drops a closed one', async () => {
    const m = new Metrics({ cameras: new CameraRegistry(), processMetrics: false });
    m.storeSize(1000, '/a.sqlite');
    m.storeSize(500, '/b.sqlite');
    m.storeSize(1200, '/a.sqlite');
    assert.equal(value(await m.scrape(), 'pfcam_store_size_bytes'), 1700);
    m.forgetStore('/a.sqlite');
    const text = await m.scrape();
    assert.equal(value(text, 'pfcam_store_size_bytes'), 500);
    assert.doesNotMatch(text, /sqlite/, 'the store names are no labels');
  });

  it('measures a store as its media bytes plus its database file and write-ahead log, and forgets it on stop', async () => {
    const m = new Metrics({ cameras: new CameraRegistry(), processMetrics: false });
    const databaseFile = join(dir, 'pfcam.sqlite');
    await writeFile(databaseFile, Buffer.alloc(4096));
    await writeFile(`${databaseFile}-wal`, Buffer.alloc(1024));
    let media = 10_000;
    const meter = new StoreSizeMeter(
      { storedBytes: () => Promise.resolve(media), databaseFile },
      { metrics: m },
    );
    await meter.start();
    assert.equal(value(await m.scrape(), 'pfcam_store_size_bytes'), 15_120);
    media = 20_000;
    await meter.refresh();
    assert.equal(value(await m.scrape(), 'pfcam_store_size_bytes'), 25_120);
    await meter.stop();
    assert.equal(value(await m.scrape(), 'pfcam_store_size_bytes'), 0);
  });

  it('takes only the alert topics of an mqtt out node as MQTT alert deliveries', () => {
    assert.equal(mqttAlertDelivery('mqtt out', 'pfcam/site-1/PFC4-1/event', undefined), 'success');
    assert.equal(mqttAlertDelivery('mqtt out', 'pfcam/site-1/PFC4-1/status', new Error('x')), 'failure');
    assert.equal(mqttAlertDelivery('mqtt out', 'plant/line-3/temperature', undefined), undefined);
    assert.equal(mqttAlertDelivery('mqtt out', 'pfcam/a/b/c/event', undefined), undefined);
    assert.equal(mqttAlertDelivery('mqtt in', 'pfcam/site-1/PFC4-1/event', undefined), undefined);
    assert.equal(mqttAlertDelivery('mqtt out', undefined, undefined), undefined);
  });

  it('counts each alert delivery attempt of the outbox by channel: a failure retried, then a success', async () => {
    const m = new Metrics({ cameras: new CameraRegistry(), processMetrics: false });
    const db = await Database.open(join(dir, 'notify.sqlite'));
    let outbox: Outbox | undefined;
    try {
      await migrateNotify(db);
      await enqueue(
        db,
        'owner-1',
        'n-1',
        [{ channel: 'webhook', recipient: 'hook', payload: {}, maxAttempts: 3 }],
        Date.now(),
      );
      let calls = 0;
      const sent = new Promise<void>((resolveSent) => {
        outbox = new Outbox(
          db,
          'owner-1',
          () => {
            calls++;
            return calls === 1
              ? Promise.reject(new DeliveryError('errors.notifyFailed', 'refused', true))
              : Promise.resolve();
          },
          { baseDelayMs: 1, maxDelayMs: 1, maxAgeMs: 60_000, concurrency: 1 },
          { onFinal: () => resolveSent() },
          undefined,
          m,
        );
      });
      await outbox!.start();
      await sent;
      const text = await m.scrape();
      assert.equal(value(text, 'pfcam_alert_deliveries_total{channel="webhook",result="failure"}'), 1);
      assert.equal(value(text, 'pfcam_alert_deliveries_total{channel="webhook",result="success"}'), 1);
      assert.equal(value(text, 'pfcam_alert_deliveries_total{channel="email",result="success"}'), 0);
    } finally {
      await outbox?.close();
      await db.close();
    }
  });
});
