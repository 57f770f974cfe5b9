/**
 * `npm install` on a fresh clone leaves package-lock.json unchanged: the lock matches package.json. Checked the
 * way npm would rewrite it, on a copy of both files in a temporary folder (the project's install is untouched).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, sep } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * The environment of a fresh shell: without the npm_* settings of the `npm run` that started the tests, and
 * without the node_modules/.bin folders it put first on PATH (they may hold an older npm of a dependency, which
 * package.json's devEngines refuses: npm 10 writes the lock without the libc fields npm 11 writes).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.split(sep).includes('node_modules'))
    .join(delimiter);
  return env;
}

/** The lock npm writes for `pkg` starting from the project's lock. */
async function lockAfterInstall(dir: string, pkg: Record<string, unknown>): Promise<string> {
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  copyFileSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
  await run(
    'npm',
    ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    // without the npm_* settings of the `npm run` that started the tests
    { cwd: dir, timeout: 120_000, env: cleanEnv() },
  );
  return readFileSync(join(dir, 'package-lock.json'), 'utf8');
}

describe('package-lock.json', function () {
  this.timeout(180_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pfcam-lock-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const pkg = (): Record<string, unknown> =>
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;

  it('is what npm install writes for package.json', async () => {
    assert.equal(await lockAfterInstall(dir, pkg()), readFileSync(join(root, 'package-lock.json'), 'utf8'));
  });

  it('would be rewritten for a package.json it does not match (the check above can fail)', async () => {
    const changed = pkg();
    const deps = { ...(changed.dependencies as Record<string, string>) };
    delete deps.yazl;
    changed.dependencies = deps;
    assert.notEqual(
      await lockAfterInstall(dir, changed),
      readFileSync(join(root, 'package-lock.json'), 'utf8'),
    );
  });
});
