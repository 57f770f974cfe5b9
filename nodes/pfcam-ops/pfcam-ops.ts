import type { Node, NodeAPI, NodeDef } from 'node-red';

interface CompleteEvent {
  msg: { topic?: unknown };
  node: { node: { type: string } };
  error?: unknown;
}
import { errorText } from '../../lib/errors';
import { metrics, mqttAlertDelivery } from '../../lib/metrics/metrics';
import { LIVENESS_PATH, liveness } from '../../lib/ops/liveness';
import { METRICS_PATH, METRICS_TOKEN_ENV, metricsEndpoint } from '../../lib/ops/metrics-endpoint';

/**
 * The operations endpoints, mounted when Node-RED loads this package (whether or not a `pfcam-ops` node is
 * deployed):
 * - `GET /pfcam/healthz`: liveness, no session, no store access;
 * - `GET /pfcam/metrics`: Prometheus metrics behind `Authorization: Bearer $PFCAM_METRICS_TOKEN` (404 when
 *   the variable is unset);
 * - the `onComplete` hook that counts the MQTT alert publishes.
 * The `pfcam-ops` node itself has no configuration and does nothing: it documents the endpoints in the editor.
 */
export default function (RED: NodeAPI): void {
  RED.httpNode.get(LIVENESS_PATH, liveness);
  let handler;
  try {
    handler = metricsEndpoint(metrics, process.env[METRICS_TOKEN_ENV]);
  } catch (err) {
    RED.log.error(`pfcam: ${METRICS_PATH} disabled: ${errorText(err)}`);
    handler = metricsEndpoint(metrics, undefined);
  }
  RED.httpNode.get(METRICS_PATH, handler);

  // MQTT alerts are published by Node-RED's own `mqtt out` node: its completions (done, or done with an error)
  // count as deliveries of the `mqtt` channel. Registered once per process, under a label so it can be removed.
  if (!RED.hooks.has('onComplete.pfcam-metrics')) {
    RED.hooks.add('onComplete.pfcam-metrics', (event: CompleteEvent): void => {
      const result = mqttAlertDelivery(event.node.node.type, event.msg.topic, event.error);
      if (result) metrics.alertDelivered('mqtt', result);
    });
  }

  function PfcamOpsNode(this: Node, def: NodeDef): void {
    // Nothing to start or to close: the endpoints belong to the module, not to a node.
    RED.nodes.createNode(this, def);
  }

  RED.nodes.registerType('pfcam-ops', PfcamOpsNode);
}
