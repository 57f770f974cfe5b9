import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { DownloadProgress, DownloadResult } from '../../lib/camera/camera-api';
import { assertReachable, cameraRef, noCameraError, runCameraCall } from '../../lib/camera/camera-operation';
import { operationFor } from '../../lib/camera/event-filter';
import {
  MEDIA_OPERATIONS,
  Throttle,
  defaultMediaName,
  mediaNodeOptions,
  prepareTarget,
  progressFigures,
  readMediaRecording,
  resolveInsideFolder,
  writeFileAtomic,
  type MediaNodeOptions,
  type MediaRecording,
} from '../../lib/camera/media-target';
import type { CameraRef, MediaFile, MediaInfo, MediaOperation } from '../../lib/camera/messages';
import { evaluateProperty, type RawEvaluator } from '../../lib/config/node-property';
import { handleClose, handleInput } from '../shared/input';
import { commonText } from '../shared/status';
import { setupCameraUser } from '../shared/camera-user';

/** The node's configuration as the editor saves it (checked by `mediaNodeOptions`). */
interface MediaNodeDef extends NodeDef {
  camera?: string;
  operation?: string;
  fileName?: string;
  fileNameType?: string;
  stream?: string;
  output?: string;
  folder?: string;
  maxMegabytes?: string | number;
}

/** The input: any message; these properties are read when present. */
interface MediaInputMessage extends NodeMessageInFlow {
  /** Overrides the node's operation: `video`, `thumbnail` or `snapshot`. */
  operation?: unknown;
  /** With "Output: file": the file name to write, inside the node's folder. */
  filename?: unknown;
}

/** The output: the input message with these properties set. */
interface MediaOutputMessage extends MediaInputMessage {
  payload: Buffer | MediaFile;
  media: MediaInfo;
  camera: CameraRef;
}

/** Status updates during a transfer: at most one a second. */
const PROGRESS_INTERVAL_MS = 1000;

export default function (RED: NodeAPI): void {
  function PfcamMediaNode(this: Node, def: MediaNodeDef): void {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  function start(node: Node, def: MediaNodeDef): void {
    const setup = setupCameraUser<MediaNodeOptions>(RED, node, def.camera, () =>
      mediaNodeOptions(def as unknown as Record<string, unknown>),
    );
    const { status, options, camera, setupError, abort } = setup;

    const onProgress = (throttle: Throttle) => (progress: DownloadProgress) => {
      if (!throttle.ready()) return;
      const figures = progressFigures(progress.receivedBytes, progress.totalBytes);
      const text =
        figures.percent !== undefined
          ? commonText(RED, 'status.progress', {
              percent: figures.percent,
              received: figures.receivedMb,
              total: figures.totalMb ?? '',
            })
          : commonText(RED, 'status.progressBytes', { received: figures.receivedMb });
      status.text('blue', 'dot', text);
    };

    handleInput<MediaInputMessage>(node, status, async (msg, send) => {
      if (setupError || !options || !camera) throw setupError ?? noCameraError();
      const opts = options;
      const { operation } = operationFor<MediaOperation>(msg.operation, opts.operation, MEDIA_OPERATIONS);
      const evaluate: RawEvaluator = (value, type, callback) =>
        RED.util.evaluateNodeProperty(value, type, node, msg, callback);
      const recording: MediaRecording | undefined =
        operation === 'snapshot'
          ? undefined
          : readMediaRecording(await evaluateProperty(evaluate, opts.fileName, 'Recording'));
      const target =
        opts.output === 'file'
          ? msg.filename !== undefined
            ? resolveInsideFolder(opts.folder, msg.filename)
            : path.join(
                opts.folder,
                defaultMediaName(operation, recording, {
                  serialNumber: camera.serialNumber,
                  stream: opts.stream,
                  at: new Date(),
                }),
              )
          : undefined;

      const signal = abort.signal;
      const throttle = new Throttle(PROGRESS_INTERVAL_MS);
      const what =
        operation === 'snapshot'
          ? `take a snapshot of the stream '${opts.stream}'`
          : `fetch the ${operation} of the recording '${recording?.fileName ?? ''}'`;
      const notFound =
        operation === 'snapshot'
          ? `the stream '${opts.stream}' has no snapshot (404): choose another stream`
          : operation === 'thumbnail'
            ? `it has no thumbnail for the recording '${recording?.fileName ?? ''}' (404): check the file name (list the recordings with a pfcam-events node); a camera without thumbnails answers the same`
            : `it has no recording '${recording?.fileName ?? ''}' (404): check the file name (list the recordings with a pfcam-events node)`;
      status.busy('status.fetching');

      let data: Buffer | undefined;
      let writtenPath: string | undefined;
      let result: DownloadResult;
      if (target !== undefined) {
        assertReachable(camera); // before creating any folder
        const finalPath = await prepareTarget(opts.folder, target);
        writtenPath = finalPath;
        if (operation === 'snapshot') {
          const snap = await runCameraCall(camera, { action: what, notFound }, () =>
            camera.client.getSnapshot(opts.stream, { signal, maxBytes: opts.maxBytes }),
          );
          await writeFileAtomic(finalPath, snap.data);
          result = { ...snap, path: finalPath };
        } else {
          const media = recording as MediaRecording;
          result = await runCameraCall(camera, { action: what, notFound }, () =>
            camera.client.downloadToFile(operation, media, finalPath, {
              signal,
              onProgress: onProgress(throttle),
            }),
          );
        }
      } else {
        const fetched = await runCameraCall(camera, { action: what, notFound }, () =>
          operation === 'snapshot'
            ? camera.client.getSnapshot(opts.stream, { signal, maxBytes: opts.maxBytes })
            : camera.client.downloadToBuffer(operation, recording as MediaRecording, {
                signal,
                maxBytes: opts.maxBytes,
                onProgress: onProgress(throttle),
              }),
        );
        data = fetched.data;
        result = fetched;
      }

      const media: MediaInfo = {
        operation,
        fileName: recording?.fileName ?? null,
        stream: operation === 'snapshot' ? opts.stream : null,
        bytes: result.bytes,
        sha256: result.sha256,
        contentType: result.contentType ?? null,
      };
      const out = msg as MediaOutputMessage;
      if (writtenPath === undefined) {
        out.payload = data ?? Buffer.alloc(0);
        status.ok('status.fetched', { size: progressFigures(result.bytes, undefined).receivedMb });
      } else {
        const filePath = result.path ?? writtenPath;
        out.payload = { ...media, path: filePath, resumes: result.resumes };
        status.ok('status.saved', { name: path.basename(filePath) });
      }
      out.media = media;
      out.camera = cameraRef(camera);
      send(out);
    });

    handleClose(node, () => {
      setup.dispose();
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-media', PfcamMediaNode);
}
