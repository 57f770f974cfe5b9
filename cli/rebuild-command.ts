/**
 * `npm run pfcam -- rebuild-index [--data DIR] [--download] [--camera SERIAL]`: adds to the database every
 * recording whose manifest is in the S3 bucket (a lost or new database), from the same environment as the shipped
 * flows: PFCAM_S3_ENDPOINT, PFCAM_S3_REGION, PFCAM_S3_BUCKET, PFCAM_S3_PREFIX, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY. With --download the media come back too.
 */
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { rebuildIndexFromS3 } from '../lib/backup/rebuild';
import { S3Objects } from '../lib/backup/s3-objects';
import { parseS3Options, s3ClientConfig } from '../lib/backup/s3-options';
import { errorText } from '../lib/errors';
import { EventStore } from '../lib/store/event-store';
import { STORE_DEFAULTS } from '../lib/store/store-options';
import { dataFolder, flag, option, positionals } from './cli-options';

const USAGE = 'usage: npm run pfcam -- rebuild-index [--data DIR] [--download] [--camera SERIAL]';

export async function runRebuild(
  args: readonly string[],
  out: (line: string) => void,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  if (positionals(args, ['--data', '--camera']).length > 0) {
    console.error(USAGE);
    return 2;
  }
  const dataDir = dataFolder(args, env);
  let store: EventStore | undefined;
  let client: S3Client | undefined;
  try {
    const s3 = parseS3Options({
      endpoint: env['PFCAM_S3_ENDPOINT'],
      region: env['PFCAM_S3_REGION'],
      bucket: env['PFCAM_S3_BUCKET'],
      prefix: env['PFCAM_S3_PREFIX'],
      forcePathStyle: true,
    });
    client = new S3Client(
      s3ClientConfig(s3, {
        accessKeyId: env['AWS_ACCESS_KEY_ID'],
        secretAccessKey: env['AWS_SECRET_ACCESS_KEY'],
      }),
    );
    store = await EventStore.open({
      databaseFile: join(dataDir, STORE_DEFAULTS.databaseFile),
      mediaDir: join(dataDir, STORE_DEFAULTS.mediaDir),
    });
    const camera = option(args, '--camera');
    const report = await rebuildIndexFromS3(store, new S3Objects(client, s3), s3.prefix, {
      download: flag(args, '--download'),
      actor: 'cli',
      ...(camera ? { cameraSerial: camera } : {}),
    });
    out(
      `rebuilt from s3://${s3.bucket}/${s3.prefix}: ${report.manifests} manifests, ${report.inserted} added, ` +
        `${report.existing} already known, ${report.downloaded} downloaded, ${report.invalid} invalid, ` +
        `${report.failures.length} failed`,
    );
    for (const f of report.failures) out(`  failed ${f.key}: ${f.error}`);
    return report.failures.length > 0 ? 1 : 0;
  } catch (err) {
    console.error(`pfcam rebuild-index: ${errorText(err)}`);
    return 1;
  } finally {
    await store?.close();
    client?.destroy();
  }
}

export const command = {
  summary: 'add every recording backed up in S3 to the database (PFCAM_S3_* environment)',
  run: (args: readonly string[]): Promise<number> =>
    runRebuild(args, (line) => console.log(line), process.env),
};
