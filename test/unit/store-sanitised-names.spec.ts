import { strict as assert } from 'node:assert';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaFiles, SANITISED_NAMES_REMEMBERED, type SanitisedName } from '../../lib/store/media-files';
import { cameraEvent, openFixture, type StoreFixture } from './store-fixtures';

describe('a sanitised name says so once', () => {
  let f: StoreFixture;
  let notices: SanitisedName[];

  beforeEach(async () => {
    notices = [];
    f = await openFixture({ log: { sanitised: (n) => notices.push(n) } });
  });

  afterEach(async () => {
    await f.cleanup();
  });

  async function startFetch(serial: string, fileName: string): Promise<void> {
    const { event } = await f.store.recordDiscovered(serial, cameraEvent(fileName));
    assert.ok(await f.store.markFetching(event.id));
  }

  it('reports an unsafe recording name once, for two recordings and a retry, with the original escaped', async () => {
    const unsafe = 'gate\u202e 1/../x\n';
    await startFetch('SN-A', unsafe);
    await startFetch('SN-B', unsafe);
    const retry = await f.store.recordDiscovered('SN-A', cameraEvent(unsafe));
    await f.store.markFetching(retry.event.id);
    assert.equal(notices.length, 1);
    const [notice] = notices;
    assert.equal(notice?.what, 'fileName');
    assert.equal(notice?.original, '"gate\\u202e 1/../x\\n"');
    const stored = (await f.store.get(retry.event.id))?.videoPath;
    assert.ok(stored?.includes(`/${notice?.stored}.`), `${stored} is stored under ${notice?.stored}`);
  });

  it('reports nothing for safe names, and an unsafe serial number as such', async () => {
    await startFetch('SN-1', '20240501_100000');
    assert.equal(notices.length, 0);
    await startFetch('SN 2', '20240501_100000');
    assert.deepEqual(
      notices.map((n) => [n.what, n.original]),
      [['serialNumber', '"SN 2"']],
    );
  });

  it('remembers a bounded number of names: the oldest is forgotten and would be reported again', () => {
    const seen: string[] = [];
    const media = new MediaFiles(join(tmpdir(), 'pfcam-unused'), {
      log: { sanitised: (n) => seen.push(n.original) },
    });
    const paths = (name: string): void => {
      media.pathsFor(
        {
          serialNumber: 'SN',
          fileName: name,
          vidExt: 'mp4',
          thmbExt: 'jpg',
          triggeredAtUtc: '2024-05-01T00:00:00Z',
        },
        true,
      );
    };
    for (let i = 0; i <= SANITISED_NAMES_REMEMBERED; i++) paths(`bad name ${i}`);
    assert.equal(seen.length, SANITISED_NAMES_REMEMBERED + 1);
    paths(`bad name ${SANITISED_NAMES_REMEMBERED}`);
    assert.equal(seen.length, SANITISED_NAMES_REMEMBERED + 1, 'a remembered name is not reported again');
    paths('bad name 0');
    assert.equal(seen.length, SANITISED_NAMES_REMEMBERED + 2, 'the oldest name was forgotten');
  });

  it('shows a long original shortened, saying how long it was', () => {
    const seen: string[] = [];
    const media = new MediaFiles(join(tmpdir(), 'pfcam-unused'), {
      log: { sanitised: (n) => seen.push(n.original) },
    });
    media.pathsFor(
      {
        serialNumber: 'SN',
        fileName: 'x '.repeat(500),
        vidExt: 'mp4',
        thmbExt: 'jpg',
        triggeredAtUtc: '2024-05-01T00:00:00Z',
      },
      true,
    );
    assert.match(seen[0] ?? '', /^"(x ){100}" \(first 200 of 1000 characters\)$/);
  });
});
