import { strict as assert } from 'node:assert';
import type { HealthSnapshot } from '../../lib/camera/camera-health';
import {
  assertReachable,
  cameraRef,
  operationError,
  runCameraCall,
  type CameraHandle,
} from '../../lib/camera/camera-operation';
import {
  currentStatusPayload,
  stateCounts,
  statusNodeOptions,
  statusPayload,
} from '../../lib/camera/camera-status';
import { CameraHttpError, CameraOfflineError, UnsupportedError } from '../../lib/camera/errors';
import { evaluateProperty, sourceOf, typedProperty, type RawEvaluator } from '../../lib/config/node-property';
import { readText, showValue } from '../../lib/config/option-reader';
import { InputError, PfcamError } from '../../lib/errors';

function handle(snapshot: Partial<HealthSnapshot> = {}, baseUrl = 'http://u:pw@10.0.0.5'): CameraHandle {
  const full: HealthSnapshot = { state: 'online', since: '2024-01-01T00:00:00.000Z', ...snapshot };
  return {
    client: { baseUrl },
    health: { state: full.state, snapshot: full },
    displayName: 'Gate',
    serialNumber: full.serialNumber,
  };
}

describe('camera node support', () => {
  describe('typed properties', () => {
    it('reads a typedInput from the config, with its default and the allowed types', () => {
      assert.deepEqual(typedProperty({}, 'f', { type: 'str', value: 'x' }, ['str']), {
        type: 'str',
        value: 'x',
      });
      assert.deepEqual(
        typedProperty({ f: 5, fType: 'num' }, 'f', { type: 'str', value: '' }, ['str', 'num']),
        {
          type: 'num',
          value: '5',
        },
      );
      assert.deepEqual(typedProperty({ f: 'p' }, 'f', { type: 'msg', value: '' }, ['msg']), {
        type: 'msg',
        value: 'p',
      });
      assert.throws(
        () => typedProperty({ f: 'x', fType: 'jsonata' }, 'f', { type: 'str', value: '' }, ['str']),
        InputError,
      );
    });

    it('names the source of a value: msg/flow/global path, environment variable or editor field', () => {
      assert.equal(sourceOf({ type: 'msg', value: 'payload.a' }, 'A'), 'msg.payload.a');
      assert.equal(sourceOf({ type: 'flow', value: 'x' }, 'A'), 'flow.x');
      assert.equal(sourceOf({ type: 'env', value: 'CAM' }, 'A'), 'the environment variable CAM');
      assert.equal(sourceOf({ type: 'num', value: '3' }, 'Post-event'), 'the "Post-event" field');
    });

    it('shows bad values short and on one line', () => {
      assert.equal(showValue('a\nb'), "'a?b'");
      assert.equal(showValue('x'.repeat(100)).length, 60);
      assert.equal(showValue(Buffer.alloc(3)), 'a Buffer of 3 bytes');
      assert.equal(showValue([1, 2]), 'an array of 2');
      assert.equal(showValue(undefined), 'nothing');
    });

    it('counts text length in characters and forbids given characters', () => {
      assert.equal(readText({ value: 'ab', source: 's' }, 1, 2), 'ab');
      assert.throws(
        () => readText({ value: 'a/b', source: 's' }, 1, 9, { chars: '/', why: "'/'" }),
        /s must not contain '\/'/,
      );
    });

    it('evaluates: empty literal is unset, own literal types pass through, failures become InputError', async () => {
      const calls: string[] = [];
      const evaluator: RawEvaluator = (value, type, cb) => {
        calls.push(`${type}:${value}`);
        if (value === 'boom') throw new Error('bad expression');
        if (value === 'cb') {
          cb(new Error('store down'), undefined);
          return;
        }
        cb(null, `v-${value}`);
      };
      assert.deepEqual(await evaluateProperty(evaluator, { type: 'num', value: ' ' }, 'N'), {
        value: undefined,
        source: 'the "N" field',
      });
      assert.deepEqual(
        await evaluateProperty(evaluator, { type: 'stopOthers', value: 'all' }, 'S', ['stopOthers']),
        {
          value: 'all',
          source: 'the "S" field',
        },
      );
      assert.deepEqual(await evaluateProperty(evaluator, { type: 'msg', value: 'payload' }, 'P'), {
        value: 'v-payload',
        source: 'msg.payload',
      });
      await assert.rejects(
        evaluateProperty(evaluator, { type: 'msg', value: 'boom' }, 'P'),
        /Could not read msg\.boom: bad expression/,
      );
      await assert.rejects(
        evaluateProperty(evaluator, { type: 'flow', value: 'cb' }, 'P'),
        (err: unknown) => err instanceof InputError,
      );
      assert.deepEqual(calls, ['msg:payload', 'msg:boom', 'flow:cb']);
    });
  });

  describe('camera operations', () => {
    it('refers to the camera without its credentials', () => {
      assert.deepEqual(cameraRef(handle({ serialNumber: 'S1' })), {
        serialNumber: 'S1',
        name: 'Gate',
        url: 'http://10.0.0.5',
      });
      assert.deepEqual(cameraRef(handle()).serialNumber, null);
    });

    it('refuses at once when the camera is known offline or restarting, never calling it', async () => {
      assert.throws(() => assertReachable(handle({ state: 'offline', lastError: 'ECONNREFUSED' })), {
        key: 'errors.cameraOffline',
        message: /Camera "Gate" is offline \(ECONNREFUSED\): check that it is powered/,
      });
      let called = false;
      await assert.rejects(
        runCameraCall(handle({ state: 'restarting' }), { action: 'x' }, () => {
          called = true;
          return Promise.resolve();
        }),
        { key: 'errors.cameraRestarting' },
      );
      assert.equal(called, false);
      assert.doesNotThrow(() => assertReachable(handle({ state: 'unknown' })));
    });

    it('maps failures: 404 to not found where it means that, network errors while restarting, advice added', () => {
      const notFound = operationError(new CameraHttpError(404, '', {}), handle(), {
        action: 'fetch',
        notFound: 'no recording x',
      });
      assert.equal(notFound.key, 'errors.notFound');
      assert.equal(notFound.message, 'Camera "Gate": no recording x');
      const unsupported = operationError(new UnsupportedError('thumbnail'), handle(), {
        action: 'fetch',
        notFound: 'no thumbnail',
      });
      assert.equal(unsupported.key, 'errors.notFound');
      assert.equal(
        operationError(new UnsupportedError('storage'), handle(), { action: 'read' }).key,
        'errors.unsupported',
      );
      const offline = operationError(new CameraOfflineError('ECONNREFUSED'), handle(), {
        action: 'list the recordings',
      });
      assert.equal(offline.key, 'errors.cameraOffline');
      assert.match(
        offline.message,
        /^Camera "Gate": could not list the recordings: .*ECONNREFUSED.*\(check that the camera is powered/,
      );
      const restarting = operationError(
        new CameraOfflineError('ECONNRESET'),
        handle({ state: 'restarting' }),
        { action: 'x' },
      );
      assert.equal(restarting.key, 'errors.cameraRestarting');
      const input = new InputError('bad');
      assert.equal(operationError(input, handle(), { action: 'x' }), input);
      const generic = operationError(new Error('weird'), handle(), { action: 'x' });
      assert.ok(generic instanceof PfcamError);
      assert.equal(generic.key, 'errors.failed');
    });
  });

  describe('camera status', () => {
    it('needs a camera unless all cameras are watched', () => {
      assert.throws(() => statusNodeOptions({}), { key: 'errors.noCamera' });
      assert.deepEqual({ ...statusNodeOptions({ scope: 'all' }) }, { scope: 'all', camera: '' });
      assert.throws(() => statusNodeOptions({ scope: 'some', camera: 'c' }), /must be one of/);
    });

    it('builds the payload the alerting consumes, exactly these keys', () => {
      const cam = handle({}, 'http://10.0.0.5');
      const snapshot: HealthSnapshot = { state: 'online', since: 't0', serialNumber: 'S9', uptime: 12 };
      const payload = statusPayload(cam, {
        state: 'online',
        previous: 'offline',
        rebooted: true,
        at: 't1',
        snapshot,
      });
      assert.deepEqual(payload, {
        camera: { serialNumber: 'S9', name: 'Gate', url: 'http://10.0.0.5' },
        state: 'online',
        previous: 'offline',
        rebooted: true,
        at: 't1',
        uptime: 12,
      });
      assert.deepEqual(currentStatusPayload(cam, { state: 'offline', since: 't2' }), {
        camera: { serialNumber: null, name: 'Gate', url: 'http://10.0.0.5' },
        state: 'offline',
        previous: 'offline',
        rebooted: false,
        at: 't2',
        uptime: null,
      });
    });

    it('counts cameras per state', () => {
      assert.deepEqual(stateCounts(['online', 'offline', 'restarting', 'online']), {
        online: 2,
        offline: 1,
        other: 1,
      });
    });
  });
});
