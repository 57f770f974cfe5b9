import type { NodeAPI } from 'node-red';
import { registerScreenWidget } from '../pfcam-ui-config/ui-widget';

/** The `pfcam-ui-overview` dashboard widget: the overview screen (front end in dashboard/ui, data from the API). */
export default function (RED: NodeAPI): void {
  registerScreenWidget(RED, 'pfcam-ui-overview', 'overview', 8);
}
