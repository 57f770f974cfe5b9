import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { InputError, PfcamError } from '../../lib/errors';
import { cameraRef, noCameraError, runCameraCall } from '../../lib/camera/camera-operation';
import {
  EVENTS_OPERATIONS,
  buildEventFilter,
  eventsNodeOptions,
  filterRecordings,
  operationFor,
  readEventName,
  readFileName,
  toRecording,
  type EventsNodeOptions,
} from '../../lib/camera/event-filter';
import type {
  CameraRef,
  CameraRecording,
  DeleteAllResult,
  DeleteResult,
  StopAllResult,
  StopResult,
} from '../../lib/camera/messages';
import { evaluateProperty, type RawEvaluator } from '../../lib/config/node-property';
import { handleClose, handleInput } from '../shared/input';
import { setupCameraUser } from '../shared/camera-user';

/** The node's configuration as the editor saves it (checked by `eventsNodeOptions`). */
interface EventsNodeDef extends NodeDef {
  camera?: string;
  operation?: string;
  nameFilter?: string;
  namePattern?: string;
  namePatternType?: string;
  from?: string;
  fromType?: string;
  to?: string;
  toType?: string;
  newest?: string;
  newestType?: string;
  fileName?: string;
  fileNameType?: string;
  eventName?: string;
  eventNameType?: string;
  confirmDeleteAll?: boolean;
}

/** The input: any message; these properties are read when present. */
interface EventsInputMessage extends NodeMessageInFlow {
  /** Overrides the node's operation. */
  operation?: unknown;
  /** Must be `true` when `msg.operation` asks for `deleteAll`. */
  confirm?: unknown;
}

/** The output: the input message with these properties set. */
interface EventsOutputMessage extends EventsInputMessage {
  payload: CameraRecording[] | DeleteResult | DeleteAllResult | StopResult | StopAllResult;
  camera: CameraRef;
  total?: number;
}

export default function (RED: NodeAPI): void {
  function PfcamEventsNode(this: Node, def: EventsNodeDef): void {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  function start(node: Node, def: EventsNodeDef): void {
    const setup = setupCameraUser<EventsNodeOptions>(RED, node, def.camera, () =>
      eventsNodeOptions(def as unknown as Record<string, unknown>),
    );
    const { status, options, camera, setupError, abort } = setup;

    handleInput<EventsInputMessage>(node, status, async (msg, send) => {
      if (setupError || !options || !camera) throw setupError ?? noCameraError();
      const opts = options;
      const { operation, fromMessage } = operationFor(msg.operation, opts.operation, EVENTS_OPERATIONS);
      const evaluate: RawEvaluator = (value, type, callback) =>
        RED.util.evaluateNodeProperty(value, type, node, msg, callback);
      const out = msg as EventsOutputMessage;
      const signal = abort.signal;

      switch (operation) {
        case 'list': {
          const filter = buildEventFilter({
            nameFilter: opts.nameFilter,
            name: await evaluateProperty(evaluate, opts.namePattern, 'Name'),
            from: await evaluateProperty(evaluate, opts.from, 'From'),
            to: await evaluateProperty(evaluate, opts.to, 'To'),
            newest: await evaluateProperty(evaluate, opts.newest, 'Newest'),
          });
          status.busy('status.listing');
          const events = await runCameraCall(camera, { action: 'list the recordings' }, () =>
            camera.client.listEvents({ signal }),
          );
          const timeZone = camera.health.snapshot.info?.timezone;
          const recordings = filterRecordings(
            events.map((e) => toRecording(e, timeZone)),
            filter,
          );
          out.payload = recordings;
          out.total = events.length;
          status.ok('status.listed', { count: recordings.length, total: events.length });
          break;
        }
        case 'active': {
          status.busy('status.listing');
          const events = await runCameraCall(camera, { action: 'list the active events' }, () =>
            camera.client.listActiveEvents({ signal }),
          );
          const timeZone = camera.health.snapshot.info?.timezone;
          out.payload = events.map((e) => toRecording(e, timeZone));
          out.total = events.length;
          status.ok('status.active', { count: events.length });
          break;
        }
        case 'delete': {
          const fileName = readFileName(await evaluateProperty(evaluate, opts.fileName, 'File name'));
          status.busy('status.deleting');
          const deleted = await runCameraCall(camera, { action: `delete the recording '${fileName}'` }, () =>
            camera.client.deleteEvent(fileName, { signal }),
          );
          out.payload = { fileName, deleted };
          status.ok(deleted ? 'status.deleted' : 'status.alreadyGone');
          break;
        }
        case 'deleteAll': {
          if (!opts.confirmDeleteAll) {
            throw new PfcamError(
              'errors.confirmRequired',
              'Deleting all recordings is not confirmed: tick "Allow delete all" in the node to allow it',
            );
          }
          if (fromMessage && msg.confirm !== true) {
            throw new InputError(
              'msg.operation asks to delete all recordings: set msg.confirm to true (a boolean) to confirm',
              { key: 'errors.confirmRequired' },
            );
          }
          status.busy('status.deleting');
          await runCameraCall(camera, { action: 'delete all recordings' }, () =>
            camera.client.deleteAllEvents({ signal }),
          );
          out.payload = { deletedAll: true };
          status.ok('status.deletedAll');
          break;
        }
        case 'stop': {
          const eventName = readEventName(await evaluateProperty(evaluate, opts.eventName, 'Event name'));
          status.busy('status.stopping');
          // An event that is no longer active counts as stopped (the camera answers 404: nothing to do).
          await runCameraCall(camera, { action: `stop the event '${eventName}'` }, () =>
            camera.client.stopActiveEvent(eventName, { signal }),
          );
          out.payload = { eventName, stopped: true };
          status.ok('status.stopped');
          break;
        }
        case 'stopAll': {
          status.busy('status.stopping');
          await runCameraCall(camera, { action: 'stop the active events' }, () =>
            camera.client.stopAllActiveEvents({ signal }),
          );
          out.payload = { stoppedAll: true };
          status.ok('status.stopped');
          break;
        }
      }
      out.camera = cameraRef(camera);
      send(out);
    });

    handleClose(node, () => {
      setup.dispose();
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-events', PfcamEventsNode);
}
