/**
 * What the `pfcam-ui-config` node offers its widgets: the push to every open page ("something changed", no
 * data), and the registration of a widget so that pushes reach it.
 */
import type { Node } from 'node-red';

export interface ChangePush {
  changed: 'recordings' | 'cameras' | 'alerts';
  camera?: string;
}

export interface UiConfigHandle extends Node {
  /** Adds a widget to the pushes; returns the function that removes exactly it. */
  addWidget(push: (change: ChangePush) => void): () => void;
  /** Tells every widget of this dashboard that something changed. */
  changed(change: ChangePush): void;
}

export function isUiConfigHandle(value: unknown): value is UiConfigHandle {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { addWidget?: unknown }).addWidget === 'function' &&
    typeof (value as { changed?: unknown }).changed === 'function'
  );
}

/** The push message of a flow message: only the camera serial of a recording passes, nothing else. */
export function pushOf(msg: unknown): ChangePush {
  const payload = (msg as { payload?: unknown } | null)?.payload;
  const serial =
    payload !== null && typeof payload === 'object'
      ? ((payload as { cameraSerial?: unknown }).cameraSerial ?? (payload as { camera?: unknown }).camera)
      : undefined;
  const changed = (msg as { changed?: unknown } | null)?.changed;
  const kind = changed === 'cameras' || changed === 'alerts' ? changed : 'recordings';
  return typeof serial === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(serial)
    ? { changed: kind, camera: serial }
    : { changed: kind };
}
