/**
 * Node properties that the editor sets through a typedInput (`str`, `num`, `bool`, `msg`, `flow`, `global`,
 * `env`, or a node's own literal types), and their evaluation for one message. The evaluated value carries where
 * it came from (`msg.payload.postEventSeconds`, `flow.camName`, or the editor field), and is checked by the
 * readers of `option-reader.ts`, so that an error says what to fix.
 */
import { InputError } from '../errors';
import { showValue } from './option-reader';

/** A typedInput as the editor saves it: the type and the raw text. */
export interface TypedProperty {
  readonly type: string;
  readonly value: string;
}

/** The typedInput types whose value is read at run time from the message or a context. */
const DYNAMIC_TYPES = new Set(['msg', 'flow', 'global', 'env', 'jsonata']);

/** Reads a typedInput from a raw node config (`config[name]` + `config[name + 'Type']`), with a default. */
export function typedProperty(
  config: Readonly<Record<string, unknown>>,
  name: string,
  fallback: TypedProperty,
  allowedTypes: readonly string[],
): TypedProperty {
  const rawValue = config[name];
  const rawType = config[`${name}Type`];
  if (rawValue === undefined && rawType === undefined) return fallback;
  const type = typeof rawType === 'string' && rawType !== '' ? rawType : fallback.type;
  if (!allowedTypes.includes(type)) {
    throw new InputError(`The "${name}" field has the type '${type}'; use one of ${allowedTypes.join(', ')}`);
  }
  let value: string;
  if (typeof rawValue === 'string') value = rawValue;
  else if (typeof rawValue === 'number' || typeof rawValue === 'boolean') value = String(rawValue);
  else if (rawValue === undefined || rawValue === null) value = '';
  else throw new InputError(`The "${name}" field must be text, got ${showValue(rawValue)}`);
  if ((type === 'msg' || type === 'flow' || type === 'global') && value.trim() === '') {
    throw new InputError(`The "${name}" field names no ${type} property: enter one (e.g. payload)`);
  }
  return { type, value };
}

/** True when the value comes from the message or a context (so it can change from one message to the next). */
export function isDynamic(property: TypedProperty): boolean {
  return DYNAMIC_TYPES.has(property.type);
}

/** True for a literal left empty in the editor (meaning "not set": use the default). */
export function isEmptyLiteral(property: TypedProperty): boolean {
  return !isDynamic(property) && property.value.trim() === '';
}

/** Where a value comes from, for error messages: `msg.payload.x`, `flow.x`, `env X`, or the editor field. */
export function sourceOf(property: TypedProperty, fieldLabel: string): string {
  switch (property.type) {
    case 'msg':
    case 'flow':
    case 'global':
      return `${property.type}.${property.value}`;
    case 'env':
      return `the environment variable ${property.value}`;
    case 'jsonata':
      return `the expression of the "${fieldLabel}" field`;
    default:
      return `the "${fieldLabel}" field`;
  }
}

/** A value evaluated from a typedInput, with where it came from. */
export interface SourcedValue {
  readonly value: unknown;
  readonly source: string;
}

/** Node-RED's `RED.util.evaluateNodeProperty`, bound to a node and a message by the caller. */
export type RawEvaluator = (
  value: string,
  type: string,
  callback: (err: Error | null, result: unknown) => void,
) => void;

/**
 * Evaluates a typedInput for one message: an empty literal is `undefined` ("not set"); the node's own literal
 * types (`literalTypes`, e.g. a select of fixed values) give their text; the rest goes to Node-RED. A failure
 * (a bad property expression, a context store error) is an InputError naming the field.
 */
export function evaluateProperty(
  evaluate: RawEvaluator,
  property: TypedProperty,
  fieldLabel: string,
  literalTypes: readonly string[] = [],
): Promise<SourcedValue> {
  const source = sourceOf(property, fieldLabel);
  if (isEmptyLiteral(property)) return Promise.resolve({ value: undefined, source });
  if (literalTypes.includes(property.type)) return Promise.resolve({ value: property.value, source });
  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void =>
      reject(
        new InputError(`Could not read ${source}: ${err instanceof Error ? err.message : String(err)}`, {
          params: { source },
        }),
      );
    try {
      evaluate(property.value, property.type, (err, result) => {
        if (err) fail(err);
        else resolve({ value: result, source });
      });
    } catch (err) {
      fail(err);
    }
  });
}
