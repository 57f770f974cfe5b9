import { strict as assert } from 'node:assert';
import type { RecordingFeed, RejectedEntry } from '../../lib/camera/camera-api';
import { CameraOfflineError, CameraTimeoutError } from '../../lib/camera/errors';
import type { CameraEvent } from '../../lib/camera/types';
import { Inbox, Rig, requests } from './client-fixtures';

interface FeedLog {
  opens: Inbox<true>;
  recordings: Inbox<CameraEvent>;
  disconnects: Inbox<Error | undefined>;
  rejected: Inbox<RejectedEntry>;
  unsupported: Inbox<true>;
}

function feedLog(): FeedLog {
  return {
    opens: new Inbox(),
    recordings: new Inbox(),
    disconnects: new Inbox(),
    rejected: new Inbox(),
    unsupported: new Inbox(),
  };
}

function handlersOf(log: FeedLog) {
  return {
    onOpen: () => log.opens.push(true),
    onRecording: (e: CameraEvent) => log.recordings.push(e),
    onDisconnect: (err: Error | undefined) => log.disconnects.push(err),
    onRejected: (e: RejectedEntry) => log.rejected.push(e),
    onUnsupported: () => log.unsupported.push(true),
  };
}

describe('camera client against the simulator: recordings feed (SSE)', function () {
  this.timeout(20_000);
  const rig = new Rig();
  let feed: RecordingFeed | undefined;

  afterEach(async () => {
    feed?.close();
    feed = undefined;
    await rig.stop();
  });

  it('delivers a finished recording, validated, while connected', async () => {
    const camera = await rig.camera();
    const client = rig.client(camera);
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.opens.next('the feed to open');
    assert.equal(feed.connected, true);
    const made = camera.control.addRecording({ eventName: 'gate' });
    const got = await log.recordings.next('the recording');
    assert.equal(got.fileName, made.fileName);
    assert.equal(got.eventName, 'gate');
    const sse = requests(camera, '/api/sse/recordings');
    assert.equal(sse[0]!.headers.accept, 'text/event-stream');
  });

  it('reconnects after the camera drops the feed, calls onOpen again, and keeps delivering', async () => {
    const camera = await rig.camera({ faults: { sseDropAfterMs: 150 } });
    const client = rig.client(camera);
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.opens.next('the first open');
    assert.ok((await log.disconnects.next('the drop')) instanceof CameraOfflineError);
    await log.opens.next('the second open');
    camera.control.clearFaults();
    await log.disconnects.next('the drop of the second connection (planned before the faults cleared)');
    await log.opens.next('the third open');
    const made = camera.control.addRecording();
    assert.equal((await log.recordings.next('the recording after reconnecting')).fileName, made.fileName);
  });

  it('drops and reopens a feed that falls silent for longer than the heartbeat timeout', async () => {
    const camera = await rig.camera({ ssePingMs: 60_000 });
    const client = rig.client(camera, { sse: { heartbeatTimeoutMs: 200 } });
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.opens.next('the first open');
    const err = await log.disconnects.next('the heartbeat timeout');
    assert.ok(err instanceof CameraTimeoutError && err.phase === 'heartbeat', String(err));
    await log.opens.next('the reopen');
  });

  it('keeps a feed that the camera pings alive', async () => {
    const camera = await rig.camera({ ssePingMs: 50 });
    const client = rig.client(camera);
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log), { heartbeatTimeoutMs: 300 });
    await log.opens.next('the open');
    // the recording ends a second later: more than three heartbeat periods on the same connection
    const made = await camera.control.trigger({ eventName: 'long', postEventSeconds: 1 });
    assert.equal((await log.recordings.next('the recording')).fileName, made.fileName);
    assert.equal(log.disconnects.size, 0);
    assert.equal(requests(camera, '/api/sse/').length, 1);
  });

  it('delivers every recording of an event storm, none lost, none twice', async () => {
    const camera = await rig.camera();
    const client = rig.client(camera);
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.opens.next('the open');
    const made: string[] = [];
    const enough = new Promise<void>((resolve) => {
      const onRecording = (e: CameraEvent): void => {
        made.push(e.fileName);
        if (made.length < 60) return;
        camera.control.off('recording', onRecording as (...args: unknown[]) => void);
        camera.control.clearFaults();
        resolve();
      };
      camera.control.on('recording', onRecording);
    });
    camera.control.setFaults({ eventStormPerSecond: 300 });
    await enough;
    const got: string[] = [];
    while (got.length < made.length)
      got.push((await log.recordings.next(`recording ${got.length + 1}`)).fileName);
    assert.deepEqual(new Set(got), new Set(made));
    assert.equal(got.length, new Set(got).size);
    assert.equal(log.disconnects.size, 0);
  });

  it('reports a camera without the feed as unsupported and stops asking', async () => {
    const camera = await rig.camera({ sse: false });
    const client = rig.client(camera);
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.unsupported.next('onUnsupported');
    assert.equal(feed.connected, false);
    // a later call on the same camera shows the feed made no further request
    await client.getSystemInfo();
    assert.equal(requests(camera, '/api/sse/').length, 1);
    assert.equal(log.opens.size, 0);
  });

  it('reports a hostile recording as rejected instead of delivering it', async () => {
    const camera = await rig.camera();
    const client = rig.client(camera);
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.opens.next('the open');
    camera.control.setFaults({ hostileRecordings: true });
    camera.control.addRecording();
    const rejected = await log.rejected.next('the rejection');
    assert.match(rejected.reason, /fileName/);
    assert.equal(log.recordings.size, 0);
  });

  it('retries the feed while the camera restarts and reopens it once it is back', async () => {
    const camera = await rig.camera();
    const client = rig.client(camera);
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.opens.next('the first open');
    const back = camera.control.restart(200);
    await log.disconnects.next('the drop');
    await back;
    await log.opens.next('the reopen after the restart');
    const made = camera.control.addRecording();
    assert.equal((await log.recordings.next('a recording after the restart')).fileName, made.fileName);
  });

  it('authenticates the feed with Digest', async () => {
    const camera = await rig.camera({ auth: { scheme: 'digest', username: 'admin', password: 'pw' } });
    const client = rig.client(camera, { username: 'admin', password: 'pw' });
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.opens.next('the open');
    const made = camera.control.addRecording();
    assert.equal((await log.recordings.next('the recording')).fileName, made.fileName);
  });

  it('stops for good on close, and closing the client closes its feeds', async () => {
    const camera = await rig.camera();
    const client = rig.client(camera);
    const log = feedLog();
    feed = client.subscribeRecordings(handlersOf(log));
    await log.opens.next('the open');
    const other = client.subscribeRecordings(handlersOf(feedLog()));
    await client.close();
    assert.equal(feed.connected, false);
    assert.equal(other.connected, false);
    const count = requests(camera, '/api/sse/').length;
    camera.control.addRecording();
    await client.close();
    assert.equal(requests(camera, '/api/sse/').length, count);
    assert.equal(log.disconnects.size, 0, 'a deliberate close is not a disconnect');
  });
});
