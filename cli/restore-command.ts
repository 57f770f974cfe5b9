/**
 * `npm run pfcam -- restore ARCHIVE [--data DIR] [--user-dir DIR] [--force]`: a backup made by `pfcam backup`
 * into an empty (or, with --force, replaced) data folder, verified against its manifest before it is moved in.
 */
import { restoreDataFolder } from '../lib/ops/data-backup';
import { errorText } from '../lib/errors';
import { dataFolder, flag, option, positionals } from './cli-options';

const USAGE =
  'usage: npm run pfcam -- restore ARCHIVE.tar.gz [--data DIR] [--user-dir NODE_RED_USER_DIR] [--force]';

export async function runRestore(
  args: readonly string[],
  out: (line: string) => void,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const [archive, ...extra] = positionals(args, ['--data', '--user-dir']);
  if (archive === undefined || extra.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const dataDir = dataFolder(args, env);
  try {
    const userDir = option(args, '--user-dir');
    const manifest = await restoreDataFolder({
      archiveFile: archive,
      dataDir,
      force: flag(args, '--force'),
      ...(userDir ? { userDir } : {}),
    });
    out(`restored ${manifest.files.length} files of the backup of ${manifest.createdAt} into ${dataDir}`);
    return 0;
  } catch (err) {
    console.error(`pfcam restore: ${errorText(err)}`);
    return 1;
  }
}

export const command = {
  summary: 'restore a backup archive into an empty data folder (verified before it is moved in)',
  run: (args: readonly string[]): Promise<number> =>
    runRestore(args, (line) => console.log(line), process.env),
};
