/**
 * HTTPS of the shipped application: Node-RED serves editor, dashboard and APIs over TLS when `PFCAM_TLS_CERT` and
 * `PFCAM_TLS_KEY` name PEM files (optional `PFCAM_TLS_CA`: the intermediate chain). The settings it gives are
 * Node-RED's `https` as a function, which re-reads the files, and `httpsRefreshInterval` (hours, default 12,
 * `PFCAM_TLS_REFRESH_HOURS`), so a renewed certificate is served without a restart. A start with only one of the
 * two files, a file that cannot be read, or a key that does not belong to the certificate is refused with a
 * message that says which.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureContext } from 'node:tls';
import { InputError, errorText } from '../errors';

/** One year, the usual HSTS lifetime; no includeSubDomains: other hosts of a site's domain are not ours. */
export const HSTS = 'max-age=31536000';
export const DEFAULT_REFRESH_HOURS = 12;

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** The certificate files named by the environment; undefined when HTTPS is off (neither is set). */
export function tlsFilesFromEnv(env: NodeJS.ProcessEnv = process.env): TlsFiles | undefined {
  const cert = env['PFCAM_TLS_CERT'] || undefined;
  const key = env['PFCAM_TLS_KEY'] || undefined;
  const ca = env['PFCAM_TLS_CA'] || undefined;
  if (!cert && !key) {
    if (ca) throw new InputError('PFCAM_TLS_CA is set without PFCAM_TLS_CERT and PFCAM_TLS_KEY');
    return undefined;
  }
  if (!cert || !key)
    throw new InputError(
      `${cert ? 'PFCAM_TLS_CERT' : 'PFCAM_TLS_KEY'} is set but ${cert ? 'PFCAM_TLS_KEY' : 'PFCAM_TLS_CERT'} ` +
        'is not: give both the certificate and its private key (PEM files), or neither',
    );
  return { cert, key, ...(ca ? { ca } : {}) };
}

function readPem(variable: string, file: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new InputError(`${variable}: cannot read ${file}: ${errorText(err)}`);
  }
  if (!data.includes('-----BEGIN ')) throw new InputError(`${variable}: ${file} is not a PEM file`);
  return data;
}

/**
 * Reads the files and checks that they make a TLS context (the key matches the certificate). Throws an
 * InputError naming the variable and the file at fault.
 */
export function readTls(files: TlsFiles): TlsMaterial {
  const material: TlsMaterial = {
    cert: readPem('PFCAM_TLS_CERT', files.cert),
    key: readPem('PFCAM_TLS_KEY', files.key),
    ...(files.ca ? { ca: readPem('PFCAM_TLS_CA', files.ca) } : {}),
  };
  try {
    createSecureContext(material);
  } catch (err) {
    throw new InputError(
      `PFCAM_TLS_CERT/PFCAM_TLS_KEY: ${files.cert} and ${files.key} do not make a TLS certificate: ${errorText(err)}`,
    );
  }
  return material;
}

function refreshHours(env: NodeJS.ProcessEnv): number {
  const text = env['PFCAM_TLS_REFRESH_HOURS'];
  if (text === undefined || text === '') return DEFAULT_REFRESH_HOURS;
  const hours = Number(text);
  // Node-RED caps the interval at 596 hours (what setInterval can wait)
  if (!Number.isFinite(hours) || hours <= 0 || hours > 596)
    throw new InputError(`PFCAM_TLS_REFRESH_HOURS: "${text}" is not a number of hours between 0 and 596`);
  return hours;
}

export interface TlsSettings {
  /** Node-RED's `https`: reads the files on each call (at the start, then every refresh interval). */
  https: () => TlsMaterial;
  /** Node-RED's `httpsRefreshInterval`, in hours. */
  httpsRefreshInterval: number;
  /** Adds Strict-Transport-Security to a response, then goes on. */
  hsts: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
}

/**
 * The HTTPS settings of the environment, or undefined when no certificate is given. Throws (the start is
 * refused) on half a configuration, an unreadable file or a key that does not match; reads the files once here
 * for that check.
 */
export function tlsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TlsSettings | undefined {
  const files = tlsFilesFromEnv(env);
  if (!files) return undefined;
  const interval = refreshHours(env);
  readTls(files);
  return {
    https: () => readTls(files),
    httpsRefreshInterval: interval,
    hsts(_req, res, next) {
      res.setHeader('Strict-Transport-Security', HSTS);
      next();
    },
  };
}
