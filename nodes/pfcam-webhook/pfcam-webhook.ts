import type { Node, NodeAPI, NodeDef } from 'node-red';
import { errorText } from '../../lib/errors';
import {
  parseWebhookOptions,
  type RawWebhookConfig,
  type WebhookCredentials,
} from '../../lib/notify/notify-options';
import { WebhookSender } from '../../lib/notify/webhook';
import { handleClose } from '../shared/input';
import type { WebhookHandle } from './webhook-handle';

interface WebhookNodeDef extends NodeDef, Omit<RawWebhookConfig, 'name'> {}

type WebhookNode = Node<WebhookCredentials> & WebhookHandle;

/** The `pfcam-webhook` config node: one webhook (URL, signing secret, allow-list), reusable by notify nodes. */
export default function (RED: NodeAPI): void {
  function PfcamWebhookNode(this: Node<WebhookCredentials>, def: WebhookNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this as WebhookNode, def);
  }

  function setup(node: WebhookNode, def: WebhookNodeDef): void {
    let sender: WebhookSender | undefined;
    let configError: Error | undefined;
    try {
      sender = new WebhookSender(parseWebhookOptions(def, node.credentials ?? {}));
    } catch (err) {
      configError = err instanceof Error ? err : new Error(String(err));
      node.warn(RED._('pfcam-webhook.errors.config', { error: errorText(err) }));
    }
    Object.defineProperty(node, 'configError', { get: () => configError });
    node.sender = (): WebhookSender => {
      if (!sender) throw configError ?? new Error('webhook not configured');
      return sender;
    };
    handleClose(node, async () => {
      const s = sender;
      sender = undefined;
      configError ??= new Error('webhook config node closed');
      await s?.close();
    });
  }

  RED.nodes.registerType('pfcam-webhook', PfcamWebhookNode, {
    credentials: {
      secret: { type: 'password' },
    },
  });
}
