import { strict as assert } from 'node:assert';
import { Fmp4Viewer, type Fmp4Sink } from '../../lib/live/fmp4-relay';
import { moofStartsWithKeyframe, Mp4FragmentParser, type Mp4Fragment } from '../../lib/live/mp4-fragments';
import { boundaryOf, MultipartJpegParser } from '../../lib/live/multipart-parser';

function jpeg(n: number, fill: number): Buffer {
  const b = Buffer.alloc(n, fill);
  b[0] = 0xff;
  b[1] = 0xd8;
  return b;
}

function box(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

/** A moof whose trun carries first_sample_flags (`nonSync` sets sample_is_non_sync_sample). */
function moof(nonSync: boolean): Buffer {
  const tfhd = box('tfhd', Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]));
  const trun = Buffer.alloc(16);
  trun.writeUInt32BE(0x000004, 0); // version 0, first-sample-flags-present
  trun.writeUInt32BE(1, 4);
  trun.writeUInt32BE(nonSync ? 0x01010000 : 0x02000000, 8);
  return box(
    'moof',
    Buffer.concat([
      box('mfhd', Buffer.alloc(8)),
      box('traf', Buffer.concat([tfhd, box('trun', trun.subarray(0, 12))])),
    ]),
  );
}

describe('live parsers', () => {
  it('reads the boundary from a Content-Type, quoted or not', () => {
    assert.equal(boundaryOf('multipart/x-mixed-replace; boundary=frame'), 'frame');
    assert.equal(boundaryOf('multipart/x-mixed-replace;boundary="--abc"'), 'abc');
    assert.equal(boundaryOf('image/jpeg'), undefined);
  });

  it('yields whole frames with or without Content-Length, in any chunking, learning the boundary', () => {
    const a = jpeg(3000, 1);
    const b = jpeg(5000, 2);
    const stream = Buffer.concat([
      Buffer.from(`--xx\r\nContent-Type: image/jpeg\r\nContent-Length: ${a.length}\r\n\r\n`),
      a,
      Buffer.from('\r\n--xx\r\nContent-Type: image/jpeg\r\n\r\n'),
      b,
      Buffer.from('\r\n--xx\r\n'),
    ]);
    for (const size of [1, 7, 1000, stream.length]) {
      const frames: Buffer[] = [];
      const parser = new MultipartJpegParser((f) => frames.push(f.data));
      for (let at = 0; at < stream.length; at += size) parser.push(stream.subarray(at, at + size));
      assert.deepEqual(frames, [a, b], `chunks of ${size}`);
    }
  });

  it('drops a frame above the cap and garbage without a boundary, holding at most cap + one chunk', () => {
    const frames: Buffer[] = [];
    const parser = new MultipartJpegParser((f) => frames.push(f.data), {
      boundary: 'b',
      maxFrameBytes: 10_000,
    });
    const chunk = Buffer.alloc(4096, 0x41);
    for (let i = 0; i < 1000; i++) parser.push(chunk); // 4 MB of garbage, no boundary
    assert.ok(parser.peakBytes <= 4096 + 16, `peak ${parser.peakBytes}`);
    parser.push(Buffer.from('--b\r\nContent-Type: image/jpeg\r\n\r\n'));
    for (let i = 0; i < 1000; i++) parser.push(chunk); // a 4 MB frame
    assert.ok(parser.peakBytes <= 10_000 + 2 * 4096 + 64, `peak ${parser.peakBytes}`);
    const good = jpeg(500, 3);
    parser.push(Buffer.concat([Buffer.from('\r\n--b\r\n\r\n'), good, Buffer.from('\r\n--b\r\n')]));
    assert.deepEqual(frames, [good]);
    assert.equal(parser.counters.oversizeFrames, 1);
    assert.ok(parser.counters.garbageBytes >= 4_000_000);
  });

  it('splits fragmented MP4 into the init segment and keyframe-flagged fragments, refusing a huge box', () => {
    const inits: Buffer[] = [];
    const fragments: Mp4Fragment[] = [];
    const parser = new Mp4FragmentParser(
      { onInit: (i) => inits.push(i.data), onFragment: (f) => fragments.push(f) },
      1_000_000,
    );
    const ftyp = box('ftyp', Buffer.from('isom\0\0\0\0'));
    const moov = box('moov', box('mvhd', Buffer.alloc(20)));
    const mdat = box('mdat', Buffer.alloc(100, 9));
    const stream = Buffer.concat([ftyp, moov, moof(false), mdat, moof(true), mdat]);
    for (let at = 0; at < stream.length; at += 13) parser.push(stream.subarray(at, at + 13));
    assert.deepEqual(inits, [Buffer.concat([ftyp, moov])]);
    assert.deepEqual(
      fragments.map((f) => f.keyframe),
      [true, false],
    );
    assert.equal(moofStartsWithKeyframe(moof(true), 0), false);
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(50_000_000, 0);
    huge.write('mdat', 4, 'latin1');
    assert.throws(() => parser.push(huge), /MP4 box of 50000000 bytes/);
  });

  it('a slow fMP4 viewer skips to the next keyframe and resumes there', () => {
    const sent: (Buffer | string)[] = [];
    const sink: Fmp4Sink & { bufferedAmount: number } = {
      bufferedAmount: 0,
      send: (d) => sent.push(d),
      close: () => undefined,
    };
    let drops = 0;
    const viewer = new Fmp4Viewer(sink, 1000, () => drops++);
    viewer.init({ data: Buffer.from('init'), codec: 'avc1.42c01e' });
    const frag = (n: number): Buffer => Buffer.from(`f${n}`);
    viewer.fragment(frag(0), false); // before the first keyframe: skipped
    viewer.fragment(frag(1), true);
    viewer.fragment(frag(2), false);
    sink.bufferedAmount = 5000; // the socket backs up
    viewer.fragment(frag(3), false);
    viewer.fragment(frag(4), true);
    sink.bufferedAmount = 0;
    viewer.fragment(frag(5), false); // still waiting for a keyframe
    viewer.fragment(frag(6), true);
    viewer.fragment(frag(7), false);
    const binary = sent.filter((d) => Buffer.isBuffer(d)).map(String);
    assert.deepEqual(binary, ['init', 'f1', 'f2', 'f6', 'f7']);
    assert.equal(drops, 4);
  });
});
