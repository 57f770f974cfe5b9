import type { Node } from 'node-red';
import type { CameraApi } from '../../lib/camera/camera-api';
import type { CameraHealth, HealthChange, HealthSnapshot } from '../../lib/camera/camera-health';

/**
 * What a `pfcam-camera` config node offers the nodes that use it:
 * `const camera = RED.nodes.getNode(config.camera) as CameraConfigNode | null`.
 */
export interface CameraConfigNode extends Node {
  /** The camera's client (one connection pool per camera). */
  readonly client: CameraApi;
  /** Reachability: state, serial number, firmware, uptime; `health.expectRestart()` before a write that restarts it. */
  readonly health: CameraHealth;
  /** The name to show: the node's name, else the camera's own name, else its URL. */
  readonly displayName: string;
  /** The serial number, once a probe has read it. */
  readonly serialNumber: string | undefined;
  /**
   * Runs `work` with the camera's write lock held: settings writes, resets and reboots go through it, so that two
   * never run at once on one camera.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Registers a user node: its status mirrors the camera's state (unless it sets its own while busy), and
   * `onChange` (optional) hears every change. Returns the function that undoes exactly this registration.
   */
  register(user: Node, onChange?: (change: HealthChange) => void): () => void;
  readonly snapshot: HealthSnapshot;
}

/** The type guard the user nodes apply to `RED.nodes.getNode(id)`. */
export function isCameraConfigNode(node: unknown): node is CameraConfigNode {
  return (
    typeof node === 'object' &&
    node !== null &&
    (node as { type?: unknown }).type === 'pfcam-camera' &&
    typeof (node as { exclusive?: unknown }).exclusive === 'function'
  );
}
