/**
 * `pfcam-ui-live`: the widget's options (pure, unit-tested): the player mode and the relay's caps.
 */
import { configOption, readEnum, readInteger } from '../config/option-reader';

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

export function liveUiOptions(config: Readonly<Record<string, unknown>>): LiveUiOptions {
  return Object.freeze({
    mode: readEnum(configOption(config, 'mode'), LIVE_MODES, 'auto'),
    maxFps: readInteger(configOption(config, 'maxFps'), 0, 60, 0),
    width: readInteger(configOption(config, 'width'), 0, 48, 0),
    height: readInteger(configOption(config, 'height'), 0, 48, 0),
    order: readInteger(configOption(config, 'order'), 0, 100_000, 0),
  });
}

/** The widget's HTML: no camera-supplied text (the element fetches names and sets them as text). */
export function liveWidgetHtml(options: LiveUiOptions, scriptUrl: string): string {
  return (
    `<script src="${scriptUrl}"></script>` +
    `<pfcam-live-grid api="/pfcam/api" mode="${options.mode}" style="width:100%"></pfcam-live-grid>`
  );
}
