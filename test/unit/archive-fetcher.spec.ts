import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CameraApi, DownloadOptions, DownloadResult, MediaKind } from '../../lib/camera/camera-api';
import { CameraHttpError, CameraOfflineError, CameraTimeoutError } from '../../lib/camera/errors';
import type { CameraEvent } from '../../lib/camera/types';
import { Metrics } from '../../lib/metrics/metrics';
import { Archiver, RecordingGoneError } from '../../lib/archive/fetcher';
import type { StoredRecordingPayload } from '../../lib/archive/messages';
import { parseArchiveOptions, type RawArchiveConfig } from '../../lib/archive/options';
import { PfcamError } from '../../lib/errors';
import { EventStore } from '../../lib/store/event-store';
import type { MediaIo } from '../../lib/store/media-files';

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Media served by a fake camera client: writes `<file>.part`, then renames, as the real client does. */
class FakeMedia {
  files = new Map<string, Buffer>();
  downloads: string[] = [];
  active = 0;
  maxActive = 0;
  failNext = 0;
  /** Thumbnail downloads still to fail (the video downloads succeed). */
  failThumbnails = 0;
  /** Held downloads: resolved by the test. */
  hold: Promise<void> | undefined;

  content(fileName: string, kind: MediaKind): Buffer {
    return this.files.get(`${fileName}:${kind}`) ?? Buffer.alloc(0);
  }

  client(): CameraApi {
    const api: Partial<CameraApi> = {
      baseUrl: 'http://fake',
      downloadToFile: async (
        kind: MediaKind,
        event: Pick<CameraEvent, 'fileName' | 'vidExt' | 'thmbExt'>,
        filePath: string,
        options?: DownloadOptions,
      ): Promise<DownloadResult> => {
        this.downloads.push(`${event.fileName}:${kind}`);
        this.active++;
        this.maxActive = Math.max(this.maxActive, this.active);
        try {
          await new Promise<void>((resolve, reject) => {
            const signal = options?.signal;
            if (signal?.aborted) return reject(new Error('aborted'));
            signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
            void Promise.resolve(this.hold).then(resolve);
          });
          if (kind === 'thumbnail' && this.failThumbnails > 0) {
            this.failThumbnails--;
            throw new CameraOfflineError('ECONNRESET');
          }
          if (this.failNext > 0) {
            this.failNext--;
            throw new CameraOfflineError('ECONNRESET');
          }
          const data = this.files.get(`${event.fileName}:${kind}`);
          if (!data) throw new CameraHttpError(404, 'not found');
          await mkdir(dirname(filePath), { recursive: true });
          await writeFile(filePath + '.part', data);
          await rename(filePath + '.part', filePath);
          return {
            path: filePath,
            bytes: data.length,
            sha256: sha(data),
            contentType: undefined,
            resumes: 0,
          };
        } finally {
          this.active--;
        }
      },
    };
    return api as CameraApi;
  }
}

function recording(fileName: string): CameraEvent {
  return {
    fileName,
    eventName: 'door',
    triggeredAt: '2026-03-01T10:00:00Z',
    vidExt: '.mp4',
    thmbExt: '.jpg',
    playbackTime: 12,
    age: 1,
    dir: 'named',
  };
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function listFiles(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('archive fetcher', () => {
  let dir: string;
  let store: EventStore;
  let media: FakeMedia;
  const archivers: Archiver[] = [];

  async function openStore(io?: Partial<MediaIo>): Promise<void> {
    store = await EventStore.open({ databaseFile: join(dir, 'db.sqlite'), mediaDir: join(dir, 'media'), io });
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-fetcher-'));
    await openStore();
    media = new FakeMedia();
  });

  afterEach(async () => {
    for (const a of archivers.splice(0)) await a.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function archiver(
    raw: RawArchiveConfig = {},
    resolve?: (serial: string) => CameraApi | undefined,
  ): Archiver {
    const client = media.client();
    const a = new Archiver({
      store,
      options: parseArchiveOptions({ retryInterval: 3600, ...raw }),
      resolveCamera: (serial) => Promise.resolve(resolve ? resolve(serial) : client),
    });
    archivers.push(a);
    return a;
  }

  async function discover(serial: string, fileName: string, videoBytes = 1000): Promise<number> {
    media.files.set(`${fileName}:video`, Buffer.alloc(videoBytes, fileName));
    media.files.set(`${fileName}:thumbnail`, Buffer.from(`jpeg of ${fileName}`));
    const { event } = await store.recordDiscovered(serial, recording(fileName));
    return event.id;
  }

  it('stores video and thumbnail in the media folder, verified, and answers with the stored recording', async () => {
    await store.upsertCamera('S-1', { name: 'Gate' });
    const id = await discover('S-1', 'rec-1');
    const { payload, delivered } = await archiver().archive({ eventId: id });
    assert.equal(delivered, false);
    const video = media.content('rec-1', 'video');
    assert.deepEqual(
      { ...payload, storedAt: typeof payload.storedAt },
      {
        id,
        cameraSerial: 'S-1',
        cameraName: 'Gate',
        fileName: 'rec-1',
        eventName: 'door',
        triggeredAtUtc: '2026-03-01T10:00:00.000Z',
        playbackTime: 12,
        videoPath: 'S-1/2026/03/01/rec-1.mp4',
        thumbPath: 'S-1/2026/03/01/rec-1.jpg',
        videoSize: 1000,
        sha256: sha(video),
        thumbSize: media.content('rec-1', 'thumbnail').length,
        thumbSha256: sha(media.content('rec-1', 'thumbnail')),
        storedAt: 'string',
        fetched: true,
      },
    );
    assert.deepEqual(await readFile(join(dir, 'media', payload.videoPath)), video);
    assert.equal((await store.get(id))!.state, 'stored');
  });

  it('counts each download once in the metrics: bytes of both files and its duration; a stored one adds nothing', async () => {
    const metrics = new Metrics({ cameras: { list: () => [] }, processMetrics: false });
    const client = media.client();
    const a = new Archiver({
      store,
      options: parseArchiveOptions({ retryInterval: 3600 }),
      resolveCamera: () => Promise.resolve(client),
      metrics,
    });
    archivers.push(a);
    const id = await discover('S-1', 'rec-1', 5000);
    await a.archive({ eventId: id });
    await a.archive({ eventId: id });
    const text = await metrics.scrape();
    const thumb = media.content('rec-1', 'thumbnail').length;
    assert.match(text, /^pfcam_recordings_archived_total 1$/m);
    assert.match(text, new RegExp(`^pfcam_downloaded_bytes_total ${5000 + thumb}$`, 'm'));
    assert.match(text, /^pfcam_download_duration_seconds_count 1$/m);
  });

  it('does not download a recording already stored again', async () => {
    const id = await discover('S-1', 'rec-1');
    const a = archiver();
    await a.archive({ eventId: id });
    const before = media.downloads.length;
    const again = await a.archive({ cameraSerial: 'S-1', fileName: 'rec-1' });
    assert.equal(again.payload.fetched, false);
    assert.equal(media.downloads.length, before);
  });

  it('downloads a recording asked for twice at once only once', async () => {
    const id = await discover('S-1', 'rec-1');
    const a = archiver();
    const [one, two] = await Promise.all([a.archive({ eventId: id }), a.archive({ eventId: id })]);
    assert.equal(one.payload.sha256, two.payload.sha256);
    assert.deepEqual(media.downloads, ['rec-1:video', 'rec-1:thumbnail']);
  });

  it('keeps at most `perCamera` downloads of one camera and `concurrency` in all', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(await discover('S-1', `a${i}`));
    for (let i = 0; i < 6; i++) ids.push(await discover('S-2', `b${i}`));
    let open!: () => void;
    media.hold = new Promise((resolve) => (open = resolve));
    const a = archiver({ concurrency: 3, perCamera: 2, fetchThumbnail: false });
    const all = Promise.all(ids.map((id) => a.archive({ eventId: id })));
    await until(() => media.active === 3);
    open();
    await all;
    assert.equal(media.maxActive, 3);
    assert.equal(media.downloads.length, 12);
  });

  it('marks a recording the camera no longer has as gone', async () => {
    const id = await discover('S-1', 'rec-1');
    media.files.delete('rec-1:video');
    await assert.rejects(archiver().archive({ eventId: id }), RecordingGoneError);
    assert.equal((await store.get(id))!.state, 'gone');
  });

  it('stores a recording without a thumbnail when the camera has none', async () => {
    const id = await discover('S-1', 'rec-1');
    media.files.delete('rec-1:thumbnail');
    const { payload } = await archiver().archive({ eventId: id });
    assert.equal(payload.thumbPath, undefined);
    assert.equal(payload.thumbSha256, undefined);
    assert.equal(payload.videoSize, 1000);
  });

  it('keeps the stored video when its thumbnail fails, and later fetches only the thumbnail', async () => {
    const id = await discover('S-1', 'rec-1');
    media.failThumbnails = 1;
    const a = archiver({ retryInterval: 0.05 });
    const { payload } = await a.archive({ eventId: id });
    assert.equal(payload.videoSize, 1000);
    assert.equal(payload.thumbPath, undefined);
    const row = await store.get(id);
    assert.equal(row!.state, 'stored');
    assert.equal(row!.thumbState, 'pending');
    assert.ok(existsSync(store.media.resolve(row!.videoPath!)), 'the video stays');
    a.start();
    await until(async () => (await store.get(id))!.thumbState === 'stored');
    const after = await store.get(id);
    assert.equal(await readFile(store.media.resolve(after!.thumbPath!), 'utf8'), 'jpeg of rec-1');
    assert.equal(after!.thumbSha256, sha(Buffer.from('jpeg of rec-1')));
    assert.equal(after!.state, 'stored');
    assert.deepEqual(
      media.downloads.filter((d) => d === 'rec-1:video'),
      ['rec-1:video'],
      'the video is downloaded once',
    );
  });

  it('marks a failed download failed, reports it, and stores it on a later retry as a new delivery', async () => {
    const id = await discover('S-1', 'rec-1');
    media.failNext = 1;
    const a = archiver({ retryInterval: 0.05 });
    await assert.rejects(a.archive({ eventId: id }), CameraOfflineError);
    const row = await store.get(id);
    assert.equal(row!.state, 'failed');
    assert.match(row!.lastError ?? '', /errors\.cameraOffline/);
    const delivered: StoredRecordingPayload[] = [];
    a.on('stored', (p) => delivered.push(p));
    a.start();
    await until(() => delivered.length === 1);
    assert.equal(delivered[0]!.id, id);
    const replay = await a.archive({ eventId: id });
    assert.equal(replay.delivered, true, 'a recording passed on by a retry is not passed on again');
  });

  it('at start fetches what a crashed run left pending and removes its temp files', async () => {
    const id = await discover('S-1', 'rec-1');
    const fetching = await store.markFetching(id);
    const part = join(dir, 'media', fetching!.videoPath! + '.part');
    await mkdir(dirname(part), { recursive: true });
    await writeFile(part, 'half a video');
    const orphan = join(dir, 'media', 'S-9', 'old.mp4.part');
    await mkdir(dirname(orphan), { recursive: true });
    await writeFile(orphan, 'nobody resumes this');
    const a = archiver();
    const delivered: StoredRecordingPayload[] = [];
    a.on('stored', (p) => delivered.push(p));
    a.start();
    await until(() => delivered.length === 1);
    await a.idle();
    assert.equal((await store.get(id))!.state, 'stored');
    const files = await listFiles(join(dir, 'media'));
    assert.deepEqual(
      files.filter((f) => f.endsWith('.part')),
      [],
    );
  });

  it('reports a permission error with its key and leaves the row failed, not stored', async () => {
    await store.close();
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    await openStore({
      mkdir: (path: string) =>
        path.includes('S-1') ? Promise.reject(denied) : mkdir(path, { recursive: true }),
    });
    const id = await discover('S-1', 'rec-1');
    await assert.rejects(
      archiver().archive({ eventId: id }),
      (err: unknown) => err instanceof PfcamError && err.key === 'errors.permission',
    );
    const row = await store.get(id);
    assert.equal(row!.state, 'failed');
    assert.equal(row!.videoSha256, null);
  });

  it('waits for a camera nobody serves yet and reports it without touching the row', async () => {
    const id = await discover('S-7', 'rec-1');
    await assert.rejects(
      archiver({}, () => undefined).archive({ eventId: id }),
      (err: unknown) => err instanceof PfcamError && err.key === 'errors.noCameraForSerial',
    );
    assert.equal((await store.get(id))!.state, 'new');
  });

  it('abandons a download that receives nothing for the stall limit, and leaves the row to retry', async () => {
    const id = await discover('S-1', 'rec-1');
    media.hold = new Promise(() => undefined);
    await assert.rejects(
      archiver({ stallTimeout: 0.1 }).archive({ eventId: id }),
      (err: unknown) => err instanceof CameraTimeoutError && err.key === 'errors.cameraTimeout',
    );
    const row = await store.get(id);
    assert.equal(row!.state, 'failed');
    assert.match(row!.lastError ?? '', /^errors\.cameraTimeout/);
  });

  it('refuses a recording the store does not have', async () => {
    await assert.rejects(
      archiver().archive({ eventId: 999 }),
      (err: unknown) => err instanceof PfcamError && err.key === 'errors.eventNotFound',
    );
  });
});
