/**
 * `npm run pfcam -- backup ARCHIVE [--data DIR] [--user-dir DIR]`: the data folder (databases as online
 * snapshots, media, key files) and the flows into one `.tar.gz`, while the application runs.
 */
import { backupDataFolder } from '../lib/ops/data-backup';
import { errorText } from '../lib/errors';
import { dataFolder, option, positionals } from './cli-options';

const USAGE = 'usage: npm run pfcam -- backup ARCHIVE.tar.gz [--data DIR] [--user-dir NODE_RED_USER_DIR]';

export async function runBackup(
  args: readonly string[],
  out: (line: string) => void,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const [archive, ...extra] = positionals(args, ['--data', '--user-dir']);
  if (archive === undefined || extra.length > 0) {
    console.error(USAGE);
    return 2;
  }
  try {
    const userDir = option(args, '--user-dir');
    const manifest = await backupDataFolder({
      dataDir: dataFolder(args, env),
      archiveFile: archive,
      ...(userDir ? { userDir } : {}),
    });
    const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
    out(
      `backup written to ${archive}: ${manifest.files.length} files, ${bytes} bytes, ` +
        `${manifest.databases.length} database snapshot(s)`,
    );
    return 0;
  } catch (err) {
    console.error(`pfcam backup: ${errorText(err)}`);
    return 1;
  }
}

export const command = {
  summary: 'back up the data folder (database, media, keys, flows) into one archive',
  run: (args: readonly string[]): Promise<number> =>
    runBackup(args, (line) => console.log(line), process.env),
};
