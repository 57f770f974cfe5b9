import { strict as assert } from 'node:assert';
import {
  buildRtspInfo,
  buildStreamsList,
  publicBaseUrl,
  resolveCameraUrl,
  streamUrl,
  streamsNodeOptions,
} from '../../lib/camera/stream-urls';

const BASE = 'http://10.8.0.5';

describe('stream URLs (pfcam-streams)', () => {
  it('has options: the list by default, stream hd, no credentials', () => {
    assert.deepEqual(
      { ...streamsNodeOptions({}) },
      { operation: 'list', stream: 'hd', includeCredentials: false },
    );
    assert.throws(() => streamsNodeOptions({ stream: 'a b' }), /stream name/);
    assert.throws(() => streamsNodeOptions({ operation: 'hls' }), /must be one of/);
  });

  it('keeps credentials, query and trailing slashes out of the camera URL', () => {
    assert.equal(publicBaseUrl('http://u:p@10.0.0.5:8080/cam/?x=1#y'), 'http://10.0.0.5:8080/cam');
    assert.equal(publicBaseUrl('http://10.0.0.5'), 'http://10.0.0.5');
  });

  describe('resolveCameraUrl', () => {
    it('rebuilds the URL on the camera address, from the relative part or the absolute path', () => {
      assert.equal(
        resolveCameraUrl(BASE, { absolute: 'http://192.168.1.9/stream-hd', relative: '/stream-hd' }),
        `${BASE}/stream-hd`,
      );
      assert.equal(
        resolveCameraUrl(BASE, { absolute: 'http://192.168.1.9/snap.jpg?s=1' }),
        `${BASE}/snap.jpg?s=1`,
      );
      assert.equal(
        resolveCameraUrl('http://gw/cam1', { absolute: 'x', relative: '/stream-hd' }),
        'http://gw/cam1/stream-hd',
      );
    });
    it('gives null for anything that would leave the camera root or is not http(s)', () => {
      assert.equal(
        resolveCameraUrl(BASE, { absolute: 'x', relative: '//evil.example/x' }),
        `${BASE}/evil.example/x`,
      );
      assert.equal(resolveCameraUrl('http://gw/cam1', { absolute: 'x', relative: '../cam2/x' }), null);
      assert.equal(resolveCameraUrl(BASE, { absolute: 'javascript:alert(1)' }), null);
      assert.equal(resolveCameraUrl(BASE, { absolute: 'rtsp://10.0.0.5:8554/' }), null);
      assert.equal(resolveCameraUrl(BASE, { absolute: 'not a url' }), null);
      assert.equal(resolveCameraUrl(BASE, { absolute: 'x', relative: '/a\\b' }), null);
      assert.equal(resolveCameraUrl(BASE, 'http://x'), null);
      assert.equal(resolveCameraUrl(BASE, null), null);
    });
  });

  describe('buildRtspInfo', () => {
    const on = { rtsp: true, rtsp_port: 8554, rtsp_path: '', rtsp_auth: false };
    it('builds rtsp://host:port/path from the settings, null when RTSP is off', () => {
      assert.deepEqual(buildRtspInfo(BASE, on, undefined, false), {
        url: 'rtsp://10.8.0.5:8554/',
        authRequired: false,
        includesCredentials: false,
      });
      assert.equal(buildRtspInfo(BASE, { ...on, rtsp: false }, undefined, true), null);
      assert.equal(
        buildRtspInfo(BASE, { ...on, rtsp_path: '/live/../main x/' }, undefined, false)?.url,
        'rtsp://10.8.0.5:8554/live/main%20x',
      );
      assert.equal(buildRtspInfo('http://[fd00::5]:80', on, undefined, false)?.url, 'rtsp://[fd00::5]:8554/');
    });
    it('adds encoded credentials only when the camera requires them and the node allows it', () => {
      const creds = { username: 'view er', password: 'p@ss:/' };
      assert.equal(buildRtspInfo(BASE, on, creds, true)?.includesCredentials, false);
      assert.deepEqual(buildRtspInfo(BASE, { ...on, rtsp_auth: true }, creds, false), {
        url: 'rtsp://10.8.0.5:8554/',
        authRequired: true,
        includesCredentials: false,
      });
      assert.deepEqual(buildRtspInfo(BASE, { ...on, rtsp_auth: true }, creds, true), {
        url: 'rtsp://view%20er:p%40ss%3A%2F@10.8.0.5:8554/',
        authRequired: true,
        includesCredentials: true,
      });
      assert.equal(buildRtspInfo(BASE, { ...on, rtsp_auth: true }, {}, true)?.includesCredentials, false);
    });
    it('refuses a port or path the camera should not give', () => {
      assert.throws(() => buildRtspInfo(BASE, { ...on, rtsp_port: 70000 }, undefined, false), {
        key: 'errors.badResponse',
      });
      assert.throws(() => buildRtspInfo(BASE, { ...on, rtsp_port: undefined }, undefined, false), {
        key: 'errors.badResponse',
      });
      assert.throws(() => buildRtspInfo(BASE, { ...on, rtsp_path: 'a\nb' }, undefined, false), {
        key: 'errors.badResponse',
      });
    });
  });

  describe('buildStreamsList / streamUrl', () => {
    const streams = {
      hd: {
        name: 'hd',
        codec: 'mjpeg',
        fps: 10,
        resolution: { width: 1280, height: 720 },
        url: { absolute: 'http://192.168.1.9/stream-hd', relative: '/stream-hd' },
        snapshot: { url: { absolute: 'http://192.168.1.9/snap.jpg' } },
      },
      rtsp: {
        name: 'rtsp',
        codec: 'h264',
        fps: 25,
        resolution: { width: 1920, height: 1080 },
        url: { absolute: 'rtsp://x/' },
      },
      'bad key!': { name: 'x', url: { absolute: 'http://x/' } },
      broken: 'not an object',
      odd: { name: 'n\u0000', fps: -1, resolution: null, url: { absolute: 'javascript:x' } },
    };

    it('lists the usable streams with resolved URLs and the chosen stream URLs', () => {
      const list = buildStreamsList(BASE, streams, 'hd', null);
      assert.deepEqual(
        list.streams.map((s) => [s.key, s.name, s.fps, s.url, s.snapshotUrl]),
        [
          ['hd', 'hd', 10, `${BASE}/stream-hd`, `${BASE}/snap.jpg`],
          ['rtsp', 'rtsp', 25, null, null],
          ['odd', 'odd', 0, null, null],
        ],
      );
      assert.equal(list.mjpegUrl, `${BASE}/stream-hd`);
      assert.equal(list.snapshotUrl, `${BASE}/snap.jpg`);
      assert.equal(streamUrl(list, 'hd', 'snapshot'), `${BASE}/snap.jpg`);
    });

    it('refuses a stream list that is not an object, and names the streams there are', () => {
      assert.throws(() => buildStreamsList(BASE, [], 'hd', null), { key: 'errors.badResponse' });
      const list = buildStreamsList(BASE, streams, 'sd', null);
      assert.equal(list.mjpegUrl, null);
      assert.throws(() => streamUrl(list, 'sd', 'mjpeg'), /no stream 'sd' \(it has: hd, rtsp, odd\)/);
      assert.throws(() => streamUrl(list, 'rtsp', 'snapshot'), { key: 'errors.noStream' });
    });
  });
});
