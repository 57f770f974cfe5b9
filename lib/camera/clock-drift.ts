/**
 * Clock drift: how far a camera's clock is from this machine's. Cameras stamp recordings with their own clock,
 * so a drifting camera files events at the wrong time; plants whose cameras drift point them at an NTP server.
 *
 * The camera's time comes from `GET /api/system/datetime` ([A]) or, on a camera without it, from
 * `GET /api/system` ([C]). A time without an offset is wall-clock time in the camera's zone. The request's round
 * trip is halved to place the reading (the camera answers somewhere in between).
 */
import type { CallOptions, CameraApi } from './camera-api';
import { BadResponseError, UnsupportedError } from './errors';
import { checkField, SETTINGS_SCHEMA } from './settings-schema';
import {
  writeSettings,
  type SettingsWriteResult,
  type WritableCamera,
  type WriteSettingsOptions,
} from './settings-writer';
import { isValidTimeZone, toUtcIso } from '../time/zoned-time';
import { InputError } from '../errors';

/** Default tolerance, seconds: a few seconds of drift are harmless for event time stamps. */
export const DEFAULT_DRIFT_THRESHOLD_SECONDS = 5;

/** One drift measurement. */
export interface ClockDriftReport {
  /** Camera clock minus this machine's clock, seconds (positive: the camera is ahead), to 0.1 s. */
  driftSeconds: number;
  /** `|driftSeconds| <= thresholdSeconds`. */
  ok: boolean;
  thresholdSeconds: number;
  /** The camera's clock, as UTC ISO-8601. */
  cameraTime: string;
  /** This machine's clock at the same moment, UTC ISO-8601. */
  localTime: string;
  /** The camera's IANA time zone. */
  timezone: string;
  /** The camera's NTP server; null when the camera does not report it (no datetime resource). */
  ntpServer: string | null;
  /** Whether the camera says its clock is NTP-synchronised; null when it does not report it. */
  ntpSynced: boolean | null;
  /** Round trip of the request (ms): the measurement's uncertainty is about half of it. */
  roundTripMs: number;
  /** Which resource gave the camera's time. */
  source: 'datetime' | 'system';
}

export interface DriftOptions extends CallOptions {
  thresholdSeconds?: number;
  /** Time source (tests), ms since the epoch. */
  now?: () => number;
}

/** Reads the camera's clock and compares it with this machine's. */
export async function measureClockDrift(
  client: Pick<CameraApi, 'getDateTime' | 'getSystemInfo'>,
  options: DriftOptions = {},
): Promise<ClockDriftReport> {
  const now = options.now ?? Date.now;
  const call: CallOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  let reading: { systemTime: string; timezone: string; ntpServer: string | null; ntpSynced: boolean | null };
  let source: ClockDriftReport['source'] = 'datetime';
  let started = now();
  let ended: number;
  try {
    const dt = await client.getDateTime(call);
    ended = now();
    reading = dt;
  } catch (err) {
    if (!(err instanceof UnsupportedError)) throw err;
    source = 'system';
    started = now();
    const info = await client.getSystemInfo(call);
    ended = now();
    reading = { systemTime: info.systemTime, timezone: info.timezone, ntpServer: null, ntpSynced: null };
  }
  return driftReport(
    reading,
    started,
    ended,
    source,
    options.thresholdSeconds ?? DEFAULT_DRIFT_THRESHOLD_SECONDS,
  );
}

/**
 * The report for one reading taken between `started` and `ended` (ms since the epoch). Pure (unit-tested).
 * A camera time given to the whole second is taken as the middle of that second.
 */
export function driftReport(
  reading: { systemTime: string; timezone: string; ntpServer: string | null; ntpSynced: boolean | null },
  started: number,
  ended: number,
  source: ClockDriftReport['source'],
  thresholdSeconds: number,
): ClockDriftReport {
  const cameraMs = cameraClockMs(reading.systemTime, reading.timezone);
  const localMs = started + (ended - started) / 2;
  const driftSeconds = Math.round((cameraMs - localMs) / 100) / 10;
  return {
    driftSeconds,
    ok: Math.abs(driftSeconds) <= thresholdSeconds,
    thresholdSeconds,
    cameraTime: new Date(Math.round(cameraMs)).toISOString(),
    localTime: new Date(Math.round(localMs)).toISOString(),
    timezone: reading.timezone,
    ntpServer: reading.ntpServer,
    ntpSynced: reading.ntpSynced,
    roundTripMs: Math.max(0, ended - started),
    source,
  };
}

/** The camera's `systemTime` as ms since the epoch (its zone applies when it has no offset). */
export function cameraClockMs(systemTime: string, timezone: string): number {
  let iso: string;
  try {
    if (typeof systemTime !== 'string' || !plausibleDateTime(systemTime))
      throw new RangeError('not a date-time');
    // A local time read in an unknown zone would be a guess: the drift it gives is not a measurement.
    if (!/(?:Z|[+-]\d{2}:?\d{2})$/i.test(systemTime.trim()) && !isValidTimeZone(timezone))
      throw new RangeError(`unknown time zone ${String(timezone)}`);
    iso = toUtcIso(systemTime, timezone);
  } catch (err) {
    throw new BadResponseError(
      `the camera's time ${JSON.stringify(String(systemTime).slice(0, 40))} (zone ${JSON.stringify(
        String(timezone).slice(0, 40),
      )}) is not a readable date-time`,
      { cause: err },
    );
  }
  const wholeSecond = !/[.,]\d/.test(systemTime);
  return Date.parse(iso) + (wholeSecond ? 500 : 0);
}

/** Month, day, hour, minute and second within their ranges (Date arithmetic would roll `13-45` over). */
function plausibleDateTime(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(text.trim());
  if (!m) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60;
}

/** Checks an NTP server name (host name or IPv4; required). */
export function checkNtpServer(server: unknown, source = 'the NTP server'): string {
  if (typeof server !== 'string' || server.trim() === '') {
    throw new InputError(`${source} is missing: give a host name or IPv4 address, e.g. pool.ntp.org`, {
      key: 'errors.ntpServer',
    });
  }
  const problem = checkField(SETTINGS_SCHEMA.network_ntp, server.trim());
  if (problem !== undefined) throw new InputError(`${source} ${problem}`, { key: 'errors.ntpServer' });
  return server.trim();
}

/** The result of a clock fix. */
export interface ClockFixResult {
  ntpServer: string;
  /** The settings write (`changed` is empty when the camera already used that server). */
  write: SettingsWriteResult;
  /** The drift measured after the camera came back. */
  drift: ClockDriftReport;
}

/**
 * Points the camera's NTP at `server` through the settings writer (the camera restarts), then measures the
 * drift again. The camera needs its own time to sync: a drift still reported right after the restart may
 * shrink within minutes.
 */
export async function fixClock(
  camera: WritableCamera & { readonly client: Pick<CameraApi, 'getDateTime' | 'getSystemInfo'> },
  server: string,
  options: WriteSettingsOptions & { thresholdSeconds?: number; now?: () => number } = {},
): Promise<ClockFixResult> {
  const ntpServer = checkNtpServer(server);
  const write = await writeSettings(
    camera,
    { network_ntp: ntpServer },
    {
      restartTimeoutMs: options.restartTimeoutMs,
      signal: options.signal,
      now: options.now,
    },
  );
  const drift = await measureClockDrift(camera.client, {
    signal: options.signal,
    thresholdSeconds: options.thresholdSeconds,
    now: options.now,
  });
  return { ntpServer, write, drift };
}
