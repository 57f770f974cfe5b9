/**
 * A parser of `multipart/x-mixed-replace` MJPEG streams that yields whole JPEG frames. It is safe on hostile
 * input: memory is bounded by `maxFrameBytes` + `maxHeaderBytes` whatever arrives. A frame larger than the cap
 * is skipped up to the next boundary, bytes that are not part of any part (no boundary) are thrown away, and
 * both are counted.
 */

export interface MultipartFrame {
  /** The JPEG bytes (a copy: the parser keeps no reference). */
  readonly data: Buffer;
  /** The part's headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface MultipartParserOptions {
  /** The boundary from the Content-Type (without the leading `--`); found in the stream when absent. */
  boundary?: string;
  /** Largest frame kept (default 4 MiB); larger ones are dropped. */
  maxFrameBytes?: number;
  /** Largest header block of a part (default 8 KiB). */
  maxHeaderBytes?: number;
}

export interface MultipartCounters {
  frames: number;
  /** Frames dropped because they were larger than `maxFrameBytes` (or had broken headers). */
  oversizeFrames: number;
  /** Bytes thrown away outside any part (garbage, no boundary). */
  garbageBytes: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_HEADER_BYTES = 8 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary parameter of a multipart Content-Type, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const value = match?.[1] ?? match?.[2];
  return value?.replace(/^--/, '');
}

type State = 'seek' | 'headers' | 'body' | 'skip';

export class MultipartJpegParser {
  readonly counters: MultipartCounters = { frames: 0, oversizeFrames: 0, garbageBytes: 0 };
  private readonly maxFrameBytes: number;
  private readonly maxHeaderBytes: number;
  private delimiter: Buffer | undefined;
  private state: State = 'seek';
  private pending: Buffer = Buffer.alloc(0);
  private headers: Record<string, string> = {};
  private contentLength: number | undefined;

  constructor(
    private readonly onFrame: (frame: MultipartFrame) => void,
    options: MultipartParserOptions = {},
  ) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    if (options.boundary) this.delimiter = Buffer.from(`--${options.boundary}`);
  }

  /** Bytes held right now (for tests and metrics): never above the caps. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /** The most bytes held at once since the parser was made. */
  peakBytes = 0;

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.pending.length > this.peakBytes) this.peakBytes = this.pending.length;
    for (;;) {
      const progressed = this.step();
      if (!progressed) break;
    }
  }

  private step(): boolean {
    switch (this.state) {
      case 'seek':
        return this.seek();
      case 'headers':
        return this.readHeaders();
      case 'body':
        return this.readBody();
      case 'skip':
        return this.skip();
    }
  }

  /** Finds the boundary line (learning it from a line starting `--` when not given). */
  private seek(): boolean {
    if (!this.delimiter) {
      const match = /(?:^|\r?\n)--([\x21-\x7e]{1,70})\r?\n/.exec(this.pending.toString('latin1'));
      if (match?.[1]) this.delimiter = Buffer.from(`--${match[1]}`);
      else return this.dropGarbage(74);
    }
    const at = this.pending.indexOf(this.delimiter);
    if (at < 0) return this.dropGarbage(this.delimiter.length);
    const lineEnd = this.pending.indexOf('\n', at + this.delimiter.length);
    if (lineEnd < 0) {
      if (this.pending.length - at > this.delimiter.length + 256) {
        this.counters.garbageBytes += at + this.delimiter.length;
        this.pending = this.pending.subarray(at + this.delimiter.length);
        return true;
      }
      this.counters.garbageBytes += at;
      this.pending = this.pending.subarray(at);
      return false;
    }
    this.counters.garbageBytes += at;
    this.pending = this.pending.subarray(lineEnd + 1);
    this.state = 'headers';
    this.headers = {};
    this.contentLength = undefined;
    return true;
  }

  /** Keeps only the last `keep` bytes (a boundary may start in them), counting the rest as garbage. */
  private dropGarbage(keep: number): boolean {
    if (this.pending.length > keep) {
      this.counters.garbageBytes += this.pending.length - keep;
      this.pending = Buffer.from(this.pending.subarray(this.pending.length - keep));
    }
    return false;
  }

  private readHeaders(): boolean {
    // A part may start right away with an empty header block.
    let end = this.pending.indexOf(HEADER_END);
    let headerText: string;
    if (this.pending.length >= 2 && this.pending[0] === 0x0d && this.pending[1] === 0x0a) {
      end = 0;
      headerText = '';
      this.pending = this.pending.subarray(2);
    } else if (end >= 0) {
      headerText = this.pending.subarray(0, end).toString('latin1');
      this.pending = this.pending.subarray(end + HEADER_END.length);
    } else {
      if (this.pending.length > this.maxHeaderBytes) {
        this.counters.oversizeFrames++;
        this.state = 'skip';
        return true;
      }
      return false;
    }
    if (end > this.maxHeaderBytes) {
      this.counters.oversizeFrames++;
      this.state = 'skip';
      return true;
    }
    for (const line of headerText.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = this.headers['content-length'];
    if (length !== undefined) {
      const n = /^\d{1,12}$/.test(length) ? Number(length) : NaN;
      if (!Number.isFinite(n)) {
        this.counters.oversizeFrames++;
        this.state = 'skip';
        return true;
      }
      if (n > this.maxFrameBytes) {
        this.counters.oversizeFrames++;
        this.state = 'skip';
        return true;
      }
      this.contentLength = n;
    }
    this.state = 'body';
    return true;
  }

  private readBody(): boolean {
    const delimiter = this.delimiter!;
    if (this.contentLength !== undefined) {
      if (this.pending.length < this.contentLength) return false;
      this.emit(this.pending.subarray(0, this.contentLength));
      this.pending = this.pending.subarray(this.contentLength);
      this.state = 'seek';
      return true;
    }
    const at = this.pending.indexOf(delimiter);
    if (at < 0) {
      if (this.pending.length > this.maxFrameBytes + delimiter.length + 2) {
        this.counters.oversizeFrames++;
        this.state = 'skip';
        return true;
      }
      return false;
    }
    let end = at;
    if (end >= 2 && this.pending[end - 2] === 0x0d && this.pending[end - 1] === 0x0a) end -= 2;
    else if (end >= 1 && this.pending[end - 1] === 0x0a) end -= 1;
    if (end > this.maxFrameBytes) this.counters.oversizeFrames++;
    else this.emit(this.pending.subarray(0, end));
    this.pending = this.pending.subarray(at);
    this.state = 'seek';
    return true;
  }

  /** Throws bytes away up to the next boundary (after an oversized or broken part). */
  private skip(): boolean {
    const delimiter = this.delimiter!;
    const at = this.pending.indexOf(delimiter);
    if (at < 0) {
      if (this.pending.length > delimiter.length) {
        this.pending = Buffer.from(this.pending.subarray(this.pending.length - delimiter.length));
      }
      return false;
    }
    this.pending = this.pending.subarray(at);
    this.state = 'seek';
    return true;
  }

  private emit(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.counters.frames++;
    this.onFrame({ data: Buffer.from(bytes), headers: this.headers });
  }
}
