import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { cameraRef, noCameraError, runCameraCall } from '../../lib/camera/camera-operation';
import { operationFor } from '../../lib/camera/event-filter';
import type { CameraRef, StreamsList, StreamsOperation } from '../../lib/camera/messages';
import {
  STREAMS_OPERATIONS,
  buildRtspInfo,
  buildStreamsList,
  streamUrl,
  streamsNodeOptions,
  type RtspCredentials,
  type StreamsNodeOptions,
} from '../../lib/camera/stream-urls';
import { PfcamError } from '../../lib/errors';
import { handleClose, handleInput } from '../shared/input';
import { setupCameraUser } from '../shared/camera-user';

/** The node's configuration as the editor saves it (checked by `streamsNodeOptions`). */
interface StreamsNodeDef extends NodeDef {
  camera?: string;
  operation?: string;
  stream?: string;
  includeCredentials?: boolean;
}

/** The input: any message; `msg.operation` overrides the node's operation. */
interface StreamsInputMessage extends NodeMessageInFlow {
  operation?: unknown;
}

/** The output: the input message with these properties set. */
interface StreamsOutputMessage extends StreamsInputMessage {
  payload: StreamsList | string;
  camera: CameraRef;
}

export default function (RED: NodeAPI): void {
  function PfcamStreamsNode(this: Node, def: StreamsNodeDef): void {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  function start(node: Node, def: StreamsNodeDef): void {
    const setup = setupCameraUser<StreamsNodeOptions>(RED, node, def.camera, () =>
      streamsNodeOptions(def as unknown as Record<string, unknown>),
    );
    const { status, options, camera, setupError, abort } = setup;

    /** The camera's API credentials, used for RTSP only when the node is set to include them. */
    const credentials = (): RtspCredentials => {
      const raw = (camera as { credentials?: { username?: unknown; password?: unknown } } | undefined)
        ?.credentials;
      return {
        username: typeof raw?.username === 'string' ? raw.username : undefined,
        password: typeof raw?.password === 'string' ? raw.password : undefined,
      };
    };

    handleInput<StreamsInputMessage>(node, status, async (msg, send) => {
      if (setupError || !options || !camera) throw setupError ?? noCameraError();
      const opts = options;
      const { operation } = operationFor<StreamsOperation>(msg.operation, opts.operation, STREAMS_OPERATIONS);
      const signal = abort.signal;
      const baseUrl = camera.client.baseUrl;
      status.busy('status.listing');

      const needsStreams = operation !== 'rtsp';
      const needsSettings = operation === 'list' || operation === 'rtsp';
      const [streams, settings] = await runCameraCall(camera, { action: 'read the stream list' }, () =>
        Promise.all([
          needsStreams ? camera.client.listStreams({ signal }) : Promise.resolve({}),
          needsSettings ? camera.client.getSettings({ signal }) : Promise.resolve(undefined),
        ]),
      );
      const rtsp = settings ? buildRtspInfo(baseUrl, settings, credentials(), opts.includeCredentials) : null;
      const out = msg as StreamsOutputMessage;
      if (operation === 'list') {
        const list = buildStreamsList(baseUrl, streams, opts.stream, rtsp);
        out.payload = list;
        status.ok('status.streams', { count: list.streams.length });
      } else if (operation === 'rtsp') {
        if (rtsp === null) {
          throw new PfcamError(
            'errors.rtspOff',
            `Camera "${camera.displayName}" has RTSP turned off: turn on its setting rtsp (e.g. with a pfcam-settings node)`,
          );
        }
        out.payload = rtsp.url;
        status.ok('status.url');
      } else {
        out.payload = streamUrl(
          buildStreamsList(baseUrl, streams, opts.stream, null),
          opts.stream,
          operation,
        );
        status.ok('status.url');
      }
      out.camera = cameraRef(camera);
      send(out);
    });

    handleClose(node, () => {
      setup.dispose();
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-streams', PfcamStreamsNode);
}
