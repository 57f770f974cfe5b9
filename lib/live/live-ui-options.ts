/**
 * `pfcam-ui-live`: the widget's options (pure, unit-tested): the player mode and the relay's caps.
 */
import { InputError } from '../errors';
import { showValue } from '../camera/node-property';

export const LIVE_MODES = ['auto', 'mjpeg'] as const;
export type LiveMode = (typeof LIVE_MODES)[number];

export interface LiveUiOptions {
  /** `auto`: H.264 over MSE where possible, MJPEG otherwise; `mjpeg`: MJPEG only. */
  readonly mode: LiveMode;
  /** The MJPEG relay's frame-rate cap per camera (0 = none). */
  readonly maxFps: number;
  readonly width: number;
  readonly height: number;
  readonly order: number;
}

function integer(
  config: Readonly<Record<string, unknown>>,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = config[key];
  if (raw === undefined || raw === '' || raw === null) return fallback;
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InputError(`${key} must be a whole number ${min}-${max}, got ${showValue(raw)}`);
  }
  return n;
}

export function liveUiOptions(config: Readonly<Record<string, unknown>>): LiveUiOptions {
  const mode = config.mode === undefined || config.mode === '' ? 'auto' : config.mode;
  if (!(LIVE_MODES as readonly unknown[]).includes(mode)) {
    throw new InputError(`The mode must be auto or mjpeg, got ${showValue(mode)}`);
  }
  return Object.freeze({
    mode: mode as LiveMode,
    maxFps: integer(config, 'maxFps', 0, 60, 0),
    width: integer(config, 'width', 0, 48, 0),
    height: integer(config, 'height', 0, 48, 0),
    order: integer(config, 'order', 0, 100_000, 0),
  });
}

/** The widget's HTML: no camera-supplied text (the element fetches names and sets them as text). */
export function liveWidgetHtml(options: LiveUiOptions, scriptUrl: string): string {
  return (
    `<script src="${scriptUrl}"></script>` +
    `<pfcam-live-grid api="/pfcam/api" mode="${options.mode}" style="width:100%"></pfcam-live-grid>`
  );
}
