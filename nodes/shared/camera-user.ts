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
  /** Undoes the camera registration and aborts the calls under way (idempotent). */
  dispose(): void;
}

/**
 * The common start of the camera nodes: options parsed by their pure function, the camera config node looked
 * up and registered with (its state then shows on the node), a red status when either is wrong.
 */
export function setupCameraUser<O>(
  RED: NodeAPI,
  node: Node,
  cameraId: string | undefined,
  parseOptions: () => O,
): CameraUserSetup<O> {
  const status = new Status(node, RED);
  let options: O | undefined;
  let setupError: Error | undefined;
  try {
    options = parseOptions();
  } catch (err) {
    setupError = err instanceof Error ? err : new Error(String(err));
  }
  const found: unknown = cameraId ? RED.nodes.getNode(cameraId) : undefined;
  const camera = isCameraConfigNode(found) ? found : undefined;
  if (!setupError && !camera) setupError = noCameraError();
  const unregister = !setupError && camera ? camera.register(node) : undefined;
  if (setupError) status.failed(setupError);
  const abort = new AbortController();
  return {
    status,
    options,
    camera,
    setupError,
    abort,
    dispose: () => {
      abort.abort();
      unregister?.();
    },
  };
}
