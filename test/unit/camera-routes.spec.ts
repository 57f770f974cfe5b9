import { strict as assert } from 'node:assert';
import { streamPath } from '../../lib/camera/camera-client';
import { ROUTES, routePath, type RouteDef } from '../../lib/camera/routes';

describe('camera route table', () => {
  it('puts every REST route under /api and every stream path outside it', () => {
    for (const [key, def] of Object.entries<RouteDef>(ROUTES)) {
      if (key === 'snapshot' || key === 'liveStream') assert.equal(def.path, '{streamPath}');
      else assert.ok(def.path.startsWith('/api/'), key);
    }
  });

  it('degrades every assumed route on 404 (unsupported) and treats deletes of a gone thing as done', () => {
    for (const [key, def] of Object.entries<RouteDef>(ROUTES)) {
      if (def.mark === 'A') assert.equal(def.notFound, 'unsupported', key);
    }
    assert.equal(ROUTES.deleteEvent.notFound, 'gone');
    assert.equal(ROUTES.stopActiveEvent.notFound, 'gone');
    assert.equal(ROUTES.video.notFound, 'error');
  });

  it('marks the writes that restart the camera', () => {
    const restarting = Object.entries(ROUTES)
      .filter(([, def]) => def.effect === 'restart')
      .map(([key]) => key)
      .sort();
    assert.deepEqual(restarting, ['putSettings', 'reboot', 'resetSettings']);
  });

  it('fills placeholders URI-encoded, and refuses a missing one', () => {
    assert.equal(routePath(ROUTES.video, { fileName: 'a b#?%' }), '/api/events/a%20b%23%3F%25');
    assert.equal(routePath(ROUTES.thumbnail, { fileName: 'x', thmbExt: '.jpg' }), '/api/events/x.jpg');
    assert.equal(routePath(ROUTES.stopActiveEvent, { eventName: 'door/1' }), '/api/events/active/door%2F1');
    assert.throws(() => routePath(ROUTES.video), TypeError);
  });

  it('turns a stream URL into a path on the client origin (the host of an absolute URL is never used)', () => {
    assert.equal(streamPath({ absolute: 'http://10.9.9.9/stream-hd', relative: '/stream-hd' }), '/stream-hd');
    assert.equal(streamPath({ absolute: 'http://evil.example:81/snap.jpg?x=1' }), '/snap.jpg?x=1');
    assert.equal(streamPath({ absolute: 'ignored', relative: 'stream-hd' }), '/stream-hd');
    assert.equal(streamPath({ absolute: 'x', relative: '/../../etc/passwd' }), '/etc/passwd');
  });
});
