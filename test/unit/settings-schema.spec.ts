import { strict as assert } from 'node:assert';
import {
  diffSettings,
  findMismatches,
  isHostName,
  isIanaTimeZone,
  SETTINGS_SCHEMA,
  stripSecrets,
  validateExposureChanges,
  validateFocusChanges,
  validateOverlayChanges,
  validateSettingsChanges,
  type SettingsFieldError,
} from '../../lib/camera/settings-schema';
import { SECRET_SETTING_KEYS } from '../../lib/camera/types';

/** The ranges of camera-api.md, written out independently of the schema: [min, max] for integers. */
const INTEGER_RANGES: Record<string, [number, number]> = {
  network_mask: [0, 32],
  network_ftp_port: [1, 65535],
  recording_seconds_pre_event: [0, 60],
  recording_seconds_post_event: [0, 60],
  recording_seconds_pre_event_extended: [0, 600],
  recording_seconds_post_event_extended: [0, 600],
  recording_resolution_width: [320, 3840],
  recording_quality_level: [1, 100],
  recording_quota_named: [0, 100],
  recording_quota_unnamed: [0, 100],
  exposure_iso: [50, 6400],
  focus_setpoint: [0, 1000],
  live_resolution_width: [320, 3840],
  live_quality_level: [1, 100],
  rtsp_port: [1, 65535],
  rtsp_fps: [1, 30],
  rtsp_quality_level: [1, 100],
  rtsp_resolution_width: [320, 3840],
  rtsp_resolution_width_2: [320, 3840],
  heater_level: [0, 3],
};

const BOOLEANS = [
  'network_dhcp',
  'network_ntp_ignore_server_sync',
  'network_ftp_recordings',
  'network_ftp_snapshots',
  'recording_ensure_free_storage',
  'exposure_manual',
  'overlay_datetime',
  'overlay_name',
  'overlay_background',
  'overlay_user',
  'rtsp',
  'rtsp_auth',
];

function errorsOf(
  input: unknown,
  options?: Parameters<typeof validateSettingsChanges>[1],
): SettingsFieldError[] {
  const result = validateSettingsChanges(input, options);
  assert.equal(result.ok, false, `expected ${JSON.stringify(input)} to be refused`);
  return result.ok ? [] : [...result.errors];
}

function accepts(input: Record<string, unknown>): void {
  const result = validateSettingsChanges(input);
  assert.ok(
    result.ok,
    `expected ${JSON.stringify(input)} to pass: ${result.ok ? '' : JSON.stringify(result.errors)}`,
  );
  assert.deepEqual(result.changes, input);
}

describe('settings schema', () => {
  it('has a rule for every settings key of the camera API types, and no other', () => {
    const keys = Object.keys(SETTINGS_SCHEMA).sort();
    assert.equal(keys.length, 52);
    for (const key of [...Object.keys(INTEGER_RANGES), ...BOOLEANS, ...SECRET_SETTING_KEYS]) {
      assert.ok(keys.includes(key), key);
    }
  });

  for (const [key, [min, max]] of Object.entries(INTEGER_RANGES)) {
    it(`${key}: accepts ${min} and ${max}, refuses ${min - 1}, ${max + 1}, fractions, strings`, () => {
      accepts({ [key]: min });
      accepts({ [key]: max });
      for (const bad of [min - 1, max + 1, min + 0.5, String(min), null, true]) {
        const errors = errorsOf({ [key]: bad });
        assert.equal(errors.length, 1);
        assert.equal(errors[0]?.key, key);
        assert.match(errors[0]?.message ?? '', /must be an integer/);
      }
    });
  }

  for (const key of BOOLEANS) {
    it(`${key}: accepts true / false, refuses 1, "true", null`, () => {
      accepts({ [key]: true });
      accepts({ [key]: false });
      for (const bad of [1, 'true', null]) assert.equal(errorsOf({ [key]: bad })[0]?.key, key);
    });
  }

  it('exposure_shutter must be a positive integer', () => {
    accepts({ exposure_shutter: 1 });
    accepts({ exposure_shutter: 250_000 });
    for (const bad of [0, -5, 1.5, '100']) assert.equal(errorsOf({ exposure_shutter: bad }).length, 1);
  });

  it('recording_seconds_extended, recording_size_extended and rtsp_type are non-negative integers', () => {
    accepts({ recording_seconds_extended: 0, recording_size_extended: 1_000_000, rtsp_type: 2 });
    assert.equal(
      errorsOf({ recording_seconds_extended: -1, recording_size_extended: 'x', rtsp_type: 0.5 }).length,
      3,
    );
  });

  it('picture_rotation takes only 0, 90, 180, 270', () => {
    for (const ok of [0, 90, 180, 270]) accepts({ picture_rotation: ok });
    for (const bad of [45, 360, -90, '90']) {
      assert.match(errorsOf({ picture_rotation: bad })[0]?.message ?? '', /one of 0, 90, 180, 270/);
    }
  });

  it('name is 1 to 64 characters without control characters', () => {
    accepts({ name: 'G' });
    accepts({ name: 'x'.repeat(64) });
    for (const bad of ['', 'x'.repeat(65), 'gate\n2', 'a\u0000b', 42])
      assert.equal(errorsOf({ name: bad }).length, 1);
  });

  it('network_ip must be an IPv4 address; gateway and DNS may also be ""', () => {
    accepts({ network_ip: '10.0.0.5', network_gateway: '10.0.0.1', network_dns: '' });
    accepts({ network_gateway: '', network_dns: '8.8.8.8' });
    const errors = errorsOf({
      network_ip: '',
      network_gateway: '256.1.1.1',
      network_dns: 'dns.example.com',
    });
    assert.deepEqual(
      errors.map((e) => e.key),
      ['network_ip', 'network_gateway', 'network_dns'],
    );
    assert.equal(errorsOf({ network_ip: '010.0.0.5' }).length, 1, 'leading zeros are ambiguous (octal)');
    assert.equal(errorsOf({ network_ip: '10.0.0' }).length, 1);
  });

  it('network_ntp and network_ftp_host take a host name, an IPv4 address or ""', () => {
    accepts({ network_ntp: 'pool.ntp.org', network_ftp_host: '' });
    accepts({ network_ntp: '10.0.0.1', network_ftp_host: 'ftp-1.plant.local' });
    accepts({ network_ntp: '' });
    for (const bad of [
      'pool ntp.org',
      '-bad.example',
      'a..b',
      'http://pool.ntp.org',
      '1.2.3.256',
      'x'.repeat(254),
    ]) {
      assert.equal(errorsOf({ network_ntp: bad }).length, 1, bad);
    }
  });

  it('time_zone takes an IANA name (exact spelling) or ""', () => {
    accepts({ time_zone: 'Europe/Zurich' });
    accepts({ time_zone: 'UTC' });
    accepts({ time_zone: 'America/Argentina/Buenos_Aires' });
    accepts({ time_zone: '' });
    for (const bad of ['Europe/Atlantis', 'europe/zurich', '+01:00', 'Mars/Olympus']) {
      assert.match(errorsOf({ time_zone: bad })[0]?.message ?? '', /IANA time zone/, bad);
    }
  });

  it('reports every bad field at once, in one result', () => {
    const errors = errorsOf({
      name: '',
      network_mask: 40,
      rtsp_fps: 0,
      picture_rotation: 45,
      heater_level: 'high',
      recording_quality_level: 50,
    });
    assert.deepEqual(
      errors.map((e) => e.key),
      ['name', 'network_mask', 'rtsp_fps', 'picture_rotation', 'heater_level'],
    );
    assert.match(errors[1]?.message ?? '', /from 0 to 32 \(got 40\)/);
  });

  it('refuses unknown keys with a "did you mean" hint, unless allowUnknown', () => {
    const errors = errorsOf({ recording_seconds_post_evnt: 10 });
    assert.equal(errors[0]?.key, 'recording_seconds_post_evnt');
    assert.match(errors[0]?.message ?? '', /did you mean "recording_seconds_post_event"/);

    const allowed = validateSettingsChanges({ new_feature_level: 3 }, { allowUnknown: true });
    assert.ok(allowed.ok);
    assert.deepEqual(allowed.changes, { new_feature_level: 3 });
  });

  it('with allowUnknown still refuses keys that are not snake_case, objects as values, and __proto__', () => {
    const input = JSON.parse(
      '{"__proto__": {"polluted": true}, "Bad Key": 1, "nested_value": {"a": 1}}',
    ) as unknown;
    const errors = errorsOf(input, { allowUnknown: true });
    assert.deepEqual(errors.map((e) => e.key).sort(), ['Bad Key', '__proto__', 'nested_value']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses the secret keys (and secret-looking unknown keys) unless allowSecrets, without quoting the value', () => {
    const errors = errorsOf(
      { access_password_hash_admin: 'hunter2-hash', network_ftp_password: 'pw', smtp_password: 'x' },
      { allowUnknown: true },
    );
    assert.deepEqual(
      errors.map((e) => e.key),
      ['access_password_hash_admin', 'network_ftp_password', 'smtp_password'],
    );
    for (const e of errors) {
      assert.match(e.message, /secret/);
      assert.doesNotMatch(e.message, /hunter2|"pw"/);
    }
    const allowed = validateSettingsChanges({ network_ftp_password: 'pw' }, { allowSecrets: true });
    assert.ok(allowed.ok);
  });

  it('never quotes a bad secret value in its error', () => {
    const errors = errorsOf({ access_password_hash_admin: 'bad\nhash-value' }, { allowSecrets: true });
    assert.equal(errors.length, 1);
    assert.doesNotMatch(errors[0]?.message ?? '', /hash-value/);
  });

  it('refuses what is not a plain object, and an empty object', () => {
    for (const bad of [null, undefined, 42, 'name=x', [], [{ name: 'x' }], new Date(), {}]) {
      const errors = errorsOf(bad);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.key, '');
    }
  });

  it('validates the live sub-resources: exposure, focus, overlay', () => {
    assert.ok(validateExposureChanges({ iso: 400, shutter: 1000, manual: true }).ok);
    const exposure = validateExposureChanges({ iso: 20, shutter: 0, manual: 'yes', gain: 2 });
    assert.ok(!exposure.ok);
    assert.deepEqual(
      exposure.errors.map((e) => e.key),
      ['iso', 'shutter', 'manual', 'gain'],
    );
    assert.ok(validateFocusChanges({ setpoint: 1000 }).ok);
    assert.ok(!validateFocusChanges({ setpoint: 1001 }).ok);
    assert.ok(validateOverlayChanges({ datetime: true, user: false }).ok);
    const overlay = validateOverlayChanges({ datetime: 1, text: 'x' });
    assert.ok(!overlay.ok);
    assert.equal(overlay.errors.length, 2);
  });
});

describe('settings diff, read-back and secret stripping', () => {
  it('diffSettings keeps only the keys whose value differs', () => {
    const current = { name: 'Gate', network_mask: 24, rtsp: false };
    assert.deepEqual(diffSettings(current, { name: 'Gate', network_mask: 16, rtsp: false }), {
      network_mask: 16,
    });
    assert.deepEqual(diffSettings(current, { name: 'Gate' }), {});
  });

  it('diffSettings keeps keys the camera does not report and every secret key', () => {
    const current = { name: 'Gate' };
    assert.deepEqual(diffSettings(current, { new_key: 1, network_ftp_password: 'x' }), {
      new_key: 1,
      network_ftp_password: 'x',
    });
  });

  it('findMismatches lists keys that read back differently and skips secrets', () => {
    const mismatches = findMismatches(
      { name: 'New', rtsp_fps: 25, network_ftp_password: 'pw' },
      { name: 'New', rtsp_fps: 15 },
    );
    assert.deepEqual(mismatches, [{ key: 'rtsp_fps', expected: 25, actual: 15 }]);
  });

  it('stripSecrets removes documented and secret-looking keys and non-primitive values', () => {
    const out = stripSecrets({
      name: 'Gate',
      access_password_hash_admin: 'h1',
      access_password_hash_viewer: 'h2',
      network_ftp_password: 'pw',
      cloud_api_key: 'k',
      mqtt_token: 't',
      nested: { a: 1 },
      rtsp: true,
    });
    assert.deepEqual(out, { name: 'Gate', rtsp: true });
  });

  it('isHostName and isIanaTimeZone', () => {
    assert.ok(isHostName('ntp1.example.com'));
    assert.ok(isHostName('localhost'));
    assert.ok(!isHostName('under_score.example'));
    assert.ok(isIanaTimeZone('Etc/GMT+5'));
    assert.ok(!isIanaTimeZone('Etc/GMT+99'));
  });
});
