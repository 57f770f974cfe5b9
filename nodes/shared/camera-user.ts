import type { Node, NodeAPI } from 'node-red';
import { noCameraError } from '../../lib/camera/camera-operation';
import { isCameraConfigNode, type CameraConfigNode } from '../pfcam-camera/camera-node';
import { Status } from './status';

/** What a node that uses one camera sets up in its constructor. */
export interface CameraUserSetup<O> {
  readonly status: Status;
  /** The checked options, unless the configuration is invalid. */
  readonly options: O | undefined;
  readonly camera: CameraConfigNode | undefined;
  /** Why the node cannot work (invalid options, no camera), reported on its status; every input fails with it. */
  readonly setupError: Error | undefined;
  /** Aborts the calls under way; called on close. */
  readonly abort: AbortController;
  /** Undoes the camera registration and aborts the calls under way, with `reason` when given (idempotent). */
  dispose(reason?: unknown): void;
}

/** How a node's start differs from the common one. */
export interface CameraUserStart {
  /** Shows invalid options on the status (default: the error's own key, through `Status.failed`). */
  showOptionsError?: (status: Status, err: Error) => void;
}

/** Invalid options shown as `errors.badOption`, naming what is wrong (the settings and system nodes). */
export const SHOW_BAD_OPTION: CameraUserStart = {
  showOptionsError: (status, err) => status.error('errors.badOption', { option: err.message }),
};

/**
 * The common start of the camera nodes: options parsed by their pure function, the camera config node looked
 * up and registered with (its state then shows on the node), a red status when either is wrong.
 */
export function setupCameraUser<O>(
  RED: NodeAPI,
  node: Node,
  cameraId: string | undefined,
  parseOptions: () => O,
  start: CameraUserStart = {},
): CameraUserSetup<O> {
  const status = new Status(node, RED);
  let options: O | undefined;
  let setupError: Error | undefined;
  try {
    options = parseOptions();
  } catch (err) {
    setupError = err instanceof Error ? err : new Error(String(err));
  }
  const optionsError = setupError;
  const found: unknown = cameraId ? RED.nodes.getNode(cameraId) : undefined;
  const camera = isCameraConfigNode(found) ? found : undefined;
  if (!setupError && !camera) setupError = noCameraError();
  const unregister = !setupError && camera ? camera.register(node) : undefined;
  if (optionsError && start.showOptionsError) start.showOptionsError(status, optionsError);
  else if (setupError) status.failed(setupError);
  const abort = new AbortController();
  return {
    status,
    options,
    camera,
    setupError,
    abort,
    dispose: (reason?: unknown) => {
      abort.abort(reason);
      unregister?.();
    },
  };
}
