/**
 * Options of an S3 (or S3-compatible) target: parsed once from a node's configuration by a pure function, and
 * turned into the S3Client configuration and the per-object encryption parameters.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { InputError } from '../errors';
import { configOption, readBoolean, readEnum, readString } from '../config/option-reader';

/** Server-side encryption of the objects: none, SSE-S3 (`AES256`) or SSE-KMS (`aws:kms`, optional key id). */
export type SseMode = 'none' | 'AES256' | 'aws:kms';

export interface S3Options {
  /** Endpoint URL of an S3-compatible server; undefined for AWS. */
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix of this site, without leading or trailing `/` ('' for none). */
  readonly prefix: string;
  /** Path-style URLs (`host/bucket/key`), needed by most S3-compatible servers. */
  readonly forcePathStyle: boolean;
  readonly sse: SseMode;
  /** KMS key id or ARN when `sse` is `aws:kms` (undefined: the bucket's default key). */
  readonly kmsKeyId: string | undefined;
}

/** The node's `password` credentials. Both empty: the SDK's default credential chain (environment, role). */
export interface S3Credentials {
  accessKeyId?: unknown;
  secretAccessKey?: unknown;
}

/** The raw editor configuration of a `pfcam-s3` node. */
export interface RawS3Config {
  endpoint?: unknown;
  region?: unknown;
  bucket?: unknown;
  prefix?: unknown;
  forcePathStyle?: unknown;
  sse?: unknown;
  kmsKeyId?: unknown;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;
const REGION = /^[a-z0-9-]{1,40}$/;

/** Text option `name` of a raw configuration or credentials object (trimmed, '' when not set). */
function text(raw: object | undefined, name: string): string {
  return readString(configOption(raw ?? {}, name));
}

/** Validates a key prefix: `/`-separated segments of letters, digits, `.`, `_`, `-` (no `.` or `..`). */
export function normalisePrefix(value: string): string {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  for (const segment of trimmed.split('/')) {
    if (!PREFIX_SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new InputError(
        `invalid S3 prefix "${value}": use segments of letters, digits, ".", "_" and "-"`,
        {
          key: 'errors.s3Prefix',
        },
      );
    }
  }
  return trimmed;
}

/** Turns a `pfcam-s3` configuration into validated options (defaults: region us-east-1, no SSE). */
export function parseS3Options(raw: RawS3Config): S3Options {
  const endpointText = text(raw, 'endpoint');
  let endpoint: string | undefined;
  if (endpointText !== '') {
    let url: URL;
    try {
      url = new URL(endpointText);
    } catch {
      throw new InputError(`invalid S3 endpoint "${endpointText}": expected an http(s) URL`, {
        key: 'errors.s3Endpoint',
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InputError(`invalid S3 endpoint "${endpointText}": expected an http(s) URL`, {
        key: 'errors.s3Endpoint',
      });
    }
    if (url.username !== '' || url.password !== '') {
      throw new InputError('the S3 endpoint must not carry credentials: use the access key fields', {
        key: 'errors.s3Endpoint',
      });
    }
    endpoint = endpointText.replace(/\/+$/, '');
  }
  const region = text(raw, 'region') || 'us-east-1';
  if (!REGION.test(region)) {
    throw new InputError(`invalid S3 region "${region}"`, { key: 'errors.s3Region' });
  }
  const bucket = text(raw, 'bucket');
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new InputError(`invalid S3 bucket name "${bucket}"`, { key: 'errors.s3Bucket' });
  }
  const prefix = normalisePrefix(text(raw, 'prefix'));
  const sseText = readEnum(
    configOption(raw, 'sse', { key: 'errors.s3Sse' }),
    ['none', 'AES256', 'aws:kms'] as const,
    'none',
  );
  const kmsKeyText = text(raw, 'kmsKeyId');
  return {
    endpoint,
    region,
    bucket,
    prefix,
    forcePathStyle: readBoolean(configOption(raw, 'forcePathStyle'), false),
    sse: sseText,
    kmsKeyId: sseText === 'aws:kms' && kmsKeyText !== '' ? kmsKeyText : undefined,
  };
}

/** Checks the credentials: both given, or both empty (the SDK's default chain). */
export function parseS3Credentials(
  credentials: S3Credentials | undefined,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  const id = text(credentials, 'accessKeyId');
  const secret = text(credentials, 'secretAccessKey');
  if (id === '' && secret === '') return undefined;
  if (id === '' || secret === '') {
    throw new InputError('give both the S3 access key id and the secret access key, or neither', {
      key: 'errors.s3Credentials',
    });
  }
  return { accessKeyId: id, secretAccessKey: secret };
}

/** The S3Client configuration for these options. */
export function s3ClientConfig(options: S3Options, credentials: S3Credentials | undefined): S3ClientConfig {
  const keys = parseS3Credentials(credentials);
  return {
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(keys === undefined ? {} : { credentials: keys }),
    // the SDK's own retries stay short: the backup's outbox retries with its own, persistent backoff
    maxAttempts: 2,
    // a dead connection fails the attempt instead of holding an upload slot forever
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000, throwOnRequestTimeout: true },
  };
}

/** Encryption parameters for PutObject / CreateMultipartUpload. */
export function sseParams(options: Pick<S3Options, 'sse' | 'kmsKeyId'>): {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
} {
  if (options.sse === 'none') return {};
  if (options.sse === 'AES256') return { ServerSideEncryption: 'AES256' };
  return options.kmsKeyId === undefined
    ? { ServerSideEncryption: 'aws:kms' }
    : { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: options.kmsKeyId };
}
