import { strict as assert } from 'node:assert';
import {
  cameraClockMs,
  checkNtpServer,
  driftReport,
  fixClock,
  measureClockDrift,
} from '../../lib/camera/clock-drift';
import { BadResponseError, UnsupportedError } from '../../lib/camera/errors';
import type { WritableCamera } from '../../lib/camera/settings-writer';
import type { DateTimeInfo, PublicCameraSettings, SystemInfo } from '../../lib/camera/types';
import { WriteLock } from '../../lib/camera/write-lock';
import { PfcamError } from '../../lib/errors';

const T0 = Date.parse('2026-03-10T12:00:00.000Z');

function reading(
  systemTime: string,
  timezone = 'UTC',
): {
  systemTime: string;
  timezone: string;
  ntpServer: string | null;
  ntpSynced: boolean | null;
} {
  return { systemTime, timezone, ntpServer: 'pool.ntp.org', ntpSynced: true };
}

describe('clock drift', () => {
  it('is camera minus local at the middle of the request, positive when the camera is ahead', () => {
    const report = driftReport(reading('2026-03-10T12:02:00.000Z'), T0, T0 + 1000, 'datetime', 5);
    assert.equal(report.driftSeconds, 119.5);
    assert.equal(report.ok, false);
    assert.equal(report.localTime, '2026-03-10T12:00:00.500Z');
    assert.equal(report.roundTripMs, 1000);
  });

  it('reads an offset as given, and a time without one in the camera zone', () => {
    const withOffset = driftReport(reading('2026-03-10T13:00:00.250+01:00'), T0, T0, 'datetime', 5);
    assert.equal(withOffset.driftSeconds, 0.3);
    // Europe/Zurich is UTC+1 in March before the DST change: 13:00 local = 12:00 UTC.
    const local = driftReport(reading('2026-03-10T13:00:03.000', 'Europe/Zurich'), T0, T0, 'datetime', 5);
    assert.equal(local.driftSeconds, 3);
    assert.equal(local.ok, true);
    assert.equal(local.cameraTime, '2026-03-10T12:00:03.000Z');
  });

  it('takes a time to the whole second as the middle of that second', () => {
    assert.equal(cameraClockMs('2026-03-10T12:00:00Z', 'UTC'), T0 + 500);
    assert.equal(cameraClockMs('2026-03-10T12:00:00.000Z', 'UTC'), T0);
  });

  it('counts a drift behind as negative and compares its size with the threshold', () => {
    const behind = driftReport(reading('2026-03-10T11:59:50.000Z'), T0, T0, 'datetime', 10);
    assert.equal(behind.driftSeconds, -10);
    assert.equal(behind.ok, true);
    assert.equal(driftReport(reading('2026-03-10T11:59:49.000Z'), T0, T0, 'datetime', 10).ok, false);
  });

  it('refuses a garbled camera time with BadResponseError', () => {
    for (const [time, zone] of [
      ['yesterday', 'UTC'],
      ['2026-13-45T99:00:00', 'UTC'],
      ['2026-03-10T12:00:00', 'Mars/Base'],
    ] as const) {
      assert.throws(() => cameraClockMs(time, zone), BadResponseError, time);
    }
  });

  it('measures from the datetime resource, or from the system info on a camera without it', async () => {
    let now = T0;
    const client = {
      getDateTime: (): Promise<DateTimeInfo> => {
        now += 200;
        return Promise.resolve({
          systemTime: '2026-03-10T12:00:10.100Z',
          timezone: 'UTC',
          ntpServer: 'ntp.plant',
          ntpSynced: false,
        });
      },
      getSystemInfo: (): Promise<SystemInfo> => Promise.reject(new Error('not used')),
    };
    const viaDatetime = await measureClockDrift(client, { now: () => now, thresholdSeconds: 5 });
    assert.equal(viaDatetime.source, 'datetime');
    assert.equal(viaDatetime.driftSeconds, 10);
    assert.equal(viaDatetime.ntpServer, 'ntp.plant');

    const fallback = {
      getDateTime: (): Promise<DateTimeInfo> => Promise.reject(new UnsupportedError('datetime')),
      getSystemInfo: (): Promise<SystemInfo> =>
        Promise.resolve({ systemTime: '2026-03-10T12:00:00.000Z', timezone: 'UTC' } as SystemInfo),
    };
    const viaSystem = await measureClockDrift(fallback, { now: () => T0 });
    assert.equal(viaSystem.source, 'system');
    assert.equal(viaSystem.driftSeconds, 0);
    assert.equal(viaSystem.ntpServer, null);
    assert.equal(viaSystem.ntpSynced, null);
    assert.equal(viaSystem.thresholdSeconds, 5);
  });

  it('lets other errors of the datetime resource through', async () => {
    const client = {
      getDateTime: (): Promise<DateTimeInfo> => Promise.reject(new BadResponseError('broken JSON')),
      getSystemInfo: (): Promise<SystemInfo> => Promise.reject(new Error('not used')),
    };
    await assert.rejects(measureClockDrift(client), BadResponseError);
  });

  it('checks the NTP server name', () => {
    assert.equal(checkNtpServer(' pool.ntp.org '), 'pool.ntp.org');
    assert.equal(checkNtpServer('10.0.0.1'), '10.0.0.1');
    for (const bad of ['', '  ', 'ntp server', 'http://x', 42, undefined]) {
      assert.throws(
        () => checkNtpServer(bad, 'msg.payload.ntpServer'),
        (err: unknown) =>
          err instanceof PfcamError &&
          err.key === 'errors.ntpServer' &&
          /msg\.payload\.ntpServer/.test(err.message),
      );
    }
  });

  it('fixClock writes network_ntp through the settings writer, then measures again', async () => {
    const log: string[] = [];
    const settings: Record<string, unknown> = { name: 'Gate', network_ntp: '' };
    const lock = new WriteLock();
    const camera: WritableCamera & {
      client: WritableCamera['client'] & {
        getDateTime(): Promise<DateTimeInfo>;
        getSystemInfo(): Promise<SystemInfo>;
      };
    } = {
      client: {
        getSettings: () => Promise.resolve({ ...settings } as unknown as PublicCameraSettings),
        putSettings: (c) => {
          log.push(`put ${JSON.stringify(c)}`);
          Object.assign(settings, c);
          return Promise.resolve();
        },
        resetSettings: () => Promise.reject(new Error('no')),
        reboot: () => Promise.reject(new Error('no')),
        getExposure: () => Promise.reject(new Error('no')),
        putExposure: () => Promise.reject(new Error('no')),
        getFocus: () => Promise.reject(new Error('no')),
        putFocus: () => Promise.reject(new Error('no')),
        getOverlay: () => Promise.reject(new Error('no')),
        putOverlay: () => Promise.reject(new Error('no')),
        getDateTime: () => {
          log.push('getDateTime');
          return Promise.resolve({
            systemTime: new Date(Date.now() + 1000).toISOString(),
            timezone: 'UTC',
            ntpServer: String(settings.network_ntp),
            ntpSynced: true,
          });
        },
        getSystemInfo: () => Promise.reject(new Error('no')),
      },
      health: {
        state: 'online',
        snapshot: { state: 'online', since: '', uptime: 100 },
        expectRestart: () => log.push('expectRestart'),
        waitFor: () => Promise.resolve({ state: 'online', since: '', uptime: 1 }),
        probeNow: () => Promise.resolve({ state: 'online', since: '' }),
      },
      exclusive: (work) => lock.run(work),
    };
    const result = await fixClock(camera, 'ntp.plant.local', { thresholdSeconds: 5 });
    assert.deepEqual(log, ['expectRestart', 'put {"network_ntp":"ntp.plant.local"}', 'getDateTime']);
    assert.deepEqual(result.write.changed, ['network_ntp']);
    assert.equal(result.write.verified, true);
    assert.equal(result.drift.ntpServer, 'ntp.plant.local');
    assert.equal(result.drift.ok, true);

    await assert.rejects(
      fixClock(camera, 'not a host'),
      (err: unknown) => err instanceof PfcamError && err.key === 'errors.ntpServer',
    );
  });
});
