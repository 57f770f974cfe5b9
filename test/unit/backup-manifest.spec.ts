import { strict as assert } from 'node:assert';
import {
  buildManifest,
  manifestKey,
  objectKey,
  parseManifest,
  safeSegment,
  type BackupManifest,
} from '../../lib/backup/manifest';
import { backoffDelay, ThroughputMeter } from '../../lib/backup/backoff';

const SHA = 'a'.repeat(64);

function sample(): BackupManifest {
  return buildManifest({
    cameraSerial: 'PF-1',
    fileName: 'rec-9',
    eventName: 'door',
    triggeredAt: '2026-12-31T23:59:59+01:00',
    playbackTime: 10,
    objects: [
      { kind: 'video', key: 'p/PF-1/2026/12/31/rec-9.mp4', ext: '.mp4', bytes: 10, sha256: SHA },
      { kind: 'thumbnail', key: 'p/PF-1/2026/12/31/rec-9.jpg', ext: '.jpg', bytes: 2, sha256: SHA },
    ],
    backedUpAt: new Date('2027-01-01T00:00:00Z'),
  });
}

describe('backup keys and manifest', () => {
  it('files objects under prefix/serial/yyyy/mm/dd by the UTC trigger date', () => {
    assert.equal(
      objectKey('p', 'PF-1', '2026-12-31T23:59:59+01:00', 'rec-9', '.mp4'),
      'p/PF-1/2026/12/31/rec-9.mp4',
    );
    assert.equal(
      objectKey('p', 'PF-1', '2027-01-01T00:30:00+01:00', 'rec-9', '.mp4'),
      'p/PF-1/2026/12/31/rec-9.mp4',
    );
    assert.equal(manifestKey('', 'PF-1', '2026-01-02T03:04:05Z', 'rec-9'), 'PF-1/2026/01/02/rec-9.json');
  });

  it('escapes unsafe characters so that two names never share a key, and refuses . and ..', () => {
    assert.equal(safeSegment('a/b'), 'a%2Fb');
    assert.equal(safeSegment('a b'), 'a%20b');
    assert.equal(safeSegment('é'), '%C3%A9');
    assert.notEqual(safeSegment('a/b'), safeSegment('a_b'));
    assert.throws(() => safeSegment('..'), { key: 'errors.s3Key' });
    assert.throws(() => safeSegment(''), { key: 'errors.s3Key' });
    assert.throws(() => objectKey('p', 'PF', '2026-01-01T00:00:00Z', 'x', '.mp4/../x'), {
      key: 'errors.s3Key',
    });
    assert.throws(() => objectKey('p', 'PF', 'yesterday', 'x', '.mp4'), { key: 'errors.badInput' });
  });

  it('writes the trigger time in UTC and totals the bytes', () => {
    const m = sample();
    assert.equal(m.triggeredAt, '2026-12-31T22:59:59.000Z');
    assert.equal(m.bytes, 12);
    assert.equal(m.flagged, false);
    assert.equal(m.backedUpAt, '2027-01-01T00:00:00.000Z');
  });

  it('reads back a manifest it wrote, checked against its own key', () => {
    const m = sample();
    const parsed = parseManifest(JSON.parse(JSON.stringify(m)), 'p/PF-1/2026/12/31/rec-9.json');
    assert.deepEqual(parsed, m);
  });

  it('refuses manifests that are malformed or point outside their own folder', () => {
    const key = 'p/PF-1/2026/12/31/rec-9.json';
    const tamper = (change: (m: Record<string, unknown>) => void): unknown => {
      const m = JSON.parse(JSON.stringify(sample())) as Record<string, unknown>;
      change(m);
      return m;
    };
    assert.equal(parseManifest(null), undefined);
    assert.equal(parseManifest(tamper((m) => (m.format = 'other'))), undefined);
    assert.equal(parseManifest(tamper((m) => (m.fileName = '../x'))), undefined);
    assert.equal(parseManifest(tamper((m) => (m.triggeredAt = 'soon'))), undefined);
    assert.equal(parseManifest(tamper((m) => (m.objects = []))), undefined);
    assert.equal(
      parseManifest(tamper((m) => ((m.objects as { sha256: string }[])[0]!.sha256 = 'xyz'))),
      undefined,
    );
    assert.equal(
      parseManifest(
        tamper((m) => ((m.objects as { key: string }[])[0]!.key = 'elsewhere/secret.mp4')),
        key,
      ),
      undefined,
    );
    assert.equal(parseManifest(sample(), 'p/PF-1/2026/12/31/other.json'), undefined);
  });
});

describe('backup retry timing', () => {
  const options = { baseMs: 1000, maxMs: 60_000 };

  it('doubles the delay per failure, between half and all of it, up to the ceiling', () => {
    assert.equal(
      backoffDelay(1, options, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(1, options, () => 0.999999),
      1000,
    );
    assert.equal(
      backoffDelay(3, options, () => 0),
      2000,
    );
    assert.equal(
      backoffDelay(4, options, () => 0.5),
      6000,
    );
    assert.equal(
      backoffDelay(50, options, () => 0.999999),
      60_000,
    );
    assert.equal(
      backoffDelay(0, options, () => 0),
      500,
    );
  });

  it('spreads retries with jitter', () => {
    const delays = new Set([0.1, 0.4, 0.7].map((r) => backoffDelay(5, options, () => r)));
    assert.equal(delays.size, 3);
  });

  it('measures throughput over the last minute only', () => {
    const meter = new ThroughputMeter(60_000);
    meter.add(6_000_000, 1_000);
    meter.add(0, 2_000);
    assert.equal(meter.rate(30_000), 100_000);
    meter.add(600_000, 50_000);
    assert.equal(meter.rate(61_000), 10_000);
    assert.equal(meter.rate(200_000), 0);
  });
});
