/**
 * The one reader of node configuration and of typed inputs: every options function (`parse*Options`) and every
 * value evaluated from a typedInput goes through these functions, so a value means the same in every node.
 *
 * The rules:
 * - **Not set**: `undefined`, `null`, `''` and text of only white space. With a default, the default is taken;
 *   without one (a required value), it is refused like any other bad value.
 * - **Booleans**: `true` / `false`, and the texts `'true'` / `'false'` (white space around them is ignored, the
 *   case is not: the editor and `RED.util.evaluateNodeProperty` write lower case). `'yes'`, `'no'`, `'1'`,
 *   `'0'`, `'on'`, `'off'` and numbers are refused: they are typos or guesses more often than intentions, and
 *   a refused value shows on the node while a guessed one silently runs the wrong setting.
 * - **Numbers**: a finite number, or a decimal text (`12`, `-3`, `0.25`, `.5`, white space around it allowed).
 *   Partial or other notations (`'12abc'`, `'0x10'`, `'1e3'`, `'Infinity'`) and `NaN` are refused.
 *   Integers: the same, whole. Both are checked against an inclusive range.
 * - **Choices**: exactly one of the listed texts.
 * - **Text**: a string (a finite number is taken as its decimal text), trimmed, bounded, without NUL.
 *
 * Every refusal is an InputError whose text names where the value came from (`The "concurrency" option`,
 * `msg.payload.from`, `the environment variable CAM`) and shows the bad value short and on one line.
 */
import { InputError } from '../errors';

/** A value to read and where it came from (the subject of the error text), with the error's i18n key. */
export interface OptionInput {
  readonly value: unknown;
  /** How the error text names the value: `The "concurrency" option`, `msg.payload.from`. */
  readonly source: string;
  /** The InputError's key (default `errors.badInput`). */
  readonly key?: string;
  /** The InputError's params (default `{ source }`). */
  readonly params?: Readonly<Record<string, string | number>>;
}

/** How an options module names its errors: the i18n key and the params (the option's name goes in `param`). */
export interface OptionNaming {
  /** Default `errors.badOption`. */
  readonly key?: string;
  /** The param that carries the option's name (default `option`). */
  readonly param?: string;
  /** The subject of the error text (default `The "<name>" option`). */
  readonly source?: (name: string) => string;
}

/** Option `name` of a node's raw configuration (any object), named for errors as `naming` says. */
export function configOption(config: object, name: string, naming: OptionNaming = {}): OptionInput {
  return {
    value: (config as Readonly<Record<string, unknown>>)[name],
    source: naming.source ? naming.source(name) : `The "${name}" option`,
    key: naming.key ?? 'errors.badOption',
    params: { [naming.param ?? 'option']: name },
  };
}

/** True for a value that is not set (`undefined`, `null`, empty or blank text). */
export function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
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

/** The InputError of a refused value: `<source> <what>, got <value>`. */
export function optionError(input: OptionInput, what: string, shown = true): InputError {
  return new InputError(`${input.source} ${what}${shown ? `, got ${showValue(input.value)}` : ''}`, {
    key: input.key ?? 'errors.badInput',
    params: input.params ?? { source: input.source },
  });
}

/** `from 1 to 64`, or `of at least 0` for an open range (`max` Infinity). */
function range(min: number, max: number): string {
  return max === Infinity ? `of at least ${min}` : `from ${min} to ${max}`;
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** A boolean (see the module comment for the rules). Without `fallback` the value is required. */
export function readBoolean(input: OptionInput, fallback?: boolean): boolean {
  const { value } = input;
  if (isUnset(value) && fallback !== undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === 'true') return true;
    if (text === 'false') return false;
  }
  throw optionError(input, 'must be true or false');
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && DECIMAL.test(value.trim())) return Number(value.trim());
  return Number.NaN;
}

/** A finite number in [min, max] (see the module comment). Without `fallback` the value is required. */
export function readNumber(input: OptionInput, min: number, max: number, fallback?: number): number {
  if (isUnset(input.value) && fallback !== undefined) return fallback;
  const n = toNumber(input.value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw optionError(input, `must be a number ${range(min, max)}`);
  return n;
}

/** An integer in [min, max] (see the module comment). Without `fallback` the value is required. */
export function readInteger(input: OptionInput, min: number, max: number, fallback?: number): number {
  if (isUnset(input.value) && fallback !== undefined) return fallback;
  const n = toNumber(input.value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw optionError(input, `must be an integer ${range(min, max)}`);
  }
  return n;
}

/** One of `choices`, exactly. Without `fallback` the value is required. */
export function readEnum<T extends string>(input: OptionInput, choices: readonly T[], fallback?: T): T {
  const { value } = input;
  if (isUnset(value) && fallback !== undefined) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw optionError(input, `must be one of ${choices.map((c) => `'${c}'`).join(', ')}`);
}

/**
 * Configuration text: a string (or a finite number, as its decimal text), trimmed, at most `maxLength`
 * characters, without NUL. Not set: `fallback` (default `''`).
 */
export function readString(input: OptionInput, maxLength = 4096, fallback = ''): string {
  const { value } = input;
  if (isUnset(value)) return fallback;
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string') throw optionError(input, 'must be text');
  if (text.length > maxLength || text.includes('\0')) {
    throw optionError(input, `must be a text of at most ${maxLength} characters`, false);
  }
  return text.trim();
}

/**
 * Text taken as it is (a name, an overlay): a string of `minLength` to `maxLength` characters (counted as
 * characters, not UTF-16 units), without control characters; `forbidden` lists characters that may not appear
 * (with a reason for the message).
 */
export function readText(
  input: OptionInput,
  minLength: number,
  maxLength: number,
  forbidden?: { chars: string; why: string },
): string {
  const { value } = input;
  if (typeof value !== 'string') throw optionError(input, 'must be text');
  const length = [...value].length;
  if (length < minLength || length > maxLength) {
    const range = minLength === 0 ? `at most ${maxLength}` : `${minLength} to ${maxLength}`;
    throw optionError(input, `must be ${range} characters long, got ${length}`, false);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw optionError(input, 'must not contain control characters (line breaks, tabs, NUL)', false);
  }
  if (forbidden && [...value].some((c) => forbidden.chars.includes(c))) {
    throw optionError(input, `must not contain ${forbidden.why}`);
  }
  return value;
}
