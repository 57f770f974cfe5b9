import { strict as assert } from 'node:assert';
import {
  parseSettingsNodeOptions,
  parseSystemNodeOptions,
  resolveOperation,
  resolveSecretKey,
} from '../../lib/camera/settings-options';
import { SETTINGS_OPERATIONS, SYSTEM_OPERATIONS } from '../../lib/camera/messages-settings';
import { PfcamError } from '../../lib/errors';

function keyOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PfcamError);
    return err.key;
  }
  return assert.fail('expected an error');
}

describe('settings and system node options', () => {
  it('defaults a bare pfcam-settings config: get, changes from msg.payload, no reset, 90 s', () => {
    const options = parseSettingsNodeOptions({});
    assert.deepEqual(options, {
      operation: 'get',
      changes: { type: 'msg', value: 'payload' },
      secretKey: 'access_password_hash_admin',
      allowUnknown: false,
      confirmReset: false,
      restartTimeoutMs: 90_000,
    });
    assert.ok(Object.isFrozen(options));
  });

  it('reads a full pfcam-settings config from the editor', () => {
    const options = parseSettingsNodeOptions({
      operation: 'set',
      changes: '{"rtsp_fps": 25}',
      changesType: 'json',
      secretKey: 'network_ftp_password',
      allowUnknown: true,
      confirmReset: 'true',
      restartTimeout: '2.5',
    });
    assert.equal(options.operation, 'set');
    assert.deepEqual(options.changes, { type: 'json', value: '{"rtsp_fps": 25}' });
    assert.equal(options.secretKey, 'network_ftp_password');
    assert.equal(options.allowUnknown, true);
    assert.equal(options.confirmReset, true);
    assert.equal(options.restartTimeoutMs, 2500);
    assert.throws(() => parseSettingsNodeOptions({ restartTimeout: '0.5' }), /restartTimeout/);
  });

  it('refuses a bad pfcam-settings config with a message naming the field', () => {
    assert.throws(() => parseSettingsNodeOptions({ operation: 'delete' }), /operation/);
    assert.throws(() => parseSettingsNodeOptions({ secretKey: 'name' }), /secretKey/);
    assert.throws(() => parseSettingsNodeOptions({ changes: 'x', changesType: 'str' }), /changes/);
    assert.throws(() => parseSettingsNodeOptions({ restartTimeout: 1000 }), /restartTimeout/);
    assert.throws(() => parseSettingsNodeOptions({ allowUnknown: 'maybe' }), /allowUnknown/);
  });

  it('defaults and checks a pfcam-system config', () => {
    assert.deepEqual(parseSystemNodeOptions({}), {
      operation: 'info',
      thresholdSeconds: 5,
      ntpServer: { type: 'str', value: '' },
      allowRestart: false,
      restartTimeoutMs: 90_000,
    });
    const full = parseSystemNodeOptions({
      operation: 'fixClock',
      threshold: '1.5',
      ntpServer: 'NTP_HOST',
      ntpServerType: 'env',
      allowRestart: true,
      restartTimeout: 30,
    });
    assert.equal(full.thresholdSeconds, 1.5);
    assert.deepEqual(full.ntpServer, { type: 'env', value: 'NTP_HOST' });
    assert.equal(full.restartTimeoutMs, 30_000);
    assert.throws(() => parseSystemNodeOptions({ operation: 'shutdown' }), /operation/);
    assert.throws(() => parseSystemNodeOptions({ threshold: -1 }), /threshold/);
  });

  it('msg.operation overrides the node operation, and must be one of the list', () => {
    assert.equal(resolveOperation(undefined, SETTINGS_OPERATIONS, 'get'), 'get');
    assert.equal(resolveOperation('', SETTINGS_OPERATIONS, 'get'), 'get');
    assert.equal(resolveOperation('setFocus', SETTINGS_OPERATIONS, 'get'), 'setFocus');
    assert.equal(resolveOperation('clockDrift', SYSTEM_OPERATIONS, 'info'), 'clockDrift');
    assert.equal(
      keyOf(() => resolveOperation('reboot', SETTINGS_OPERATIONS, 'get')),
      'errors.badOperation',
    );
    assert.equal(
      keyOf(() => resolveOperation(3, SYSTEM_OPERATIONS, 'info')),
      'errors.badOperation',
    );
  });

  it('msg.secretKey may name only a documented secret', () => {
    assert.equal(resolveSecretKey(undefined, 'network_ftp_password'), 'network_ftp_password');
    assert.equal(
      resolveSecretKey('access_password_hash_viewer', 'network_ftp_password'),
      'access_password_hash_viewer',
    );
    assert.equal(
      keyOf(() => resolveSecretKey('name', 'network_ftp_password')),
      'errors.badSecret',
    );
  });
});
