import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { cameraRef, noCameraError, runCameraCall } from '../../lib/camera/camera-operation';
import type { CameraRef, TriggerResult } from '../../lib/camera/messages';
import { evaluateProperty, type RawEvaluator, type SourcedValue } from '../../lib/config/node-property';
import {
  STOP_OTHERS_TYPE,
  TRIGGER_FIELDS,
  TRIGGER_FIELD_LABELS,
  buildTriggerRequest,
  triggerNodeOptions,
  type TriggerField,
  type TriggerNodeOptions,
} from '../../lib/camera/trigger-options';
import { handleClose, handleInput } from '../shared/input';
import { setupCameraUser } from '../shared/camera-user';

/** The node's configuration as the editor saves it: each field a typedInput (value + `<field>Type`). */
interface TriggerNodeDef extends NodeDef {
  camera?: string;
  eventName?: string;
  eventNameType?: string;
  overlayText?: string;
  overlayTextType?: string;
  preEventSeconds?: string;
  preEventSecondsType?: string;
  postEventSeconds?: string;
  postEventSecondsType?: string;
  postEventUnlimited?: string;
  postEventUnlimitedType?: string;
  stopOtherEvents?: string;
  stopOtherEventsType?: string;
}

/** The input: any message (the fields read from it depend on the node's typedInputs). */
type TriggerInputMessage = NodeMessageInFlow;

/** The output: the input message with these properties set. */
interface TriggerOutputMessage extends TriggerInputMessage {
  payload: TriggerResult;
  camera: CameraRef;
}

export default function (RED: NodeAPI): void {
  function PfcamTriggerNode(this: Node, def: TriggerNodeDef): void {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  function start(node: Node, def: TriggerNodeDef): void {
    const setup = setupCameraUser<TriggerNodeOptions>(RED, node, def.camera, () =>
      triggerNodeOptions(def as unknown as Record<string, unknown>),
    );
    const { status, options, camera, setupError, abort } = setup;

    handleInput<TriggerInputMessage>(node, status, async (msg, send) => {
      if (setupError || !options || !camera) throw setupError ?? noCameraError();
      const opts = options;
      const evaluate: RawEvaluator = (value, type, callback) =>
        RED.util.evaluateNodeProperty(value, type, node, msg, callback);
      const values = {} as Record<TriggerField, SourcedValue>;
      for (const field of TRIGGER_FIELDS) {
        values[field] = await evaluateProperty(evaluate, opts[field], TRIGGER_FIELD_LABELS[field], [
          STOP_OTHERS_TYPE,
        ]);
      }
      const request = buildTriggerRequest(values);
      status.busy('status.triggering');
      await runCameraCall(camera, { action: `trigger the event '${request.eventName}'` }, () =>
        camera.client.triggerEvent(request, { signal: abort.signal }),
      );
      const out = msg as TriggerOutputMessage;
      out.payload = { ...request, acceptedAt: new Date().toISOString() };
      out.camera = cameraRef(camera);
      status.ok('status.triggered', { name: request.eventName });
      send(out);
    });

    handleClose(node, () => {
      setup.dispose();
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-trigger', PfcamTriggerNode);
}
