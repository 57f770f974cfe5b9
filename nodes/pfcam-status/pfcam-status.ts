import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { HealthChange } from '../../lib/camera/camera-health';
import { noCameraError } from '../../lib/camera/camera-operation';
import {
  currentStatusPayload,
  stateCounts,
  statusNodeOptions,
  statusPayload,
  STATUS_TOPIC,
  type StatusNodeOptions,
} from '../../lib/camera/camera-status';
import type { CameraStatusPayload } from '../../lib/camera/messages';
import { isCameraConfigNode, type CameraConfigNode } from '../pfcam-camera/camera-node';
import { handleClose, handleInput } from '../shared/input';
import { Status } from '../shared/status';

/** The node's configuration as the editor saves it (checked by `statusNodeOptions`). */
interface StatusNodeDef extends NodeDef {
  camera?: string;
  scope?: string;
}

/** The input (optional): any message asks for the current state of the watched camera(s). */
type StatusInputMessage = NodeMessageInFlow;

/** The output: a new message per camera change, or the input message (one per camera) on request. */
interface StatusOutputMessage extends StatusInputMessage {
  topic: typeof STATUS_TOPIC;
  payload: CameraStatusPayload;
}

export default function (RED: NodeAPI): void {
  function PfcamStatusNode(this: Node, def: StatusNodeDef): void {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  function start(node: Node, def: StatusNodeDef): void {
    const status = new Status(node, RED);

    let options: StatusNodeOptions | undefined;
    let setupError: Error | undefined;
    try {
      options = statusNodeOptions(def as unknown as Record<string, unknown>);
    } catch (err) {
      setupError = err as Error;
    }

    /** Cameras watched, with the function that undoes exactly what was subscribed on each. */
    const watched = new Map<string, { camera: CameraConfigNode; undo: () => void }>();
    let closed = false;

    const emit = (camera: CameraConfigNode, change: HealthChange): void => {
      if (closed) return;
      node.send({ topic: STATUS_TOPIC, payload: statusPayload(camera, change) });
    };

    const showSummary = (): void => {
      const counts = stateCounts([...watched.values()].map((w) => w.camera.health.state));
      const params = { online: counts.online, offline: counts.offline, total: watched.size };
      if (watched.size === 0) status.disabled('status.noCameras');
      else if (counts.offline > 0) status.error('status.summary', params);
      else if (counts.other > 0) status.connecting('status.summary', params);
      else status.ok('status.summary', params);
    };

    /** Scope "all": every pfcam-camera of the running flows, found now and after each (re)start of the flows. */
    const watchAll = (): void => {
      if (closed) return;
      const ids: string[] = [];
      RED.nodes.eachNode((n) => {
        if (n.type === 'pfcam-camera') ids.push(n.id);
      });
      // A camera removed or redeployed (a new instance under the same id): drop what was subscribed on the old one.
      for (const [id, entry] of watched) {
        if (!ids.includes(id) || RED.nodes.getNode(id) !== entry.camera) {
          entry.undo();
          watched.delete(id);
        }
      }
      for (const id of ids) {
        if (watched.has(id)) continue;
        const found: unknown = RED.nodes.getNode(id);
        if (!isCameraConfigNode(found)) continue;
        const camera = found;
        const onChange = (change: HealthChange): void => {
          emit(camera, change);
          showSummary();
        };
        camera.health.on('change', onChange);
        watched.set(id, { camera, undo: () => camera.health.off('change', onChange) });
      }
      showSummary();
    };

    if (setupError) {
      status.failed(setupError);
    } else if (options?.scope === 'one') {
      const found: unknown = RED.nodes.getNode(options.camera);
      if (isCameraConfigNode(found)) {
        const camera = found;
        const undo = camera.register(node, (change) => emit(camera, change));
        watched.set(camera.id, { camera, undo });
      } else {
        setupError = noCameraError();
        status.failed(setupError);
      }
    } else {
      watchAll();
      RED.events.on('flows:started', watchAll);
    }

    handleInput<StatusInputMessage>(node, status, (msg, send) => {
      if (setupError) return Promise.reject(setupError);
      const messages: StatusOutputMessage[] = [...watched.values()].map(({ camera }, i) => {
        const base = i === 0 ? msg : RED.util.cloneMessage(msg);
        const out = base as StatusOutputMessage;
        out.topic = STATUS_TOPIC;
        out.payload = currentStatusPayload(camera, camera.health.snapshot);
        return out;
      });
      for (const m of messages) send(m);
      return Promise.resolve();
    });

    handleClose(node, () => {
      closed = true;
      RED.events.off('flows:started', watchAll);
      for (const { undo } of watched.values()) undo();
      watched.clear();
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-status', PfcamStatusNode);
}
