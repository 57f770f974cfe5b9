import type { NodeAPI } from 'node-red';
import { registerScreenWidget } from '../pfcam-ui-config/ui-widget';

/** The `pfcam-ui-recordings` dashboard widget: the recordings screen (front end in dashboard/ui, data from the API). */
export default function (RED: NodeAPI): void {
  registerScreenWidget(RED, 'pfcam-ui-recordings', 'recordings', 12);
}
