/**
 * `npm run simulator -- --cameras 3`: starts simulated cameras, prints their URL and serial, and stops them
 * cleanly on SIGINT / SIGTERM. Flags: see `--help` (cli-args.ts).
 */
import { parseCliArgs, USAGE } from './cli-args';
import { startCameras, type SimulatedCamera } from './index';

async function main(): Promise<void> {
  let options;
  try {
    options = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }

  const cameras: SimulatedCamera[] = await startCameras(options.cameras, options.camera);
  const timers: NodeJS.Timeout[] = [];
  for (const [i, camera] of cameras.entries()) {
    process.stdout.write(`camera ${i + 1}: ${camera.url}  serial ${camera.serialNumber}\n`);
    camera.control.on('restart', ({ ms }) =>
      process.stdout.write(`camera ${i + 1}: restarting (${ms} ms)\n`),
    );
    if (options.restartEveryMs > 0) {
      timers.push(setInterval(() => void camera.control.restart(), options.restartEveryMs));
    }
  }
  const faults = Object.entries(cameras[0]?.control.faults ?? {}).filter(
    ([, value]) => value !== 0 && value !== false,
  );
  if (faults.length > 0) {
    process.stdout.write(`faults: ${faults.map(([key, value]) => `${key}=${String(value)}`).join(' ')}\n`);
  }
  process.stdout.write(
    'control: GET/PUT/DELETE <camera>/_sim/... (state, faults, recordings, restart, offline, online)\n',
  );
  process.stdout.write('ready (Ctrl-C stops)\n');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    for (const timer of timers) clearInterval(timer);
    process.stdout.write(`${signal}: stopping\n`);
    Promise.all(cameras.map((camera) => camera.stop())).then(
      () => process.stdout.write('stopped\n'),
      (error: unknown) => {
        process.stderr.write(`stop failed: ${String(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
