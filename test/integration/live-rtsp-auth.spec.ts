import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { findFfmpeg, Fmp4Relay, type Fmp4Sink } from '../../lib/live/fmp4-relay';
import { ffconcatList, redactSecrets, withCredentials } from '../../lib/live/rtsp-credentials';
import { rtspAvailable, startRtspStream, type RtspStream } from '../../simulator/live-stream';
import { waitFor } from './live-fixtures';

const USER = 'viewer';
const PASSWORD = "p@ss:w'rd/x";

/** A viewer socket that keeps what it is sent. */
function sink(): Fmp4Sink & { texts: string[]; binary: number } {
  return {
    texts: [],
    binary: 0,
    bufferedAmount: 0,
    send(data: Buffer | string) {
      if (typeof data === 'string') this.texts.push(data);
      else this.binary++;
    },
    close: () => undefined,
  };
}

describe('live RTSP credentials', function () {
  this.timeout(40_000);
  const ffmpegPath = findFfmpeg();
  let rtsp: RtspStream | undefined;
  const relays: Fmp4Relay[] = [];

  before(async () => {
    assert.ok(ffmpegPath, 'ffmpeg is installed (.ci/run installs it)');
    assert.ok(rtspAvailable(), 'the system Python with GStreamer is installed (.ci/run installs it)');
    rtsp = await startRtspStream({ fps: 10, auth: { username: USER, password: PASSWORD } });
  });
  after(async () => {
    await rtsp?.stop();
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.close()));
  });

  const url = (): string => `rtsp://127.0.0.1:${rtsp!.port}/${rtsp!.path}`;
  function relay(credentials: { username: string; password: string } | undefined): Fmp4Relay {
    const made = new Fmp4Relay({
      rtspUrl: () => Promise.resolve(url()),
      ffmpegPath: ffmpegPath!,
      credentials: () => credentials,
      idleCloseMs: 50,
      reconnect: { baseMs: 50, maxMs: 200 },
      offlineAfterFailures: 2,
    });
    relays.push(made);
    return made;
  }

  it("plays a stream that asks for credentials, with the credentials nowhere in ffmpeg's arguments", async () => {
    const live = relay({ username: USER, password: PASSWORD });
    const viewer = sink();
    live.addViewer(viewer);
    await waitFor('fragments', () => live.counters.fragments > 3, 30_000);
    assert.equal(live.state, 'live');
    assert.ok(viewer.binary > 3, 'the viewer got the init segment and fragments');
    const pid = live.ffmpegPid;
    assert.ok(pid, 'ffmpeg runs');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    assert.ok(argv.includes('pipe:0'), 'ffmpeg reads its input from stdin');
    for (const form of [PASSWORD, encodeURIComponent(PASSWORD), `${USER}:`]) {
      assert.ok(!argv.includes(form), `ffmpeg's argv does not hold ${JSON.stringify(form)}`);
    }
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    assert.ok(!environ.includes(encodeURIComponent(PASSWORD)) && !environ.includes(PASSWORD));
  });

  it('without credentials the camera refuses the stream and the relay says offline, with the reason kept', async () => {
    const refused = relay(undefined);
    refused.addViewer(sink());
    await waitFor('offline', () => refused.state === 'offline', 30_000);
    await waitFor('an error text', () => refused.lastError !== undefined, 10_000);
    assert.match(refused.lastError!, /401|Unauthorized/);
    assert.equal(refused.counters.fragments, 0);
  });

  it('a wrong password: the kept error text (ffmpeg prints the URL) has the password redacted', async () => {
    const wrong = relay({ username: USER, password: 'wr0ng-s3cret:%' });
    const viewer = sink();
    wrong.addViewer(viewer);
    await waitFor('an error text', () => wrong.lastError !== undefined, 30_000);
    const text = wrong.lastError!;
    assert.match(text, /401|Unauthorized/);
    assert.ok(!text.includes('wr0ng-s3cret'), `redacted: ${text}`);
    assert.ok(!text.includes(encodeURIComponent('wr0ng-s3cret:%')));
    assert.ok(text.includes('***'), 'the URL is shown with its credentials replaced');
    for (const message of viewer.texts) assert.ok(!message.includes('wr0ng'), 'no viewer message holds it');
  });

  describe('helpers', () => {
    it('redacts the user-info of every URL and each given secret in every form', () => {
      const secret = 'a b/c:d';
      const text =
        `Impossible to open 'rtsp://u:${encodeURIComponent(secret)}@10.0.0.5:8554/live' ` +
        `and http://x:y@h/ and raw ${secret}`;
      const out = redactSecrets(text, [secret]);
      assert.equal(out, "Impossible to open 'rtsp://***@10.0.0.5:8554/live' and http://***@h/ and raw ***");
    });

    it('puts the credentials percent-encoded into the URL, quoted for the concat list', () => {
      const full = withCredentials('rtsp://10.0.0.5:8554/live', {
        username: 'ad min',
        password: "p@ss:w'rd",
      });
      assert.equal(full, "rtsp://ad%20min:p%40ss%3Aw'rd@10.0.0.5:8554/live");
      assert.equal(
        ffconcatList(full, { rtsp_transport: 'tcp' }),
        "ffconcat version 1.0\nfile 'rtsp://ad%20min:p%40ss%3Aw'\\''rd@10.0.0.5:8554/live'\noption rtsp_transport tcp\n",
      );
      assert.throws(() => ffconcatList('rtsp://h/\nfile x', {}), /line break/);
    });
  });
});
