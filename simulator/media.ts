/**
 * The bytes the simulated cameras serve: the committed fixtures (a real H.264 MP4 clip, a JPEG thumbnail and
 * numbered live-view frames, see fixtures/make-fixtures.sh) and synthetic payloads of any size, generated
 * deterministically from (seed, file name) block by block, so that a 200 MB video costs no memory.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finalize, hashString } from './prng';

/**
 * Bytes served in pieces: `chunks(start, end)` yields the inclusive byte range, at most 64 KiB at a time. A
 * yielded chunk stays valid only until the next one is requested (sources may reuse one buffer).
 */
export interface MediaSource {
  readonly size: number;
  readonly contentType: string;
  chunks(start: number, end: number): Generator<Buffer>;
  sha256(): string;
}

export const CHUNK_BYTES = 64 * 1024;

export interface Fixtures {
  video: MediaSource;
  thumbnail: MediaSource;
  frames: Buffer[];
}

let fixtures: Fixtures | undefined;

/** The committed media fixtures (read once; dist/simulator/fixtures after a build). */
export function loadFixtures(): Fixtures {
  if (!fixtures) {
    const dir = join(__dirname, 'fixtures');
    fixtures = {
      video: bufferSource(readFileSync(join(dir, 'clip.mp4')), 'video/mp4'),
      thumbnail: bufferSource(readFileSync(join(dir, 'thumb.jpg')), 'image/jpeg'),
      frames: [1, 2, 3, 4].map((n) => readFileSync(join(dir, `frame-${n}.jpg`))),
    };
  }
  return fixtures;
}

/** The self-signed certificate for 127.0.0.1 / localhost shipped with the fixtures (https mode). */
export function selfSignedTls(): { key: Buffer; cert: Buffer } {
  const dir = join(__dirname, 'fixtures');
  return {
    key: readFileSync(join(dir, 'selfsigned-localhost.key')),
    cert: readFileSync(join(dir, 'selfsigned-localhost.crt')),
  };
}

/** A source over bytes already in memory. */
export function bufferSource(bytes: Buffer, contentType: string): MediaSource {
  let digest: string | undefined;
  return {
    size: bytes.length,
    contentType,
    *chunks(start, end) {
      for (let at = start; at <= end; at += CHUNK_BYTES) {
        yield bytes.subarray(at, Math.min(end + 1, at + CHUNK_BYTES));
      }
    },
    sha256() {
      digest ??= createHash('sha256').update(bytes).digest('hex');
      return digest;
    },
  };
}

const BLOCK_WORDS = CHUNK_BYTES / 4;
/** An `ftyp` box, so that the start of a synthetic payload looks like an MP4 file. */
const FTYP = Buffer.from('00000020667479706973736f6d0000020069736f6d69736f3261766331', 'hex');
const digests = new Map<string, string>();

/** Fills `words` with the bytes of block `index` of the payload keyed by `key`. */
function fillBlock(words: Uint32Array, key: number, index: number): void {
  let state = finalize(key ^ Math.imul(index + 1, 0x9e3779b1));
  for (let i = 0; i < words.length; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    words[i] = t ^ (t >>> 14);
  }
}

/**
 * A synthetic video of `size` bytes, the same bytes for the same (seed, fileName) on every run (on
 * little-endian hosts, that is all of them here). Blocks of 64 KiB are generated on demand, so that any range can
 * be served without generating what comes before it.
 */
export function syntheticSource(seed: number, fileName: string, size: number): MediaSource {
  const key = hashString(fileName, finalize(seed));
  const digestKey = `${key}:${size}`;
  const source: MediaSource = {
    size,
    contentType: 'video/mp4',
    *chunks(start, end) {
      let index = Math.floor(start / CHUNK_BYTES);
      let at = start;
      // One block buffer per generator, refilled for each chunk: a 200 MB video costs 64 KiB of memory.
      const words = new Uint32Array(BLOCK_WORDS);
      const block = Buffer.from(words.buffer);
      while (at <= end) {
        fillBlock(words, key, index);
        if (index === 0) FTYP.copy(block, 0);
        const blockStart = index * CHUNK_BYTES;
        const to = Math.min(CHUNK_BYTES, end + 1 - blockStart);
        yield block.subarray(at - blockStart, to);
        at = blockStart + to;
        index++;
      }
    },
    sha256() {
      let digest = digests.get(digestKey);
      if (!digest) {
        const hash = createHash('sha256');
        if (size > 0) for (const chunk of source.chunks(0, size - 1)) hash.update(chunk);
        digest = hash.digest('hex');
        if (digests.size > 1000) digests.clear();
        digests.set(digestKey, digest);
      }
      return digest;
    },
  };
  return source;
}
