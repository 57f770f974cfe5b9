import { strict as assert } from 'node:assert';
import {
  buildEventFilter,
  eventsNodeOptions,
  filterRecordings,
  operationFor,
  readEventName,
  readFileName,
  toRecording,
  type EventFilter,
} from '../../lib/camera/event-filter';
import type { CameraRecording } from '../../lib/camera/messages';
import type { CameraEvent } from '../../lib/camera/types';
import { InputError } from '../../lib/errors';

function event(fileName: string, triggeredAt: string, eventName: string | null = null): CameraEvent {
  return {
    fileName,
    eventName,
    triggeredAt,
    vidExt: '.mp4',
    thmbExt: '.jpg',
    playbackTime: 5,
    age: 1,
    dir: 'named',
  };
}

const all: EventFilter = { nameFilter: 'any', newest: 0 };
const v = (value: unknown, source = 'msg.payload') => ({ value, source });

describe('event filter (pfcam-events)', () => {
  describe('eventsNodeOptions', () => {
    it('defaults to listing everything, recording and event from msg.payload, delete all not allowed', () => {
      const o = eventsNodeOptions({});
      assert.equal(o.operation, 'list');
      assert.equal(o.nameFilter, 'any');
      assert.deepEqual(o.fileName, { type: 'msg', value: 'payload' });
      assert.deepEqual(o.eventName, { type: 'msg', value: 'payload' });
      assert.equal(o.confirmDeleteAll, false);
      assert.ok(Object.isFrozen(o));
    });

    it('refuses an unknown operation, name filter or typedInput type', () => {
      assert.throws(() => eventsNodeOptions({ operation: 'purge' }), InputError);
      assert.throws(() => eventsNodeOptions({ nameFilter: 'some' }), InputError);
      assert.throws(() => eventsNodeOptions({ from: 'x', fromType: 'bin' }), /use one of/);
      assert.throws(() => eventsNodeOptions({ fileName: '', fileNameType: 'msg' }), /names no msg property/);
      assert.throws(() => eventsNodeOptions({ confirmDeleteAll: 'yes' }), /true or false/);
    });
  });

  describe('operationFor', () => {
    const ops = ['list', 'delete'] as const;
    it('uses msg.operation when set and tells so', () => {
      assert.deepEqual(operationFor('delete', 'list', ops), { operation: 'delete', fromMessage: true });
      assert.deepEqual(operationFor(undefined, 'list', ops), { operation: 'list', fromMessage: false });
      assert.deepEqual(operationFor('', 'list', ops), { operation: 'list', fromMessage: false });
    });
    it('refuses an unknown one, naming msg.operation', () => {
      assert.throws(
        () => operationFor('drop', 'list', ops),
        /msg\.operation must be one of 'list', 'delete', got 'drop'/,
      );
      assert.throws(() => operationFor(3, 'list', ops), /got 3/);
    });
  });

  describe('buildEventFilter', () => {
    const base = {
      nameFilter: 'any' as const,
      name: v(undefined),
      from: v(undefined),
      to: v(undefined),
      newest: v(undefined),
    };
    it('builds an open filter from unset values', () => {
      assert.deepEqual(buildEventFilter(base), {
        nameFilter: 'any',
        name: undefined,
        fromMs: undefined,
        toMs: undefined,
        newest: 0,
      });
    });
    it('refuses an empty range, a bad count, a missing name', () => {
      assert.throws(() => buildEventFilter({ ...base, from: v(10), to: v(10) }), /time range is empty/);
      assert.throws(
        () => buildEventFilter({ ...base, newest: v(2.5, 'msg.n') }),
        /msg\.n must be an integer from 0 to 1000000/,
      );
      assert.throws(
        () => buildEventFilter({ ...base, nameFilter: 'name', name: v('') }),
        /1 to 64 characters/,
      );
    });
  });

  describe('toRecording', () => {
    it('adds the UTC time: offset kept, camera-local time read in the camera zone (DST included)', () => {
      assert.equal(
        toRecording(event('a', '2024-07-01T10:00:00'), 'Europe/Zurich').triggeredAtUtc,
        '2024-07-01T08:00:00.000Z',
      );
      assert.equal(
        toRecording(event('a', '2024-01-01T10:00:00'), 'Europe/Zurich').triggeredAtUtc,
        '2024-01-01T09:00:00.000Z',
      );
      assert.equal(
        toRecording(event('a', '2024-01-01T10:00:00Z'), 'Europe/Zurich').triggeredAtUtc,
        '2024-01-01T10:00:00.000Z',
      );
    });
    it('reads a camera-local time as UTC when the zone is unknown, and gives null for a non-date', () => {
      assert.equal(
        toRecording(event('a', '2024-01-01T10:00:00'), undefined).triggeredAtUtc,
        '2024-01-01T10:00:00.000Z',
      );
      assert.equal(
        toRecording(event('a', '2024-01-01T10:00:00'), 'Mars/Olympus').triggeredAtUtc,
        '2024-01-01T10:00:00.000Z',
      );
      assert.equal(toRecording(event('a', 'soon'), 'UTC').triggeredAtUtc, null);
    });
  });

  describe('filterRecordings', () => {
    const recs: CameraRecording[] = [
      toRecording(event('r1', '2024-03-01T08:00:00Z', 'door-1'), 'UTC'),
      toRecording(event('r2', '2024-03-01T11:00:00Z', null), 'UTC'),
      toRecording(event('r3', 'not a date', 'door-x'), 'UTC'),
      toRecording(event('r4', '2024-03-01T09:00:00Z', 'gate'), 'UTC'),
      toRecording(event('r5', '2024-03-01T10:00:00Z', ''), 'UTC'),
    ];
    const names = (f: Partial<EventFilter>): string[] =>
      filterRecordings(recs, { ...all, ...f }).map((r) => r.fileName);

    it('sorts newest first, recordings without a date last', () => {
      assert.deepEqual(names({}), ['r2', 'r5', 'r4', 'r1', 'r3']);
    });
    it('keeps named or unnamed ones (an empty name counts as unnamed)', () => {
      assert.deepEqual(names({ nameFilter: 'named' }), ['r4', 'r1', 'r3']);
      assert.deepEqual(names({ nameFilter: 'unnamed' }), ['r2', 'r5']);
    });
    it('matches a name with * as a wildcard and everything else literally', () => {
      assert.deepEqual(names({ nameFilter: 'name', name: 'door-*' }), ['r1', 'r3']);
      assert.deepEqual(names({ nameFilter: 'name', name: 'gate' }), ['r4']);
      assert.deepEqual(names({ nameFilter: 'name', name: 'door-.' }), []);
    });
    it('bounds the time (from inclusive, to exclusive), leaving out recordings without a date', () => {
      const t = (iso: string): number => Date.parse(iso);
      assert.deepEqual(names({ fromMs: t('2024-03-01T09:00:00Z'), toMs: t('2024-03-01T11:00:00Z') }), [
        'r5',
        'r4',
      ]);
      assert.deepEqual(names({ fromMs: t('2024-03-01T10:30:00Z') }), ['r2']);
    });
    it('keeps the newest N after filtering', () => {
      assert.deepEqual(names({ newest: 2 }), ['r2', 'r5']);
      assert.deepEqual(names({ nameFilter: 'named', newest: 1 }), ['r4']);
    });
    it('keeps the camera order between recordings of the same time', () => {
      const same = [
        toRecording(event('x', '2024-03-01T08:00:00Z'), 'UTC'),
        toRecording(event('y', '2024-03-01T08:00:00Z'), 'UTC'),
      ];
      assert.deepEqual(
        filterRecordings(same, all).map((r) => r.fileName),
        ['x', 'y'],
      );
    });
  });

  describe('readFileName / readEventName', () => {
    it('takes a string or an object with the property', () => {
      assert.equal(readFileName(v('20240301_a')), '20240301_a');
      assert.equal(readFileName(v({ fileName: 'rec 1' })), 'rec 1');
      assert.equal(readEventName(v('door')), 'door');
      assert.equal(readEventName(v({ eventName: 'door' })), 'door');
    });
    it('refuses path-like, empty or non-text names, naming the property', () => {
      assert.throws(
        () => readFileName(v('../x')),
        /msg\.payload is not a recording's file name \(fileName contains a path separator\)/,
      );
      assert.throws(() => readFileName(v('..')), /relative path/);
      assert.throws(() => readFileName(v({ fileName: 'a\u0000' })), /msg\.payload\.fileName is not/);
      assert.throws(
        () => readFileName(v({})),
        /msg\.payload\.fileName must be a recording's file name \(text\), got nothing/,
      );
      assert.throws(() => readFileName(v(5)), /got 5/);
      assert.throws(() => readEventName(v('a/b')), /must not contain/);
      assert.throws(() => readEventName(v('a%2F')), /must not contain/);
      assert.throws(() => readEventName(v('')), /1 to 64 characters/);
    });
  });
});
