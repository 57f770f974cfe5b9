/**
 * The uplink caps of one camera's live relay, chosen by the admin on the `pfcam-camera` node, so that what the
 * live view costs the site is set there and not by the number of viewers:
 *
 * - `maxFps`: the MJPEG relay passes on at most this many frames per second and drops the rest (counted). The
 *   upstream still carries what the camera sends: lower the camera's own rate to save the uplink too.
 * - `maxWidth`: the relay asks the camera for its widest stream (of the right codec) that is at most this wide,
 *   from the stream descriptors of `GET /api/streams`. The relay never transcodes: when the camera offers no
 *   stream narrow enough it takes the narrowest one and reports the cap as not met.
 *
 * The camera API has no per-request quality parameter: the quality of the live streams is the camera's own
 * `live_quality_level` / `rtsp_quality_level` setting (written with `pfcam-settings`).
 */
import type { StreamDescriptor, StreamMap } from '../camera/types';
import { configOption, optionError, readInteger } from '../config/option-reader';

export interface LiveCaps {
  /** MJPEG frames per second passed on at most (0 = as the camera sends). */
  readonly maxFps: number;
  /** Widest stream the relay asks the camera for, in pixels (0 = the camera's default stream). */
  readonly maxWidth: number;
}

export const NO_CAPS: LiveCaps = Object.freeze({ maxFps: 0, maxWidth: 0 });

export const MAX_FPS_LIMIT = 60;
export const WIDTH_MIN = 160;
export const WIDTH_MAX = 7680;

/** Checks the caps as the editor stores them (numbers or strings; empty = no cap). */
export function parseLiveCaps(raw: { liveMaxFps?: unknown; liveMaxWidth?: unknown }): LiveCaps {
  const fps = configOption(raw, 'liveMaxFps', {
    source: () => 'the live frame-rate cap (frames per second)',
  });
  const width = configOption(raw, 'liveMaxWidth', {
    source: () => 'the live resolution cap (width in pixels)',
  });
  const maxWidth = readInteger(width, 0, WIDTH_MAX, 0);
  if (maxWidth !== 0 && maxWidth < WIDTH_MIN) {
    throw optionError(width, `must be 0 (no cap) or an integer from ${WIDTH_MIN} to ${WIDTH_MAX}`);
  }
  return Object.freeze({ maxFps: readInteger(fps, 0, MAX_FPS_LIMIT, 0), maxWidth });
}

/** The stream the relay asks for, and whether it honours the width cap. */
export interface PickedStream {
  readonly name: string;
  readonly stream: StreamDescriptor;
  /** False when the camera offers no stream of that codec as narrow as the cap (the narrowest is used). */
  readonly withinCap: boolean;
}

/**
 * Among the camera's streams whose codec matches, the one to relay: without a width cap `preferred` when the
 * camera has it (else the first); with one, the widest at most `maxWidth` wide, else the narrowest.
 */
export function pickStream(
  streams: StreamMap,
  codec: RegExp,
  maxWidth: number,
  preferred?: string,
): PickedStream | undefined {
  const candidates = Object.entries(streams).filter(
    ([, s]) => typeof s === 'object' && s !== null && codec.test(s.codec) && s.url !== undefined,
  );
  if (candidates.length === 0) return undefined;
  const widthOf = (s: StreamDescriptor): number =>
    Number.isFinite(s.resolution?.width) ? s.resolution.width : Number.POSITIVE_INFINITY;
  if (maxWidth <= 0) {
    const [name, stream] = candidates.find(([n]) => n === preferred) ?? candidates[0]!;
    return { name, stream, withinCap: true };
  }
  const fitting = candidates.filter(([, s]) => widthOf(s) <= maxWidth);
  if (fitting.length > 0) {
    const [name, stream] = fitting.reduce((a, b) => (widthOf(b[1]) > widthOf(a[1]) ? b : a));
    return { name, stream, withinCap: true };
  }
  const [name, stream] = candidates.reduce((a, b) => (widthOf(b[1]) < widthOf(a[1]) ? b : a));
  return { name, stream, withinCap: false };
}
