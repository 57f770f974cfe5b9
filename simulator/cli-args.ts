/**
 * The simulator's command line (`npm run simulator -- --cameras 3 --latency-ms 200`), parsed into the
 * options of `startCameras`. Pure: no I/O, so that it can be tested and reused.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SimulatedCameraOptions } from './camera';
import { FAULT_KEYS, validateFaults, type FaultConfig } from './faults';
import { selfSignedTls } from './media';

export interface CliOptions {
  cameras: number;
  camera: SimulatedCameraOptions & { basePort: number };
  /** Restart every camera this often (ms); 0 = never. */
  restartEveryMs: number;
  help: boolean;
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The fault flags, derived from FaultConfig's keys (latencyMs -> --latency-ms), plus short aliases. */
const FAULT_FLAGS = new Map<string, keyof FaultConfig>([
  ...FAULT_KEYS.map((key) => [kebab(key), key] as [string, keyof FaultConfig]),
  ['hostile', 'hostileRecordings'],
  ['event-storm', 'eventStormPerSecond'],
  ['bandwidth', 'bandwidthBytesPerSec'],
]);

export const USAGE = `Usage: npm run simulator -- [options]

Starts simulated PFCAM cameras (one HTTP server per camera on 127.0.0.1) and prints their URL and serial.

Cameras:
  --cameras N               number of cameras (default 1)
  --base-port P             first port; camera i listens on P+i (default 8081; 0 = any free port)
  --host H                  address to listen on (default 127.0.0.1)
  --seed S                  seed for serials, random triggers and faults (default random)
  --name NAME               camera name (numbered when several)
  --timezone ZONE           IANA time zone (default Europe/Zurich)
  --trigger-interval MS     mean interval of random hardware triggers (default 0 = off)
  --post-event-seconds S    default post-event time of triggers
  --restart-ms MS           how long a restart keeps the camera down (default 3000)
  --restart-every-ms MS     restart every camera this often (default 0 = never)
  --recordings N            recordings present at start
  --huge-list N             pre-create N synthetic recordings (a huge event list)
  --video-bytes N           size of synthetic videos (default: the real MP4 fixture)
  --storage-bytes N         storage capacity (oldest recordings are recycled when full)
  --sse-ping-ms MS          interval of SSE ping comments (default 15000)
  --no-sse                  no SSE feed (404)
  --unsupported KEYS        comma-separated route keys answering 404:
                            storage,firmware,datetime,timezones,exposure,focus,overlay,sse,active,streams
  --auth basic|digest       require credentials (with --username and --password)
  --username U, --password P
  --tls                     serve https with the bundled self-signed certificate for 127.0.0.1 / localhost
  --tls-key FILE, --tls-cert FILE   serve https with this key and certificate

Faults (all switchable later over HTTP: PUT /_sim/faults on each camera's port):
  --latency-ms MS                   added before each response
  --bandwidth-bytes-per-sec N       cap on response bodies (alias --bandwidth)
  --error-rate R                    0..1: answer 500/503
  --reset-rate R                    0..1: reset the connection
  --truncate-rate R                 0..1: cut response bodies short
  --stall-rate R                    0..1: never answer
  --media-json-error-rate R         0..1: media answers 200 with a JSON error
  --malformed-json-rate R           0..1: JSON answers are broken
  --sse-drop-after-ms MS            drop SSE connections after this long
  --clock-skew-seconds S            skew of the camera's clock (negative: --clock-skew-seconds=-30)
  --hostile-recordings              new recordings get hostile names and values (alias --hostile)
  --event-storm-per-second N        create N recordings per second (alias --event-storm)

  -h, --help                        this text
`;

function number(flag: string, text: string | undefined, min = 0, integer = true): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`--${flag} must be ${integer ? 'an integer' : 'a number'} >= ${min}, not "${text}"`);
  }
  return value;
}

/** Parses the command line; throws an Error with a message for the user on a bad flag or value. */
export function parseCliArgs(argv: string[]): CliOptions {
  const faultOptions = Object.fromEntries(
    [...FAULT_FLAGS].map(([flag, key]) => [
      flag,
      { type: key === 'hostileRecordings' ? 'boolean' : 'string' },
    ]),
  ) as Record<string, { type: 'boolean' | 'string' }>;
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      cameras: { type: 'string' },
      'base-port': { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      name: { type: 'string' },
      timezone: { type: 'string' },
      'trigger-interval': { type: 'string' },
      'post-event-seconds': { type: 'string' },
      'restart-ms': { type: 'string' },
      'restart-every-ms': { type: 'string' },
      recordings: { type: 'string' },
      'huge-list': { type: 'string' },
      'video-bytes': { type: 'string' },
      'storage-bytes': { type: 'string' },
      'sse-ping-ms': { type: 'string' },
      'no-sse': { type: 'boolean' },
      unsupported: { type: 'string' },
      auth: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      tls: { type: 'boolean' },
      'tls-key': { type: 'string' },
      'tls-cert': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...faultOptions,
    },
  });
  const text = (flag: string): string | undefined => {
    const value = (values as Record<string, string | boolean | undefined>)[flag];
    return typeof value === 'string' ? value : undefined;
  };

  const faults: Record<string, number | boolean> = {};
  for (const [flag, key] of FAULT_FLAGS) {
    const value = (values as Record<string, string | boolean | undefined>)[flag];
    if (value === undefined) continue;
    if (key === 'hostileRecordings') faults[key] = value === true;
    else faults[key] = number(flag, text(flag), key === 'clockSkewSeconds' ? -Infinity : 0, false)!;
  }
  try {
    validateFaults(faults);
  } catch (error) {
    throw new Error((error as Error).message);
  }

  const camera: CliOptions['camera'] = {
    basePort: number('base-port', text('base-port')) ?? 8081,
    faults,
  };
  const target: SimulatedCameraOptions = camera;
  const set = <K extends keyof SimulatedCameraOptions>(
    key: K,
    value: SimulatedCameraOptions[K] | undefined,
  ): void => {
    if (value !== undefined) target[key] = value;
  };
  set('host', text('host'));
  set('seed', number('seed', text('seed')));
  set('name', text('name'));
  set('timezone', text('timezone'));
  set('triggerIntervalMs', number('trigger-interval', text('trigger-interval')));
  set('postEventSeconds', number('post-event-seconds', text('post-event-seconds'), 0, false));
  set('restartMs', number('restart-ms', text('restart-ms')));
  set('recordings', number('recordings', text('recordings')));
  set('hugeList', number('huge-list', text('huge-list')));
  set('videoBytes', number('video-bytes', text('video-bytes')));
  set('storageBytes', number('storage-bytes', text('storage-bytes')));
  set('ssePingMs', number('sse-ping-ms', text('sse-ping-ms'), 1));
  if (values['no-sse']) camera.sse = false;
  const unsupported = text('unsupported');
  if (unsupported !== undefined)
    camera.unsupported = unsupported
      .split(',')
      .map((key) => key.trim())
      .filter(Boolean);

  const scheme = text('auth');
  if (scheme !== undefined) {
    if (scheme !== 'basic' && scheme !== 'digest') throw new Error('--auth must be basic or digest');
    const username = text('username');
    const password = text('password');
    if (username === undefined || password === undefined)
      throw new Error('--auth needs --username and --password');
    camera.auth = { scheme, username, password };
  }
  const keyFile = text('tls-key');
  const certFile = text('tls-cert');
  if ((keyFile === undefined) !== (certFile === undefined))
    throw new Error('--tls-key and --tls-cert go together');
  if (keyFile !== undefined && certFile !== undefined) {
    camera.tls = { key: readFileSync(keyFile), cert: readFileSync(certFile) };
  } else if (values.tls) {
    camera.tls = selfSignedTls();
  }

  return {
    cameras: number('cameras', text('cameras'), 1) ?? 1,
    camera,
    restartEveryMs: number('restart-every-ms', text('restart-every-ms')) ?? 0,
    help: values.help === true,
  };
}
