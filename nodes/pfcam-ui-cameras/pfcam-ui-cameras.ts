import type { NodeAPI } from 'node-red';
import { registerScreenWidget } from '../pfcam-ui-config/ui-widget';
import { acquireLive } from '../pfcam-ui-live/live-wiring';

/**
 * The `pfcam-ui-cameras` dashboard widget: the cameras screen (front end in dashboard/ui, data from the API),
 * with a live panel per camera and a grid of all cameras, so it also serves the live view's routes.
 */
export default function (RED: NodeAPI): void {
  registerScreenWidget(RED, 'pfcam-ui-cameras', 'cameras', 10, () => {
    const live = acquireLive(RED);
    return () => live.release();
  });
}
