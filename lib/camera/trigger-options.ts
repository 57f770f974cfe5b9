/**
 * `pfcam-trigger`: its options and the checked trigger request built from one message. Every field is a
 * typedInput (editor value, or from the message / a context); a field left empty in the editor, or read as
 * `undefined` from the message, is not sent, so the camera applies its own setting.
 */
import { InputError } from '../errors';
import { EVENT_NAME_FORBIDDEN } from './event-filter';
import { typedProperty, type SourcedValue, type TypedProperty } from '../config/node-property';
import { readBoolean, readEnum, readInteger, readText } from '../config/option-reader';
import type { TriggerRequest } from './types';

/** The literal typedInput type of the "stop other events" field (its values: `none`, `all`). */
export const STOP_OTHERS_TYPE = 'stopOthers';

export const TRIGGER_FIELDS = [
  'eventName',
  'overlayText',
  'preEventSeconds',
  'postEventSeconds',
  'postEventUnlimited',
  'stopOtherEvents',
] as const;
export type TriggerField = (typeof TRIGGER_FIELDS)[number];

/** Largest pre-/post-event time the node accepts (s): the camera's extended recording range. */
export const MAX_EVENT_SECONDS = 600;
export const MAX_EVENT_NAME = 64;
export const MAX_OVERLAY_TEXT = 128;

export type TriggerNodeOptions = Readonly<Record<TriggerField, TypedProperty>>;

const CONTEXT_TYPES = ['msg', 'flow', 'global', 'env'];

/** Turns a `pfcam-trigger` node's raw config into checked options. */
export function triggerNodeOptions(config: Readonly<Record<string, unknown>>): TriggerNodeOptions {
  return Object.freeze({
    eventName: typedProperty(config, 'eventName', { type: 'str', value: 'node-red' }, [
      'str',
      ...CONTEXT_TYPES,
    ]),
    overlayText: typedProperty(config, 'overlayText', { type: 'str', value: '' }, ['str', ...CONTEXT_TYPES]),
    preEventSeconds: typedProperty(config, 'preEventSeconds', { type: 'num', value: '' }, [
      'num',
      ...CONTEXT_TYPES,
    ]),
    postEventSeconds: typedProperty(config, 'postEventSeconds', { type: 'num', value: '' }, [
      'num',
      ...CONTEXT_TYPES,
    ]),
    postEventUnlimited: typedProperty(config, 'postEventUnlimited', { type: 'bool', value: 'false' }, [
      'bool',
      ...CONTEXT_TYPES,
    ]),
    stopOtherEvents: typedProperty(config, 'stopOtherEvents', { type: STOP_OTHERS_TYPE, value: 'none' }, [
      STOP_OTHERS_TYPE,
      ...CONTEXT_TYPES,
    ]),
  });
}

/** The editor labels of the fields (for "the X field" in messages). */
export const TRIGGER_FIELD_LABELS: Readonly<Record<TriggerField, string>> = {
  eventName: 'Event name',
  overlayText: 'Overlay text',
  preEventSeconds: 'Pre-event',
  postEventSeconds: 'Post-event',
  postEventUnlimited: 'Unlimited',
  stopOtherEvents: 'Stop others',
};

export type TriggerValues = Readonly<Record<TriggerField, SourcedValue>>;

const absent = (v: unknown): boolean => v === undefined || v === null || v === '';

/** Builds the checked trigger request from the evaluated fields. */
export function buildTriggerRequest(values: TriggerValues): Partial<TriggerRequest> & { eventName: string } {
  if (absent(values.eventName.value)) {
    throw new InputError(
      `${values.eventName.source} is missing: the trigger needs an event name (1 to 64 characters)`,
      {
        params: { source: values.eventName.source },
      },
    );
  }
  const request: Partial<TriggerRequest> & { eventName: string } = {
    eventName: readText(values.eventName, 1, MAX_EVENT_NAME, EVENT_NAME_FORBIDDEN),
  };
  if (!absent(values.overlayText.value))
    request.overlayText = readText(values.overlayText, 0, MAX_OVERLAY_TEXT);
  if (!absent(values.preEventSeconds.value)) {
    request.preEventSeconds = readInteger(values.preEventSeconds, 0, MAX_EVENT_SECONDS);
  }
  if (!absent(values.postEventSeconds.value)) {
    request.postEventSeconds = readInteger(values.postEventSeconds, 0, MAX_EVENT_SECONDS);
  }
  if (!absent(values.postEventUnlimited.value)) {
    request.postEventUnlimited = readBoolean(values.postEventUnlimited);
  }
  if (!absent(values.stopOtherEvents.value)) {
    request.stopOtherEvents = readEnum(values.stopOtherEvents, ['none', 'all'] as const);
  }
  return request;
}
