/** Shared option reading of the `pfcam` commands: `--name VALUE` options, flags and the data folder. */
import { resolve } from 'node:path';

/** The value after `--name`, or undefined. */
export function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Whether a flag is present. */
export function flag(args: readonly string[], name: string): boolean {
  return args.includes(name);
}

/** The arguments that are neither options (`--x VALUE`, for the names in `withValue`) nor flags. */
export function positionals(args: readonly string[], withValue: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (withValue.includes(a)) i += 1;
    else if (!a.startsWith('--')) out.push(a);
  }
  return out;
}

/** The data folder: `--data DIR`, else `$PFCAM_DATA`, else `./.pfcam-data` (what settings.js uses). */
export function dataFolder(args: readonly string[], env: NodeJS.ProcessEnv): string {
  return resolve(option(args, '--data') || env['PFCAM_DATA'] || '.pfcam-data');
}
