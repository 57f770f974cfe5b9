import type { NodeAPI } from 'node-red';
import { registerScreenWidget } from '../pfcam-ui-config/ui-widget';

/** The `pfcam-ui-alerts` dashboard widget: the alerts screen (front end in dashboard/ui, data from the API). */
export default function (RED: NodeAPI): void {
  registerScreenWidget(RED, 'pfcam-ui-alerts', 'alerts', 8);
}
