import { strict as assert } from 'node:assert';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * Nodes find their camera through one of two doors: the shared camera-node start (nodes/shared/camera-user.ts,
 * for a node configured with one camera) or the camera registry (lib/cameras/camera-registry.ts, by serial
 * number). Only these files look at config nodes themselves, each for a reason of its own.
 */
const MAY_LOOK_UP_CONFIG_NODES: Readonly<Record<string, string>> = {
  'nodes/pfcam-camera/camera-node.ts': 'defines the check',
  'nodes/shared/camera-user.ts': 'the shared camera-node start',
  'nodes/pfcam-watch/pfcam-watch.ts': 'its start also opens the store and follows the camera across reboots',
  'nodes/pfcam-status/pfcam-status.ts': 'scope "all" watches every camera node, registered or not',
};

const ROOT = join(__dirname, '..', '..');

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await sourceFiles(path)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

describe('camera lookup', () => {
  it('leaves finding a camera to the shared start and the registry', async () => {
    const own: string[] = [];
    for (const path of await sourceFiles(join(ROOT, 'nodes'))) {
      const file = relative(ROOT, path).split(sep).join('/');
      if (MAY_LOOK_UP_CONFIG_NODES[file] !== undefined) continue;
      if (/\bisCameraConfigNode\s*\(/.test(await readFile(path, 'utf8'))) own.push(file);
    }
    assert.deepEqual(own, [], 'use setupCameraUser (nodes/shared/camera-user.ts) or the camera registry');
  });
});
