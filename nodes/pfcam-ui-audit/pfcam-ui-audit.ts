import type { NodeAPI } from 'node-red';
import { registerScreenWidget } from '../pfcam-ui-config/ui-widget';

/** The `pfcam-ui-audit` dashboard widget: the audit screen (front end in dashboard/ui/security-screens.mjs, data from the API). */
export default function (RED: NodeAPI): void {
  registerScreenWidget(RED, 'pfcam-ui-audit', 'audit', 12);
}
