import type { NodeAPI } from 'node-red';
import { registerScreenWidget } from '../pfcam-ui-config/ui-widget';

/** The `pfcam-ui-system` dashboard widget: the system screen (front end in dashboard/ui, data from the API). */
export default function (RED: NodeAPI): void {
  registerScreenWidget(RED, 'pfcam-ui-system', 'system', 10);
}
