/**
 * The PFCAM camera simulator: real HTTP(S) servers implementing camera-api.md, with state, media, an SSE
 * feed, restarts and fault injection, for tests (in-process), the CLI (`npm run simulator`) and `npm start`.
 * This module has no side effects: nothing listens until `startCamera` / `startCameras` is called.
 */
import { Camera, serialFromSeed, type SimulatedCamera, type SimulatedCameraOptions } from './camera';

export type {
  CameraControl,
  RouteKey,
  SimulatedCamera,
  SimulatedCameraOptions,
  SimulatedRequest,
} from './camera';
export { ROUTE_KEYS, serialFromSeed } from './camera';
export type { FaultConfig } from './faults';
export { NO_FAULTS } from './faults';
export { selfSignedTls } from './media';

/** Starts one simulated camera; resolves once it listens. */
export async function startCamera(options: SimulatedCameraOptions = {}): Promise<SimulatedCamera> {
  const camera = new Camera(options);
  try {
    await camera.start();
  } catch (error) {
    await camera.stop();
    throw error;
  }
  return camera;
}

/**
 * Starts `count` cameras with distinct seeds (seed + i) and serial numbers, on ports basePort + i when
 * `basePort` is set (and not 0), else on `port` (default: free ports). A camera that fails to start stops the ones already started.
 */
export async function startCameras(
  count: number,
  options: SimulatedCameraOptions & { basePort?: number } = {},
): Promise<SimulatedCamera[]> {
  const { basePort, ...common } = options;
  const baseSeed = (common.seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  const cameras: SimulatedCamera[] = [];
  const serials = new Set<string>();
  try {
    for (let i = 0; i < count; i++) {
      let seed = (baseSeed + i) >>> 0;
      // Distinct serials even when two seeds happen to give the same one.
      const serialOf = (s: number): string =>
        common.serialNumber === undefined
          ? serialFromSeed(s)
          : i === 0
            ? common.serialNumber
            : `${common.serialNumber}-${i + 1}`;
      while (serials.has(serialOf(seed))) seed = (seed + 0x9e3779b1) >>> 0;
      const camera = await startCamera({
        ...common,
        seed,
        serialNumber: serialOf(seed),
        name: common.name === undefined ? undefined : count > 1 ? `${common.name} ${i + 1}` : common.name,
        port: basePort === undefined || basePort === 0 ? common.port : basePort + i,
      });
      serials.add(camera.serialNumber);
      cameras.push(camera);
    }
  } catch (error) {
    await Promise.all(cameras.map((camera) => camera.stop()));
    throw error;
  }
  return cameras;
}
export {
  readJpegStamp,
  rtspAvailable,
  stampJpeg,
  startRtspStream,
  type RtspStream,
  type RtspStreamOptions,
} from './live-stream';
