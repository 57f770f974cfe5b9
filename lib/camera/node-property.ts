/**
 * Node properties that the editor sets through a typedInput (`str`, `num`, `bool`, `msg`, `flow`, `global`,
 * `env`, or a node's own literal types), and the readers that turn their evaluated values into checked values.
 * A reader's error names where the value came from (`msg.payload.postEventSeconds`, `flow.camName`, or the
 * editor field), so that the message says what to fix.
 */
import { InputError } from '../errors';

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
  else throw new InputError(`The "${name}" field must be text, got ${typeName(rawValue)}`);
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

/** A short, safe rendering of a bad value for an error message (never huge, never multi-line). */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = `'${value}'`;
  else if (value === undefined) return 'nothing';
  else if (value === null) return 'null';
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  else if (Array.isArray(value)) return `an array of ${value.length}`;
  else if (typeof value === 'object') return 'an object';
  else text = typeName(value);
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A value evaluated from a typedInput, with where it came from. */
export interface SourcedValue {
  readonly value: unknown;
  readonly source: string;
}

/** An integer in [min, max]; numeric strings are accepted (from env / str fields). */
export function readInteger(input: SourcedValue, min: number, max: number): number {
  const { value, source } = input;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new InputError(`${source} must be an integer from ${min} to ${max}, got ${showValue(value)}`, {
      params: { source },
    });
  }
  return n;
}

/** A boolean; the strings 'true' / 'false' are accepted (from env / str fields). */
export function readBoolean(input: SourcedValue): boolean {
  const { value, source } = input;
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InputError(`${source} must be true or false, got ${showValue(value)}`, { params: { source } });
}

/**
 * Text without control characters, of `minLength` to `maxLength` characters; `forbidden` lists characters that
 * may not appear (with a reason for the message).
 */
export function readText(
  input: SourcedValue,
  minLength: number,
  maxLength: number,
  forbidden?: { chars: string; why: string },
): string {
  const { value, source } = input;
  if (typeof value !== 'string') {
    throw new InputError(`${source} must be text, got ${showValue(value)}`, { params: { source } });
  }
  const length = [...value].length;
  if (length < minLength || length > maxLength) {
    const range = minLength === 0 ? `at most ${maxLength}` : `${minLength} to ${maxLength}`;
    throw new InputError(`${source} must be ${range} characters long, got ${length}`, { params: { source } });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new InputError(`${source} must not contain control characters (line breaks, tabs, NUL)`, {
      params: { source },
    });
  }
  if (forbidden && [...value].some((c) => forbidden.chars.includes(c))) {
    throw new InputError(`${source} must not contain ${forbidden.why}, got ${showValue(value)}`, {
      params: { source },
    });
  }
  return value;
}

/** A choice among fixed values. */
export function readChoice<T extends string>(input: SourcedValue, choices: readonly T[]): T {
  const { value, source } = input;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw new InputError(
    `${source} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${showValue(value)}`,
    {
      params: { source },
    },
  );
}

/** A boolean node option (checkbox), defaulting when absent. */
export function configBoolean(
  config: Readonly<Record<string, unknown>>,
  name: string,
  fallback: boolean,
): boolean {
  const raw = config[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new InputError(`The "${name}" option must be true or false, got ${showValue(raw)}`);
}

/** A numeric node option (number field), defaulting when empty, checked against a range. */
export function configNumber(
  config: Readonly<Record<string, unknown>>,
  name: string,
  fallback: number,
  min: number,
  max: number,
  integer = true,
): number {
  const raw = config[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = typeof raw === 'string' ? Number(raw) : raw;
  if (
    typeof n !== 'number' ||
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (integer && !Number.isInteger(n))
  ) {
    const what = integer ? 'an integer' : 'a number';
    throw new InputError(`The "${name}" option must be ${what} from ${min} to ${max}, got ${showValue(raw)}`);
  }
  return n;
}

/** A choice node option (select), defaulting when absent. */
export function configChoice<T extends string>(
  config: Readonly<Record<string, unknown>>,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = config[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  return readChoice({ value: raw, source: `The "${name}" option` }, choices);
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
