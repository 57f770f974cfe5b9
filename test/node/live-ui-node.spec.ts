import { strict as assert } from 'node:assert';
import liveNode from '../../nodes/pfcam-ui-live/pfcam-ui-live';
import { liveUiOptions, liveWidgetHtml } from '../../lib/live/live-ui-options';
import { helper } from '../helpers/node-red';

describe('pfcam-ui-live node', function () {
  afterEach(async () => {
    await helper.unload();
  });

  it('starts without the dashboard or its security (nothing served) and closes cleanly', async () => {
    await helper.load(
      [liveNode],
      [
        { id: 'f1', type: 'tab', label: 'flow' },
        { id: 'n1', type: 'pfcam-ui-live', z: 'f1', name: 'live view', mode: 'auto', wires: [] },
      ],
    );
    assert.ok(helper.getNode('n1'), 'the node started');
  });

  it('refuses a bad configuration with a clear error and keeps camera names out of the widget HTML', () => {
    assert.throws(() => liveUiOptions({ mode: 'webrtc' }), /"mode" option must be one of 'auto', 'mjpeg'/);
    assert.throws(() => liveUiOptions({ maxFps: '500' }), /"maxFps" option must be an integer from 0 to 60/);
    const html = liveWidgetHtml(liveUiOptions({ maxFps: '5' }), '/pfcam/ui/live/live-view.js');
    assert.equal(html.includes('{{'), false, 'nothing AngularJS would evaluate');
    assert.match(html, /<pfcam-live-grid api="\/pfcam\/api" mode="auto"/);
  });
});
