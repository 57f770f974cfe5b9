import { strict as assert } from 'node:assert';
import type { CameraState, HealthSnapshot } from '../../lib/camera/camera-health';
import { CameraHttpError, CameraOfflineError, UnsupportedError } from '../../lib/camera/errors';
import {
  rebootCamera,
  resetSettings,
  SettingsNotVerifiedError,
  SettingsValidationError,
  writeLive,
  writeSettings,
  type RestartWatcher,
  type WritableCamera,
} from '../../lib/camera/settings-writer';
import type {
  CameraSettings,
  ExposureSettings,
  FocusSettings,
  OverlaySettings,
  PublicCameraSettings,
} from '../../lib/camera/types';
import { WriteLock } from '../../lib/camera/write-lock';
import { PfcamError } from '../../lib/errors';

type Settings = Record<string, string | number | boolean>;

/** An in-memory camera: settings, live resources, a log of what happened in which order. */
class FakeCamera implements WritableCamera {
  readonly log: string[] = [];
  settings: Settings = {
    name: 'Gate',
    network_mask: 24,
    rtsp_fps: 15,
    network_ntp: 'pool.ntp.org',
    access_password_hash_admin: 'old-hash',
  };
  exposure: ExposureSettings = { iso: 100, shutter: 1000, manual: false };
  focus: FocusSettings = { setpoint: 10 };
  overlay: OverlaySettings = { datetime: true, name: true, background: false, user: false };
  /** What the next write does instead of applying. */
  putFault: Error | undefined;
  /** Apply the PUT even though putFault is thrown (the connection broke after the camera took it). */
  applyDespiteFault = false;
  /** Keys the camera silently ignores. */
  ignored = new Set<string>();
  unsupportedLive = false;
  /** What reset / reboot throw (after acting, when actAnyway). */
  restartFault: Error | undefined;
  actAnyway = false;
  /** Defaults the reset answers with, when they differ from what the camera then has. */
  answeredDefaults: Settings | undefined;
  readonly lock = new WriteLock();
  readonly health = new FakeHealth(this.log);

  readonly client: WritableCamera['client'] = {
    getSettings: () => {
      this.log.push('getSettings');
      return Promise.resolve({ ...this.settings } as unknown as PublicCameraSettings);
    },
    putSettings: (changes: Partial<CameraSettings>) => {
      this.log.push(`putSettings ${Object.keys(changes).join(',')}`);
      const fault = this.putFault;
      if (!fault || this.applyDespiteFault) {
        for (const [k, v] of Object.entries(changes)) {
          if (!this.ignored.has(k)) this.settings[k] = v;
        }
      }
      return fault ? Promise.reject(fault) : Promise.resolve();
    },
    resetSettings: () => {
      this.log.push('resetSettings');
      if (this.restartFault && !this.actAnyway) return Promise.reject(this.restartFault);
      this.settings = { name: 'PFCAM', network_mask: 24, rtsp_fps: 30, network_ntp: 'pool.ntp.org' };
      if (this.restartFault) return Promise.reject(this.restartFault);
      const answer = this.answeredDefaults ?? this.settings;
      return Promise.resolve({ ...answer } as unknown as PublicCameraSettings);
    },
    reboot: () => {
      this.log.push('reboot');
      return this.restartFault ? Promise.reject(this.restartFault) : Promise.resolve();
    },
    getExposure: () => this.readLive('exposure', this.exposure),
    putExposure: (c: Partial<ExposureSettings>) => this.writeLive('exposure', c, this.exposure),
    getFocus: () => this.readLive('focus', this.focus),
    putFocus: (c: Partial<FocusSettings>) => this.writeLive('focus', c, this.focus),
    getOverlay: () => this.readLive('overlay', this.overlay),
    putOverlay: (c: Partial<OverlaySettings>) => this.writeLive('overlay', c, this.overlay),
  };

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.lock.run(work);
  }

  private readLive<T extends object>(name: string, value: T): Promise<T> {
    this.log.push(`get ${name}`);
    if (this.unsupportedLive) return Promise.reject(new UnsupportedError(name));
    return Promise.resolve({ ...value });
  }

  private writeLive<T extends object>(name: string, changes: Partial<T>, target: T): Promise<void> {
    this.log.push(`put ${name} ${Object.keys(changes).join(',')}`);
    Object.assign(target, changes);
    return Promise.resolve();
  }
}

/** A health monitor whose restart the test controls. */
class FakeHealth implements RestartWatcher {
  state: CameraState = 'online';
  snapshot: HealthSnapshot = { state: 'online', since: new Date(0).toISOString(), uptime: 500 };
  /** What waitFor('online') does: resolve with this uptime, or never (the camera does not come back). */
  comesBack: 'yes' | 'no' = 'yes';
  /** A probe brings the camera back online (it had just come back). */
  probeBringsBack = false;
  graces: number[] = [];
  constructor(private readonly log: string[]) {}

  expectRestart(graceMs?: number): void {
    this.log.push('expectRestart');
    this.graces.push(graceMs ?? -1);
    this.state = 'restarting';
  }

  waitFor(state: CameraState, timeoutMs: number, signal?: AbortSignal): Promise<HealthSnapshot> {
    this.log.push(`waitFor ${state}`);
    if (this.comesBack === 'no') {
      return Promise.reject(new Error(`the camera was not ${state} within ${timeoutMs} ms`));
    }
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    this.state = 'online';
    this.snapshot = { ...this.snapshot, state: 'online', uptime: 3 };
    return Promise.resolve(this.snapshot);
  }

  probeNow(): Promise<HealthSnapshot> {
    this.log.push('probeNow');
    if (this.probeBringsBack) this.state = 'online';
    return Promise.resolve({ ...this.snapshot, state: this.state });
  }
}

async function rejectsWithKey(promise: Promise<unknown>, key: string): Promise<PfcamError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PfcamError, `expected a PfcamError, got ${String(err)}`);
    assert.equal(err.key, key, err.message);
    return err;
  }
  assert.fail(`expected a rejection with ${key}`);
}

describe('settings writer', () => {
  it('sends nothing, not even a read, when any field is invalid, and lists every bad field', async () => {
    const cam = new FakeCamera();
    const err = await rejectsWithKey(
      writeSettings(cam, { network_mask: 99, rtsp_fps: 0, nmae: 'x', name: 'ok' }),
      'errors.invalidSettings',
    );
    assert.ok(err instanceof SettingsValidationError);
    assert.deepEqual(
      err.errors.map((e) => e.key),
      ['network_mask', 'rtsp_fps', 'nmae'],
    );
    assert.match(err.message, /nothing was sent/);
    assert.deepEqual(cam.log, []);
  });

  it('sends nothing and does not restart when no key differs', async () => {
    const cam = new FakeCamera();
    const result = await writeSettings(cam, { name: 'Gate', network_mask: 24 });
    assert.deepEqual(result.changed, []);
    assert.equal(result.verified, true);
    assert.equal(result.restart, undefined);
    assert.deepEqual(cam.log, ['getSettings']);
  });

  it('announces the restart, sends only the changed keys, waits for the camera, and verifies by reading back', async () => {
    const cam = new FakeCamera();
    const result = await writeSettings(
      cam,
      { name: 'Gate', network_mask: 16, rtsp_fps: 25 },
      { restartTimeoutMs: 5000 },
    );
    assert.deepEqual(cam.log, [
      'getSettings',
      'expectRestart',
      'putSettings network_mask,rtsp_fps',
      'waitFor online',
      'getSettings',
    ]);
    assert.deepEqual(cam.health.graces, [5000]);
    assert.deepEqual(result.changed, ['network_mask', 'rtsp_fps']);
    assert.equal(result.verified, true);
    assert.deepEqual(result.mismatches, []);
    assert.equal(result.restart?.uptime, 3);
    assert.ok((result.restart?.tookMs ?? -1) >= 0);
    assert.equal(result.settings.network_mask, 16);
  });

  it('throws errors.notVerified, naming each key, when keys read back differently', async () => {
    const cam = new FakeCamera();
    cam.ignored.add('rtsp_fps');
    const err = await rejectsWithKey(
      writeSettings(cam, { rtsp_fps: 25, network_mask: 16 }),
      'errors.notVerified',
    );
    assert.ok(err instanceof SettingsNotVerifiedError);
    assert.deepEqual(err.mismatches, [{ key: 'rtsp_fps', expected: 25, actual: 15 }]);
    assert.match(err.message, /rtsp_fps \(sent 25, camera has 15\)/);
  });

  it('with onMismatch "report", returns verified false and the mismatches instead', async () => {
    const cam = new FakeCamera();
    cam.ignored.add('rtsp_fps');
    const result = await writeSettings(cam, { rtsp_fps: 25, network_mask: 16 }, { onMismatch: 'report' });
    assert.equal(result.verified, false);
    assert.deepEqual(result.mismatches, [{ key: 'rtsp_fps', expected: 25, actual: 15 }]);
  });

  it('throws errors.restartTimeout when the camera does not come back in time', async () => {
    const cam = new FakeCamera();
    cam.health.comesBack = 'no';
    const err = await rejectsWithKey(
      writeSettings(cam, { network_mask: 16 }, { restartTimeoutMs: 2000 }),
      'errors.restartTimeout',
    );
    assert.equal(err.params.seconds, 2);
    assert.ok(!cam.log.includes('getSettings') || cam.log.filter((l) => l === 'getSettings').length === 1);
  });

  it('fails fast with errors.cameraOffline and sends nothing when the camera is known offline', async () => {
    const cam = new FakeCamera();
    cam.health.state = 'offline';
    await rejectsWithKey(writeSettings(cam, { network_mask: 16 }), 'errors.cameraOffline');
    assert.deepEqual(cam.log, ['probeNow']);
  });

  it('goes ahead when the camera known offline answers the extra probe', async () => {
    const cam = new FakeCamera();
    cam.health.state = 'offline';
    cam.health.probeBringsBack = true;
    const result = await writeSettings(cam, { network_mask: 16 });
    assert.equal(result.verified, true);
  });

  it('turns a 4xx answer to the write into errors.settingsRejected', async () => {
    const cam = new FakeCamera();
    cam.putFault = new CameraHttpError(400, 'rtsp_fps out of range');
    const err = await rejectsWithKey(writeSettings(cam, { rtsp_fps: 25 }), 'errors.settingsRejected');
    assert.match(err.message, /rtsp_fps out of range/);
    assert.ok(!cam.log.includes('waitFor online'));
  });

  it('throws errors.writeInterrupted when the connection broke and the change is not in effect', async () => {
    const cam = new FakeCamera();
    cam.putFault = new CameraOfflineError('ECONNRESET');
    const err = await rejectsWithKey(writeSettings(cam, { rtsp_fps: 25 }), 'errors.writeInterrupted');
    assert.match(err.message, /rtsp_fps/);
    assert.ok(cam.log.includes('waitFor online'), 'it waited for the camera before deciding');
  });

  it('succeeds when the connection broke but the read-back shows the change in effect', async () => {
    const cam = new FakeCamera();
    cam.putFault = new CameraOfflineError('UND_ERR_SOCKET');
    cam.applyDespiteFault = true;
    const result = await writeSettings(cam, { rtsp_fps: 25 });
    assert.equal(result.verified, true);
  });

  it('throws errors.writeInterrupted for a secret-only write whose connection broke (it cannot be read back)', async () => {
    const cam = new FakeCamera();
    cam.putFault = new CameraOfflineError('ECONNRESET');
    cam.applyDespiteFault = true;
    const err = await rejectsWithKey(
      writeSettings(cam, { network_ftp_password: 'pw' }, { allowSecrets: true }),
      'errors.writeInterrupted',
    );
    assert.match(err.message, /could not be confirmed/);
    assert.doesNotMatch(err.message, /pw/);
  });

  it('refuses secrets on the ordinary path and writes them only with allowSecrets, never returning them', async () => {
    const cam = new FakeCamera();
    await rejectsWithKey(
      writeSettings(cam, { access_password_hash_admin: 'new-hash' }),
      'errors.invalidSettings',
    );
    assert.deepEqual(cam.log, []);
    const result = await writeSettings(
      cam,
      { access_password_hash_admin: 'new-hash' },
      { allowSecrets: true },
    );
    assert.deepEqual(result.changed, ['access_password_hash_admin']);
    assert.equal(cam.settings.access_password_hash_admin, 'new-hash');
    assert.ok(!('access_password_hash_admin' in result.settings));
    assert.doesNotMatch(JSON.stringify(result), /hash-/);
  });

  it('runs two writes one after the other: the second reads only after the first camera restart is over', async () => {
    const cam = new FakeCamera();
    const [a, b] = await Promise.all([
      writeSettings(cam, { rtsp_fps: 20 }),
      writeSettings(cam, { network_mask: 16 }),
    ]);
    assert.deepEqual(cam.log, [
      'getSettings',
      'expectRestart',
      'putSettings rtsp_fps',
      'waitFor online',
      'getSettings',
      'getSettings',
      'expectRestart',
      'putSettings network_mask',
      'waitFor online',
      'getSettings',
    ]);
    assert.ok(a.verified && b.verified);
  });

  it('factory reset waits for the restart and returns the settings read back, secrets removed', async () => {
    const cam = new FakeCamera();
    const result = await resetSettings(cam, { restartTimeoutMs: 1000 });
    assert.deepEqual(cam.log, ['expectRestart', 'resetSettings', 'waitFor online', 'getSettings']);
    assert.equal(result.settings.name, 'PFCAM');
    assert.equal(result.restart.uptime, 3);
  });

  it('factory reset whose answer was cut as the camera went down goes on and reads back', async () => {
    const cam = new FakeCamera();
    cam.restartFault = new CameraOfflineError('UND_ERR_SOCKET');
    cam.actAnyway = true;
    const result = await resetSettings(cam);
    assert.equal(result.settings.name, 'PFCAM');
  });

  it('factory reset that failed otherwise (5xx, never reached) is an error, without waiting for a restart', async () => {
    for (const fault of [new CameraHttpError(500, 'busy'), new CameraOfflineError('ECONNREFUSED')]) {
      const cam = new FakeCamera();
      cam.restartFault = fault;
      await assert.rejects(resetSettings(cam), (err) => err === fault);
      assert.ok(!cam.log.includes('waitFor online'));
    }
  });

  it('factory reset whose read-back differs from the defaults the camera answered: errors.notVerified', async () => {
    const cam = new FakeCamera();
    cam.answeredDefaults = { name: 'PFCAM', network_mask: 16 };
    const err = await rejectsWithKey(resetSettings(cam), 'errors.notVerified');
    assert.match(err.message, /factory reset/);
    assert.match(err.message, /network_mask/);
  });

  it('reboot refused or failed is an error; a refusal says so', async () => {
    const cam = new FakeCamera();
    cam.restartFault = new CameraHttpError(403, 'viewer account');
    await rejectsWithKey(rebootCamera(cam), 'errors.settingsRejected');
    const failing = new FakeCamera();
    const fault = new CameraHttpError(503, 'busy');
    failing.restartFault = fault;
    await assert.rejects(rebootCamera(failing), (err) => err === fault);
    assert.ok(!failing.log.includes('waitFor online'));
  });

  it('reboot reports the uptime before and after', async () => {
    const cam = new FakeCamera();
    const result = await rebootCamera(cam);
    assert.deepEqual(cam.log, ['expectRestart', 'reboot', 'waitFor online']);
    assert.equal(result.previousUptime, 500);
    assert.equal(result.uptime, 3);
  });

  it('reboot of a camera that does not come back throws errors.restartTimeout', async () => {
    const cam = new FakeCamera();
    cam.health.comesBack = 'no';
    await rejectsWithKey(rebootCamera(cam, { restartTimeoutMs: 1000 }), 'errors.restartTimeout');
  });
});

describe('live sub-resources writer', () => {
  it('validates, sends the changed keys only, without restart, and reads back', async () => {
    const cam = new FakeCamera();
    const result = await writeLive(cam, 'exposure', { iso: 400, manual: false });
    assert.deepEqual(cam.log, ['get exposure', 'put exposure iso', 'get exposure']);
    assert.deepEqual(result.changed, ['iso']);
    assert.equal(result.verified, true);
    assert.equal(result.values.iso, 400);
  });

  it('sends nothing for invalid values, listing each', async () => {
    const cam = new FakeCamera();
    const err = await rejectsWithKey(
      writeLive(cam, 'focus', { setpoint: -1, speed: 3 }),
      'errors.invalidSettings',
    );
    assert.match(err.message, /Invalid focus/);
    assert.match(err.message, /setpoint/);
    assert.match(err.message, /speed/);
    assert.deepEqual(cam.log, []);
  });

  it('lets UnsupportedError through for a camera without the resource', async () => {
    const cam = new FakeCamera();
    cam.unsupportedLive = true;
    await assert.rejects(writeLive(cam, 'overlay', { user: true }), UnsupportedError);
  });
});
