/**
 * Small seeded pseudo-random generators: everything random in the simulator (serial numbers, random triggers,
 * fault decisions, synthetic media bytes) comes from here, so that one seed reproduces one run.
 */

/** A generator of floats in [0, 1). */
export type Random = () => number;

/** mulberry32: a fast 32-bit generator with a 2^32 period, good enough for simulation. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the UTF-16 code units of a string, mixed into `basis`: a 32-bit hash. */
export function hashString(text: string, basis = 0x811c9dc5): number {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return finalize(hash);
}

/** A 32-bit integer mixer (murmur3's finalizer), so that nearby inputs give unrelated outputs. */
export function finalize(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** An independent stream for one purpose (`label`) of one seed. */
export function derive(seed: number, label: string): Random {
  return mulberry32(hashString(label, finalize(seed)));
}

/** An integer in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
