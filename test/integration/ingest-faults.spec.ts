/**
 * The ingest path end to end in a real Node-RED process against simulated cameras with faults on: every
 * recording arrives exactly once with the camera's bytes, whatever the link does, and hostile names from a
 * camera never leave the media folder.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { startCameras, type SimulatedCamera, type SimulatedCameraOptions } from '../../simulator';
import { NodeRedProcess } from '../helpers/node-red-process';
import {
  checkArchive,
  expectedRecordings,
  ingestFlow,
  storeCounts,
  waitUntil,
  type IngestFlowOptions,
} from '../../scripts/ingest-harness';

describe('ingest under faults', function () {
  this.timeout(120_000);
  let dir: string;
  let cameras: SimulatedCamera[] = [];
  let nodeRed: NodeRedProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-ingest-faults-'));
  });

  afterEach(async () => {
    await nodeRed?.dispose();
    nodeRed = undefined;
    await Promise.all(cameras.map((c) => c.stop()));
    cameras = [];
    await rm(dir, { recursive: true, force: true });
  });

  const databaseFile = (): string => join(dir, 'data', 'pfcam.sqlite');
  const mediaDir = (): string => join(dir, 'data', 'media');

  async function run(count: number, camera: SimulatedCameraOptions, flow: Partial<IngestFlowOptions> = {}) {
    cameras = await startCameras(count, { seed: 900, ...camera });
    nodeRed = await NodeRedProcess.start({
      userDir: join(dir, 'node-red'),
      flows: ingestFlow({ cameras, databaseFile: databaseFile(), mediaDir: mediaDir(), ...flow }),
    });
  }

  const expectedTotal = (): number => cameras.reduce((n, c) => n + expectedRecordings(c).accepted.length, 0);

  async function settleAndCheck(): Promise<Awaited<ReturnType<typeof checkArchive>>> {
    await waitUntil(
      async () => ((await storeCounts(databaseFile(), mediaDir())).stored ?? 0) >= expectedTotal(),
      90_000,
      'every recording stored',
      200,
    );
    await nodeRed!.stop();
    return checkArchive({ databaseFile: databaseFile(), mediaDir: mediaDir(), cameras, log: nodeRed!.log });
  }

  it('archives every recording of three cameras exactly once, byte for byte, through every link fault', async () => {
    await run(
      3,
      {
        recordings: 5,
        videoBytes: 150_000,
        faults: {
          latencyMs: 5,
          errorRate: 0.1,
          resetRate: 0.05,
          truncateRate: 0.1,
          stallRate: 0.02,
          mediaJsonErrorRate: 0.05,
          malformedJsonRate: 0.05,
          sseDropAfterMs: 1500,
          clockSkewSeconds: 90,
        },
      },
      { timeout: 3 },
    );
    // Recordings keep coming while it runs.
    for (let i = 0; i < 5; i++) {
      for (const c of cameras) c.control.addRecording();
      await waitUntil(
        async () => ((await storeCounts(databaseFile(), mediaDir())).stored ?? 0) >= 3 * (i + 1),
        30_000,
        'progress',
        100,
      );
    }
    const check = await settleAndCheck();
    assert.deepEqual(check.problems, []);
    assert.equal(check.recordings, 30);
    assert.deepEqual([check.lost, check.duplicated, check.corrupt], [0, 0, 0]);
  });

  it('keeps hostile names from a camera inside the media folder and refuses the unusable ones', async () => {
    await run(1, { recordings: 0, videoBytes: 2000, faults: { hostileRecordings: true } });
    for (let i = 0; i < 14; i++) cameras[0]!.control.addRecording();
    const { accepted, refused } = expectedRecordings(cameras[0]!);
    assert.ok(accepted.length > 0 && refused > 0, 'the camera lists both kinds of hostile recordings');
    const check = await settleAndCheck();
    assert.deepEqual(check.problems, []);
    // Every file the run created is inside the media folder (or is the database / Node-RED's own).
    const root = await realpath(dir);
    const media = await realpath(mediaDir());
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    for (const e of entries.filter((x) => x.isFile())) {
      const abs = await realpath(join(e.parentPath, e.name));
      const rel = relative(root, abs).split(sep);
      const allowed =
        abs.startsWith(media + sep) || rel[0] === 'node-red' || (rel[0] === 'data' && rel.length === 2);
      assert.ok(allowed, `a file outside the media folder: ${relative(root, abs)}`);
    }
    assert.match(nodeRed!.log, /refused/, 'the refused recordings are reported');
  });
});
