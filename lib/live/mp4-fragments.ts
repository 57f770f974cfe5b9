/**
 * A parser of a fragmented MP4 byte stream (ffmpeg `-movflags empty_moov+default_base_moof+frag_*`) into the
 * init segment (ftyp + moov) and media fragments (moof + mdat, with whether the fragment starts on a keyframe).
 * Bounded: a box larger than `maxBoxBytes` is an error (the caller restarts the source), never a buffer that
 * grows without end.
 */

export interface Mp4Fragment {
  readonly data: Buffer;
  /** The fragment's first sample is a sync sample (a viewer may start here). */
  readonly keyframe: boolean;
}

export interface Mp4InitSegment {
  readonly data: Buffer;
  /** The RFC 6381 codec string for MSE, e.g. `avc1.42c01e`. */
  readonly codec: string;
}

export interface Mp4Handlers {
  onInit(init: Mp4InitSegment): void;
  onFragment(fragment: Mp4Fragment): void;
}

export const DEFAULT_MAX_BOX_BYTES = 8 * 1024 * 1024;

export class Mp4Error extends Error {}

/** Children boxes of a box payload: [type, start, end] (of the payload) triples. */
function* children(buf: Buffer, start: number, end: number): Generator<[string, number, number]> {
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1 && at + 16 <= end) {
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    }
    if (size < header || at + size > end) return;
    yield [type, at + header, at + size];
    at += size;
  }
}

function find(buf: Buffer, start: number, end: number, type: string): [number, number] | undefined {
  for (const [t, s, e] of children(buf, start, end)) if (t === type) return [s, e];
  return undefined;
}

/** The `trex` default sample flags of track 1 (in moov/mvex), 0 when absent. */
function trexDefaultFlags(moov: Buffer): number {
  const mvex = find(moov, 8, moov.length, 'mvex');
  if (!mvex) return 0;
  const trex = find(moov, mvex[0], mvex[1], 'trex');
  if (!trex || trex[1] - trex[0] < 24) return 0;
  return moov.readUInt32BE(trex[0] + 20);
}

/** The codec string from the first `avcC` in the moov (`avc1.PPCCLL`), else a safe baseline default. */
export function codecOf(moov: Buffer): string {
  const at = moov.indexOf('avcC', 0, 'latin1');
  if (at < 0 || at + 8 > moov.length) return 'avc1.42e01e';
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `avc1.${hex(moov[at + 5]!)}${hex(moov[at + 6]!)}${hex(moov[at + 7]!)}`;
}

/** Whether the first sample of a moof is a sync sample. */
export function moofStartsWithKeyframe(moof: Buffer, trexFlags: number): boolean {
  const traf = find(moof, 8, moof.length, 'traf');
  if (!traf) return false;
  let flags = trexFlags;
  const tfhd = find(moof, traf[0], traf[1], 'tfhd');
  if (tfhd) {
    const tf = moof.readUInt32BE(tfhd[0]) & 0xffffff;
    let at = tfhd[0] + 8; // version/flags + track id
    if (tf & 0x01) at += 8;
    if (tf & 0x02) at += 4;
    if (tf & 0x08) at += 4;
    if (tf & 0x10) at += 4;
    if (tf & 0x20 && at + 4 <= tfhd[1]) flags = moof.readUInt32BE(at);
  }
  const trun = find(moof, traf[0], traf[1], 'trun');
  if (trun) {
    const tr = moof.readUInt32BE(trun[0]) & 0xffffff;
    let at = trun[0] + 8; // version/flags + sample count
    if (tr & 0x001) at += 4;
    if (tr & 0x004 && at + 4 <= trun[1]) {
      flags = moof.readUInt32BE(at);
    } else if (tr & 0x400) {
      at += tr & 0x004 ? 4 : 0;
      if (tr & 0x100) at += 4;
      if (tr & 0x200) at += 4;
      if (at + 4 <= trun[1]) flags = moof.readUInt32BE(at);
    }
  }
  // sample_is_non_sync_sample is bit 16; sample_depends_on == 2 means "does not depend" (an I frame).
  const nonSync = (flags & 0x00010000) !== 0;
  const dependsOn = (flags >>> 24) & 0x03;
  return !nonSync || dependsOn === 2;
}

export class Mp4FragmentParser {
  private pending: Buffer = Buffer.alloc(0);
  private initParts: Buffer[] = [];
  private moof: Buffer | undefined;
  private trexFlags = 0;
  private initDone = false;

  constructor(
    private readonly handlers: Mp4Handlers,
    private readonly maxBoxBytes = DEFAULT_MAX_BOX_BYTES,
  ) {}

  /** Bytes held right now (never more than one box). */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /** Throws `Mp4Error` on a box larger than the cap or a malformed size. */
  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.pending.length < 8) return;
      let size = this.pending.readUInt32BE(0);
      if (size === 1) {
        if (this.pending.length < 16) return;
        size = Number(this.pending.readBigUInt64BE(8));
      }
      if (size < 8 || size > this.maxBoxBytes) throw new Mp4Error(`an MP4 box of ${size} bytes`);
      if (this.pending.length < size) return;
      const box = Buffer.from(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
      this.onBox(box.toString('latin1', 4, 8), box);
    }
  }

  private onBox(type: string, box: Buffer): void {
    if (!this.initDone) {
      if (type === 'ftyp') this.initParts = [box];
      else if (type === 'moov') {
        this.initParts.push(box);
        this.trexFlags = trexDefaultFlags(box);
        this.initDone = true;
        this.handlers.onInit({ data: Buffer.concat(this.initParts), codec: codecOf(box) });
        this.initParts = [];
      }
      return;
    }
    if (type === 'moof') this.moof = box;
    else if (type === 'mdat' && this.moof) {
      const moof = this.moof;
      this.moof = undefined;
      this.handlers.onFragment({
        data: Buffer.concat([moof, box]),
        keyframe: moofStartsWithKeyframe(moof, this.trexFlags),
      });
    }
  }
}
