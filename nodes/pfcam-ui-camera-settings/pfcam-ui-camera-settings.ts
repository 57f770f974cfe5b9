import type { NodeAPI } from 'node-red';
import { registerScreenWidget } from '../pfcam-ui-config/ui-widget';

/** The `pfcam-ui-camera-settings` dashboard widget: the camera-settings screen (front end in dashboard/ui, data from the API). */
export default function (RED: NodeAPI): void {
  registerScreenWidget(RED, 'pfcam-ui-camera-settings', 'camera-settings', 12);
}
