import { strict as assert } from 'node:assert';
import {
  normalisePrefix,
  parseS3Credentials,
  parseS3Options,
  s3ClientConfig,
  sseParams,
} from '../../lib/backup/s3-options';
import { parseBackupNodeOptions } from '../../lib/backup/backup-options';

describe('S3 options', () => {
  it('defaults to us-east-1, virtual-hosted URLs, no prefix and no encryption', () => {
    assert.deepEqual(parseS3Options({ bucket: 'archive' }), {
      endpoint: undefined,
      region: 'us-east-1',
      bucket: 'archive',
      prefix: '',
      forcePathStyle: false,
      sse: 'none',
      kmsKeyId: undefined,
    });
  });

  it('reads an S3-compatible endpoint, path style, a per-site prefix and KMS encryption', () => {
    const options = parseS3Options({
      endpoint: ' http://minio.local:9000/ ',
      region: 'eu-west-1',
      bucket: 'plant.archive-1',
      prefix: '/sites/hall-3/',
      forcePathStyle: 'true',
      sse: 'aws:kms',
      kmsKeyId: 'alias/pfcam',
    });
    assert.equal(options.endpoint, 'http://minio.local:9000');
    assert.equal(options.prefix, 'sites/hall-3');
    assert.equal(options.forcePathStyle, true);
    assert.equal(options.sse, 'aws:kms');
    assert.equal(options.kmsKeyId, 'alias/pfcam');
  });

  it('ignores a KMS key id unless the encryption is aws:kms', () => {
    assert.equal(parseS3Options({ bucket: 'archive', sse: 'AES256', kmsKeyId: 'k' }).kmsKeyId, undefined);
  });

  it('refuses a bad bucket, endpoint, region, prefix or encryption with a key naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ bucket: '' }, 'errors.s3Bucket'],
      [{ bucket: 'Upper' }, 'errors.s3Bucket'],
      [{ bucket: 'a..b' }, 'errors.s3Bucket'],
      [{ bucket: 'ok-bucket', endpoint: 'ftp://host' }, 'errors.s3Endpoint'],
      [{ bucket: 'ok-bucket', endpoint: 'not a url' }, 'errors.s3Endpoint'],
      [{ bucket: 'ok-bucket', endpoint: 'http://user:pw@host' }, 'errors.s3Endpoint'],
      [{ bucket: 'ok-bucket', region: 'EU West' }, 'errors.s3Region'],
      [{ bucket: 'ok-bucket', prefix: 'a/../b' }, 'errors.s3Prefix'],
      [{ bucket: 'ok-bucket', prefix: 'a b' }, 'errors.s3Prefix'],
      [{ bucket: 'ok-bucket', sse: 'rot13' }, 'errors.s3Sse'],
    ];
    for (const [raw, key] of cases) {
      assert.throws(() => parseS3Options(raw), { key }, JSON.stringify(raw));
    }
  });

  it('keeps prefix segments of letters, digits, dot, underscore and dash', () => {
    assert.equal(normalisePrefix('site_A/2026.x-y'), 'site_A/2026.x-y');
    assert.equal(normalisePrefix('///'), '');
  });

  it('takes both keys or neither (the SDK default chain), never one alone', () => {
    assert.equal(parseS3Credentials(undefined), undefined);
    assert.equal(parseS3Credentials({ accessKeyId: ' ', secretAccessKey: '' }), undefined);
    assert.deepEqual(parseS3Credentials({ accessKeyId: 'AK', secretAccessKey: 'SK' }), {
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
    });
    assert.throws(() => parseS3Credentials({ accessKeyId: 'AK' }), { key: 'errors.s3Credentials' });
  });

  it('builds the client configuration with the endpoint, path style, keys and request timeouts', () => {
    const options = parseS3Options({
      bucket: 'archive',
      endpoint: 'http://127.0.0.1:4566',
      forcePathStyle: true,
    });
    const config = s3ClientConfig(options, { accessKeyId: 'AK', secretAccessKey: 'SK' });
    assert.equal(config.endpoint, 'http://127.0.0.1:4566');
    assert.equal(config.forcePathStyle, true);
    assert.deepEqual(config.credentials, { accessKeyId: 'AK', secretAccessKey: 'SK' });
    assert.equal('credentials' in s3ClientConfig(parseS3Options({ bucket: 'archive' }), undefined), false);
    // a dead connection must fail the attempt (the outbox retries), not hold an upload slot forever
    assert.deepEqual(config.requestHandler, {
      connectionTimeout: 10_000,
      requestTimeout: 60_000,
      throwOnRequestTimeout: true,
    });
  });

  it('turns the encryption choice into the object parameters', () => {
    assert.deepEqual(sseParams({ sse: 'none', kmsKeyId: undefined }), {});
    assert.deepEqual(sseParams({ sse: 'AES256', kmsKeyId: undefined }), { ServerSideEncryption: 'AES256' });
    assert.deepEqual(sseParams({ sse: 'aws:kms', kmsKeyId: undefined }), { ServerSideEncryption: 'aws:kms' });
    assert.deepEqual(sseParams({ sse: 'aws:kms', kmsKeyId: 'k1' }), {
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'k1',
    });
  });
});

describe('backup node options', () => {
  it('defaults to 2 uploads, retries from 2 s to 5 min, red after 3 failures, every stored recording, one message per recording', () => {
    assert.deepEqual(parseBackupNodeOptions({}), {
      backup: {
        concurrency: 2,
        backoff: { baseMs: 2000, maxMs: 300_000 },
        backupAllStored: true,
        failureThreshold: 3,
      },
      emit: 'recording',
    });
  });

  it('reads the editor values given as text', () => {
    const options = parseBackupNodeOptions({
      concurrency: '4',
      backupAll: false,
      retryBaseSeconds: '0.5',
      retryMaxSeconds: '60',
      failureThreshold: '5',
      emit: 'both',
    });
    assert.deepEqual(options.backup, {
      concurrency: 4,
      backoff: { baseMs: 500, maxMs: 60_000 },
      backupAllStored: false,
      failureThreshold: 5,
    });
    assert.equal(options.emit, 'both');
  });

  it('refuses out-of-range or fractional counts, a ceiling below the first delay and an unknown output mode', () => {
    for (const raw of [
      { concurrency: 0 },
      { concurrency: 1.5 },
      { concurrency: 'many' },
      { failureThreshold: 0 },
      { retryBaseSeconds: 10, retryMaxSeconds: 5 },
      { emit: 'all' },
    ]) {
      assert.throws(() => parseBackupNodeOptions(raw), { key: 'errors.badOption' }, JSON.stringify(raw));
    }
  });
});
