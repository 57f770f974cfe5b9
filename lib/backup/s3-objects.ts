/**
 * The S3 operations of the archive over one bucket: streamed (multipart) upload of a file with its SHA-256 as
 * object metadata, HEAD, small JSON documents, paginated listing and streamed download.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { sseParams, type S3Options } from './s3-options';

/** The user metadata key holding the object's SHA-256 (sent as `x-amz-meta-sha256`). */
export const SHA256_METADATA = 'sha256';
/** Smallest multipart part S3 accepts. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's limit of parts per upload. */
const MAX_PARTS = 10_000;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.mp4': 'video/mp4',
  '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo',
  '.mov': 'video/quicktime',
  '.ts': 'video/mp2t',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** The content type for a file extension (`application/octet-stream` when unknown). */
export function contentTypeFor(ext: string): string {
  return CONTENT_TYPES[ext.toLowerCase()] ?? 'application/octet-stream';
}

/** What a HEAD of an object returned. */
export interface ObjectHead {
  size: number;
  sha256: string | undefined;
  etag: string | undefined;
}

export interface UploadResult {
  etag: string | undefined;
  /** Bytes read from the file and sent. */
  bytes: number;
  /** SHA-256 of the bytes sent. */
  sha256: string;
}

/** Whether an SDK error means "no such object / key". */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** Counts and hashes the bytes that pass through. */
class HashTap extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** SHA-256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export class S3Objects {
  private readonly encryption: ReturnType<typeof sseParams>;

  constructor(
    readonly client: S3Client,
    readonly options: Pick<S3Options, 'bucket' | 'prefix' | 'sse' | 'kmsKeyId'>,
    /** Parts in flight per multipart upload (memory: parts x part size). */
    private readonly queueSize = 2,
  ) {
    this.encryption = sseParams(options);
  }

  get bucket(): string {
    return this.options.bucket;
  }

  /** HEAD of a key; undefined when the object does not exist. */
  async head(key: string, signal?: AbortSignal): Promise<ObjectHead | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
      return { size: out.ContentLength ?? -1, sha256: out.Metadata?.[SHA256_METADATA], etag: out.ETag };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Streams a file to `key` (multipart from 5 MiB, parts of at least 5 MiB, never the whole file in memory),
   * with `x-amz-meta-sha256` = `sha256` and the configured encryption. Returns what was really sent, so the
   * caller can check it against `sha256`.
   */
  async uploadFile(
    key: string,
    path: string,
    meta: { size: number; sha256: string; contentType: string },
    signal?: AbortSignal,
  ): Promise<UploadResult> {
    const file = createReadStream(path);
    const tap = new HashTap();
    file.on('error', (err) => tap.destroy(err));
    file.pipe(tap);
    const abortController = new AbortController();
    const onAbort = (): void => abortController.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const upload = new Upload({
        client: this.client,
        queueSize: this.queueSize,
        partSize: Math.max(MIN_PART_SIZE, Math.ceil(meta.size / MAX_PARTS)),
        leavePartsOnError: false,
        abortController,
        params: {
          Bucket: this.bucket,
          Key: key,
          Body: tap,
          ContentType: meta.contentType,
          Metadata: { [SHA256_METADATA]: meta.sha256 },
          ...this.encryption,
        },
      });
      const out = await upload.done();
      return { etag: out.ETag, bytes: tap.bytes, sha256: tap.hash.digest('hex') };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      file.destroy();
      tap.destroy();
    }
  }

  /** Writes a small JSON document (with its SHA-256 as metadata). */
  async putJson(
    key: string,
    value: unknown,
    signal?: AbortSignal,
  ): Promise<{ etag: string | undefined; bytes: number; sha256: string }> {
    const body = Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: 'application/json',
        Metadata: { [SHA256_METADATA]: sha256 },
        ...this.encryption,
      }),
      signal ? { abortSignal: signal } : {},
    );
    return { etag: out.ETag, bytes: body.length, sha256 };
  }

  /** Reads a JSON document of at most `maxBytes`; undefined when the key does not exist. */
  async getJson(key: string, maxBytes = 1024 * 1024, signal?: AbortSignal): Promise<unknown> {
    let body: Readable;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
      body = out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        body.destroy();
        throw new Error(`the object ${key} is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  }

  /** Opens an object's body as a stream; undefined when the key does not exist. */
  async openRead(
    key: string,
    signal?: AbortSignal,
  ): Promise<{ body: Readable; size: number | undefined } | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
      return { body: out.Body as Readable, size: out.ContentLength };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every key under `prefix`, page by page (ListObjectsV2 with continuation tokens). */
  async *listKeys(
    prefix: string,
    pageSize = 1000,
    signal?: AbortSignal,
  ): AsyncGenerator<{ key: string; size: number }> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: pageSize,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
        signal ? { abortSignal: signal } : {},
      );
      for (const item of out.Contents ?? []) {
        if (item.Key !== undefined) yield { key: item.Key, size: item.Size ?? 0 };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: key }),
      signal ? { abortSignal: signal } : {},
    );
  }
}
