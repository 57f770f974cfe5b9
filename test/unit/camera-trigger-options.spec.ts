import { strict as assert } from 'node:assert';
import type { SourcedValue } from '../../lib/config/node-property';
import {
  buildTriggerRequest,
  triggerNodeOptions,
  type TriggerField,
  type TriggerValues,
} from '../../lib/camera/trigger-options';
import { InputError } from '../../lib/errors';

function values(overrides: Partial<Record<TriggerField, unknown>>): TriggerValues {
  const fields: TriggerField[] = [
    'eventName',
    'overlayText',
    'preEventSeconds',
    'postEventSeconds',
    'postEventUnlimited',
    'stopOtherEvents',
  ];
  const out = {} as Record<TriggerField, SourcedValue>;
  for (const f of fields) out[f] = { value: overrides[f], source: `msg.payload.${f}` };
  return out;
}

describe('trigger options (pfcam-trigger)', () => {
  it('defaults to the event name "node-red" and every other field left to the camera', () => {
    const o = triggerNodeOptions({});
    assert.deepEqual(o.eventName, { type: 'str', value: 'node-red' });
    assert.deepEqual(o.preEventSeconds, { type: 'num', value: '' });
    assert.deepEqual(o.postEventUnlimited, { type: 'bool', value: 'false' });
    assert.deepEqual(o.stopOtherEvents, { type: 'stopOthers', value: 'none' });
  });

  it('refuses a typedInput type a field does not take', () => {
    assert.throws(
      () => triggerNodeOptions({ preEventSeconds: 'x', preEventSecondsType: 'str' }),
      /use one of num, msg/,
    );
    assert.throws(() => triggerNodeOptions({ eventName: {}, eventNameType: 'str' }), /must be text/);
  });

  it('sends only the fields that are set', () => {
    assert.deepEqual(buildTriggerRequest(values({ eventName: 'door' })), { eventName: 'door' });
    assert.deepEqual(
      buildTriggerRequest(
        values({
          eventName: 'door',
          overlayText: 'Gate 1',
          preEventSeconds: 0,
          postEventSeconds: 600,
          postEventUnlimited: true,
          stopOtherEvents: 'all',
        }),
      ),
      {
        eventName: 'door',
        overlayText: 'Gate 1',
        preEventSeconds: 0,
        postEventSeconds: 600,
        postEventUnlimited: true,
        stopOtherEvents: 'all',
      },
    );
  });

  it('accepts numbers and booleans as text (from env or str fields)', () => {
    assert.deepEqual(
      buildTriggerRequest(values({ eventName: 'a', preEventSeconds: '5', postEventUnlimited: 'false' })),
      { eventName: 'a', preEventSeconds: 5, postEventUnlimited: false },
    );
  });

  it('says which property is wrong and what it must be', () => {
    const bad = (o: Partial<Record<TriggerField, unknown>>, message: RegExp): void =>
      assert.throws(
        () => buildTriggerRequest(values({ eventName: 'a', ...o })),
        (err: unknown) => {
          assert.ok(err instanceof InputError);
          assert.equal(err.key, 'errors.badInput');
          assert.match(err.message, message);
          return true;
        },
      );
    bad(
      { postEventSeconds: 'abc' },
      /^msg\.payload\.postEventSeconds must be an integer from 0 to 600, got 'abc'$/,
    );
    bad({ postEventSeconds: 601 }, /got 601/);
    bad({ preEventSeconds: -1 }, /msg\.payload\.preEventSeconds must be an integer from 0 to 600, got -1/);
    bad({ preEventSeconds: 0.5 }, /got 0\.5/);
    bad({ preEventSeconds: true }, /got true/);
    bad({ postEventUnlimited: 1 }, /msg\.payload\.postEventUnlimited must be true or false, got 1/);
    bad({ stopOtherEvents: 'others' }, /must be one of 'none', 'all', got 'others'/);
    bad({ overlayText: 'x'.repeat(129) }, /at most 128 characters long, got 129/);
    bad({ eventName: 'x'.repeat(65) }, /1 to 64 characters long, got 65/);
    bad({ eventName: 'a#b' }, /must not contain/);
    bad({ eventName: 'a\tb' }, /control characters/);
    bad({ eventName: null }, /msg\.payload\.eventName is missing/);
  });

  it('counts characters, not UTF-16 units, for the length limits', () => {
    assert.equal(buildTriggerRequest(values({ eventName: '🚪'.repeat(64) })).eventName.length, 128);
  });
});
