import { strict as assert } from 'node:assert';
import { parseArchiveOptions, parseWatchOptions } from '../../lib/archive/options';
import { parseBackupNodeOptions } from '../../lib/backup/backup-options';
import { parseS3Options } from '../../lib/backup/s3-options';
import { parseCameraConfig } from '../../lib/camera/camera-config';
import { parseClientOptions } from '../../lib/camera/client-options';
import { parseSettingsNodeOptions } from '../../lib/camera/settings-options';
import {
  configOption,
  readBoolean,
  readEnum,
  readInteger,
  readNumber,
  readString,
  type OptionInput,
} from '../../lib/config/option-reader';
import { InputError } from '../../lib/errors';
import { liveUiOptions } from '../../lib/live/live-ui-options';
import { parseNotifyOptions, parseSmtpOptions } from '../../lib/notify/notify-options';
import { parseRetentionOptions } from '../../lib/retention/retention-options';
import { parseQueryNodeConfig, parseStoreConfig } from '../../lib/store/store-options';

const input = (value: unknown): OptionInput => configOption({ retries: value }, 'retries');

/** The InputError `fn` throws (fails the test when it throws nothing or something else). */
function refusal(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  assert.fail('expected an InputError');
}

describe('the option reader', () => {
  it('reads booleans: true/false and their texts; not set takes the default; anything else is refused', () => {
    const table: [unknown, boolean | 'refused'][] = [
      [true, true],
      [false, false],
      ['true', true],
      ['false', false],
      [' true ', true],
      [undefined, false],
      [null, false],
      ['', false],
      ['  ', false],
      ['yes', 'refused'],
      ['no', 'refused'],
      ['1', 'refused'],
      ['0', 'refused'],
      ['on', 'refused'],
      ['TRUE', 'refused'],
      [1, 'refused'],
      [0, 'refused'],
      [{}, 'refused'],
    ];
    for (const [value, expected] of table) {
      if (expected === 'refused') {
        const err = refusal(() => readBoolean(input(value), false));
        assert.equal(err.key, 'errors.badOption');
        assert.deepEqual(err.params, { option: 'retries' });
        assert.match(err.message, /^The "retries" option must be true or false, got /);
      } else assert.equal(readBoolean(input(value), false), expected, JSON.stringify(value));
    }
  });

  it('reads numbers and integers: finite numbers and whole decimal texts, in range; partial texts refused', () => {
    const table: [unknown, number | 'refused', number | 'refused'][] = [
      // value, readNumber(0..100, default 7), readInteger(0..100, default 7)
      [12, 12, 12],
      ['12', 12, 12],
      [' 12 ', 12, 12],
      ['0.25', 0.25, 'refused'],
      ['.5', 0.5, 'refused'],
      ['-0', -0, -0],
      [1.5, 1.5, 'refused'],
      [undefined, 7, 7],
      [null, 7, 7],
      ['', 7, 7],
      [' ', 7, 7],
      ['12abc', 'refused', 'refused'],
      ['abc', 'refused', 'refused'],
      ['0x10', 'refused', 'refused'],
      ['1e1', 'refused', 'refused'],
      ['Infinity', 'refused', 'refused'],
      [Number.NaN, 'refused', 'refused'],
      [Infinity, 'refused', 'refused'],
      [101, 'refused', 'refused'],
      [-1, 'refused', 'refused'],
      [true, 'refused', 'refused'],
      [[5], 'refused', 'refused'],
    ];
    for (const [value, asNumber, asInteger] of table) {
      const label = JSON.stringify(value) ?? String(value);
      if (asNumber === 'refused') {
        const err = refusal(() => readNumber(input(value), 0, 100, 7));
        assert.match(err.message, /^The "retries" option must be a number from 0 to 100, got /, label);
      } else assert.equal(readNumber(input(value), 0, 100, 7), asNumber, label);
      if (asInteger === 'refused') {
        const err = refusal(() => readInteger(input(value), 0, 100, 7));
        assert.match(err.message, /^The "retries" option must be an integer from 0 to 100, got /, label);
      } else assert.equal(readInteger(input(value), 0, 100, 7), asInteger, label);
    }
  });

  it('refuses a required value that is not set, and says "at least" for an open range', () => {
    assert.throws(
      () => readInteger({ value: '', source: 'msg.payload.n' }, 0, 9),
      /msg\.payload\.n must be an integer/,
    );
    assert.throws(
      () => readBoolean({ value: undefined, source: 'flow.on' }),
      /flow\.on must be true or false, got nothing/,
    );
    assert.throws(() => readNumber(input(-1), 0, Infinity), /must be a number of at least 0, got -1/);
  });

  it('reads choices exactly and text trimmed and bounded', () => {
    assert.equal(readEnum(input('b'), ['a', 'b'] as const, 'a'), 'b');
    assert.equal(readEnum(input(''), ['a', 'b'] as const, 'a'), 'a');
    assert.throws(() => readEnum(input('B'), ['a', 'b'] as const, 'a'), /must be one of 'a', 'b', got 'B'/);
    assert.equal(readString(input('  x ')), 'x');
    assert.equal(readString(input(undefined), 10, 'dflt'), 'dflt');
    assert.equal(readString(input(42)), '42');
    assert.throws(() => readString(input('x'.repeat(11)), 10), /at most 10 characters/);
    assert.throws(() => readString(input('a\0b')), InputError);
    assert.throws(() => readString(input({})), /must be text, got an object/);
  });

  it('keeps the error key and params an options module names', () => {
    const err = refusal(() =>
      readBoolean(
        configOption({ keepFlagged: 'yes' }, 'keepFlagged', { key: 'errors.retentionOption', param: 'name' }),
      ),
    );
    assert.equal(err.key, 'errors.retentionOption');
    assert.deepEqual(err.params, { name: 'keepFlagged' });
  });
});

describe('every options module reads values by the same rules', () => {
  // Before, 'yes' was refused by pfcam-watch and pfcam-archive but read as false by pfcam-retention,
  // pfcam-store, pfcam-notify and pfcam-s3, and '12abc' was a number nowhere but a string-to-NaN elsewhere.
  const booleans: [string, () => unknown][] = [
    ['pfcam-watch useSse', () => parseWatchOptions({ useSse: 'yes' })],
    ['pfcam-archive fetchThumbnail', () => parseArchiveOptions({ fetchThumbnail: 'yes' })],
    ['pfcam-retention keepFlagged', () => parseRetentionOptions({ keepFlagged: 'yes' })],
    ['pfcam-backup backupAll', () => parseBackupNodeOptions({ backupAll: 'yes' })],
    ['pfcam-s3 forcePathStyle', () => parseS3Options({ bucket: 'site-bucket', forcePathStyle: 'yes' })],
    ['pfcam-store recoverOnStart', () => parseStoreConfig({ recoverOnStart: 'yes' }, { userDir: '/srv' })],
    ['pfcam-notify dashboard', () => parseNotifyOptions({ dashboard: 'yes', timeZone: 'UTC' })],
    ['pfcam-smtp tlsVerify', () => parseSmtpOptions({ host: 'mail', from: 'a@b.example', tlsVerify: 'yes' })],
    ['pfcam-camera tlsVerify', () => parseCameraConfig({ url: 'http://a', tlsVerify: 'yes' })],
    [
      'camera client tls.rejectUnauthorized',
      () => parseClientOptions({ baseUrl: 'http://a', tls: { rejectUnauthorized: 'yes' } }),
    ],
    ['pfcam-settings allowUnknown', () => parseSettingsNodeOptions({ allowUnknown: 'yes' })],
  ];
  for (const [what, parse] of booleans) {
    it(`refuses 'yes' for a switch, naming it: ${what}`, () => {
      const err = refusal(parse);
      assert.match(err.message, /must be true or false, got 'yes'/);
      const named = Object.values(err.params).map(String);
      assert.ok(
        named.some((p) => p.endsWith(what.split(' ').pop()!)),
        `params ${JSON.stringify(err.params)} name the option`,
      );
    });
  }

  const numbers: [string, () => unknown][] = [
    ['pfcam-archive concurrency', () => parseArchiveOptions({ concurrency: '12abc' })],
    ['pfcam-retention maxAgeDays', () => parseRetentionOptions({ maxAgeDays: '12abc' })],
    ['pfcam-backup failureThreshold', () => parseBackupNodeOptions({ failureThreshold: '12abc' })],
    ['pfcam-query maxPayloadMB', () => parseQueryNodeConfig({ maxPayloadMB: '12abc' }, {})],
    ['pfcam-notify cooldown', () => parseNotifyOptions({ cooldown: '12abc', timeZone: 'UTC' })],
    ['pfcam-camera timeout', () => parseCameraConfig({ url: 'http://a', timeout: '12abc' })],
    ['pfcam-ui-live maxFps', () => liveUiOptions({ maxFps: '12abc' })],
    [
      'camera client maxConnections',
      () => parseClientOptions({ baseUrl: 'http://a', maxConnections: '1e1' }),
    ],
  ];
  for (const [what, parse] of numbers) {
    it(`refuses a partial number: ${what}`, () => {
      assert.match(refusal(parse).message, /must be (a number|an integer) (from|of)/);
    });
  }

  it('takes an empty or blank field as its default everywhere', () => {
    assert.equal(parseArchiveOptions({ concurrency: ' ' }).concurrency, 4);
    assert.equal(parseRetentionOptions({ keepFlagged: '' }).keepFlagged, true);
    assert.equal(parseNotifyOptions({ cooldown: '', timeZone: 'UTC' }).cooldownMs, 60_000);
    assert.equal(liveUiOptions({ maxFps: '' }).maxFps, 0);
  });
});
