/**
 * A minimal streaming tar (POSIX ustar) writer and reader, regular files only, for the data folder's backup
 * archive (gzip around it is the caller's). Names are relative `/`-separated paths; the reader hands each entry's
 * name over unchecked: the caller decides where (and whether) it may be written.
 */
import type { Readable } from 'node:stream';

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** An entry's header: name (as stored), size in bytes, type flag ('0' for a regular file). */
export interface TarHeader {
  name: string;
  size: number;
  type: string;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** Splits a name into ustar's prefix (155) and name (100) fields; throws when it does not fit. */
function splitName(name: string): { prefix: string; base: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', base: name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100 && base !== '')
      return { prefix, base };
  }
  throw new Error(`the path ${name} is too long for the archive`);
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(name: string, size: number, mtimeMs: number, mode = 0o600): Buffer {
  const { prefix, base } = splitName(name);
  const h = Buffer.alloc(BLOCK);
  h.write(base, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtimeMs / 1000), 12), 136, 'ascii');
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h.write('0', 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** Zero bytes that pad an entry of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The two zero blocks that end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}

function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return (nul >= 0 ? raw.subarray(0, nul) : raw).toString('utf8');
}

function parseHeader(h: Buffer): TarHeader {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  const stored = parseInt(field(h, 148, 8).trim(), 8);
  if (stored !== sum) throw new Error('the archive is damaged (a header checksum does not match)');
  if (field(h, 257, 6) !== 'ustar') throw new Error('the archive is not a ustar archive');
  const sizeText = field(h, 124, 12).trim();
  if (!/^[0-7]+$/.test(sizeText)) throw new Error('the archive is damaged (bad entry size)');
  const prefix = field(h, 345, 155);
  const base = field(h, 0, 100);
  return {
    name: prefix === '' ? base : `${prefix}/${base}`,
    size: parseInt(sizeText, 8),
    type: field(h, 156, 1) || '0',
  };
}

/**
 * Reads a tar stream: for each entry calls `onEntry(header, body)`, where `body` yields exactly the entry's bytes
 * and must be consumed (or drained) before the returned promise resolves.
 */
export async function readTar(
  source: Readable,
  onEntry: (header: TarHeader, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;
  const fill = async (n: number): Promise<boolean> => {
    while (pending.length < n && !ended) {
      const next = await iterator.next();
      if (next.done) ended = true;
      else pending = pending.length === 0 ? next.value : Buffer.concat([pending, next.value]);
    }
    return pending.length >= n;
  };
  const take = (n: number): Buffer => {
    const out = pending.subarray(0, n);
    pending = pending.subarray(n);
    return out;
  };
  for (;;) {
    if (!(await fill(BLOCK))) throw new Error('the archive is truncated (no end marker)');
    const block = take(BLOCK);
    if (block.equals(ZERO_BLOCK)) return;
    const header = parseHeader(block);
    let left = header.size;
    let consumed = false;
    async function* body(): AsyncGenerator<Buffer> {
      consumed = true;
      while (left > 0) {
        if (pending.length === 0 && !(await fill(1))) throw new Error('the archive is truncated');
        const chunk = take(Math.min(left, pending.length));
        left -= chunk.length;
        yield chunk;
      }
    }
    await onEntry(header, body());
    if (!consumed || left > 0) for await (const chunk of body()) void chunk;
    const pad = tarPadding(header.size).length;
    if (pad > 0) {
      if (!(await fill(pad))) throw new Error('the archive is truncated');
      take(pad);
    }
  }
}
