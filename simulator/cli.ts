/**
 * `npm run simulator -- --cameras 3`: starts simulated cameras, prints their URL and serial, and stops them
 * cleanly on SIGINT / SIGTERM. Flags: see `--help` (cli-args.ts).
 */
import { parseCliArgs, USAGE, type CliOptions } from './cli-args';
import { startCameras, type SimulatedCamera } from './index';

const out = (text: string): boolean => process.stdout.write(`${text}\n`);

async function run(options: CliOptions): Promise<void> {
  let cameras: SimulatedCamera[] = [];
  const timers: NodeJS.Timeout[] = [];
  let starting: Promise<unknown> = Promise.resolve();
  let stopping = false;
  // Signal handlers first, so that a signal during start-up also stops cleanly.
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130); // a second signal: stop waiting
    stopping = true;
    out(`${signal}: stopping`);
    for (const timer of timers) clearInterval(timer);
    starting
      .catch(() => undefined)
      .then(() => Promise.all(cameras.map((camera) => camera.stop())))
      .then(
        () => out('stopped'),
        (error: unknown) => {
          process.stderr.write(`stop failed: ${String(error)}\n`);
          process.exitCode = 1;
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  starting = startCameras(options.cameras, options.camera);
  cameras = (await starting) as SimulatedCamera[];
  if (stopping) return;
  for (const [i, camera] of cameras.entries()) {
    out(`camera ${i + 1}: ${camera.url}  serial ${camera.serialNumber}`);
    camera.control.on('restart', ({ ms }) => out(`camera ${i + 1}: restarting (${ms} ms)`));
    if (options.restartEveryMs > 0) {
      timers.push(setInterval(() => void camera.control.restart(), options.restartEveryMs));
    }
  }
  const faults = Object.entries(cameras[0]?.control.faults ?? {}).filter(
    ([, value]) => value !== 0 && value !== false,
  );
  if (faults.length > 0) out(`faults: ${faults.map(([key, value]) => `${key}=${String(value)}`).join(' ')}`);
  out('control: GET/PUT/DELETE <camera>/_sim/... (state, faults, recordings, restart, offline, online)');
  out('ready (Ctrl-C stops)');
}

function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return Promise.resolve();
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return Promise.resolve();
  }
  return run(options);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
