import { strict as assert } from 'node:assert';
import { CameraRegistry, type RegisteredCamera } from '../../lib/cameras/camera-registry';
import type { CameraState } from '../../lib/camera/camera-health';
import { Metrics } from '../../lib/metrics/metrics';
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
